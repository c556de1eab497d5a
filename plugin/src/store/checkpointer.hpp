// Checkpointer: copies the WAL back into the database on its own thread and
// connection, so that no commit at the till pays for it.
//
// SQLite's default auto-checkpoint runs inside the commit that pushes the
// WAL past 1000 pages: at ~16 pages a commit, 1 commit in 60 took 3x longer,
// which set the p99 (docs/benchmarks.md). The writer's auto-checkpoint is
// turned off; its WAL hook wakes this thread once the WAL passes
// kWalPagesBeforeCheckpoint, and the thread runs a PASSIVE checkpoint (it
// never blocks the writer or readers). Durability is unchanged: every commit
// still fsyncs the WAL before it returns.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.hpp"

namespace refpos::store {

inline constexpr int kWalPagesBeforeCheckpoint = 1000;

class Checkpointer {
 public:
  // Opens a second connection to `db_path` and hooks `writer`'s WAL.
  static Result<std::unique_ptr<Checkpointer>> start(const std::string& db_path, sqlite3* writer);
  // Stops the thread (finishing a checkpoint in progress) and unhooks.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

 private:
  Checkpointer(sqlite3* connection, sqlite3* writer);
  static int on_wal_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void run();

  sqlite3* connection_;
  sqlite3* writer_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace refpos::store
