// Where refposctl report and export read (docs/reports.md): a store's
// refpos.db or a head office's SQLite file, which the report library opens
// read-only itself, or a head office on PostgreSQL, named by its
// postgresql:// URL and read through hq::PgStorage on a read-only
// connection (tools/hq/storage_reports.hpp). The URL may hold a password:
// it is only ever shown redacted.
#pragma once

#include <memory>
#include <string>

#include "base/result.hpp"
#include "hq/pg_storage.hpp"

namespace refpos::ctl {

// --file's default, as refpos-hq reads it (tools/hq/config.cpp).
inline constexpr const char* kDatabaseEnv = "REFPOS_HQ_DATABASE";

// --file's help text, the same for both commands.
inline constexpr const char* kSourceHelp =
    "a store's refpos.db, a head office's SQLite file, or a head office's PostgreSQL "
    "database as postgresql://USER@HOST/DB (default: $REFPOS_HQ_DATABASE)";

// A postgresql:// or postgres:// URL, as refpos-hq tells them apart.
[[nodiscard]] bool is_database_url(const std::string& source);

// The PostgreSQL head office, read-only; exits 1 when it cannot be reached
// or is at another schema version, 2 when it is not a head office.
std::unique_ptr<hq::PgStorage> open_head_office(const std::string& url);

// Exits for a report's or an export's error: 1 for storage (could not
// read), 2 for the rest (not a refpos file, a store it does not hold).
[[noreturn]] void fail_reading(const Error& error);

}  // namespace refpos::ctl
