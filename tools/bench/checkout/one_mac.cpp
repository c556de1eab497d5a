#include "one_mac.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstddef>
#include <utility>
#include <vector>

#include "bench_error.hpp"
#include "latency.hpp"

namespace refpos::bench {

namespace {

// `batches` timings of `calls_per_batch` chained HMAC() calls each.
std::vector<std::int64_t> time_mac_batches(std::size_t batches, int calls_per_batch) {
  const std::array<unsigned char, 16> key{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                          0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
  std::array<unsigned char, 16> message{'r', 'e', 'f', 'p', 'o', 's', '-', 'c',
                                        'o', 'd', 'e', '-', 'v', '1', ':', '0'};
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  std::vector<std::int64_t> batch_ns;
  batch_ns.reserve(batches);
  for (std::size_t b = 0; b < batches; ++b) {
    const auto start = BenchClock::now();
    for (int i = 0; i < calls_per_batch; ++i) {
      unsigned int length = 0;
      if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), message.data(),
               message.size(), digest.data(), &length) == nullptr) {
        throw BenchError("OpenSSL HMAC-SHA256 failed");
      }
      message[15] = digest[0];  // each MAC depends on the last: nothing to hoist
    }
    const auto end = BenchClock::now();
    batch_ns.push_back(elapsed_ns(start, end));
  }
  return batch_ns;
}

}  // namespace

double one_mac_p50_ns(int batches, int calls_per_batch) {
  const LatencySummary summary =
      summarize(time_mac_batches(static_cast<std::size_t>(batches), calls_per_batch));
  return static_cast<double>(summary.p50_ns) / static_cast<double>(calls_per_batch);
}

LatencySummary plain_work(double target_ns, double one_mac_ns, std::size_t runs) {
  const double calls = one_mac_ns > 0 ? target_ns / one_mac_ns : 1.0;
  const int per_run = calls < 1.0 ? 1 : static_cast<int>(calls + 0.5);
  return summarize(time_mac_batches(runs, per_run));
}

}  // namespace refpos::bench
