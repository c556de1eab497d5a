#include "file_watch.hpp"

#include <sys/stat.h>

#include <utility>

namespace refpos::bench {

FileWatch::FileWatch(std::string path) : path_(std::move(path)) {}

bool FileWatch::changed_since_last_look() {
  struct stat info {};
  std::int64_t size = -1;
  std::int64_t mtime_ns = -1;
  if (stat(path_.c_str(), &info) == 0) {
    size = static_cast<std::int64_t>(info.st_size);
    mtime_ns = static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 +
               static_cast<std::int64_t>(info.st_mtim.tv_nsec);
  }
  const bool changed = size != size_ || mtime_ns != mtime_ns_;
  size_ = size;
  mtime_ns_ = mtime_ns;
  return changed;
}

}  // namespace refpos::bench
