// The chain's PKI on OpenSSL 3 (docs/sync.md, "Trust"). Every OpenSSL
// object lives in a unique_ptr with its free function; every public function
// starts from a clean OpenSSL error queue and leaves one behind, and turns a
// failure into an Error naming the step and OpenSSL's reason. No message
// ever carries key material: only what failed and OpenSSL's error string.
//
// Certificates are X.509 v3, signed with SHA-256 by the CA's P-256 key:
//   ca      basicConstraints critical CA:TRUE pathlen 0; keyUsage critical
//           keyCertSign, cRLSign; subjectKeyIdentifier; authorityKeyIdentifier
//   server  basicConstraints critical CA:FALSE; keyUsage critical
//           digitalSignature; extendedKeyUsage serverAuth; subjectAltName
//           (DNS and IP names, at least one); subject/authority key ids
//   client  as server, with extendedKeyUsage clientAuth and no name needed
// Serial numbers are 16 random bytes with the top bit clear (positive) and
// the next bit set (always 16 bytes long).
#include "common/pki.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

namespace refpos::pki {
namespace {

// Limits on what comes in: a PEM certificate, key, CSR or CRL of this chain
// is a few kilobytes; a CRL of every store a chain ever had stays far below.
constexpr std::size_t kPemBytesMax = 1 << 20;
constexpr std::size_t kCommonNameMax = 64;  // RFC 5280 ub-common-name
constexpr std::size_t kOrgUnitMax = 64;     // RFC 5280 ub-organizational-unit-name
constexpr std::size_t kDnsNameMax = 253;
constexpr std::size_t kSubjectAltNamesMax = 32;
constexpr std::size_t kRevokedSerialsMax = 100000;
constexpr std::size_t kSerialBytes = 16;
constexpr std::size_t kSerialHexMax = 40;  // RFC 5280: at most 20 octets
constexpr std::string_view kCurve = "prime256v1";  // P-256

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;

using Bio = Owned<BIO, BIO_free_all>;
using Pkey = Owned<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtx = Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using Cert = Owned<X509, X509_free>;
using Req = Owned<X509_REQ, X509_REQ_free>;
using Crl = Owned<X509_CRL, X509_CRL_free>;
using Revoked = Owned<X509_REVOKED, X509_REVOKED_free>;
using Name = Owned<X509_NAME, X509_NAME_free>;
using Extension = Owned<X509_EXTENSION, X509_EXTENSION_free>;
using GeneralNames = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;
using GeneralName = Owned<GENERAL_NAME, GENERAL_NAME_free>;
using Ia5String = Owned<ASN1_IA5STRING, ASN1_IA5STRING_free>;
using OctetString = Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using Integer = Owned<ASN1_INTEGER, ASN1_INTEGER_free>;
using Time = Owned<ASN1_TIME, ASN1_TIME_free>;
using BigNum = Owned<BIGNUM, BN_free>;

// OpenSSL's own allocations (BN_bn2hex, ASN1_STRING_to_UTF8).
struct OpensslFree {
  void operator()(char* p) const { OPENSSL_free(p); }
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};

// The reason OpenSSL gives for its latest failure; empties the queue.
std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  std::string reason = "no reason given by OpenSSL";
  if (code != 0) {
    std::array<char, 256> buffer{};
    ERR_error_string_n(code, buffer.data(), buffer.size());
    reason = buffer.data();
  }
  ERR_clear_error();
  return reason;
}

// An OpenSSL step that failed: "pki: <what>: <OpenSSL's reason>".
Error openssl_error(ErrorKind kind, std::string_view what) {
  return make_error(kind, "", "pki: " + std::string(what) + ": " + openssl_reason());
}

Error bad_input(std::string field, std::string message) {
  ERR_clear_error();
  return make_error(ErrorKind::bad_request, std::move(field), std::move(message));
}

// Never prompt for a pass phrase: the chain's keys are unencrypted PKCS#8,
// and an encrypted one is refused instead of reading the terminal.
int refuse_pass_phrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

Result<Bio> input_bio(const std::string& pem, std::string_view what) {
  if (pem.empty() || pem.size() > kPemBytesMax) {
    return bad_input(std::string(what), "must be PEM text of 1 to " +
                                            std::to_string(kPemBytesMax) + " bytes, got " +
                                            std::to_string(pem.size()));
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_error(ErrorKind::internal, "making a memory BIO");
  return bio;
}

// The bytes written to a memory BIO.
std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(size));
}

