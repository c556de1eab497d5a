#include "raw_sqlite_commit.hpp"

#include <sqlite3.h>

#include <string_view>

#include "bench_error.hpp"
#include "latency.hpp"

namespace refpos::bench {
namespace {

// About the size of one event row of the plugin (a JSON body and two
// hashes); the point is one small row, not a copy of the plugin's writes.
constexpr std::string_view kRowBody =
    R"({"customer_id":"bench-customer-1","txn_id":"bench-txn-1","amount_minor":1000,)"
    R"("hash":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})";

}  // namespace

RawSqliteCommits::RawSqliteCommits(const std::string& path) : path_(path) {
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  try {
    if (rc != SQLITE_OK) {
      throw BenchError("raw SQLite baseline: cannot open " + path + ": " +
                       (db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory"));
    }
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
         "CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL) STRICT;");
    if (journal_mode() != "wal") {
      throw BenchError("raw SQLite baseline: journal_mode=WAL was refused for " + path);
    }
    if (sqlite3_prepare_v2(db_, "INSERT INTO rows (id, body) VALUES (?1, ?2)", -1, &insert_,
                           nullptr) != SQLITE_OK) {
      throw BenchError(std::string("raw SQLite baseline: ") + sqlite3_errmsg(db_));
    }
  } catch (...) {
    sqlite3_close(db_);  // no destructor runs for a constructor that throws
    throw;
  }
}

std::string RawSqliteCommits::journal_mode() {
  sqlite3_stmt* query = nullptr;
  std::string mode;
  if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode", -1, &query, nullptr) == SQLITE_OK &&
      sqlite3_step(query) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(query, 0);
    if (text != nullptr) mode = reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(query);
  return mode;
}

RawSqliteCommits::~RawSqliteCommits() {
  sqlite3_finalize(insert_);
  sqlite3_close(db_);
}

void RawSqliteCommits::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message != nullptr ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw BenchError(std::string("raw SQLite baseline: ") + sql + ": " + text);
  }
}

std::int64_t RawSqliteCommits::timed_commit() {
  const auto start = BenchClock::now();
  exec("BEGIN IMMEDIATE");
  sqlite3_bind_int64(insert_, 1, next_id_++);
  sqlite3_bind_text(insert_, 2, kRowBody.data(), static_cast<int>(kRowBody.size()),
                    SQLITE_STATIC);
  const int rc = sqlite3_step(insert_);
  sqlite3_reset(insert_);
  if (rc != SQLITE_DONE) {
    const std::string message = sqlite3_errmsg(db_);
    exec("ROLLBACK");
    throw BenchError("raw SQLite baseline: INSERT failed: " + message);
  }
  exec("COMMIT");
  const auto end = BenchClock::now();
  return elapsed_ns(start, end);
}

}  // namespace refpos::bench
