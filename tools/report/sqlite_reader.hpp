// A read-only SQLite connection for reports: SQLITE_OPEN_READONLY, so that
// nothing a report does can change a store or a head office, and prepared
// statements with bound parameters only.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace refpos::report {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  // true: a row is ready; false: done. Errors are ErrorKind::storage.
  Result<bool> step();
  // Ready to run again, with new bindings.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  [[nodiscard]] std::int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::string_view text_view(int column) const;
  // The bytes of a BLOB column (valid until the next step); empty for NULL.
  [[nodiscard]] std::string_view blob_view(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class ReadOnlyDatabase {
 public:
  // Fails (ErrorKind::storage) if the file is missing or not SQLite.
  static Result<std::unique_ptr<ReadOnlyDatabase>> open(const std::string& path);
  ~ReadOnlyDatabase() { sqlite3_close_v2(db_); }
  ReadOnlyDatabase(const ReadOnlyDatabase&) = delete;
  ReadOnlyDatabase& operator=(const ReadOnlyDatabase&) = delete;

  Result<std::unique_ptr<Statement>> prepare(const char* sql);
  Result<bool> has_table(std::string_view name);
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  ReadOnlyDatabase(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

}  // namespace refpos::report
