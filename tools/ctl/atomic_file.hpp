// Files that are either wholly written or not there: write a temporary file
// beside the target with the final mode, fsync it, then rename it into place
// (or link it, when an existing file must not be replaced) and fsync the
// folder. A key file never exists, even for an instant, with a wider mode.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace refpos::ctl {

enum class IfExists { replace, refuse };

inline constexpr mode_t kSecretFileMode = 0600;
inline constexpr mode_t kPublicFileMode = 0644;
inline constexpr mode_t kPrivateDirMode = 0700;

// ErrorKind::conflict when `if_exists` is refuse and the file is there.
Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                             mode_t mode, IfExists if_exists = IfExists::replace);

// The whole file; refuses one larger than `max_bytes`.
Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes);

// The folder and its missing parents; a folder it makes gets `mode`.
Status make_directories(const std::filesystem::path& path, mode_t mode);

}  // namespace refpos::ctl