Result<Pkey> read_private_key(const std::string& pem, std::string_view what) {
  auto bio = input_bio(pem, what);
  if (!bio) return bio.error();
  Pkey key(PEM_read_bio_PrivateKey(bio->get(), nullptr, refuse_pass_phrase, nullptr));
  if (!key) return openssl_error(ErrorKind::bad_request, "reading " + std::string(what));
  return key;
}

// Every key of the chain is ECDSA P-256 (docs/sync.md, "Trust").
Status check_p256(EVP_PKEY* key, std::string_view what) {
  std::array<char, 64> group{};
  std::size_t group_size = 0;
  if (EVP_PKEY_is_a(key, "EC") != 1 ||
      EVP_PKEY_get_group_name(key, group.data(), group.size(), &group_size) != 1 ||
      std::string_view(group.data(), group_size) != kCurve) {
    return bad_input(std::string(what), "must be an ECDSA P-256 key");
  }
  return ok_status();
}

Result<Cert> read_certificate(const std::string& pem, std::string_view what) {
  auto bio = input_bio(pem, what);
  if (!bio) return bio.error();
  Cert cert(PEM_read_bio_X509(bio->get(), nullptr, refuse_pass_phrase, nullptr));
  if (!cert) return openssl_error(ErrorKind::bad_request, "reading " + std::string(what));
  return cert;
}

Result<Req> read_csr(const std::string& pem) {
  auto bio = input_bio(pem, "CSR");
  if (!bio) return bio.error();
  Req req(PEM_read_bio_X509_REQ(bio->get(), nullptr, refuse_pass_phrase, nullptr));
  if (!req) return openssl_error(ErrorKind::bad_request, "reading the CSR");
  return req;
}

// The CA's certificate and key, checked to belong together.
struct Authority {
  Cert cert;
  Pkey key;
};

Result<Authority> read_authority(const std::string& ca_cert_pem, const std::string& ca_key_pem) {
  auto cert = read_certificate(ca_cert_pem, "the CA certificate");
  if (!cert) return cert.error();
  auto key = read_private_key(ca_key_pem, "the CA private key");
  if (!key) return key.error();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return bad_input("ca_key", "the CA private key does not match the CA certificate");
  }
  if (X509_check_ca(cert->get()) == 0) {
    return bad_input("ca_cert", "the CA certificate is not a CA (basicConstraints CA:TRUE)");
  }
  return Authority{std::move(*cert), std::move(*key)};
}

