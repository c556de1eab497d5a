#include "store/database.hpp"

#include <cassert>

namespace refpos::store {

Query::~Query() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Query& Query::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Query& Query::bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Query& Query::bind_blob(int index, std::span<const std::uint8_t> bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return *this;
}

Query& Query::bind_unowned(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  return *this;
}

Query& Query::bind_blob_unowned(int index, std::span<const std::uint8_t> bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_STATIC);
  return *this;
}

Query& Query::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Query& Query::bind(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bind_null(index);
}

Result<bool> Query::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_.error(sqlite3_sql(stmt_), rc);
}

Status Query::run() {
  auto r = step();
  if (!r) return r.error();
  return ok_status();
}

std::int64_t Query::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Query::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)};
}

std::optional<std::string> Query::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::vector<std::uint8_t> Query::blob(int column) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  if (p == nullptr) return {};
  return {p, p + n};
}

bool Query::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Database> db(new Database(raw));
  if (rc != SQLITE_OK) return db->error("opening " + path, rc);
  sqlite3_extended_result_codes(raw, 1);
  // WAL: readers never block the writer; synchronous=FULL: a commit is on
  // disk (WAL fsync'd) before the host is told it happened, because commits
  // hand value to customers.
  if (auto st = db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=2000; PRAGMA secure_delete=ON;");
      !st) {
    return st.error();
  }
  return db;
}

Database::~Database() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Status Database::exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(sql, sqlite3_extended_errcode(db_));
  return ok_status();
}

Result<std::unique_ptr<Query>> Database::query(const char* sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return error(sql, rc);
    it = statements_.emplace(sql, stmt).first;
  }
  return std::make_unique<Query>(*this, it->second);
}

Status Database::run(const char* sql) {
  auto q = query(sql);
  if (!q) return q.error();
  return (*q)->run();
}

Error Database::error(std::string_view what, int rc) const {
  std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  std::string reason = "io";
  const int primary = rc & 0xff;
  if (primary == SQLITE_FULL) reason = "disk_full";
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) reason = "busy";
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) reason = "corrupt";
  if (primary == SQLITE_CONSTRAINT) reason = "constraint";
  std::string shown(what.substr(0, 60));
  return make_error(ErrorKind::storage, "",
                    "store: " + detail + " (SQLite " + std::to_string(rc) + " in " + shown + ")",
                    reason);
}

Result<std::unique_ptr<WriteTransaction>> WriteTransaction::begin(Database& db) {
  if (auto st = db.run("BEGIN IMMEDIATE"); !st) return st.error();
  return std::unique_ptr<WriteTransaction>(new WriteTransaction(db));
}

WriteTransaction::~WriteTransaction() {
  if (!done_) (void)db_.run("ROLLBACK");
}

Status WriteTransaction::commit() {
  assert(!done_);
  auto st = db_.run("COMMIT");
  // A failed COMMIT (disk full, I/O error) leaves the transaction open in
  // SQLite: the destructor rolls it back so nothing is half there.
  if (st) done_ = true;
  return st;
}

Result<std::unique_ptr<ReadTransaction>> ReadTransaction::begin(Database& db) {
  if (auto st = db.run("BEGIN"); !st) return st.error();
  return std::unique_ptr<ReadTransaction>(new ReadTransaction(db));
}

ReadTransaction::~ReadTransaction() { (void)db_.run("END"); }

}  // namespace refpos::store
