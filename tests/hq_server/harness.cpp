// The head office's test harness (harness.hpp).
#include "harness.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/pki.hpp"

namespace refpos::test {
namespace {

namespace pki = refpos::pki;
constexpr std::int64_t kDay = 86400;

template <typename T>
T must(refpos::Result<T> result) {
  if (!result) throw std::runtime_error("test chain: " + result.error().describe());
  return std::move(result).value();
}

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

pki::Validity days(std::int64_t from, std::int64_t to) {
  return pki::Validity{now_s() + from * kDay, now_s() + to * kDay};
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
  out.close();
  ::chmod(path.c_str(), mode);
}

Credentials issue(const std::string& ca_cert, const std::string& ca_key, const pki::Subject& subject,
                  pki::Profile profile, const pki::Validity& validity) {
  Credentials c;
  c.key_pem = must(pki::new_private_key_pem());
  const std::string csr = must(pki::make_csr_pem(c.key_pem, subject));
  pki::IssueOptions options;
  options.profile = profile;
  options.validity = validity;
  c.cert_pem = must(pki::sign_csr_pem(csr, ca_cert, ca_key, options));
  c.serial_hex = must(pki::inspect_certificate(c.cert_pem)).serial_hex;
  return c;
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) throw std::runtime_error("RAND_bytes");
  static const char* const kDigits = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : raw) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<std::int64_t>(0, left));
}

TestChain* make_chain() {
  auto* c = new TestChain();  // lives for the whole test run
  const std::string d = c->dir.str();
  c->ca_key_pem = must(pki::new_private_key_pem());
  c->ca_cert_pem = must(pki::self_signed_ca_pem(c->ca_key_pem, {"test refpos CA", ""}, days(-1, 365)));

  const std::string server_key = must(pki::new_private_key_pem());
  pki::IssueOptions server_options;
  server_options.profile = pki::Profile::server;
  server_options.validity = days(-1, 90);
  server_options.dns_names = {"localhost"};
  server_options.ip_addresses = {"127.0.0.1"};
  const std::string server_cert = must(pki::sign_csr_pem(
      must(pki::make_csr_pem(server_key, {"localhost", ""})), c->ca_cert_pem, c->ca_key_pem, server_options));

  const auto& ca = c->ca_cert_pem;
  const auto& key = c->ca_key_pem;
  c->store_a = issue(ca, key, {"store-a", "store"}, pki::Profile::client, days(-1, 90));
  c->store_b = issue(ca, key, {"store-b", "store"}, pki::Profile::client, days(-1, 90));
  c->admin = issue(ca, key, {"alice", "admin"}, pki::Profile::client, days(-1, 30));
  c->expired_store = issue(ca, key, {"store-old", "store"}, pki::Profile::client, days(-30, -1));
  c->revoked_store = issue(ca, key, {"store-gone", "store"}, pki::Profile::client, days(-1, 90));
  c->no_eku_store = issue(ca, key, {"store-noeku", "store"}, pki::Profile::leaf_without_eku, days(-1, 90));
  c->server_eku_store =
      issue(ca, key, {"store-srv", "store"}, pki::Profile::leaf_server_only_eku, days(-1, 90));

  c->kiosk = issue(ca, key, {"kiosk-1", "kiosk"}, pki::Profile::client, days(-1, 90));

  const std::string other_ca_key = must(pki::new_private_key_pem());
  const std::string other_ca = must(pki::self_signed_ca_pem(other_ca_key, {"other refpos CA", ""}, days(-1, 365)));
  c->other_ca_store = issue(other_ca, other_ca_key, {"store-a", "store"}, pki::Profile::client, days(-1, 90));

  c->ca_file = d + "/ca.pem";
  c->crl_file = d + "/crl.pem";
  c->cert_file = d + "/hq.pem";
  c->key_file = d + "/hq.key";
  c->signing_key_file = d + "/signing.key";
  c->signing_key_hex = random_hex(32);
  write_file(c->ca_file, c->ca_cert_pem);
  write_file(c->cert_file, server_cert);
  write_file(c->key_file, server_key, 0600);
  write_file(c->signing_key_file, c->signing_key_hex + "\n", 0600);
  c->write_crl({});
  return c;
}

X509* parse_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

EVP_PKEY* parse_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

const TestChain& TestChain::get() {
  static const TestChain* chain = make_chain();
  return *chain;
}

void TestChain::write_crl(const std::vector<std::string>& extra_serials_hex) const {
  std::vector<std::string> serials = extra_serials_hex;
  serials.push_back(revoked_store.serial_hex);
  write_file(crl_file, must(pki::make_crl_pem(ca_cert_pem, ca_key_pem, serials, days(-1, 30))));
}

// ------------------------------------------------------------ HqProcess

