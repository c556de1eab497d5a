#include "zbar.hpp"

#include <sys/wait.h>

#include <cstdio>

namespace refpos::test {
namespace {

constexpr std::size_t kMaxOutputBytes = std::size_t{1} << 20;

// The path as one shell word: single-quoted, with each ' written as '\''.
std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

}  // namespace

std::optional<std::string> zbar_decode(const std::filesystem::path& picture) {
  // stderr is discarded: -q keeps zbarimg quiet, but a missing file or a
  // missing program should fail the test through the result, not spam it.
  const std::string command = "zbarimg --raw -q " + shell_quote(picture.string()) + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string output;
  char buffer[4096];
  std::size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof buffer, pipe)) > 0 &&
         output.size() <= kMaxOutputBytes) {
    output.append(buffer, read);
  }
  const int status = pclose(pipe);
  // zbarimg exits 0 when it decoded something, 4 when it found no symbol.
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  if (output.empty() || output.size() > kMaxOutputBytes) return std::nullopt;
  if (output.back() == '\n') output.pop_back();
  return output;
}

}  // namespace refpos::test
