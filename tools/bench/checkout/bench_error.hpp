// The one failure of the checkout benchmark: something it relies on did not
// work (the plugin would not load or answered an error, SQLite or OpenSSL
// failed). main() reports the message and exits 1: no figure can be trusted.
#pragma once

#include <stdexcept>

namespace refpos::bench {

class BenchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace refpos::bench
