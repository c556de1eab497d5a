// PgCluster: a throwaway PostgreSQL server for tests, in a temporary folder,
// reachable only through a Unix socket in that folder (no TCP port, so
// parallel test processes never collide), with trust authentication for the
// superuser `refpos`, fsync off. Made with the Debian binaries
// (/usr/lib/postgresql/15/bin, or $REFPOS_PG_BIN): initdb, then
// `pg_ctl start -w`; stopped with `pg_ctl stop -m immediate` (nothing in it
// is worth a clean shutdown).
//
// initdb refuses to run as root: when the tests run as root, every server
// binary runs as `nobody` through `runuser -u nobody --`, and the folder
// (under /tmp, which `nobody` can reach, and short enough for a socket path)
// belongs to `nobody`. Connections come from the test process itself
// (root), which may open any socket.
//
// Stopped by the destructor, and also if the test process dies without
// running it (a crash, SIGKILL): a guard process, forked before initdb,
// holds the read end of a pipe whose write end only this process has
// (close-on-exec, so no server process inherits it); when it reads
// end-of-file it stops the server and removes the folder.
//
// shared() is one cluster per test process, started on first use and stopped
// at exit; create_database() gives each test case a database of its own.
#pragma once

#include <memory>
#include <string>
#include <sys/types.h>

namespace refpos::test {

class PgCluster {
 public:
  // Starts a cluster; throws std::runtime_error (with initdb's or pg_ctl's
  // output) if it cannot.
  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // The process's cluster, started on first call.
  static PgCluster& shared();

  // Creates an empty database `name` ([a-z0-9_], as the caller chooses) and
  // returns its URL.
  std::string create_database(const std::string& name);
  // Restarts the server (pg_ctl restart -m fast, waiting until it is up):
  // every session ends, as in a real restart or failover.
  void restart();
  // Stops the server (pg_ctl stop -m fast: every session ends) and leaves
  // it down until start_server(): a database that is down, as in an outage.
  // The guard and the destructor still clean up if a test fails meanwhile.
  void stop_server();
  void start_server();
  // postgresql:///NAME?host=SOCKET_DIR&user=refpos
  [[nodiscard]] std::string url(const std::string& database) const;
  [[nodiscard]] const std::string& socket_dir() const { return dir_; }

 private:
  void start_guard();
  [[nodiscard]] std::string server_options() const;
  void stop() noexcept;
  std::string dir_;    // the temporary folder: data/, log, the socket
  std::string owner_;  // "" or the user the binaries run as ("nobody")
  pid_t guard_pid_ = -1;
  int guard_fd_ = -1;  // write end of the guard's pipe
  bool running_ = false;
};

}  // namespace refpos::test
