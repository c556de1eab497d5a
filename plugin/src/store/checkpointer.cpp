#include "store/checkpointer.hpp"

namespace refpos::store {

Result<std::unique_ptr<Checkpointer>> Checkpointer::start(const std::string& db_path,
                                                          sqlite3* writer) {
  sqlite3* connection = nullptr;
  const int rc = sqlite3_open_v2(db_path.c_str(), &connection,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = connection != nullptr ? sqlite3_errmsg(connection) : sqlite3_errstr(rc);
    sqlite3_close(connection);
    return make_error(ErrorKind::storage, "", "store: checkpointer: " + message, "io");
  }
  sqlite3_busy_timeout(connection, 2000);
  // The checkpoint writes the database file: it is synced like commits are.
  sqlite3_exec(connection, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  sqlite3_wal_autocheckpoint(writer, 0);
  return std::unique_ptr<Checkpointer>(new Checkpointer(connection, writer));
}

Checkpointer::Checkpointer(sqlite3* connection, sqlite3* writer)
    : connection_(connection), writer_(writer) {
  sqlite3_wal_hook(writer_, &Checkpointer::on_wal_commit, this);
  thread_ = std::thread([this] { run(); });
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  sqlite3_close(connection_);
}

int Checkpointer::on_wal_commit(void* self, sqlite3*, const char*, int wal_pages) {
  if (wal_pages < kWalPagesBeforeCheckpoint) return SQLITE_OK;
  auto* checkpointer = static_cast<Checkpointer*>(self);
  {
    std::lock_guard lock(checkpointer->mutex_);
    checkpointer->pending_ = true;
  }
  checkpointer->wake_.notify_one();
  return SQLITE_OK;
}

void Checkpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return pending_ || stopping_; });
    if (stopping_) return;
    pending_ = false;
    lock.unlock();
    // A failed passive checkpoint (busy, disk full) loses nothing: the frames
    // stay in the WAL, readers still see them, and the next wake retries.
    sqlite3_wal_checkpoint_v2(connection_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
  }
}

}  // namespace refpos::store
