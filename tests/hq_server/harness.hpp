// What the head office's server tests stand on: a test chain (CA, the head
// office's certificate and every kind of client certificate, made with
// refpos::pki in a temporary folder), the real refpos-hq process started on
// 127.0.0.1 port 0, and a TLS client written directly against OpenSSL (not
// Beast), so the server is checked by code that shares nothing with it.
//
// Synchronisation is by events, never by sleeping: the server's "listening
// on" line on stdout, poll() on sockets and a pidfd for the process's exit.
// Every wait has a generous timeout that only guards against a hang.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/ssl.h>

#include "common/hq_child.hpp"
#include "temp_dir.hpp"

namespace refpos::test {

inline constexpr int kGuardMs = 20'000;  // a hang, not a slow machine

struct Credentials {
  std::string cert_pem;
  std::string key_pem;
  std::string serial_hex;
};

// The chain every test uses (made once per process): CA, the head office's
// certificate for 127.0.0.1/localhost, stores store-a and store-b, an admin,
// and the refused kinds: another CA's client, an expired client, a revoked
// client (on the CRL), a leaf without any EKU and one with serverAuth only,
// and a valid client certificate whose OU is neither store nor admin.
struct TestChain {
  TempDir dir;
  std::string ca_cert_pem, ca_key_pem;
  std::string ca_file, crl_file, cert_file, key_file, signing_key_file;
  std::string signing_key_hex;
  Credentials store_a, store_b, admin, other_ca_store, expired_store, revoked_store,
      no_eku_store, server_eku_store, kiosk;  // kiosk: OU=kiosk, chains but names no role

  static const TestChain& get();
  // Rewrites crl_file to list `serials_hex` (plus the revoked store's).
  void write_crl(const std::vector<std::string>& extra_serials_hex) const;
};

struct HqSettings {
  std::int64_t header_timeout_ms = 10'000;
  std::int64_t body_timeout_ms = 30'000;
  std::int64_t idle_timeout_ms = 60'000;
  std::int64_t shutdown_timeout_ms = 10'000;
  std::size_t max_connections = 2048;
};

// refpos-hq running on 127.0.0.1:<port>, in a temporary folder of its own
// (process::HqChild). When the object goes away the process gets SIGTERM and
// must exit 0 (checked; SIGKILL if it hangs). stderr (the JSON log) goes to a
// file, read by log().
class HqProcess {
 public:
  explicit HqProcess(const HqSettings& settings = {});
  ~HqProcess();
  HqProcess(const HqProcess&) = delete;
  HqProcess& operator=(const HqProcess&) = delete;

  [[nodiscard]] std::uint16_t port() const { return child_.port(); }
  [[nodiscard]] pid_t pid() const { return child_.pid(); }
  void signal(int signal_number) const { child_.signal(signal_number); }
  // The exit code once the process ends within `timeout_ms`; nullopt if it
  // is still running, -1 if it died from a signal.
  std::optional<int> wait_exit(int timeout_ms) { return child_.wait_exit(timeout_ms); }
  [[nodiscard]] std::string log() const { return child_.log(); }
  // The head office's SQLite file (tools/hq/main.cpp, kDatabaseFile), for
  // tests that check what it holds; readable while it runs (WAL).
  [[nodiscard]] std::string database() const { return data_.str() + "/data/hq.sqlite3"; }
  // Waits (polling the log file, a guard-bounded wait) until `needle` is in it.
  bool wait_for_log(std::string_view needle, int timeout_ms = kGuardMs) const;

 private:
  TempDir data_;  // before child_: the child's files live here
  process::HqChild child_;
};

// The end of every head office a test started and did not stop itself:
// SIGTERM, and CHECK that it exits 0 within the guard, so a sanitizer report
// at exit (a leak, a use after free while closing) fails the test that
// caused it. Nothing if it already exited; HqChild kills one that hangs.
void check_clean_stop(process::HqChild& hq);

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// One TLS connection to the server. `identity` nullopt: no client
// certificate. `max_version`: e.g. TLS1_2_VERSION to offer only TLS 1.2.
// `groups`: the key-exchange groups offered ("" for OpenSSL's default).
class TlsClient {
 public:
  TlsClient(std::uint16_t port, const std::optional<Credentials>& identity,
            int max_version = TLS1_3_VERSION, const std::string& groups = "");
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  [[nodiscard]] bool connected() const { return tcp_ok_; }
  [[nodiscard]] bool handshake_ok() const { return handshake_ok_; }
  bool send(std::string_view bytes);
  // The next response, or nullopt if the connection failed or closed first.
  std::optional<HttpResponse> read_response(int timeout_ms = kGuardMs);
  // True when the server closes the connection (EOF, alert or reset) within
  // `timeout_ms` without sending a response.
  bool closed_by_server(int timeout_ms);
  void close_abruptly();  // TCP close without close_notify

  // Sends a request and reads its answer; nullopt if refused.
  std::optional<HttpResponse> request(std::string_view method, std::string_view target,
                                      std::string_view body = {}, bool keep_alive = true);

 private:
  bool fill(int timeout_ms);  // reads more into buffer_; false on close/error/timeout

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool tcp_ok_ = false;
  bool handshake_ok_ = false;
  std::string buffer_;
};

// The request refused: no handshake, or no answer on the connection.
bool refused(std::uint16_t port, const std::optional<Credentials>& identity,
             int max_version = TLS1_3_VERSION);

}  // namespace refpos::test
