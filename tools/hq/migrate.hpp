// Moving a head office from its SQLite file to PostgreSQL (`refposctl hq
// migrate`, docs/scale-out.md, "Moving from SQLite"): every table, every id
// and the change counter, copied in one PostgreSQL transaction and checked
// before it commits.
//
// Contract, and what a reader could get wrong:
// - The source is opened read-only and read in one transaction: one
//   consistent snapshot, even if something writes the file meanwhile (the
//   head office should be stopped: what it writes after the snapshot is not
//   copied). It must be a head-office file at the latest schema version
//   (kSourceSchemaVersion); an older one is refused (refpos-hq migrates it
//   when it starts), and so is a store's refpos.db or any other file.
// - The target's schema is made by PgStorage::open (its migrations); the
//   target must then hold no data at all. A database with tables that are
//   not refpos's is refused before anything is created in it.
// - One transaction, which first takes PgStorage's write lock
//   (PgStorage::kWriteLockKey), so no refpos-hq on the target writes
//   meanwhile; the emptiness check runs under the lock too. Tables go in
//   with COPY FROM STDIN (text format, pg_copy.hpp), ids as they are; the
//   identity sequences are then set past the copied ids.
// - Checked inside that transaction, before COMMIT: rows per table equal
//   the source's; for every store, the events read back from PostgreSQL
//   equal the source's (seq, prev_hash, hash), each hash is the event's
//   own (recomputed with the store's event_hash over the columns read
//   back), each prev_hash is the hash before it (zeros for seq 1), and
//   stores.last_hash is the hash of event acked_seq. Any difference rolls
//   everything back: the target is left as it was found.
// - Errors name what was refused and why; ErrorKind::storage with reason
//   "unavailable" when PostgreSQL cannot be reached. No message holds the
//   URL's password (redact_conninfo, and the password as libpq parsed it
//   replaced wherever a server message might echo it).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "hq/sqlite_storage.hpp"

namespace refpos::hq {

// The head office's SQLite schema version this migration copies: the one
// refpos-hq of the same build brings a file to.
inline constexpr int kSourceSchemaVersion = SqliteStorage::kSchemaVersion;

// Events are read back from PostgreSQL this many at a time.
inline constexpr int kVerifyFetchRows = 5000;
// COPY data is sent in pieces of about this size.
inline constexpr std::size_t kCopyChunkBytes = 1 << 20;

// `stage` is "copy" or "verify"; done/total count events.
using MigrateProgress =
    std::function<void(std::string_view stage, std::int64_t done, std::int64_t total)>;

struct MigrateOptions {
  std::string source_path;   // the head office's SQLite file
  std::string target_url;    // postgresql://... (may hold a password)
  MigrateProgress progress;  // may be empty
};

struct TableRows {
  std::string table;
  std::int64_t rows = 0;
};

struct MigrateSummary {
  std::int64_t stores = 0;
  std::int64_t events = 0;
  std::int64_t last_change = 0;      // changes.last, kept
  std::vector<TableRows> tables;     // in the order copied
  std::int64_t chains_verified = 0;  // stores whose hash chain matched
};

// Error reasons (Error::reason): "not_head_office", "schema_too_old",
// "schema_too_new", "target_not_empty", "target_foreign", "schema_mismatch",
// "verify_failed", "unavailable" (PostgreSQL does not answer), "refused" (it
// answers and refuses the connection: a password, a database name), or
// PostgreSQL's own ("io", ...).
Result<MigrateSummary> migrate_sqlite_to_postgres(const MigrateOptions& options);

}  // namespace refpos::hq
