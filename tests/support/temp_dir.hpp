// TempDir: a fresh folder under $TMPDIR (or /tmp), removed with everything in
// it when the object goes away, so that every test runs on its own files.
#pragma once

#include <filesystem>
#include <string>

namespace refpos::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace refpos::test
