// refpos_export_story DIR: writes the follow-up exports' story
// (export_story.hpp) under DIR and prints the three files' paths, one a
// line: store-a, store-b, head office. For export_cli_test.sh.
#include <exception>
#include <filesystem>
#include <iostream>

#include "export_story.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: refpos_export_story DIR\n";
    return 2;
  }
  try {
    std::filesystem::create_directories(argv[1]);
    const auto story = refpos::test::build_export_story(argv[1]);
    std::cout << story.store_a << "\n" << story.store_b << "\n" << story.head_office << "\n";
  } catch (const std::exception& e) {
    std::cerr << "refpos_export_story: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
