// refpos_report_scenario OUT_DIR: runs the seeded story (scenario.hpp)
// through the real plugin into OUT_DIR/store (OUT_DIR/store/refpos.db) and
// writes the expected figures to OUT_DIR/expected.json, for the tests that
// drive refposctl and a browser (report_cli_test.sh, browser_test.py).
#include <filesystem>
#include <fstream>
#include <iostream>

#include "scenario.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: refpos_report_scenario OUT_DIR\n";
    return 2;
  }
  try {
    const std::filesystem::path out = argv[1];
    std::filesystem::remove_all(out);
    std::filesystem::create_directories(out / "store");
    const auto expected = refpos::test::run_main_scenario((out / "store").string());
    std::ofstream file(out / "expected.json");
    file << expected.dump(2) << "\n";
    if (!file) throw std::runtime_error("cannot write expected.json");
    std::cout << (out / "store" / "refpos.db").string() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "refpos_report_scenario: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
