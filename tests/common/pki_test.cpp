// tools/common/pki.cpp against a real decoder: what the library makes is
// written to a temporary folder and checked by the openssl command-line tool
// (verify, x509, req, crl), so the tests do not trust the library's own view
// of its output.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/pki.hpp"
#include "temp_dir.hpp"

namespace pki = refpos::pki;

namespace {

constexpr std::int64_t kDay = 86400;

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

Run run(const std::string& command) {
  Run result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), got);
  }
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string openssl() { return REFPOS_OPENSSL_CLI; }

template <typename T>
T must(refpos::Result<T> result) {
  if (!result) FAIL(result.error().describe());
  return std::move(result).value();
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

pki::Validity days_from_now(std::int64_t from_days, std::int64_t to_days) {
  return pki::Validity{now() + from_days * kDay, now() + to_days * kDay};
}

// A CA with its key, PEMs written under `dir` as ca.pem.
struct Chain {
  std::string key;
  std::string cert;
};

Chain make_chain(const std::string& name) {
  Chain chain;
  chain.key = must(pki::new_private_key_pem());
  chain.cert = must(pki::self_signed_ca_pem(chain.key, {name + " refpos CA", ""},
                                            days_from_now(-1, 5 * 365)));
  return chain;
}

struct Leaf {
  std::string key;
  std::string csr;
  std::string cert;
};

Leaf issue(const Chain& chain, const pki::Subject& subject, pki::IssueOptions options) {
  Leaf leaf;
  leaf.key = must(pki::new_private_key_pem());
  leaf.csr = must(pki::make_csr_pem(leaf.key, subject));
  leaf.cert = must(pki::sign_csr_pem(leaf.csr, chain.cert, chain.key, options));
  return leaf;
}

pki::IssueOptions profile(pki::Profile p, pki::Validity validity = days_from_now(-1, 90)) {
  pki::IssueOptions options;
  options.profile = p;
  options.validity = validity;
  if (p == pki::Profile::server) {
    options.dns_names = {"localhost"};
    options.ip_addresses = {"127.0.0.1"};
  }
  return options;
}

std::string write(const refpos::test::TempDir& dir, const std::string& name,
                  const std::string& text) {
  const auto path = dir.path() / name;
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
  return "'" + path.string() + "'";
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(std::filesystem::file_size(path)), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(in.good());
  return bytes;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Run verify(const refpos::test::TempDir& dir, const Chain& chain, const std::string& leaf_pem,
           const std::string& purpose, const std::string& crl_pem = {}) {
  std::string command = openssl() + " verify -CAfile " + write(dir, "ca.pem", chain.cert);
  if (!crl_pem.empty()) command += " -crl_check -CRLfile " + write(dir, "crl.pem", crl_pem);
  command += " -purpose " + purpose + " " + write(dir, "leaf.pem", leaf_pem);
  return run(command);
}

Run extensions(const refpos::test::TempDir& dir, const std::string& cert_pem) {
  return run(openssl() + " x509 -noout -ext extendedKeyUsage,keyUsage,basicConstraints," +
             "subjectAltName -in " + write(dir, "x.pem", cert_pem));
}

}  // namespace

TEST_CASE("the CA verifies a store certificate it signed, for client use") {
  refpos::test::TempDir dir;
  const Chain chain = make_chain("acme");
  const Leaf store = issue(chain, {"store-001", "store"}, profile(pki::Profile::client));
  const Run result = verify(dir, chain, store.cert, "sslclient");
  CHECK_MESSAGE(result.exit_code == 0, result.output);
  CHECK(contains(result.output, "OK"));
}

TEST_CASE("the CA certificate is a CA limited to signing certificates and CRLs") {
  refpos::test::TempDir dir;
  const Chain chain = make_chain("acme");
  const Run ext = extensions(dir, chain.cert);
  REQUIRE(ext.exit_code == 0);
  CHECK(contains(ext.output, "X509v3 Basic Constraints: critical"));
  CHECK(contains(ext.output, "CA:TRUE, pathlen:0"));
  CHECK(contains(ext.output, "X509v3 Key Usage: critical"));
  CHECK(contains(ext.output, "Certificate Sign, CRL Sign"));
  const Run text = run(openssl() + " x509 -noout -text -in " + write(dir, "ca.pem", chain.cert));
  CHECK(contains(text.output, "Subject: CN = acme refpos CA"));
  CHECK(contains(text.output, "ecdsa-with-SHA256"));
  CHECK(contains(text.output, "NIST CURVE: P-256"));
  CHECK(contains(text.output, "Version: 3"));
  CHECK(contains(text.output, "X509v3 Subject Key Identifier"));
}

TEST_CASE("a leaf from another chain's CA does not verify") {
  refpos::test::TempDir dir;
  const Chain chain = make_chain("acme");
  const Chain other = make_chain("other");
  const Leaf store = issue(other, {"store-001", "store"}, profile(pki::Profile::client));
  const Run result = verify(dir, chain, store.cert, "sslclient");
  CHECK(result.exit_code != 0);
  CHECK(contains(result.output, "unable to get local issuer certificate"));
}

TEST_CASE("a revoked serial fails the CRL check; others still pass") {
  refpos::test::TempDir dir;
  const Chain chain = make_chain("acme");
  const Leaf revoked = issue(chain, {"store-007", "store"}, profile(pki::Profile::client));
  const Leaf kept = issue(chain, {"store-008", "store"}, profile(pki::Profile::client));
  const auto serial = must(pki::inspect_certificate(revoked.cert)).serial_hex;
  // Upper case is accepted as well as lower case.
  std::string upper = serial;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string crl =
      must(pki::make_crl_pem(chain.cert, chain.key, {upper, serial}, days_from_now(0, 7)));

  const Run refused = verify(dir, chain, revoked.cert, "sslclient", crl);
  CHECK(refused.exit_code != 0);
  CHECK(contains(refused.output, "certificate revoked"));
  const Run accepted = verify(dir, chain, kept.cert, "sslclient", crl);
  CHECK_MESSAGE(accepted.exit_code == 0, accepted.output);

  const Run listed = run(openssl() + " crl -noout -text -in " + write(dir, "c.pem", crl));
  CHECK(contains(listed.output, "Version 2"));
  CHECK(contains(listed.output, "X509v3 CRL Number"));
  std::string upper_listed = serial;
  for (auto& c : upper_listed) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(contains(listed.output, "Serial Number: " + upper_listed));
}

TEST_CASE("an empty CRL lets every certificate of the chain through") {
  refpos::test::TempDir dir;
  const Chain chain = make_chain("acme");
  const Leaf store = issue(chain, {"store-001", "store"}, profile(pki::Profile::client));
  const std::string crl = must(pki::make_crl_pem(chain.cert, chain.key, {}, days_from_now(0, 7)));
  const Run result = verify(dir, chain, store.cert, "sslclient", crl);
  CHECK_MESSAGE(result.exit_code == 0, result.output);
}

TEST_CASE("the client profile has clientAuth and not serverAuth") {
  refpos::test::TempDir dir;
  const Chain chain = make_chain("acme");
  const Leaf store = issue(chain, {"store-001", "store"}, profile(pki::Profile::client));
  const Run ext = extensions(dir, store.cert);
  REQUIRE(ext.exit_code == 0);
  CHECK(contains(ext.output, "TLS Web Client Authentication"));
  CHECK_FALSE(contains(ext.output, "TLS Web Server Authentication"));
  CHECK(contains(ext.output, "CA:FALSE"));
  CHECK(contains(ext.output, "Digital Signature"));
  CHECK(verify(dir, chain, store.cert, "sslserver").exit_code != 0);

  const auto info = must(pki::inspect_certificate(store.cert));
  CHECK(info.subject.common_name == "store-001");
  CHECK(info.subject.org_unit == "store");
  CHECK(info.serial_hex.size() == 32);
}

TEST_CASE("the server profile has serverAuth and the subjectAltName 127.0.0.1") {
  refpos::test::TempDir dir;
  const Chain chain = make_chain("acme");
  const Leaf server = issue(chain, {"localhost", ""}, profile(pki::Profile::server));
  const Run ext = extensions(dir, server.cert);
  REQUIRE(ext.exit_code == 0);
  CHECK(contains(ext.output, "TLS Web Server Authentication"));
  CHECK_FALSE(contains(ext.output, "TLS Web Client Authentication"));
  CHECK(contains(ext.output, "DNS:localhost"));
  CHECK(contains(ext.output, "IP Address:127.0.0.1"));
  const Run result = run(openssl() + " verify -CAfile " + write(dir, "ca.pem", chain.cert) +
                         " -purpose sslserver -verify_ip 127.0.0.1 " +
                         write(dir, "s.pem", server.cert));
  CHECK_MESSAGE(result.exit_code == 0, result.output);
}

TEST_CASE("a server certificate without any name is refused") {
  const Chain chain = make_chain("acme");
  const std::string key = must(pki::new_private_key_pem());
  const std::string csr = must(pki::make_csr_pem(key, {"hq", ""}));
  auto options = profile(pki::Profile::server);
  options.dns_names.clear();
  options.ip_addresses.clear();
  CHECK_FALSE(pki::sign_csr_pem(csr, chain.cert, chain.key, options));
  options.ip_addresses = {"not-an-ip"};
  const auto refused = pki::sign_csr_pem(csr, chain.cert, chain.key, options);
  REQUIRE_FALSE(refused);
  CHECK(contains(refused.error().describe(), "not-an-ip"));
}

TEST_CASE("the refusal-test profiles: no EKU at all, and serverAuth only") {
  refpos::test::TempDir dir;
  const Chain chain = make_chain("acme");
  const Leaf bare = issue(chain, {"store-001", "store"}, profile(pki::Profile::leaf_without_eku));
  const Run bare_ext = extensions(dir, bare.cert);
  CHECK_FALSE(contains(bare_ext.output, "Extended Key Usage"));
  const Leaf server_only =
      issue(chain, {"store-001", "store"}, profile(pki::Profile::leaf_server_only_eku));
  const Run server_ext = extensions(dir, server_only.cert);
  CHECK(contains(server_ext.output, "TLS Web Server Authentication"));
  CHECK(verify(dir, chain, server_only.cert, "sslclient").exit_code != 0);
}

TEST_CASE("an expired certificate fails verification") {
  refpos::test::TempDir dir;
  const Chain chain = make_chain("acme");
  const Leaf store =
      issue(chain, {"store-001", "store"}, profile(pki::Profile::client, days_from_now(-100, -10)));
  const Run result = verify(dir, chain, store.cert, "sslclient");
  CHECK(result.exit_code != 0);
  CHECK(contains(result.output, "certificate has expired"));
  const auto info = must(pki::inspect_certificate(store.cert));
  CHECK(info.validity.not_after_unix < now());
  CHECK(info.validity.not_after_unix - info.validity.not_before_unix == 90 * kDay);
}

TEST_CASE("a CSR verifies with openssl req, and a tampered one is refused by sign_csr_pem") {
  refpos::test::TempDir dir;
  const Chain chain = make_chain("acme");
  const std::string key = must(pki::new_private_key_pem());
  const std::string csr = must(pki::make_csr_pem(key, {"store-001", "store"}));
  const Run checked =
      run(openssl() + " req -verify -noout -subject -in " + write(dir, "r.pem", csr));
  CHECK_MESSAGE(checked.exit_code == 0, checked.output);
  CHECK(contains(checked.output, "verify OK"));
  CHECK(contains(checked.output, "OU = store, CN = store-001"));

  // Swap the store id in the signed part: the DER stays well-formed, the
  // signature no longer matches.
  const Run der = run(openssl() + " req -in " + write(dir, "r2.pem", csr) + " -outform DER -out '" +
                      (dir.path() / "r.der").string() + "'");
  REQUIRE(der.exit_code == 0);
  std::string bytes = read_bytes(dir.path() / "r.der");
  const auto at = bytes.find("store-001");
  REQUIRE(at != std::string::npos);
  bytes[at + 8] = '2';
  {
    std::ofstream out(dir.path() / "t.der", std::ios::binary);
    out << bytes;
  }
  const Run pem = run(openssl() + " req -inform DER -in '" + (dir.path() / "t.der").string() +
                      "' -out '" + (dir.path() / "t.pem").string() + "'");
  REQUIRE(pem.exit_code == 0);
  const std::string tampered = read_bytes(dir.path() / "t.pem");
  // OpenSSL 3.0's `req -verify` says so but still exits 0 (fixed in 3.2).
  const Run broken =
      run(openssl() + " req -verify -noout -in '" + (dir.path() / "t.pem").string() + "'");
  CHECK_MESSAGE(contains(broken.output, "verify failure"), broken.output);
  CHECK_FALSE(contains(broken.output, "verify OK"));
  const auto refused =
      pki::sign_csr_pem(tampered, chain.cert, chain.key, profile(pki::Profile::client));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == refpos::ErrorKind::bad_request);
  CHECK(contains(refused.error().message, "signature"));
}

