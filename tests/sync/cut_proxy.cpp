// The cutting proxy (cut_proxy.hpp).
#include "cut_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace refpos::test {
namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Writes all of `data`; false if the peer is gone.
bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

CutProxy::CutProxy(std::uint16_t upstream_port, CutPlan plan)
    : upstream_port_(upstream_port), plan_(std::move(plan)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 8) != 0) {
    close_fd(listen_fd_);
    throw std::runtime_error(std::string("cut proxy: cannot listen: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { run(); });
}

CutProxy::~CutProxy() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(stop_fd_, &one, sizeof one);
  thread_.join();
  close_fd(client_fd_);
  close_fd(server_fd_);
  close_fd(listen_fd_);
  close_fd(stop_fd_);
}

std::vector<Chunk> CutProxy::chunks() const {
  std::lock_guard lock(chunks_mutex_);
  return chunks_;
}

void CutProxy::cut_now() {
  // Set before at_cut runs: it may kill the process a test waits for, and
  // the test reads cut() as soon as that wait returns.
  cut_ = true;
  fired_ = true;
  if (plan_.at_cut) plan_.at_cut();
  // An abortive close (RST) on both sides: nothing more arrives either way.
  const linger abort_close{1, 0};
  for (int* fd : {&client_fd_, &server_fd_}) {
    if (*fd >= 0) ::setsockopt(*fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
    close_fd(*fd);
  }
  close_fd(listen_fd_);  // and no new connection gets through
}

bool CutProxy::pump(int from, int to, Direction d) {
  char buf[16 * 1024];
  const ssize_t n = ::recv(from, buf, sizeof buf, 0);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) return false;
  auto& count = forwarded_[static_cast<int>(d)];
  const bool cutting = plan_.direction == d && !fired_.load();
  std::uint64_t allowed = static_cast<std::uint64_t>(n);
  if (cutting) allowed = std::min<std::uint64_t>(allowed, plan_.k - std::min(plan_.k, count.load()));
  if (allowed > 0 && !forward(to, buf, allowed, d)) return false;
  if (cutting && count.load() >= plan_.k) {
    if (plan_.close) {
      cut_now();
      return false;
    }
    fired_ = true;
    if (plan_.at_cut) plan_.at_cut();
    // The rest of this read, after the fault.
    const auto rest = static_cast<std::uint64_t>(n) - allowed;
    if (rest > 0 && !forward(to, buf + allowed, rest, d)) return false;
  }
  return true;
}

bool CutProxy::forward(int to, const char* data, std::uint64_t size, Direction d) {
  if (!write_all(to, data, size)) return false;
  auto& count = forwarded_[static_cast<int>(d)];
  count += size;
  std::lock_guard lock(chunks_mutex_);
  chunks_.push_back(Chunk{d, count.load()});
  return true;
}

void CutProxy::run() {
  while (!cut_) {
    // Wait for a store to connect (or for the destructor).
    pollfd waits[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(waits, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (waits[1].revents != 0) return;
    client_fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client_fd_ < 0) continue;
    server_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(upstream_port_);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(server_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      close_fd(server_fd_);
      close_fd(client_fd_);
      continue;
    }
    const int one = 1;
    ::setsockopt(client_fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(server_fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // k == 0 towards the server: not one byte of the store's gets through.
    if (plan_.direction == Direction::to_server && plan_.k == 0) {
      cut_now();
      return;
    }
    bool open = true;
    while (open && !cut_) {
      pollfd p[3] = {{client_fd_, POLLIN, 0}, {server_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (::poll(p, 3, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (p[2].revents != 0) return;
      if (p[0].revents != 0) open = pump(client_fd_, server_fd_, Direction::to_server);
      if (open && !cut_ && p[1].revents != 0) open = pump(server_fd_, client_fd_, Direction::to_client);
    }
    close_fd(client_fd_);
    close_fd(server_fd_);
  }
}

}  // namespace refpos::test
