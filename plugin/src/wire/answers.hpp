// Answers as JSON (docs/api.md): the error document and the pieces several
// answers share. Every answer starts with "schema": kAnswerSchema.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace refpos::wire {

inline constexpr std::string_view kAnswerSchema = "refpos/1";

// refpos_status number and name for an error kind (the header's enum).
int status_number(ErrorKind kind);
std::string_view status_name(ErrorKind kind);

// {"schema":..., "error": {"status", "code", "field", "message", "reason"}}
nlohmann::json error_document(const Error& error);

// [{"line": i, "amount_minor": a, "reason": reason}] for every non-zero a.
nlohmann::json discount_lines(const std::vector<std::int64_t>& per_line, std::string_view reason);

// {"first_seq": a, "last_seq": b}, or null when no event was written.
nlohmann::json event_range(std::int64_t first_seq, std::int64_t last_seq);

}  // namespace refpos::wire