TEST_CASE("bad input is refused with a message, never with key material") {
  const Chain chain = make_chain("acme");
  const Chain other = make_chain("other");
  const Leaf store = issue(chain, {"store-001", "store"}, profile(pki::Profile::client));

  auto wrong_key = pki::sign_csr_pem(store.csr, chain.cert, other.key, profile(pki::Profile::client));
  REQUIRE_FALSE(wrong_key);
  CHECK(contains(wrong_key.error().describe(), "does not match"));

  auto not_pem = pki::make_csr_pem("not a key", {"store-001", "store"});
  REQUIRE_FALSE(not_pem);
  CHECK(contains(not_pem.error().message, "reading the private key"));

  CHECK_FALSE(pki::make_csr_pem(store.key, {"", "store"}));
  CHECK_FALSE(pki::make_csr_pem(store.key, {std::string(65, 'a'), "store"}));
  CHECK_FALSE(pki::self_signed_ca_pem(chain.key, {"x refpos CA", ""}, {100, 100}));
  CHECK_FALSE(pki::make_crl_pem(chain.cert, chain.key, {"xyz"}, days_from_now(0, 7)));
  CHECK_FALSE(pki::make_crl_pem(chain.cert, chain.key, {std::string(41, '1')}, days_from_now(0, 7)));
  CHECK_FALSE(pki::inspect_certificate(store.csr));

  for (const auto& error : {wrong_key.error(), not_pem.error()}) {
    CHECK_FALSE(contains(error.describe(), "PRIVATE KEY"));
    CHECK_FALSE(contains(error.describe(), chain.key.substr(30, 40)));
  }
}

