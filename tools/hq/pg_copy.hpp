// COPY ... FROM STDIN in PostgreSQL's text format (one row per line,
// columns separated by tabs), shared by the back end's batch insert
// (pg_storage.cpp), the SQLite-to-PostgreSQL migration (migrate.cpp) and
// the ingest benchmark's raw baseline (tools/bench/hq/pg_raw.cpp), so that
// all three escape alike. Header-only and free of libpq: it only builds text.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace refpos::hq::pg_copy {

// A text column: backslash, tab, newline and CR escaped. A NUL byte cannot
// be sent (PostgreSQL text cannot hold one); callers check text beforehand.
inline void append_text(std::string& out, std::string_view text) {
  for (const char ch : text) {
    switch (ch) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += ch;
    }
  }
}

// A bytea column as hex input ("\x0a1b..."), its backslash escaped for COPY.
inline void append_bytea(std::string& out, std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\\\x";
  for (const auto b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
}

// The same from raw bytes (a SQLite BLOB as the migration reads it).
inline void append_bytea(std::string& out, std::string_view bytes) {
  append_bytea(out, std::span<const std::uint8_t>(
                        reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

// A NULL column.
inline void append_null(std::string& out) { out += "\\N"; }

}  // namespace refpos::hq::pg_copy