namespace {

// Writes `folder`/hq.json (the test chain, data in `folder`/data, port 0)
// and says how to start refpos-hq on it, logging to `folder`/hq.log.
process::HqChildOptions configure_hq(const std::string& folder, const HqSettings& settings) {
  const TestChain& chain = TestChain::get();
  const std::string config_path = folder + "/hq.json";
  const nlohmann::json config = {{"listen", "127.0.0.1"},
                                 {"port", 0},
                                 {"data_dir", folder + "/data"},
                                 {"ca_file", chain.ca_file},
                                 {"crl_file", chain.crl_file},
                                 {"cert_file", chain.cert_file},
                                 {"key_file", chain.key_file},
                                 {"signing_key_file", chain.signing_key_file},
                                 {"max_connections", settings.max_connections},
                                 {"header_timeout_ms", settings.header_timeout_ms},
                                 {"body_timeout_ms", settings.body_timeout_ms},
                                 {"idle_timeout_ms", settings.idle_timeout_ms},
                                 {"shutdown_timeout_ms", settings.shutdown_timeout_ms}};
  write_file(config_path, config.dump(2));
  process::HqChildOptions options;
  options.executable = REFPOS_HQ_PATH;
  options.arguments = {"--config", config_path};
  options.log_path = folder + "/hq.log";
  options.start_timeout_ms = kGuardMs;
  return options;
}

}  // namespace

HqProcess::HqProcess(const HqSettings& settings) : child_(configure_hq(data_.str(), settings)) {}

HqProcess::~HqProcess() { check_clean_stop(child_); }

void check_clean_stop(process::HqChild& hq) {
  if (hq.exited()) return;
  hq.signal(SIGTERM);
  const auto code = hq.wait_exit(kGuardMs);
  CHECK_MESSAGE(code == 0, "refpos-hq did not stop cleanly after SIGTERM; its log:\n" << hq.log());
}

bool HqProcess::wait_for_log(std::string_view needle, int timeout_ms) const {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (log().find(needle) != std::string::npos) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a file; the bound is the guard
  }
}

// ------------------------------------------------------------ TlsClient

TlsClient::TlsClient(std::uint16_t port, const std::optional<Credentials>& identity, int max_version,
                     const std::string& groups) {
  std::signal(SIGPIPE, SIG_IGN);  // a server that closed first is an error code, not a crash
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return;
  tcp_ok_ = true;
  timeval guard{kGuardMs / 1000, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &guard, sizeof guard);

  const TestChain& chain = TestChain::get();
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx_, max_version);
  if (!groups.empty()) SSL_CTX_set1_groups_list(ctx_, groups.c_str());
  X509* ca = parse_cert(chain.ca_cert_pem);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
  X509_free(ca);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  if (identity) {
    X509* cert = parse_cert(identity->cert_pem);
    EVP_PKEY* key = parse_key(identity->key_pem);
    SSL_CTX_use_certificate(ctx_, cert);
    SSL_CTX_use_PrivateKey(ctx_, key);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
  handshake_ok_ = SSL_connect(ssl_) == 1;
  ERR_clear_error();
}

TlsClient::~TlsClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

void TlsClient::close_abruptly() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  ssl_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  handshake_ok_ = false;
}

bool TlsClient::send(std::string_view bytes) {
  if (!handshake_ok_) return false;
  while (!bytes.empty()) {
    const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 16)));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool TlsClient::fill(int timeout_ms) {
  if (!handshake_ok_) return false;
  if (SSL_pending(ssl_) == 0) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
  }
  char buf[16384];
  const int n = SSL_read(ssl_, buf, sizeof buf);
  if (n <= 0) {
    ERR_clear_error();
    return false;
  }
  buffer_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::optional<HttpResponse> TlsClient::read_response(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::size_t end = 0;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(remaining_ms(deadline))) return std::nullopt;
  HttpResponse r;
  std::istringstream head(buffer_.substr(0, end));
  std::string line;
  std::getline(head, line);
  if (line.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
  r.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[lower(line.substr(0, colon))] = value;
  }
  const std::size_t length =
      r.headers.count("content-length") != 0 ? std::stoul(r.headers["content-length"]) : 0;
  while (buffer_.size() < end + 4 + length)
    if (!fill(remaining_ms(deadline))) return std::nullopt;
  r.body = buffer_.substr(end + 4, length);
  buffer_.erase(0, end + 4 + length);
  return r;
}

bool TlsClient::closed_by_server(int timeout_ms) {
  if (!handshake_ok_) return true;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  pollfd p{fd_, POLLIN, 0};
  if (SSL_pending(ssl_) == 0 && ::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
  char buf[1024];
  const int n = SSL_read(ssl_, buf, sizeof buf);
  ERR_clear_error();
  return n <= 0;  // data instead of a close: not what the caller waited for
}

std::optional<HttpResponse> TlsClient::request(std::string_view method, std::string_view target,
                                               std::string_view body, bool keep_alive) {
  std::string text = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (method == "POST" || !body.empty())
    text += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive) text += "Connection: close\r\n";
  text += "\r\n";
  text += body;
  if (!send(text)) return std::nullopt;
  return read_response();
}

bool refused(std::uint16_t port, const std::optional<Credentials>& identity, int max_version) {
  TlsClient client(port, identity, max_version);
  if (!client.handshake_ok()) return true;
  return !client.request("GET", "/v1/health").has_value();
}

}  // namespace refpos::test
