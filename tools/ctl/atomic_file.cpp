#include "atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>
#include <vector>

namespace refpos::ctl {
namespace {

Error file_error(const std::filesystem::path& path, std::string_view what, int error_number) {
  return make_error(ErrorKind::storage, "",
                    path.string() + ": " + std::string(what) + ": " + std::strerror(error_number));
}

// Closes the descriptor and removes the temporary file unless released.
class TempFile {
 public:
  TempFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }
  void keep() { path_.clear(); }

 private:
  int fd_;
  std::string path_;
};

Status write_all(int fd, std::string_view content, const std::filesystem::path& path) {
  while (!content.empty()) {
    const ssize_t written = ::write(fd, content.data(), content.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return file_error(path, "writing", errno);
    }
    content.remove_prefix(static_cast<std::size_t>(written));
  }
  return ok_status();
}

Status sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return file_error(dir, "opening the folder to sync it", errno);
  const int result = ::fsync(fd);
  const int error_number = errno;
  ::close(fd);
  if (result != 0) return file_error(dir, "syncing the folder", error_number);
  return ok_status();
}

}  // namespace

Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                             mode_t mode, IfExists if_exists) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::string pattern = path.string() + ".tmp-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());  // made 0600, so a secret is never readable
  if (fd < 0) return file_error(path, "making a temporary file", errno);
  TempFile temp(fd, name.data());
  if (::fchmod(temp.fd(), mode) != 0) return file_error(path, "setting the mode", errno);
  if (auto written = write_all(temp.fd(), content, path); !written) return written;
  if (::fsync(temp.fd()) != 0) return file_error(path, "syncing", errno);
  if (temp.close() != 0) return file_error(path, "closing", errno);

  if (if_exists == IfExists::refuse) {
    // link() fails with EEXIST instead of replacing: no race with another writer.
    if (::link(temp.path().c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) {
        return make_error(ErrorKind::conflict, "",
                          path.string() + ": already exists; refusing to replace it");
      }
      return file_error(path, "linking into place", errno);
    }
  } else {
    if (::rename(temp.path().c_str(), path.c_str()) != 0) {
      return file_error(path, "renaming into place", errno);
    }
    temp.keep();
  }
  return sync_directory(dir);
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) {
    return make_error(ErrorKind::storage, "", path.string() + ": cannot read: " + error.message());
  }
  if (size > max_bytes) {
    return make_error(ErrorKind::storage, "",
                      path.string() + ": " + std::to_string(size) + " bytes, more than the " +
                          std::to_string(max_bytes) + " expected");
  }
  std::ifstream in(path, std::ios::binary);
  std::string content(static_cast<std::size_t>(size), '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (!in) return make_error(ErrorKind::storage, "", path.string() + ": cannot read");
  return content;
}

Status make_directories(const std::filesystem::path& path, mode_t mode) {
  std::filesystem::path so_far;
  for (const auto& part : path) {
    so_far /= part;
    if (::mkdir(so_far.c_str(), mode) != 0 && errno != EEXIST) {
      return file_error(so_far, "making the folder", errno);
    }
  }
  if (!std::filesystem::is_directory(path)) {
    return make_error(ErrorKind::storage, "", path.string() + ": exists and is not a folder");
  }
  return ok_status();
}

}  // namespace refpos::ctl
