// HAProxy for the scale-out tests: the shipped configuration
// (assets/haproxy/refpos-hq.cfg) in front of refpos-hq instances on
// 127.0.0.1, run in the foreground (`haproxy -db -f CFG`) and stopped when
// the object goes away, whatever way the test ends (and by the kernel,
// through dying_with_parent, if the test process itself dies).
//
// HAProxy cannot bind port 0 and tell which port it got, so the frontend's
// port is found first (bind 127.0.0.1:0, read it, close); if another process
// takes it in between, HAProxy exits at once and the start is tried again on
// another port. Readiness is a TCP connect to the frontend, polled with a
// guard deadline; no sleeps.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace refpos::test {

// The haproxy binary: $REFPOS_HAPROXY, else /usr/sbin/haproxy; "" if neither
// is executable.
std::string haproxy_binary();

// What this folder's tests need and this machine lacks ("" if nothing):
// haproxy, and PostgreSQL's server binaries (PgCluster's, $REFPOS_PG_BIN or
// /usr/lib/postgresql/15/bin).
std::string scale_prerequisites_missing();

// A free TCP port on 127.0.0.1 at the time of the call.
std::uint16_t free_loopback_port();

// `argv` run through `setpriv --pdeathsig TERM --` (util-linux) when it is
// there: the child gets SIGTERM if the thread that started it dies, so a
// test process killed with SIGKILL or crashing leaves no HAProxy or
// refpos-hq behind (its destructors never run then). Unchanged otherwise.
std::vector<std::string> dying_with_parent(std::vector<std::string> argv);

// The shipped configuration with its machine-specific parts replaced: a
// global section for a foreground process (log to stdout, no chroot, user
// or stats socket), the frontend bound to 127.0.0.1:`frontend_port`, and one
// server line per port in `backend_ports` (hq1, hq2, ...) in place of the
// file's, keeping the rest of each line. `defaults`, the balance algorithm,
// the checks and the timeouts are the file's own. Throws if the file lacks
// a bind or a server line.
std::string haproxy_config_for(const std::string& asset_path, std::uint16_t frontend_port,
                               const std::vector<std::uint16_t>& backend_ports);

class HaproxyProcess {
 public:
  // Writes the configuration into `folder` (haproxy.cfg; the process's
  // output, HAProxy's connection log included, goes to folder/haproxy.log)
  // and returns once the frontend accepts connections. Throws with the log
  // if HAProxy does not start.
  HaproxyProcess(const std::string& folder, const std::string& asset_path,
                 const std::vector<std::uint16_t>& backend_ports);
  // SIGTERM, a bounded wait, then SIGKILL.
  ~HaproxyProcess();
  HaproxyProcess(const HaproxyProcess&) = delete;
  HaproxyProcess& operator=(const HaproxyProcess&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string log() const;

 private:
  bool start(const std::string& asset_path, const std::vector<std::uint16_t>& backend_ports);
  void stop() noexcept;

  std::string folder_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace refpos::test
