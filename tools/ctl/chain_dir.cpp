#include "chain_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "atomic_file.hpp"

namespace refpos::ctl {
namespace {

constexpr std::size_t kPemFileBytesMax = 1 << 20;
constexpr std::size_t kSerialsFileBytesMax = 64 << 20;

Error bad_serials(const ChainPaths& paths, const std::string& message) {
  return make_error(ErrorKind::storage, "", paths.serials().string() + ": " + message);
}

}  // namespace

pki::Validity validity_for_days(std::int64_t now_unix, std::int64_t days) {
  return pki::Validity{now_unix - kClockSkewSeconds, now_unix + days * kDaySeconds};
}

Result<IssuedCertificate> record_of(const std::string& cert_pem, const std::string& role) {
  auto info = pki::inspect_certificate(cert_pem);
  if (!info) return info.error();
  IssuedCertificate record;
  record.serial_hex = info->serial_hex;
  record.subject = "CN=" + info->subject.common_name;
  if (!info->subject.org_unit.empty()) record.subject += ",OU=" + info->subject.org_unit;
  record.role = role;
  record.name = info->subject.common_name;
  record.not_after_unix = info->validity.not_after_unix;
  return record;
}

Result<std::vector<IssuedCertificate>> load_issued(const ChainPaths& paths) {
  auto text = read_file(paths.serials(), kSerialsFileBytesMax);
  if (!text) return text.error();
  const auto document = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object() ||
      !document.contains("certificates") || !document["certificates"].is_array()) {
    return bad_serials(paths, "not a serials file ({\"certificates\": [...]})");
  }
  std::vector<IssuedCertificate> issued;
  std::size_t index = 0;
  for (const auto& entry : document["certificates"]) {
    const std::string where = "certificates[" + std::to_string(index++) + "]";
    if (!entry.is_object() || !entry.contains("serial") || !entry["serial"].is_string() ||
        !entry.contains("role") || !entry["role"].is_string() || !entry.contains("name") ||
        !entry["name"].is_string() || !entry.contains("revoked") ||
        !entry["revoked"].is_boolean()) {
      return bad_serials(paths, where + ": needs serial, role, name (strings) and revoked");
    }
    IssuedCertificate record;
    record.serial_hex = entry["serial"].get<std::string>();
    record.subject = entry.value("subject", std::string());
    record.role = entry["role"].get<std::string>();
    record.name = entry["name"].get<std::string>();
    record.not_after_unix = entry.value("not_after_unix", std::int64_t{0});
    record.revoked = entry["revoked"].get<bool>();
    issued.push_back(std::move(record));
  }
  return issued;
}

Status save_issued(const ChainPaths& paths, const std::vector<IssuedCertificate>& issued) {
  nlohmann::json certificates = nlohmann::json::array();
  for (const auto& record : issued) {
    certificates.push_back({{"serial", record.serial_hex},
                            {"subject", record.subject},
                            {"role", record.role},
                            {"name", record.name},
                            {"not_after_unix", record.not_after_unix},
                            {"revoked", record.revoked}});
  }
  const nlohmann::json document = {{"certificates", certificates}};
  return write_file_atomically(paths.serials(), document.dump(2) + "\n", kPublicFileMode);
}

Result<ChainAuthority> load_authority(const ChainPaths& paths) {
  auto cert = read_file(paths.ca_cert(), kPemFileBytesMax);
  if (!cert) return cert.error();
  auto key = read_file(paths.ca_key(), kPemFileBytesMax);
  if (!key) return key.error();
  return ChainAuthority{std::move(*cert), std::move(*key)};
}

Result<std::string> crl_for(const ChainAuthority& authority,
                            const std::vector<IssuedCertificate>& issued, std::int64_t now_unix) {
  std::vector<std::string> revoked;
  for (const auto& record : issued) {
    if (record.revoked) revoked.push_back(record.serial_hex);
  }
  return pki::make_crl_pem(authority.cert_pem, authority.key_pem, revoked,
                           pki::Validity{now_unix, now_unix + kCrlDays * kDaySeconds});
}

Result<ChainLock> ChainLock::acquire(const ChainPaths& paths) {
  const int fd = ::open(paths.lock().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(ErrorKind::storage, "",
                      paths.lock().string() + ": cannot open: " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX) != 0) {
    const int error_number = errno;
    ::close(fd);
    return make_error(ErrorKind::storage, "",
                      paths.lock().string() + ": cannot lock: " + std::strerror(error_number));
  }
  return ChainLock(fd);
}

ChainLock::~ChainLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace refpos::ctl
