// The scale-out test's main: it needs HAProxy and PostgreSQL's server
// binaries. Without them it says what is missing and exits 77, which ctest
// reports as skipped (SKIP_RETURN_CODE); tools/test installs both
// (tools/deps.sh), so in CI it runs.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "haproxy.hpp"

int main(int argc, char** argv) {
  const std::string missing = refpos::test::scale_prerequisites_missing();
  if (!missing.empty()) {
    std::printf("skipped: %s\n", missing.c_str());
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
