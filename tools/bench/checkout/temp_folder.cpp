#include "temp_folder.hpp"

#include <sys/vfs.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <system_error>
#include <vector>

#include "bench_error.hpp"

namespace refpos::bench {

TempFolder::TempFolder() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                        "/refpos-bench-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    throw BenchError("cannot create a temporary folder " + pattern + ": " +
                     std::strerror(errno));
  }
  path_ = buffer.data();
}

TempFolder::~TempFolder() {
  std::error_code ignored;  // a destructor cannot report; a leftover folder is harmless
  std::filesystem::remove_all(path_, ignored);
}

std::string file_system_name(const std::string& path) {
  struct statfs info {};
  if (statfs(path.c_str(), &info) != 0) return "unknown";
  // Magic numbers from linux/magic.h (not included: it is not in every sysroot).
  struct Known {
    std::uint64_t magic;
    const char* name;
  };
  static constexpr Known kKnown[] = {
      {0xEF53, "ext4"},          {0x58465342, "xfs"},     {0x9123683E, "btrfs"},
      {0x01021994, "tmpfs"},     {0x858458F6, "ramfs"},   {0x794C7630, "overlayfs"},
      {0x6969, "nfs"},           {0x65735546, "fuse"},    {0x2FC12FC1, "zfs"},
      {0xF2F52010, "f2fs"},
  };
  const auto magic = static_cast<std::uint64_t>(info.f_type);
  for (const auto& known : kKnown) {
    if (known.magic == magic) return known.name;
  }
  std::ostringstream hex;
  hex << "0x" << std::hex << magic;
  return hex.str();
}

bool fsync_is_free(const std::string& file_system) {
  return file_system == "tmpfs" || file_system == "ramfs";
}

}  // namespace refpos::bench