bool printable_without_controls(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

Status check_subject(const Subject& subject) {
  if (subject.common_name.empty() || subject.common_name.size() > kCommonNameMax ||
      !printable_without_controls(subject.common_name)) {
    return bad_input("subject.common_name",
                     "must be 1 to " + std::to_string(kCommonNameMax) +
                         " bytes without control characters, got " +
                         std::to_string(subject.common_name.size()) + " bytes");
  }
  if (subject.org_unit.size() > kOrgUnitMax || !printable_without_controls(subject.org_unit)) {
    return bad_input("subject.org_unit", "must be at most " + std::to_string(kOrgUnitMax) +
                                             " bytes without control characters");
  }
  return ok_status();
}

// OU (when there is one) then CN, UTF-8.
Result<Name> make_name(const Subject& subject) {
  if (auto checked = check_subject(subject); !checked) return checked.error();
  Name name(X509_NAME_new());
  if (!name) return openssl_error(ErrorKind::internal, "making a subject name");
  auto add = [&](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  if (!subject.org_unit.empty() && !add("OU", subject.org_unit)) {
    return openssl_error(ErrorKind::bad_request, "setting the subject's OU");
  }
  if (!add("CN", subject.common_name)) {
    return openssl_error(ErrorKind::bad_request, "setting the subject's CN");
  }
  return name;
}

Status check_validity(const Validity& validity) {
  if (validity.not_after_unix <= validity.not_before_unix) {
    return bad_input("validity", "not_after (" + std::to_string(validity.not_after_unix) +
                                     ") must be later than not_before (" +
                                     std::to_string(validity.not_before_unix) + ")");
  }
  return ok_status();
}

Status set_validity(X509* cert, const Validity& validity) {
  if (auto checked = check_validity(validity); !checked) return checked.error();
  if (ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(validity.not_before_unix)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(validity.not_after_unix)) ==
          nullptr) {
    return openssl_error(ErrorKind::bad_request, "setting the validity");
  }
  return ok_status();
}

Result<std::int64_t> unix_seconds(const ASN1_TIME* time) {
  Time epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (!epoch || ASN1_TIME_diff(&days, &seconds, epoch.get(), time) != 1) {
    return openssl_error(ErrorKind::bad_request, "reading a certificate time");
  }
  return std::int64_t{days} * 86400 + seconds;
}

// 16 random bytes, top bit clear (positive), next bit set (no shorter form).
Status set_random_serial(X509* cert) {
  std::array<unsigned char, kSerialBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return openssl_error(ErrorKind::internal, "drawing a serial number");
  }
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x40);
  BigNum number(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!number) return openssl_error(ErrorKind::internal, "making a serial number");
  Integer serial(BN_to_ASN1_INTEGER(number.get(), nullptr));
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1) {
    return openssl_error(ErrorKind::internal, "setting the serial number");
  }
  return ok_status();
}

// One extension from OpenSSL's configuration syntax. `value` is always a
// constant of this file, never caller text (names go through GENERAL_NAMES).
Status add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  Extension extension(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) {
    return openssl_error(ErrorKind::internal,
                         std::string("adding the ") + OBJ_nid2sn(nid) + " extension");
  }
  return ok_status();
}

bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > kDnsNameMax) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '*';
  });
}

Status add_subject_alt_names(X509* cert, const IssueOptions& options) {
  if (options.dns_names.size() + options.ip_addresses.size() > kSubjectAltNamesMax) {
    return bad_input("dns_names", "at most " + std::to_string(kSubjectAltNamesMax) +
                                      " DNS names and IP addresses together");
  }
  GeneralNames names(GENERAL_NAMES_new());
  if (!names) return openssl_error(ErrorKind::internal, "making subjectAltName");
  for (const auto& dns : options.dns_names) {
    if (!is_dns_name(dns)) {
      return bad_input("dns_names", "'" + dns + "' is not a host name (letters, digits, '-', '.')");
    }
    Ia5String text(ASN1_IA5STRING_new());
    GeneralName name(GENERAL_NAME_new());
    if (!text || !name || ASN1_STRING_set(text.get(), dns.data(), static_cast<int>(dns.size())) != 1) {
      return openssl_error(ErrorKind::internal, "making a DNS name");
    }
    GENERAL_NAME_set0_value(name.get(), GEN_DNS, text.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) {
      return openssl_error(ErrorKind::internal, "adding a DNS name");
    }
    static_cast<void>(name.release());
  }
  for (const auto& ip : options.ip_addresses) {
    OctetString address(a2i_IPADDRESS(ip.c_str()));
    if (!address) return bad_input("ip_addresses", "'" + ip + "' is not an IPv4 or IPv6 address");
    GeneralName name(GENERAL_NAME_new());
    if (!name) return openssl_error(ErrorKind::internal, "making an IP name");
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, address.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) {
      return openssl_error(ErrorKind::internal, "adding an IP name");
    }
    static_cast<void>(name.release());
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return openssl_error(ErrorKind::internal, "adding the subjectAltName extension");
  }
  return ok_status();
}

