#include "wire/answers.hpp"

namespace refpos::wire {

int status_number(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_request: return 2;
    case ErrorKind::code_rejected: return 3;
    case ErrorKind::not_found: return 4;
    case ErrorKind::conflict: return 5;
    case ErrorKind::storage: return 6;
    case ErrorKind::config: return 8;
    case ErrorKind::rate_limited: return 10;
    case ErrorKind::internal: return 11;
  }
  return 11;
}

std::string_view status_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_request: return "BAD_REQUEST";
    case ErrorKind::code_rejected: return "CODE_REJECTED";
    case ErrorKind::not_found: return "NOT_FOUND";
    case ErrorKind::conflict: return "CONFLICT";
    case ErrorKind::storage: return "STORAGE";
    case ErrorKind::config: return "CONFIG";
    case ErrorKind::rate_limited: return "RATE_LIMITED";
    case ErrorKind::internal: return "INTERNAL";
  }
  return "INTERNAL";
}

nlohmann::json error_document(const Error& error) {
  return {{"schema", kAnswerSchema},
          {"error",
           {{"status", status_number(error.kind)},
            {"code", status_name(error.kind)},
            {"field", error.field},
            {"message", error.message},
            {"reason", error.reason}}}};
}

nlohmann::json discount_lines(const std::vector<std::int64_t>& per_line, std::string_view reason) {
  auto lines = nlohmann::json::array();
  for (std::size_t i = 0; i < per_line.size(); ++i) {
    if (per_line[i] == 0) continue;
    lines.push_back({{"line", i}, {"amount_minor", per_line[i]}, {"reason", reason}});
  }
  return lines;
}

nlohmann::json event_range(std::int64_t first_seq, std::int64_t last_seq) {
  if (first_seq == 0) return nullptr;
  return {{"first_seq", first_seq}, {"last_seq", last_seq}};
}

}  // namespace refpos::wire
