// Reading outside JSON at the edge: parse once, with limits, into typed
// values, and say precisely which field was wrong ("lines[3].quantity: must be
// a positive integer, got -2"). The core never sees raw JSON.
//
// FieldReader keeps the first error and turns every later read into a no-op
// that returns a default, so parsing code reads straight down without an
// `if` after every field; finish() reports the first error, or an unknown
// member (a typo must never be silently ignored). A reader given an error
// sink (rule sets) instead records every failure there and reads on, so that
// one error can name every bad field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace refpos::wire {

using Json = nlohmann::json;

inline constexpr std::size_t kMaxRequestBytes = 256 * 1024;
inline constexpr std::size_t kMaxIdBytes = 64;
inline constexpr std::size_t kMaxTextBytes = 512;

// Offset of the first byte that is not strict UTF-8 (RFC 3629: no overlong
// forms, no surrogates, nothing past U+10FFFF), or npos if all is valid.
std::size_t first_invalid_utf8(std::string_view s);

// Parses a request document: size limit, valid UTF-8, an object at the top.
Result<Json> parse_document(std::string_view text, std::string_view what,
                            std::size_t max_bytes = kMaxRequestBytes);

// True if `s` is 1..max_bytes of UTF-8 without control characters. (The JSON
// parser has already rejected ill-formed UTF-8.)
bool is_clean_text(std::string_view s, std::size_t max_bytes);

class FieldReader {
 public:
  // `path` prefixes field names in errors ("" at the top, "lines[3]" below).
  FieldReader(const Json& object, std::string path);
  // Collects every failure into `sink` (shared by the readers of one document).
  FieldReader(const Json& object, std::string path, std::vector<Error>* sink);

  // Required identifier: a string of 1..kMaxIdBytes clean UTF-8.
  std::string id(std::string_view key);
  std::optional<std::string> optional_id(std::string_view key);
  // Required free text of 1..max_bytes.
  std::string text(std::string_view key, std::size_t max_bytes);
  std::optional<std::string> optional_text(std::string_view key, std::size_t max_bytes);
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> optional_integer(std::string_view key, std::int64_t min,
                                               std::int64_t max);
  bool boolean(std::string_view key, bool default_value);
  // The member, which must be an object / array; nullptr if absent or failed.
  const Json* object(std::string_view key, bool required);
  const Json* array(std::string_view key, bool required, std::size_t min_items,
                    std::size_t max_items);

  // Records a failure found by the caller (for cross-field rules).
  void fail(std::string_view key, std::string message);
  [[nodiscard]] bool failed() const { return error_.has_value() || failures_ > 0; }
  [[nodiscard]] std::string path_of(std::string_view key) const;

  // The first error, or one for the first member that was never read.
  Status finish();

 private:
  const Json* member(std::string_view key, bool required);

  const Json& object_;
  std::string path_;
  // The document's own keys that were asked for (the map's strings, which
  // live as long as object_): finish() names every other key as unknown.
  std::vector<const std::string*> seen_;
  std::optional<Error> error_;
  std::vector<Error>* sink_ = nullptr;
  std::size_t failures_ = 0;
};

// One error of kind `kind` naming every failure in `errors` (non-empty): a
// single failure as it is; several under `field` (the document's path) with
// "N problems: a: ...; b: ..." as the message.
Error join_errors(const std::vector<Error>& errors, ErrorKind kind, std::string field);

// A short, safe rendering of a JSON value for an error message.
std::string describe_value(const Json& value);

}  // namespace refpos::wire
