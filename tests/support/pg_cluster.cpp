#include "pg_cluster.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace refpos::test {
namespace {

// The user the server binaries run as when the tests run as root.
constexpr const char* kUnprivilegedUser = "nobody";

std::string bin_dir() {
  const char* env = std::getenv("REFPOS_PG_BIN");  // NOLINT(concurrency-mt-unsafe)
  return env != nullptr && *env != '\0' ? env : "/usr/lib/postgresql/15/bin";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs argv (as `owner` through runuser when not empty) in `dir`, its output
// appended to dir/commands.log; throws with that output if it fails.
void run(const std::string& dir, const std::string& owner, std::vector<std::string> args) {
  if (!owner.empty()) args.insert(args.begin(), {"/usr/sbin/runuser", "-u", owner, "--"});
  const std::string log = dir + "/commands.log";
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("pg_cluster: fork failed");
  if (pid == 0) {  // only async-signal-safe calls until exec
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int in = open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0 || chdir(dir.c_str()) != 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("pg_cluster: " + args[owner.empty() ? 0 : 4] + " failed:\n" +
                             read_file(log));
  }
}

}  // namespace

PgCluster::PgCluster() {
  std::vector<char> pattern;
  // /tmp, not $TMPDIR: `nobody` must reach it, and the socket's path
  // (dir/.s.PGSQL.5432) must stay under 108 bytes.
  const std::string tmpl = "/tmp/refpos-pg-XXXXXX";
  pattern.assign(tmpl.begin(), tmpl.end());
  pattern.push_back('\0');
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("pg_cluster: mkdtemp failed");
  dir_ = pattern.data();
  if (geteuid() == 0) {
    const passwd* pw = getpwnam(kUnprivilegedUser);  // NOLINT(concurrency-mt-unsafe): once
    if (pw == nullptr || chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("pg_cluster: running as root and cannot hand " + dir_ + " to " +
                               kUnprivilegedUser);
    }
    owner_ = kUnprivilegedUser;
  }
  try {
    start_guard();
  } catch (...) {
    std::filesystem::remove_all(dir_);
    throw;
  }
  const std::string bin = bin_dir();
  try {
    run(dir_, owner_,
        {bin + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "refpos", "--no-sync",
         "-E", "UTF8", "--locale=C"});
    running_ = true;  // from here on, stop() tries pg_ctl stop
    run(dir_, owner_,
        {bin + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/server.log", "-w", "-o",
         server_options(), "start"});
  } catch (...) {
    stop();
    throw;
  }
}

// Forked before the server exists, so no moment is left without it.
void PgCluster::start_guard() {
  // Built before fork: the child only reads, then execs.
  const std::string cleanup = (owner_.empty() ? "" : "/usr/sbin/runuser -u " + owner_ + " -- ") +
                              "'" + bin_dir() + "/pg_ctl' -D " + dir_ +
                              "/data -m immediate stop; rm -rf " + dir_;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pg_cluster: pipe failed");
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    throw std::runtime_error("pg_cluster: fork failed");
  }
  if (pid == 0) {
    close(fds[1]);
    const int null = open("/dev/null", O_RDWR);  // so ctest does not wait for it
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    char byte = 0;
    ssize_t n = 0;
    do {
      n = read(fds[0], &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) _exit(0);  // stopped by the destructor
    const char* argv[] = {"/bin/sh", "-c", cleanup.c_str(), nullptr};
    execv(argv[0], const_cast<char* const*>(argv));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    _exit(127);
  }
  close(fds[0]);
  guard_pid_ = pid;
  guard_fd_ = fds[1];
}

PgCluster::~PgCluster() { stop(); }

// Unix socket only, in the folder; no durability (a test's data dies with it).
std::string PgCluster::server_options() const {
  return "-c listen_addresses='' -k " + dir_ + " -c fsync=off -c full_page_writes=off";
}

void PgCluster::restart() {
  run(dir_, owner_,
      {bin_dir() + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/server.log", "-w", "-m", "fast",
       "-o", server_options(), "restart"});
}

void PgCluster::stop_server() {
  run(dir_, owner_, {bin_dir() + "/pg_ctl", "-D", dir_ + "/data", "-w", "-m", "fast", "stop"});
}

void PgCluster::start_server() {
  run(dir_, owner_,
      {bin_dir() + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/server.log", "-w", "-o",
       server_options(), "start"});
}

void PgCluster::stop() noexcept {
  if (running_) {
    running_ = false;
    try {
      run(dir_, owner_, {bin_dir() + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "stop"});
    } catch (...) {  // the guard tries again
    }
  }
  if (guard_fd_ >= 0) {
    const char done = 'x';
    (void)write(guard_fd_, &done, 1);
    close(guard_fd_);
    guard_fd_ = -1;
    while (waitpid(guard_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

PgCluster& PgCluster::shared() {
  static PgCluster cluster;
  return cluster;
}

std::string PgCluster::url(const std::string& database) const {
  return "postgresql:///" + database + "?host=" + dir_ + "&user=refpos";
}

std::string PgCluster::create_database(const std::string& name) {
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      throw std::invalid_argument("pg_cluster: database names are [a-z0-9_], got " + name);
  }
  PGconn* conn = PQconnectdb(url("postgres").c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, ("CREATE DATABASE " + name).c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  if (!error.empty()) throw std::runtime_error("pg_cluster: CREATE DATABASE " + name + ": " + error);
  return url(name);
}

}  // namespace refpos::test
