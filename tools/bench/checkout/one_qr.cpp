#include "one_qr.hpp"

#include <qrcodegen.hpp>

#include <string>

#include "latency.hpp"

namespace refpos::bench {

std::int64_t timed_qr_encode() {
  static std::uint64_t counter = 0;
  // A different code each time, as at the till (the encoder's work does not
  // depend on the text much, but no cache can help either).
  std::string link = "https://example.com/r/7K3M9Q2XWP4H";
  const std::string symbols = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::uint64_t n = ++counter;
  for (int i = 0; i < 4; ++i, n /= 32) link.push_back(symbols[n % 32]);
  const auto start = BenchClock::now();
  const auto qr = qrcodegen::QrCode::encodeText(link.c_str(), qrcodegen::QrCode::Ecc::MEDIUM);
  const auto end = BenchClock::now();
  return qr.getSize() > 0 ? elapsed_ns(start, end) : 0;
}

}  // namespace refpos::bench
