#include "sqlite_reader.hpp"

#include <filesystem>

namespace refpos::report {

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return make_error(ErrorKind::storage, "",
                    std::string("reading the file: ") + sqlite3_errmsg(db_));
}

std::string Statement::text(int column) const { return std::string(text_view(column)); }

std::string_view Statement::text_view(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::string_view Statement::blob_view(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  if (p == nullptr) return {};
  return {static_cast<const char*>(p),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

Result<std::unique_ptr<ReadOnlyDatabase>> ReadOnlyDatabase::open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return make_error(ErrorKind::storage, "file", "\"" + path + "\" is not a file");
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return make_error(ErrorKind::storage, "file", "cannot open \"" + path + "\": " + message);
  }
  sqlite3_busy_timeout(db, 5000);  // a store writing while the report reads: wait, not fail
  return std::unique_ptr<ReadOnlyDatabase>(new ReadOnlyDatabase(db, path));
}

Result<std::unique_ptr<Statement>> ReadOnlyDatabase::prepare(const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return make_error(ErrorKind::storage, "file", "\"" + path_ + "\": " + sqlite3_errmsg(db_));
  }
  return std::make_unique<Statement>(db_, stmt);
}

Result<bool> ReadOnlyDatabase::has_table(std::string_view name) {
  auto q = prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  if (!q) return q.error();
  (*q)->bind(1, name);
  return (*q)->step();
}

}  // namespace refpos::report
