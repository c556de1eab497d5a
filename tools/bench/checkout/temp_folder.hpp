// The benchmark's scratch folder: one mkdtemp folder under $TMPDIR (or /tmp)
// that holds the plugin's stores and the raw SQLite baseline, so both write
// to the same file system, and that is removed with everything in it when
// the benchmark ends (also when it fails; not when it is killed).
#pragma once

#include <string>

namespace refpos::bench {

class TempFolder {
 public:
  // Creates "<$TMPDIR or /tmp>/refpos-bench-XXXXXX". Throws BenchError.
  TempFolder();
  ~TempFolder();
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  // path() + "/" + name; nothing is created.
  [[nodiscard]] std::string child(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The kind of file system `path` is on ("ext4", "tmpfs", ...), or its magic
// number in hex when the name is not known here. The commit figures mean
// "durable" only on a file system where fsync reaches the disk.
std::string file_system_name(const std::string& path);

// True for file systems whose fsync never reaches a disk (tmpfs, ramfs).
bool fsync_is_free(const std::string& file_system);

}  // namespace refpos::bench
