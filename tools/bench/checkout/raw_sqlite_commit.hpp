// The limit a plugin commit is held to: the same durable write done by hand.
// A separate SQLite database in the benchmark's folder (so on the same file
// system as the store), opened as the plugin opens its own (journal_mode=WAL,
// synchronous=FULL: the WAL is fsync'd before COMMIT returns), and one
// single-row INSERT per transaction. Its latency is what one fsync'd SQLite
// commit costs on this machine, with nothing of the plugin's work around it.
#pragma once

#include <cstdint>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace refpos::bench {

class RawSqliteCommits {
 public:
  // Creates the database at `path`. Throws BenchError, also if SQLite did not
  // switch to WAL (a file system without shared memory, say).
  explicit RawSqliteCommits(const std::string& path);
  ~RawSqliteCommits();
  RawSqliteCommits(const RawSqliteCommits&) = delete;
  RawSqliteCommits& operator=(const RawSqliteCommits&) = delete;

  // BEGIN IMMEDIATE; INSERT one row; COMMIT. Returns the time of the three
  // statements (the plugin's commit also spans its BEGIN to its COMMIT).
  std::int64_t timed_commit();

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  void exec(const char* sql);
  std::string journal_mode();

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  std::int64_t next_id_ = 1;
};

}  // namespace refpos::bench
