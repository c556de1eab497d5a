#include "wire/json_input.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <limits>

namespace refpos::wire {

// nlohmann's parser passes the raw bytes of strings through unchecked (and
// dump() later throws on them), so this runs before it.
std::size_t first_invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    // Eight ASCII bytes at a time: documents are mostly ASCII.
    while (i + 8 <= s.size()) {
      std::uint64_t word = 0;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ULL) != 0) break;
      i += 8;
    }
    if (i >= s.size()) break;
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned lo = 0x80;
    unsigned hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 2;
      if (b0 == 0xE0) lo = 0xA0;   // overlong
      if (b0 == 0xED) hi = 0x9F;   // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 3;
      if (b0 == 0xF0) lo = 0x90;   // overlong
      if (b0 == 0xF4) hi = 0x8F;   // past U+10FFFF
    } else {
      return i;
    }
    if (i + n >= s.size()) return i;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      const unsigned min = k == 1 ? lo : 0x80;
      const unsigned max = k == 1 ? hi : 0xBF;
      if (b < min || b > max) return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

Result<Json> parse_document(std::string_view text, std::string_view what, std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    return make_error(ErrorKind::bad_request, "",
                      std::string(what) + " is " + std::to_string(text.size()) +
                          " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  if (const auto bad = first_invalid_utf8(text); bad != std::string_view::npos) {
    return make_error(ErrorKind::bad_request, "",
                      std::string(what) + " is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    // parse_error names the byte offset and what was expected; out_of_range
    // is a number too large for a double (found by the fuzzer).
    return make_error(ErrorKind::bad_request, "",
                      std::string(what) + " is not valid JSON: " + e.what());
  }
  if (!doc.is_object()) {
    return make_error(ErrorKind::bad_request, "",
                      std::string(what) + " must be a JSON object, got " + describe_value(doc));
  }
  return doc;
}

bool is_clean_text(std::string_view s, std::size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

std::string describe_value(const Json& value) {
  std::string shown;
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (s.size() > 40) return "a string of " + std::to_string(s.size()) + " bytes";
      shown = value.dump(-1, ' ', false, Json::error_handler_t::replace);
      return "the string " + shown;
    }
    case Json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    default: return value.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

FieldReader::FieldReader(const Json& object, std::string path)
    : object_(object), path_(std::move(path)) {}

FieldReader::FieldReader(const Json& object, std::string path, std::vector<Error>* sink)
    : object_(object), path_(std::move(path)), sink_(sink) {}

std::string FieldReader::path_of(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

void FieldReader::fail(std::string_view key, std::string message) {
  if (sink_ != nullptr) {
    ++failures_;
    sink_->push_back(make_error(ErrorKind::bad_request, path_of(key), std::move(message)));
    return;
  }
  if (!error_) error_ = make_error(ErrorKind::bad_request, path_of(key), std::move(message));
}

const Json* FieldReader::member(std::string_view key, bool required) {
  const auto it = object_.find(key);
  if (it != object_.end()) seen_.push_back(&it.key());
  if (error_) return nullptr;
  if (it == object_.end() || it->is_null()) {
    if (required) fail(key, "is required");
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> FieldReader::optional_text(std::string_view key,
                                                      std::size_t max_bytes) {
  const Json* v = member(key, false);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    fail(key, "must be a string, got " + describe_value(*v));
    return std::nullopt;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.empty() || s.size() > max_bytes) {
    fail(key, "must be 1 to " + std::to_string(max_bytes) + " bytes long, got " +
                  std::to_string(s.size()));
    return std::nullopt;
  }
  if (!is_clean_text(s, max_bytes)) {
    fail(key, "must not contain control characters");
    return std::nullopt;
  }
  return s;
}

std::string FieldReader::text(std::string_view key, std::size_t max_bytes) {
  const Json* v = member(key, true);
  if (v == nullptr) return {};
  return optional_text(key, max_bytes).value_or(std::string{});
}

std::optional<std::string> FieldReader::optional_id(std::string_view key) {
  return optional_text(key, kMaxIdBytes);
}

std::string FieldReader::id(std::string_view key) { return text(key, kMaxIdBytes); }

std::optional<std::int64_t> FieldReader::optional_integer(std::string_view key,
                                                          std::int64_t min,
                                                          std::int64_t max) {
  const Json* v = member(key, false);
  if (v == nullptr) return std::nullopt;
  const auto range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!v->is_number_integer()) {
    fail(key, "must be " + range + ", got " + describe_value(*v));
    return std::nullopt;
  }
  std::int64_t n = 0;
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(key, "must be " + range + ", got " + describe_value(*v));
      return std::nullopt;
    }
    n = static_cast<std::int64_t>(u);
  } else {
    n = v->get<std::int64_t>();
  }
  if (n < min || n > max) {
    fail(key, "must be " + range + ", got " + std::to_string(n));
    return std::nullopt;
  }
  return n;
}

std::int64_t FieldReader::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  if (member(key, true) == nullptr) return min;
  return optional_integer(key, min, max).value_or(min);
}

bool FieldReader::boolean(std::string_view key, bool default_value) {
  const Json* v = member(key, false);
  if (v == nullptr) return default_value;
  if (!v->is_boolean()) {
    fail(key, "must be true or false, got " + describe_value(*v));
    return default_value;
  }
  return v->get<bool>();
}

const Json* FieldReader::object(std::string_view key, bool required) {
  const Json* v = member(key, required);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    fail(key, "must be an object, got " + describe_value(*v));
    return nullptr;
  }
  return v;
}

const Json* FieldReader::array(std::string_view key, bool required, std::size_t min_items,
                               std::size_t max_items) {
  const Json* v = member(key, required);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    fail(key, "must be an array, got " + describe_value(*v));
    return nullptr;
  }
  if (v->size() < min_items || v->size() > max_items) {
    fail(key, "must have " + std::to_string(min_items) + " to " + std::to_string(max_items) +
                  " items, got " + std::to_string(v->size()));
    return nullptr;
  }
  return v;
}

Status FieldReader::finish() {
  if (error_) return *error_;
  for (auto it = object_.begin(); object_.is_object() && it != object_.end(); ++it) {
    const std::string& key = it.key();
    if (std::find(seen_.begin(), seen_.end(), &key) == seen_.end()) {
      std::string shown = Json(key).dump(-1, ' ', false, Json::error_handler_t::replace);
      if (shown.size() > 66) shown = shown.substr(0, 64) + "...\"";
      const bool printable = is_clean_text(key, kMaxIdBytes);
      auto unknown = make_error(ErrorKind::bad_request, path_of(printable ? key : "<member>"),
                                "unknown member " + shown);
      if (sink_ == nullptr) return unknown;
      ++failures_;
      sink_->push_back(std::move(unknown));
    }
  }
  if (failures_ > 0) return sink_->back();
  return ok_status();
}

Error join_errors(const std::vector<Error>& errors, ErrorKind kind, std::string field) {
  assert(!errors.empty());
  std::string message;
  for (const auto& e : errors) {
    if (!message.empty()) message += "; ";
    message += e.describe();
  }
  if (errors.size() == 1) return make_error(kind, errors[0].field, errors[0].message);
  return make_error(kind, std::move(field),
                    std::to_string(errors.size()) + " problems: " + message);
}

}  // namespace refpos::wire
