// printer: see printer.hpp. POSIX sockets and file descriptors, every
// blocking step bounded by poll() with a deadline.
#include "printer.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>

namespace refpos::terminal {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kTcpScheme = "tcp://";
// How often a device that has no reader yet (ENXIO), or a TCP connection
// whose last bytes are not yet acknowledged, is looked at again.
constexpr milliseconds kRecheckInterval{10};

std::string errno_text(int error) { return std::system_category().message(error); }

// Closes on scope exit; the descriptor of one print job.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }
  // Closes now and reports the error close() returns (a device may only
  // report a failed write there).
  int close_now() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

// A write to a FIFO (or a device) whose reader went away raises SIGPIPE,
// which would end the till. While this lives, SIGPIPE is blocked for this
// thread; one raised meanwhile is taken off the pending set before the old
// mask is restored, so the write just fails with EPIPE.
class SigpipeSuppressed {
 public:
  SigpipeSuppressed() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &old_mask_);
  }
  SigpipeSuppressed(const SigpipeSuppressed&) = delete;
  SigpipeSuppressed& operator=(const SigpipeSuppressed&) = delete;
  ~SigpipeSuppressed() {
    if (!was_pending_) {
      const timespec no_wait{0, 0};
      while (sigtimedwait(&sigpipe_, nullptr, &no_wait) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }

 private:
  sigset_t sigpipe_{};
  sigset_t old_mask_{};
  bool was_pending_ = false;
};

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, kMaxPrinterTimeout.count()));
}

// 0 if `fd` became ready for `events` before the deadline, ETIMEDOUT if not,
// else the poll or socket error.
int wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd entry{fd, events, 0};
    const int ready = ::poll(&entry, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready < 0) {
      return errno;
    }
    if (ready == 0) {
      return ETIMEDOUT;
    }
    return 0;
  }
}

std::string sent_of(std::size_t sent, std::size_t total) {
  return "(" + std::to_string(sent) + " of " + std::to_string(total) + " bytes sent)";
}

// Writes every byte, waiting at most `timeout` each time the printer takes
// none. `is_socket`: send() with MSG_NOSIGNAL, so a dropped connection is an
// error (EPIPE) rather than a SIGPIPE that ends the till.
std::string write_fully(int fd, std::string_view bytes, milliseconds timeout, bool is_socket) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const std::string_view rest = bytes.substr(sent);
    const ssize_t written = is_socket ? ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL)
                                      : ::write(fd, rest.data(), rest.size());
    if (written > 0) {
      sent += static_cast<std::size_t>(written);
      continue;
    }
    if (written < 0 && errno == EINTR) {
      continue;
    }
    if (written < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return (errno == EPIPE || errno == ECONNRESET ? "the printer dropped the connection: "
                                                    : "write failed: ") +
             errno_text(errno) + " " + sent_of(sent, bytes.size());
    }
    const int waited = wait_for(fd, POLLOUT, Clock::now() + timeout);
    if (waited == ETIMEDOUT) {
      return "the printer took no data for " + std::to_string(timeout.count()) + " ms " +
             sent_of(sent, bytes.size());
    }
    if (waited != 0) {
      return "write failed: " + errno_text(waited) + " " + sent_of(sent, bytes.size());
    }
  }
  return "";
}

std::string print_to_device(const PrinterTarget& target, std::string_view bytes,
                            milliseconds timeout) {
  // O_NONBLOCK: a FIFO without a reader answers ENXIO at once instead of
  // blocking the open; so may a printer that is not ready. Both are retried
  // until the deadline. O_APPEND: a plain file as target collects receipts.
  const Clock::time_point open_deadline = Clock::now() + timeout;
  int fd = -1;
  while (true) {
    fd = ::open(target.path.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_APPEND | O_CLOEXEC);
    if (fd >= 0 || errno == EINTR) {
      if (fd >= 0) {
        break;
      }
      continue;
    }
    if (errno != ENXIO) {
      return "cannot open: " + errno_text(errno);
    }
    if (Clock::now() >= open_deadline) {
      return "not ready (nothing reads the device) after " + std::to_string(timeout.count()) +
             " ms";
    }
    std::this_thread::sleep_for(kRecheckInterval);
  }
  Descriptor device(fd);
  const SigpipeSuppressed no_sigpipe;
  if (std::string problem = write_fully(device.get(), bytes, timeout, false); !problem.empty()) {
    return problem;
  }
  if (const int error = device.close_now(); error != 0) {
    return "write failed on close: " + errno_text(error);
  }
  return "";
}

// A connected TCP socket, or why there is none (each address is tried in
// turn, within one deadline).
struct Connection {
  int fd = -1;
  std::string error;
};

Connection connect_with_deadline(const PrinterTarget& target, milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  // Name lookup has no deadline of its own; use an address or a name the
  // local resolver knows (/etc/hosts) for a printer.
  const int lookup =
      ::getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &found);
  if (lookup != 0) {
    return {-1, "cannot resolve " + target.host + ": " + ::gai_strerror(lookup)};
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  const Clock::time_point deadline = Clock::now() + timeout;
  std::string error = "no address for " + target.host;
  for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
    const int fd = ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            address->ai_protocol);
    if (fd < 0) {
      error = "socket: " + errno_text(errno);
      continue;
    }
    Descriptor socket(fd);
    int result = ::connect(fd, address->ai_addr, address->ai_addrlen);
    result = result == 0 ? 0 : errno;
    if (result == EINPROGRESS) {
      result = wait_for(fd, POLLOUT, deadline);
      if (result == 0) {
        socklen_t length = sizeof result;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &length) != 0) {
          result = errno;
        }
      }
    }
    if (result == 0) {
      return {socket.release(), ""};
    }
    if (result == ETIMEDOUT) {
      error = "no answer within " + std::to_string(timeout.count()) + " ms";
    } else if (result == ECONNREFUSED) {
      error = "connection refused (is the printer on, and is this its raw port?)";
    } else if (result == ECONNRESET) {
      error = "the printer dropped the connection as it was made: " + errno_text(result);
    } else {
      error = "cannot connect: " + errno_text(result);
    }
    if (result == ETIMEDOUT) {
      break;  // the deadline covers every address
    }
  }
  return {-1, error};
}

