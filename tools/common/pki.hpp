// The chain's small PKI (docs/sync.md, "Trust"): ECDSA P-256 keys, the CA,
// certificates for the head office, stores and admins, and the CRL. Used by
// refposctl (making them), the head office's tests and the demo. PEM text in
// and out; OpenSSL does the work; nothing here logs or prints a key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace refpos::pki {

enum class Profile {
  ca,      // CA:TRUE pathlen 0; keyCertSign, cRLSign
  server,  // digitalSignature; EKU serverAuth; subjectAltName from dns/ip
  client,  // digitalSignature; EKU clientAuth
  // For tests of refusals only: a leaf with no extended key usage at all,
  // and one with serverAuth only (a client presenting it must be refused).
  leaf_without_eku,
  leaf_server_only_eku,
};

struct Subject {
  std::string common_name;  // store id, admin name, host, or "<chain> refpos CA"
  std::string org_unit;     // "store", "admin", or "" (CA, server)
};

struct Validity {
  std::int64_t not_before_unix = 0;  // seconds
  std::int64_t not_after_unix = 0;
};

struct IssueOptions {
  Profile profile = Profile::client;
  Validity validity;
  std::vector<std::string> dns_names;     // server profile
  std::vector<std::string> ip_addresses;  // server profile, e.g. "127.0.0.1"
};

// A fresh P-256 private key (PKCS#8 PEM). A secret: write it 0600, never log it.
Result<std::string> new_private_key_pem();

// A certificate signing request for `subject`, signed by the key.
Result<std::string> make_csr_pem(const std::string& private_key_pem, const Subject& subject);

// The chain's self-signed CA certificate.
Result<std::string> self_signed_ca_pem(const std::string& ca_key_pem, const Subject& subject,
                                       const Validity& validity);

// Signs a CSR (its signature is checked first) with the CA: the subject is
// taken from the CSR, everything else from `options`. The serial number is
// random (OpenSSL's generator, 16 bytes, positive).
Result<std::string> sign_csr_pem(const std::string& csr_pem, const std::string& ca_cert_pem,
                                 const std::string& ca_key_pem, const IssueOptions& options);

// A CRL (v2) from the CA listing `revoked_serials_hex` (upper- or lower-case
// hex, as serial_hex returns them), valid from this_update to next_update.
Result<std::string> make_crl_pem(const std::string& ca_cert_pem, const std::string& ca_key_pem,
                                 const std::vector<std::string>& revoked_serials_hex,
                                 const Validity& validity);

// What a certificate says about itself.
struct CertInfo {
  Subject subject;
  std::string serial_hex;  // lower case
  Validity validity;
};
Result<CertInfo> inspect_certificate(const std::string& cert_pem);

}  // namespace refpos::pki