TEST_CASE("only new_private_key_pem returns private key text") {
  const std::string key = must(pki::new_private_key_pem());
  CHECK(contains(key, "-----BEGIN PRIVATE KEY-----"));  // PKCS#8, not "EC PRIVATE KEY"
  const Chain chain = make_chain("acme");
  const Leaf store = issue(chain, {"store-001", "store"}, profile(pki::Profile::client));
  const Leaf server = issue(chain, {"localhost", ""}, profile(pki::Profile::server));
  const std::string crl = must(pki::make_crl_pem(chain.cert, chain.key, {}, days_from_now(0, 7)));
  for (const auto& text : {chain.cert, store.csr, store.cert, server.cert, crl}) {
    CHECK_FALSE(contains(text, "PRIVATE KEY"));
  }
  CHECK(contains(store.csr, "BEGIN CERTIFICATE REQUEST"));
  CHECK(contains(crl, "BEGIN X509 CRL"));
}

TEST_CASE("serial numbers are 16 random positive bytes, never repeated") {
  const Chain chain = make_chain("acme");
  const std::string key = must(pki::new_private_key_pem());
  const std::string csr = must(pki::make_csr_pem(key, {"store-001", "store"}));
  std::vector<std::string> serials;
  for (int i = 0; i < 20; ++i) {
    const auto cert = must(pki::sign_csr_pem(csr, chain.cert, chain.key, profile(pki::Profile::client)));
    serials.push_back(must(pki::inspect_certificate(cert)).serial_hex);
  }
  for (std::size_t i = 0; i < serials.size(); ++i) {
    CHECK(serials[i].size() == 32);
    CHECK(serials[i][0] >= '4');  // top bit clear, next bit set
    CHECK(serials[i][0] <= '7');
    for (std::size_t j = i + 1; j < serials.size(); ++j) CHECK(serials[i] != serials[j]);
  }
}
