// A TCP proxy on 127.0.0.1 that sits in the middle of the TLS stream between
// a store and refpos-hq (it does not terminate TLS) and, after forwarding
// exactly k bytes in one direction, runs a callback (kill a process, or
// nothing) and closes both sockets. Its own thread, poll() only, no timers:
// where it cuts depends on k alone, not on how fast either side runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace refpos::test {

enum class Direction { to_server = 0, to_client = 1 };

struct CutPlan {
  Direction direction = Direction::to_server;
  std::uint64_t k = std::numeric_limits<std::uint64_t>::max();  // max: never cut
  std::function<void()> at_cut;  // called on the proxy's thread just before the close
  // false: at byte k run at_cut and go on forwarding, never closing (a fault
  // elsewhere, say the database stopped, while the stream stays whole).
  bool close = true;
};

// One chunk as the proxy forwarded it: direction and that direction's byte
// count after it. An uninterrupted run's chunks show where each request and
// each response ends (where the direction turns).
struct Chunk {
  Direction direction;
  std::uint64_t total_after;
};

class CutProxy {
 public:
  CutProxy(std::uint16_t upstream_port, CutPlan plan = {});
  ~CutProxy();
  CutProxy(const CutProxy&) = delete;
  CutProxy& operator=(const CutProxy&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::uint64_t forwarded(Direction d) const {
    return forwarded_[static_cast<int>(d)].load();
  }
  [[nodiscard]] bool cut() const { return cut_.load(); }
  // at_cut has run (with close or without).
  [[nodiscard]] bool fired() const { return fired_.load(); }
  [[nodiscard]] std::vector<Chunk> chunks() const;

 private:
  void run();
  // Forwards one read's worth from `from` to `to`; false when the pair ends.
  bool pump(int from, int to, Direction d);
  // Writes `size` bytes on and counts them; false if `to` is gone.
  bool forward(int to, const char* data, std::uint64_t size, Direction d);
  void cut_now();

  std::uint16_t upstream_port_;
  CutPlan plan_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: the destructor wakes the thread
  int client_fd_ = -1;
  int server_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> forwarded_[2] = {0, 0};
  std::atomic<bool> cut_{false};
  std::atomic<bool> fired_{false};
  mutable std::mutex chunks_mutex_;
  std::vector<Chunk> chunks_;
  std::thread thread_;
};

}  // namespace refpos::test