// The extensions of one profile (see the table at the top of this file).
// `issuer` is the CA's certificate, or `cert` itself for the CA.
Status add_profile_extensions(X509* cert, X509* issuer, const IssueOptions& options) {
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  const bool ca = options.profile == Profile::ca;
  const bool has_names = !options.dns_names.empty() || !options.ip_addresses.empty();
  if (ca && has_names) return bad_input("dns_names", "the CA profile takes no subjectAltName");
  if (options.profile == Profile::server && !has_names) {
    return bad_input("dns_names", "a server certificate needs at least one DNS name or IP address");
  }

  Status status = add_extension(cert, &ctx, NID_basic_constraints,
                                ca ? "critical,CA:TRUE,pathlen:0" : "critical,CA:FALSE");
  if (status) {
    status = add_extension(cert, &ctx, NID_key_usage,
                           ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  }
  if (status && options.profile == Profile::server) {
    status = add_extension(cert, &ctx, NID_ext_key_usage, "serverAuth");
  }
  if (status && options.profile == Profile::leaf_server_only_eku) {
    status = add_extension(cert, &ctx, NID_ext_key_usage, "serverAuth");
  }
  if (status && options.profile == Profile::client) {
    status = add_extension(cert, &ctx, NID_ext_key_usage, "clientAuth");
  }
  // The subject key id first: for the CA, the authority key id is its own.
  if (status) status = add_extension(cert, &ctx, NID_subject_key_identifier, "hash");
  if (status) status = add_extension(cert, &ctx, NID_authority_key_identifier, "keyid:always");
  if (status && has_names) status = add_subject_alt_names(cert, options);
  return status;
}

Result<std::string> sign_and_encode(X509* cert, EVP_PKEY* signing_key) {
  if (X509_sign(cert, signing_key, EVP_sha256()) <= 0) {
    return openssl_error(ErrorKind::internal, "signing the certificate");
  }
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), cert) != 1) {
    return openssl_error(ErrorKind::internal, "writing the certificate as PEM");
  }
  return bio_text(out.get());
}

// A new v3 certificate: serial, names, validity and public key set.
Result<Cert> new_certificate(X509_NAME* subject, X509_NAME* issuer, EVP_PKEY* public_key,
                             const Validity& validity) {
  Cert cert(X509_new());
  if (!cert) return openssl_error(ErrorKind::internal, "making a certificate");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_subject_name(cert.get(), subject) != 1 ||
      X509_set_issuer_name(cert.get(), issuer) != 1 ||
      X509_set_pubkey(cert.get(), public_key) != 1) {
    return openssl_error(ErrorKind::internal, "filling in the certificate");
  }
  if (auto set = set_validity(cert.get(), validity); !set) return set.error();
  if (auto serial = set_random_serial(cert.get()); !serial) return serial.error();
  return cert;
}

// A serial as hex (RFC 5280: positive, at most 20 octets) to an ASN1_INTEGER.
Result<Integer> serial_from_hex(const std::string& hex) {
  const bool well_formed =
      !hex.empty() && hex.size() <= kSerialHexMax &&
      std::all_of(hex.begin(), hex.end(),
                  [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
  if (!well_formed) {
    return bad_input("revoked_serials_hex", "'" + hex + "' is not a serial number (1 to " +
                                                std::to_string(kSerialHexMax) + " hex digits)");
  }
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, hex.c_str()) == 0) return openssl_error(ErrorKind::bad_request, "reading a serial");
  BigNum number(raw);
  Integer serial(BN_to_ASN1_INTEGER(number.get(), nullptr));
  if (!serial) return openssl_error(ErrorKind::internal, "making a serial");
  return serial;
}

std::string serial_to_hex(const ASN1_INTEGER* serial) {
  BigNum number(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!number) return {};
  std::unique_ptr<char, OpensslFree> hex(BN_bn2hex(number.get()));
  if (!hex) return {};
  std::string out(hex.get());
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return out;
}

