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

double one_mac_p50_ns(int batches, int calls_per_batch) {
  const std::array<unsigned char, 16> key{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                          0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
  std::array<unsigned char, 16> message{'r', 'e', 'f', 'p', 'o', 's', '-', 'c',
                                        'o', 'd', 'e', '-', 'v', '1', ':', '0'};
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  std::vector<std::int64_t> batch_ns;
  batch_ns.reserve(static_cast<std::size_t>(batches));
  for (int b = 0; b < batches; ++b) {
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
  const LatencySummary summary = summarize(std::move(batch_ns));
  return static_cast<double>(summary.p50_ns) / static_cast<double>(calls_per_batch);
}

}  // namespace refpos::bench
