// refpos-hq as a child process (hq_child.hpp). The child's stdout is a pipe
// that carries one line, "listening on 127.0.0.1:PORT\n" (tools/hq/main.cpp),
// written once the server accepts connections; its stderr goes to the log
// file. Every descriptor made here is close-on-exec, so concurrent spawns
// (the sync tests start other children from other threads) inherit none of
// them.
#include "common/hq_child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace refpos::process {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kListeningPrefix = "listening on 127.0.0.1:";
constexpr std::size_t kStdoutLineMax = 4096;  // the one line is ~30 bytes
constexpr std::size_t kLogTailChars = 2000;   // of the log, in a start failure's message

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<std::int64_t>(0, left));
}

// What the child wrote on stdout up to the first newline (included), or up
// to EOF, the deadline or kStdoutLineMax bytes, whichever comes first.
std::string read_first_line(int fd, int timeout_ms) {
  std::string line;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (line.find('\n') == std::string::npos && line.size() < kStdoutLineMax) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    char buf[256];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  return line;
}

// The port of a whole "listening on 127.0.0.1:PORT\n" line; nullopt for
// anything else.
std::optional<std::uint16_t> listening_port(std::string_view line) {
  if (!line.starts_with(kListeningPrefix)) return std::nullopt;
  const std::string_view digits = line.substr(kListeningPrefix.size());
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end == digits.data() || end == digits.data() + digits.size() ||
      *end != '\n' || port == 0 || port > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The raw wait status once `pid` ends within `timeout_ms`, watched through
// `pidfd` (-1: block in waitpid instead).
std::optional<int> await_status(int pidfd, pid_t pid, int timeout_ms) {
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return std::nullopt;
  return status;
}

int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

}  // namespace

pid_t spawn_child(const std::vector<std::string>& argv, int stdout_fd, int stderr_fd,
                  std::string_view drop_env_prefix) {
  if (argv.empty()) throw std::invalid_argument("spawn_child: argv is empty");
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (!std::string_view(*e).starts_with(drop_env_prefix)) env.push_back(*e);
  env.push_back(nullptr);
  std::vector<std::string> copy = argv;  // posix_spawn takes char*, not const char*
  std::vector<char*> args;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

std::optional<int> wait_child_status(pid_t pid, int timeout_ms) {
  const int pidfd = open_pidfd(pid);
  const auto status = await_status(pidfd, pid, timeout_ms);
  if (pidfd >= 0) ::close(pidfd);
  return status;
}

HqChild::HqChild(const HqChildOptions& options) : log_path_(options.log_path) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  const int log_flags = O_WRONLY | O_CREAT | O_CLOEXEC | (options.append_log ? O_APPEND : O_TRUNC);
  const int log_fd = ::open(log_path_.c_str(), log_flags, 0600);
  if (log_fd < 0) {
    const int error = errno;
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("cannot open " + log_path_ + ": " + std::strerror(error));
  }
  std::vector<std::string> argv = {options.executable};
  argv.insert(argv.end(), options.arguments.begin(), options.arguments.end());
  try {
    pid_ = spawn_child(argv, out[1], log_fd, options.drop_env_prefix);
  } catch (...) {
    ::close(out[0]);
    ::close(out[1]);
    ::close(log_fd);
    throw;
  }
  ::close(out[1]);
  ::close(log_fd);
  pidfd_ = open_pidfd(pid_);

  const std::string line = read_first_line(out[0], options.start_timeout_ms);
  ::close(out[0]);  // nothing more is written to stdout
  if (const auto port = listening_port(line)) {
    port_ = *port;
    return;
  }
  // No destructor runs for a constructor that throws: clean up here.
  kill_now();
  if (pidfd_ >= 0) ::close(pidfd_);
  std::string log_tail = log();
  if (log_tail.size() > kLogTailChars) log_tail.erase(0, log_tail.size() - kLogTailChars);
  throw std::runtime_error(base_name(options.executable) + " did not start; stdout '" + line +
                           "', log:\n" + log_tail);
}

HqChild::~HqChild() {
  kill_now();
  if (pidfd_ >= 0) ::close(pidfd_);
}

void HqChild::signal(int signal_number) const {
  if (!exited_.load()) ::kill(pid_, signal_number);
}

std::optional<int> HqChild::wait_exit(int timeout_ms) {
  if (exited_.load()) return std::nullopt;
  const auto status = await_status(pidfd_, pid_, timeout_ms);
  if (!status) return std::nullopt;
  exited_.store(true);
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

void HqChild::kill_now() {
  if (exited_.exchange(true)) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

std::int64_t HqChild::peak_resident_bytes() const {
  const std::string path = "/proc/" + std::to_string(pid_) + "/status";
  std::ifstream status(path);
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "NNN kB"
  }
  throw std::runtime_error("no VmHWM in " + path);
}

std::string HqChild::log() const { return read_all(log_path_); }

}  // namespace refpos::process
