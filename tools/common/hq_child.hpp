// The head office (refpos-hq) as a child process, for the server's tests,
// the sync tests and refpos-bench-hq: the one place that starts it, reads
// its "listening on 127.0.0.1:PORT" line and stops it. Plain POSIX and std
// (no Boost, no JSON): the caller writes the configuration file and passes
// the arguments.
//
// Synchronisation is by events, never by sleeping: the line on stdout read
// with poll(), and a pidfd for the process's exit. Every wait has a deadline
// that only guards against a hang.
//
// The two steps it stands on, spawning with a filtered environment and
// waiting with a deadline, are public for the tests' other children.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace refpos::process {

// Starts argv[0] with `argv`, its stdout on `stdout_fd` and its stderr on
// `stderr_fd` (the caller keeps and closes its own descriptors), and the
// caller's environment without the variables whose names start with
// `drop_env_prefix`. Throws std::runtime_error if posix_spawn fails.
pid_t spawn_child(const std::vector<std::string>& argv, int stdout_fd, int stderr_fd,
                  std::string_view drop_env_prefix);

// The raw wait status of the child `pid` once it ends within `timeout_ms`
// (it is reaped then); nullopt if it is still running.
std::optional<int> wait_child_status(pid_t pid, int timeout_ms);

struct HqChildOptions {
  std::string executable;               // the refpos-hq binary
  std::vector<std::string> arguments;   // after argv[0], e.g. {"--config", path}
  std::string log_path;                 // the child's stderr (its JSON log)
  bool append_log = false;              // keep earlier runs' lines: a restart on the same files
  std::string drop_env_prefix = "REFPOS_HQ_";  // the child must not inherit the caller's settings
  int start_timeout_ms = 20'000;        // for the "listening on" line
};

// refpos-hq running on 127.0.0.1:port(). The constructor returns once the
// server accepts connections, or throws std::runtime_error (the process
// killed and reaped) with its stdout line and the tail of its log. Whatever
// is still running when the object goes away is killed with SIGKILL;
// stopping gracefully, and what a failed stop means, is the owner's policy.
class HqChild {
 public:
  explicit HqChild(const HqChildOptions& options);
  ~HqChild();
  HqChild(const HqChild&) = delete;
  HqChild& operator=(const HqChild&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  // True once the process was reaped (wait_exit or kill_now).
  [[nodiscard]] bool exited() const { return exited_.load(); }
  // Sends `signal_number`; nothing once the process was reaped.
  void signal(int signal_number) const;
  // The exit code once the process ends within `timeout_ms`: -1 if a signal
  // ended it; nullopt if it is still running or was reaped before.
  std::optional<int> wait_exit(int timeout_ms);
  // SIGKILL, and waits until it is gone. Any thread may call it; only the
  // first call (or none after wait_exit) does anything.
  void kill_now();
  // VmHWM from /proc/PID/status in bytes: the peak resident set so far.
  // Throws std::runtime_error if it cannot be read (e.g. after the exit).
  [[nodiscard]] std::int64_t peak_resident_bytes() const;
  [[nodiscard]] const std::string& log_path() const { return log_path_; }
  [[nodiscard]] std::string log() const;  // the whole log file as it is now

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  int pidfd_ = -1;  // -1 if pidfd_open failed: waits block in waitpid
  std::atomic<bool> exited_{false};
  std::uint16_t port_ = 0;
};

}  // namespace refpos::process
