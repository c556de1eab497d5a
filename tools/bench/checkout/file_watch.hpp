// Tells whether a file was written between two looks at it, from its size
// and modification time. The benchmark watches the main database files: in
// WAL mode SQLite writes the main file only when it checkpoints, so a commit
// during which the file changed is a commit that paid for a checkpoint.
#pragma once

#include <cstdint>
#include <string>

namespace refpos::bench {

class FileWatch {
 public:
  explicit FileWatch(std::string path);

  // True if the size or mtime differs from the last look (the first look
  // compares with "no file"). The mtime is the kernel's coarse clock, so two
  // writes a few milliseconds apart may look like one; checkpoints are
  // further apart than that.
  bool changed_since_last_look();

 private:
  std::string path_;
  std::int64_t size_ = -1;
  std::int64_t mtime_ns_ = -1;
};

}  // namespace refpos::bench
