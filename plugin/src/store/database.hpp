// A thin RAII layer over SQLite: one connection, prepared statements cached
// by their SQL text (preview runs in tens of microseconds, so statements are
// prepared once), parameters always bound (never spliced into SQL), and every
// SQLite failure turned into an Error of kind `storage` that says what failed.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"

namespace refpos::store {

class Database;

// A cached prepared statement, reset and unbound when the Query goes away.
class Query {
 public:
  Query(Database& db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  // Bind parameters by 1-based index. Binding never fails for valid indexes.
  Query& bind(int index, std::int64_t value);
  Query& bind(int index, std::string_view text);
  Query& bind_blob(int index, std::span<const std::uint8_t> bytes);
  Query& bind_null(int index);
  Query& bind(int index, const std::optional<std::string>& text);
  // Without SQLite's copy: the bytes must stay where they are until the
  // Query is gone (for rows written by the thousand, e.g. head office's
  // events). The binds above copy and are the default.
  Query& bind_unowned(int index, std::string_view text);
  Query& bind_blob_unowned(int index, std::span<const std::uint8_t> bytes);

  // Advances: true if a row is available, false when done; storage error else.
  Result<bool> step();
  // Runs a statement that returns no rows.
  Status run();

  [[nodiscard]] std::int64_t int64(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::optional<std::string> optional_text(int column) const;
  [[nodiscard]] std::vector<std::uint8_t> blob(int column) const;
  [[nodiscard]] bool is_null(int column) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_;
};

class Database {
 public:
  // Opens (creating) the file with WAL and synchronous=FULL.
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without parameters (schema, pragmas).
  Status exec(const char* sql);
  // The cached statement for `sql`, compiled on first use. The cache is keyed
  // by the address of `sql`: pass string literals. One Query per statement
  // may be alive at a time.
  Result<std::unique_ptr<Query>> query(const char* sql);
  // One cached statement without parameters or rows (BEGIN, COMMIT, END):
  // compiled once, not on every call as exec() would.
  Status run(const char* sql);

  // A storage error for a failed SQLite call: "<what>: <sqlite message>".
  [[nodiscard]] Error error(std::string_view what, int rc) const;
  [[nodiscard]] sqlite3* handle() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless commit() succeeded. One
// writer at a time; the commit is durable (fsync) before commit() returns.
class WriteTransaction {
 public:
  static Result<std::unique_ptr<WriteTransaction>> begin(Database& db);
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  Status commit();

 private:
  explicit WriteTransaction(Database& db) : db_(db) {}
  Database& db_;
  bool done_ = false;
};

// Read-only snapshot: BEGIN (deferred) ... END. Reads inside see one state.
class ReadTransaction {
 public:
  static Result<std::unique_ptr<ReadTransaction>> begin(Database& db);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  explicit ReadTransaction(Database& db) : db_(db) {}
  Database& db_;
};

}  // namespace refpos::store