std::string name_entry(const X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int size = ASN1_STRING_to_UTF8(&utf8, data);
  if (size < 0) return {};
  std::unique_ptr<unsigned char, OpensslFree> owned(utf8);
  return std::string(reinterpret_cast<const char*>(owned.get()), static_cast<std::size_t>(size));
}

Status add_crl_extensions(X509_CRL* crl, X509* ca_cert, std::int64_t crl_number) {
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, ca_cert, nullptr, nullptr, crl, 0);
  Extension authority(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!authority || X509_CRL_add_ext(crl, authority.get(), -1) != 1) {
    return openssl_error(ErrorKind::internal, "adding the CRL's authorityKeyIdentifier");
  }
  Integer number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_crl_number, number.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return openssl_error(ErrorKind::internal, "adding the CRL number");
  }
  return ok_status();
}

}  // namespace

Result<std::string> new_private_key_pem() {
  ERR_clear_error();
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(ctx.get(), kCurve.data()) != 1) {
    return openssl_error(ErrorKind::internal, "setting up P-256 key generation");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return openssl_error(ErrorKind::internal, "generating a P-256 key");
  }
  Pkey key(raw);
  // Secure memory for the PEM text, so the BIO's copy is wiped when freed.
  Bio out(BIO_new(BIO_s_secmem()));
  if (!out || PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return openssl_error(ErrorKind::internal, "writing the private key as PKCS#8 PEM");
  }
  return bio_text(out.get());
}

Result<std::string> make_csr_pem(const std::string& private_key_pem, const Subject& subject) {
  ERR_clear_error();
  auto key = read_private_key(private_key_pem, "the private key");
  if (!key) return key.error();
  if (auto p256 = check_p256(key->get(), "private_key"); !p256) return p256.error();
  auto name = make_name(subject);
  if (!name) return name.error();
  Req req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), name->get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key->get()) != 1) {
    return openssl_error(ErrorKind::internal, "filling in the CSR");
  }
  if (X509_REQ_sign(req.get(), key->get(), EVP_sha256()) <= 0) {
    return openssl_error(ErrorKind::internal, "signing the CSR");
  }
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509_REQ(out.get(), req.get()) != 1) {
    return openssl_error(ErrorKind::internal, "writing the CSR as PEM");
  }
  return bio_text(out.get());
}

Result<std::string> self_signed_ca_pem(const std::string& ca_key_pem, const Subject& subject,
                                       const Validity& validity) {
  ERR_clear_error();
  auto key = read_private_key(ca_key_pem, "the CA private key");
  if (!key) return key.error();
  if (auto p256 = check_p256(key->get(), "ca_key"); !p256) return p256.error();
  auto name = make_name(subject);
  if (!name) return name.error();
  auto cert = new_certificate(name->get(), name->get(), key->get(), validity);
  if (!cert) return cert.error();
  IssueOptions options;
  options.profile = Profile::ca;
  if (auto added = add_profile_extensions(cert->get(), cert->get(), options); !added) {
    return added.error();
  }
  return sign_and_encode(cert->get(), key->get());
}

Result<std::string> sign_csr_pem(const std::string& csr_pem, const std::string& ca_cert_pem,
                                 const std::string& ca_key_pem, const IssueOptions& options) {
  ERR_clear_error();
  if (options.profile == Profile::ca) {
    return bad_input("profile", "a CSR is signed as a leaf; the CA is made by self_signed_ca_pem");
  }
  auto authority = read_authority(ca_cert_pem, ca_key_pem);
  if (!authority) return authority.error();
  auto req = read_csr(csr_pem);
  if (!req) return req.error();
  EVP_PKEY* requester = X509_REQ_get0_pubkey(req->get());
  if (requester == nullptr) return openssl_error(ErrorKind::bad_request, "reading the CSR's key");
  if (X509_REQ_verify(req->get(), requester) != 1) {
    return openssl_error(ErrorKind::bad_request,
                         "the CSR's signature does not verify with its own key");
  }
  if (auto p256 = check_p256(requester, "csr"); !p256) return p256.error();
  X509_NAME* subject = X509_REQ_get_subject_name(req->get());
  if (name_entry(subject, NID_commonName).empty()) {
    return bad_input("csr", "the CSR's subject has no common name");
  }
  auto cert = new_certificate(subject, X509_get_subject_name(authority->cert.get()), requester,
                              options.validity);
  if (!cert) return cert.error();
  if (auto added = add_profile_extensions(cert->get(), authority->cert.get(), options); !added) {
    return added.error();
  }
  return sign_and_encode(cert->get(), authority->key.get());
}