// Waits until the printer acknowledged every byte written (SIOCOUTQ: bytes
// not yet acknowledged), so that a printer that stalls or resets the
// connection is reported instead of being hidden by socket buffers.
// `timeout` is again the longest the printer may go without progress.
std::string wait_until_acknowledged(int fd, std::size_t total, milliseconds timeout) {
  int unacknowledged = 0;
  int previous = -1;
  Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    if (::ioctl(fd, SIOCOUTQ, &unacknowledged) != 0) {
      return "";  // not a kernel that tells; the bytes were written
    }
    if (unacknowledged == 0) {
      return "";
    }
    if (unacknowledged != previous) {
      previous = unacknowledged;
      deadline = Clock::now() + timeout;
    }
    const std::size_t taken = total - std::min(total, static_cast<std::size_t>(unacknowledged));
    if (Clock::now() >= deadline) {
      return "the printer took no data for " + std::to_string(timeout.count()) + " ms (" +
             std::to_string(taken) + " of " + std::to_string(total) + " bytes acknowledged)";
    }
    // events 0: poll still reports an error or hang-up (a reset).
    pollfd entry{fd, 0, 0};
    if (::poll(&entry, 1, static_cast<int>(kRecheckInterval.count())) > 0) {
      int error = 0;
      socklen_t length = sizeof error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      return "the printer dropped the connection" +
             (error != 0 ? ": " + errno_text(error) : std::string()) + " (" +
             std::to_string(taken) + " of " + std::to_string(total) + " bytes acknowledged)";
    }
  }
}

std::string print_to_tcp(const PrinterTarget& target, std::string_view bytes,
                         milliseconds timeout) {
  const Connection connection = connect_with_deadline(target, timeout);
  if (connection.fd < 0) {
    return connection.error;
  }
  Descriptor socket(connection.fd);
  if (std::string problem = write_fully(socket.get(), bytes, timeout, true); !problem.empty()) {
    return problem;
  }
  return wait_until_acknowledged(socket.get(), bytes.size(), timeout);
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

ParsedPrinterTarget parse_tcp_target(std::string_view text, std::string_view rest) {
  const auto refuse = [&](const std::string& why) {
    return ParsedPrinterTarget{std::nullopt, "--printer " + std::string(text) + ": " + why +
                                                 "; expected tcp://HOST[:PORT], e.g. "
                                                 "tcp://10.0.0.7:9100"};
  };
  PrinterTarget target;
  target.kind = PrinterTarget::Kind::tcp;
  target.text = std::string(text);
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return refuse("no ']' after the IPv6 address");
    }
    target.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return refuse("unexpected text after ']'");
    }
    port_text = rest.empty() ? std::string_view() : rest.substr(1);
    if (rest.size() == 1) {
      return refuse("empty port");
    }
  } else {
    const std::size_t colon = rest.find(':');
    if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos) {
      return refuse("an IPv6 address goes in brackets");
    }
    target.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) {
        return refuse("empty port");
      }
    }
  }
  if (target.host.empty()) {
    return refuse("no host");
  }
  if (target.host.find_first_of("/?#@ ") != std::string::npos) {
    return refuse("a host has no '/', '?', '#', '@' or spaces");
  }
  if (!port_text.empty()) {
    const std::optional<std::uint16_t> port = parse_port(port_text);
    if (!port) {
      return refuse("the port must be a number from 1 to 65535, got \"" + std::string(port_text) +
                    "\"");
    }
    target.port = *port;
  }
  return {std::move(target), ""};
}

}  // namespace

ParsedPrinterTarget parse_printer_target(std::string_view text) {
  if (text.starts_with(kTcpScheme)) {
    return parse_tcp_target(text, text.substr(kTcpScheme.size()));
  }
  if (text.find("://") != std::string_view::npos) {
    return {std::nullopt, "--printer " + std::string(text) +
                              ": unknown scheme; expected tcp://HOST[:PORT] or a device path "
                              "such as /dev/usb/lp0"};
  }
  if (text.empty()) {
    return {std::nullopt, "--printer: empty; expected tcp://HOST[:PORT] or a device path"};
  }
  struct stat status {};
  if (::stat(std::string(text).c_str(), &status) != 0) {
    return {std::nullopt, "--printer " + std::string(text) + ": " + errno_text(errno) +
                              "; expected a printer device such as /dev/usb/lp0 or "
                              "tcp://HOST[:PORT]"};
  }
  if (S_ISDIR(status.st_mode)) {
    return {std::nullopt, "--printer " + std::string(text) + ": is a folder, not a printer device"};
  }
  PrinterTarget target;
  target.kind = PrinterTarget::Kind::device;
  target.path = std::string(text);
  target.text = std::string(text);
  return {std::move(target), ""};
}

std::string print_bytes(const PrinterTarget& target, std::string_view bytes,
                        std::chrono::milliseconds timeout) {
  try {
    return target.kind == PrinterTarget::Kind::tcp ? print_to_tcp(target, bytes, timeout)
                                                   : print_to_device(target, bytes, timeout);
  } catch (const std::exception& e) {  // allocation failure building a message
    return std::string("unexpected error: ") + e.what();
  }
}

}  // namespace refpos::terminal
