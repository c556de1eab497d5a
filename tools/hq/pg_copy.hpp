// COPY ... FROM STDIN in PostgreSQL's text format (one row per line,
// columns separated by tabs), shared by the back end's batch insert
// (pg_storage.cpp), the SQLite-to-PostgreSQL migration (migrate.cpp) and
// the ingest benchmark's raw baseline (tools/bench/hq/pg_raw.cpp), so that
// all three escape alike. Header-only and free of libpq: it only builds text.
#pragma once

#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace refpos::hq::pg_copy {

// A text column: backslash, tab, newline and CR escaped. A NUL byte cannot
// be sent (PostgreSQL text cannot hold one); callers check text beforehand.
// Runs without one of those four are appended whole: a push formats a few
// hundred kilobytes per batch, and a byte at a time cost a millisecond.
inline void append_text(std::string& out, std::string_view text) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (ch != '\\' && ch != '\t' && ch != '\n' && ch != '\r') [[likely]] continue;
    out.append(text.data() + start, i - start);
    out += '\\';
    out += ch == '\\' ? '\\' : ch == '\t' ? 't' : ch == '\n' ? 'n' : 'r';
    start = i + 1;
  }
  out.append(text.data() + start, text.size() - start);
}

// An integer column.
inline void append_integer(std::string& out, std::int64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

// A bytea column as hex input ("\x0a1b..."), its backslash escaped for COPY.
// Written in pieces through a buffer on the stack: resizing `out` first
// would zero the bytes only to overwrite them.
inline void append_bytea(std::string& out, std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out.append("\\\\x", 3);
  char hex[128];
  std::size_t n = 0;
  for (const auto b : bytes) {
    hex[n++] = kDigits[b >> 4];
    hex[n++] = kDigits[b & 0x0f];
    if (n == sizeof hex) {
      out.append(hex, n);
      n = 0;
    }
  }
  out.append(hex, n);
}

// The same from raw bytes (a SQLite BLOB as the migration reads it).
inline void append_bytea(std::string& out, std::string_view bytes) {
  append_bytea(out, std::span<const std::uint8_t>(
                        reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

// A NULL column.
inline void append_null(std::string& out) { out += "\\N"; }

}  // namespace refpos::hq::pg_copy
