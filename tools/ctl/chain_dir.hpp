// A chain's folder, as `refposctl chain init` lays it out (docs/sync.md,
// "Trust"), and the CA's record of what it issued:
//
//   DIR/ca/ca.key        the CA's P-256 key (PKCS#8 PEM, 0600)
//   DIR/ca/ca.pem        the CA certificate
//   DIR/ca/crl.pem       the CRL: every revoked serial
//   DIR/ca/serials.json  every certificate issued, written before the
//                        certificate is handed out (see IssuedCertificate)
//   DIR/ca/lock          flock'ed while a command changes the CA's files
//   DIR/hq/server.key    the head office's TLS key (0600) and certificate
//   DIR/hq/server.pem
//   DIR/hq/signing.key   the Ed25519 seed that signs rule sets (hex, 0600)
//   DIR/hq/signing.pub   its public key (hex), pinned by the stores
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "common/pki.hpp"

namespace refpos::ctl {

struct ChainPaths {
  std::filesystem::path dir;

  [[nodiscard]] std::filesystem::path ca_dir() const { return dir / "ca"; }
  [[nodiscard]] std::filesystem::path hq_dir() const { return dir / "hq"; }
  [[nodiscard]] std::filesystem::path ca_key() const { return ca_dir() / "ca.key"; }
  [[nodiscard]] std::filesystem::path ca_cert() const { return ca_dir() / "ca.pem"; }
  [[nodiscard]] std::filesystem::path crl() const { return ca_dir() / "crl.pem"; }
  [[nodiscard]] std::filesystem::path serials() const { return ca_dir() / "serials.json"; }
  [[nodiscard]] std::filesystem::path lock() const { return ca_dir() / "lock"; }
  [[nodiscard]] std::filesystem::path server_key() const { return hq_dir() / "server.key"; }
  [[nodiscard]] std::filesystem::path server_cert() const { return hq_dir() / "server.pem"; }
  [[nodiscard]] std::filesystem::path signing_key() const { return hq_dir() / "signing.key"; }
  [[nodiscard]] std::filesystem::path signing_pub() const { return hq_dir() / "signing.pub"; }
};

// Lifetimes and dates (docs/sync.md, "Trust").
inline constexpr std::int64_t kDaySeconds = 86400;
inline constexpr std::int64_t kCaDays = 5 * 365;
inline constexpr std::int64_t kServerDays = 90;
inline constexpr std::int64_t kStoreDays = 90;
inline constexpr std::int64_t kAdminDays = 30;
inline constexpr std::int64_t kCrlDays = 7;
// Certificates start an hour before they are made, so a store whose clock
// is a little behind the CA's still accepts them.
inline constexpr std::int64_t kClockSkewSeconds = 3600;

// From `now` - kClockSkewSeconds to `now` + days.
pki::Validity validity_for_days(std::int64_t now_unix, std::int64_t days);

// One entry of serials.json:
//   {"serial": "<lower-case hex>", "subject": "CN=store-001,OU=store",
//    "role": "ca" | "server" | "store" | "admin", "name": "<CN>",
//    "not_after_unix": <seconds>, "revoked": false}
// The file is {"certificates": [entry, ...]} in issue order.
struct IssuedCertificate {
  std::string serial_hex;
  std::string subject;
  std::string role;
  std::string name;
  std::int64_t not_after_unix = 0;
  bool revoked = false;
};

// The record of a certificate the CA just made.
Result<IssuedCertificate> record_of(const std::string& cert_pem, const std::string& role);

Result<std::vector<IssuedCertificate>> load_issued(const ChainPaths& paths);
Status save_issued(const ChainPaths& paths, const std::vector<IssuedCertificate>& issued);

// The CA's certificate and key as PEM text (the key is a secret).
struct ChainAuthority {
  std::string cert_pem;
  std::string key_pem;
};
Result<ChainAuthority> load_authority(const ChainPaths& paths);

// A CRL listing every revoked serial of `issued`, from now for kCrlDays.
Result<std::string> crl_for(const ChainAuthority& authority,
                            const std::vector<IssuedCertificate>& issued, std::int64_t now_unix);

// Holds DIR/ca/lock (flock) so two refposctl runs do not lose each other's
// serials.json entries.
class ChainLock {
 public:
  static Result<ChainLock> acquire(const ChainPaths& paths);
  ~ChainLock();
  ChainLock(ChainLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ChainLock& operator=(ChainLock&&) = delete;
  ChainLock(const ChainLock&) = delete;
  ChainLock& operator=(const ChainLock&) = delete;

 private:
  explicit ChainLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace refpos::ctl
