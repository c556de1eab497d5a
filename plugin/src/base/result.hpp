// Result<T>: the value of an operation that can fail in an expected way.
//
// A small equivalent of std::expected (which GCC 12 ships only under C++23 and
// clang 14 cannot compile from libstdc++), kept to the members the code uses.
// Expected failures (bad input, a rejected code, a full disk) travel as
// Error values; exceptions are reserved for bugs and are turned into a status
// at the C boundary (plugin/src/abi/).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace refpos {

// What kind of failure; maps one to one onto refpos_status at the boundary.
enum class ErrorKind {
  bad_request = 1,   // input did not parse or is out of its limits
  code_rejected,     // a code that cannot be used here and now
  not_found,         // a transaction or customer that does not exist
  conflict,          // an id reused with different content
  storage,           // SQLite or the file system failed
  config,            // the store configuration is invalid
  rate_limited,      // too many failed attempts
  internal,          // a broken invariant
};

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string field;    // JSON path of the offending input, "" if none
  std::string message;  // what was wrong and what was expected
  std::string reason;   // machine-readable tag, e.g. "expired" (code_rejected)

  // "field: message", the form shown to people.
  [[nodiscard]] std::string describe() const {
    return field.empty() ? message : field + ": " + message;
  }
};

inline Error make_error(ErrorKind kind, std::string field, std::string message,
                        std::string reason = {}) {
  return Error{kind, std::move(field), std::move(message), std::move(reason)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  [[nodiscard]] const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace refpos
