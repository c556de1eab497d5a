// A SQLite VFS that wraps the real one and injects a fault at the k-th write
// point (xWrite, xSync, xTruncate) of any file: SIGKILL the process (a power
// cut as far as the process can tell), or fail the call with SQLITE_FULL or
// SQLITE_IOERR_WRITE. The plugin links the same libsqlite3 as the test, so
// registering this VFS as the default puts it under the plugin's files too:
// the plugin runs unmodified on real files.
#pragma once

#include <cstdint>

namespace refpos::test {

enum class Fault { none, kill, disk_full, io_error };

class FaultVfs {
 public:
  // Registers the wrapper as SQLite's default VFS; unregisters on destruction.
  FaultVfs();
  ~FaultVfs();
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  // Fires `fault` at the k-th write point from now (k >= 1); Fault::none
  // disarms. While a failing fault is armed, every later write point fails
  // too (a full disk stays full) until disarm().
  void arm(Fault fault, std::int64_t k);
  void disarm() { arm(Fault::none, 0); }
  // Write points seen since construction.
  [[nodiscard]] std::int64_t write_points() const;
};

}  // namespace refpos::test