Result<std::string> make_crl_pem(const std::string& ca_cert_pem, const std::string& ca_key_pem,
                                 const std::vector<std::string>& revoked_serials_hex,
                                 const Validity& validity) {
  ERR_clear_error();
  if (revoked_serials_hex.size() > kRevokedSerialsMax) {
    return bad_input("revoked_serials_hex",
                     "at most " + std::to_string(kRevokedSerialsMax) + " serials");
  }
  if (auto checked = check_validity(validity); !checked) return checked.error();
  auto authority = read_authority(ca_cert_pem, ca_key_pem);
  if (!authority) return authority.error();

  Crl crl(X509_CRL_new());
  Time this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(validity.not_before_unix)));
  Time next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(validity.not_after_unix)));
  if (!crl || !this_update || !next_update || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(authority->cert.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    return openssl_error(ErrorKind::internal, "filling in the CRL");
  }
  std::set<std::string> listed;  // one entry per serial, whatever its case or leading zeros
  for (const auto& hex : revoked_serials_hex) {
    auto serial = serial_from_hex(hex);
    if (!serial) return serial.error();
    if (!listed.insert(serial_to_hex(serial->get())).second) continue;
    Revoked entry(X509_REVOKED_new());
    if (!entry || X509_REVOKED_set_serialNumber(entry.get(), serial->get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry.get(), this_update.get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), entry.get()) != 1) {
      return openssl_error(ErrorKind::internal, "adding a revoked serial to the CRL");
    }
    static_cast<void>(entry.release());  // the CRL owns it now
  }
  if (X509_CRL_sort(crl.get()) != 1) return openssl_error(ErrorKind::internal, "sorting the CRL");
  // The CRL number grows with time, so a newer CRL always has a larger one.
  if (auto added = add_crl_extensions(crl.get(), authority->cert.get(), validity.not_before_unix);
      !added) {
    return added.error();
  }
  if (X509_CRL_sign(crl.get(), authority->key.get(), EVP_sha256()) <= 0) {
    return openssl_error(ErrorKind::internal, "signing the CRL");
  }
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509_CRL(out.get(), crl.get()) != 1) {
    return openssl_error(ErrorKind::internal, "writing the CRL as PEM");
  }
  return bio_text(out.get());
}

Result<CertInfo> inspect_certificate(const std::string& cert_pem) {
  ERR_clear_error();
  auto cert = read_certificate(cert_pem, "the certificate");
  if (!cert) return cert.error();
  CertInfo info;
  const X509_NAME* subject = X509_get_subject_name(cert->get());
  info.subject.common_name = name_entry(subject, NID_commonName);
  info.subject.org_unit = name_entry(subject, NID_organizationalUnitName);
  info.serial_hex = serial_to_hex(X509_get0_serialNumber(cert->get()));
  if (info.serial_hex.empty()) return openssl_error(ErrorKind::bad_request, "reading the serial");
  auto not_before = unix_seconds(X509_get0_notBefore(cert->get()));
  if (!not_before) return not_before.error();
  auto not_after = unix_seconds(X509_get0_notAfter(cert->get()));
  if (!not_after) return not_after.error();
  info.validity = Validity{*not_before, *not_after};
  return info;
}

}  // namespace refpos::pki
