// The chain, the head-office process and the events (hq_bench.hpp).
#include <sys/stat.h>

#include <openssl/rand.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>

#include "bench_error.hpp"
#include "common/pki.hpp"
#include "hq_bench.hpp"
#include "store/event_log.hpp"

namespace refpos::bench {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr int kStartGuardMs = 30'000;  // a hang, not a slow machine
constexpr int kStopGuardMs = 30'000;

template <typename T>
T must(Result<T> result, const char* what) {
  if (!result) throw BenchError(std::string(what) + ": " + result.error().describe());
  return std::move(result).value();
}

pki::Validity days(std::int64_t from, std::int64_t to) {
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  return pki::Validity{now + from * kDay, now + to * kDay};
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw BenchError("cannot write " + path);
  ::chmod(path.c_str(), mode);
}

sync::TlsFiles issue(const std::string& folder, const std::string& name, const std::string& ca_file,
                     const std::string& ca_cert, const std::string& ca_key, const pki::Subject& subject,
                     std::int64_t lifetime_days) {
  const std::string key = must(pki::new_private_key_pem(), "key");
  const std::string csr = must(pki::make_csr_pem(key, subject), "csr");
  pki::IssueOptions options;
  options.profile = pki::Profile::client;
  options.validity = days(-1, lifetime_days);
  const std::string cert = must(pki::sign_csr_pem(csr, ca_cert, ca_key, options), "sign");
  sync::TlsFiles files{ca_file, folder + "/" + name + ".pem", folder + "/" + name + ".key"};
  write_file(files.cert_file, cert, 0644);
  write_file(files.key_file, key, 0600);
  return files;
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) throw BenchError("RAND_bytes failed");
  static const char* const kDigits = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : raw) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

// Writes `folder`/hq.json and starts refpos-hq on it (HqServer's member
// initialiser: HqChild is neither copied nor moved, the prvalue is elided).
process::HqChild start_hq(const std::string& hq_path, const std::string& folder, const BenchChain& chain,
                          std::int64_t header_timeout_ms, const std::string& database) {
  const std::string config_path = folder + "/hq.json";
  nlohmann::json config = {{"listen", "127.0.0.1"},
                                 {"port", 0},
                                 {"data_dir", folder + "/hq-data"},
                                 {"ca_file", chain.ca_file},
                                 {"crl_file", chain.crl_file},
                                 {"cert_file", chain.hq_cert_file},
                                 {"key_file", chain.hq_key_file},
                                 {"signing_key_file", chain.signing_key_file},
                                 {"header_timeout_ms", header_timeout_ms}};
  if (!database.empty()) config["database"] = database;
  write_file(config_path, config.dump(2), 0644);
  process::HqChildOptions options;
  options.executable = hq_path;
  options.arguments = {"--config", config_path};
  options.log_path = folder + "/hq.log";
  options.start_timeout_ms = kStartGuardMs;
  try {
    return process::HqChild(options);
  } catch (const std::runtime_error& e) {
    throw BenchError(e.what());
  }
}

}  // namespace

BenchChain make_chain(const std::string& folder, std::size_t stores) {
  BenchChain c;
  const std::string ca_key = must(pki::new_private_key_pem(), "CA key");
  const std::string ca_cert = must(pki::self_signed_ca_pem(ca_key, {"bench refpos CA", ""}, days(-1, 365)), "CA");
  const std::string server_key = must(pki::new_private_key_pem(), "server key");
  pki::IssueOptions server_options;
  server_options.profile = pki::Profile::server;
  server_options.validity = days(-1, 90);
  server_options.dns_names = {"localhost"};
  server_options.ip_addresses = {"127.0.0.1"};
  const std::string server_cert = must(
      pki::sign_csr_pem(must(pki::make_csr_pem(server_key, {"localhost", ""}), "server csr"), ca_cert, ca_key,
                        server_options),
      "server cert");
  c.ca_file = folder + "/ca.pem";
  c.crl_file = folder + "/crl.pem";
  c.hq_cert_file = folder + "/hq.pem";
  c.hq_key_file = folder + "/hq.key";
  c.signing_key_file = folder + "/signing.key";
  write_file(c.ca_file, ca_cert, 0644);
  write_file(c.crl_file, must(pki::make_crl_pem(ca_cert, ca_key, {}, days(-1, 30)), "CRL"), 0644);
  write_file(c.hq_cert_file, server_cert, 0644);
  write_file(c.hq_key_file, server_key, 0600);
  write_file(c.signing_key_file, random_hex(32) + "\n", 0600);
  c.admin = issue(folder, "admin", c.ca_file, ca_cert, ca_key, {"bench", "admin"}, 30);
  c.store_ids.reserve(stores);
  c.stores.reserve(stores);
  for (std::size_t i = 1; i <= stores; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "store-%04zu", i);
    c.store_ids.emplace_back(id);
    c.stores.push_back(issue(folder, id, c.ca_file, ca_cert, ca_key, {id, "store"}, 90));
  }
  return c;
}

HqServer::HqServer(const std::string& hq_path, const std::string& folder, const BenchChain& chain,
                   std::int64_t header_timeout_ms, const std::string& database)
    : child_(start_hq(hq_path, folder, chain, header_timeout_ms, database)) {}

std::int64_t HqServer::peak_resident_bytes() const {
  try {
    return child_.peak_resident_bytes();
  } catch (const std::runtime_error& e) {
    throw BenchError(e.what());
  }
}

int HqServer::stop() {
  if (child_.exited()) return -1;
  child_.signal(SIGTERM);
  return child_.wait_exit(kStopGuardMs).value_or(-1);  // still running: the destructor kills it
}

std::vector<sync::WireEvent> make_events(const std::string& store_id, std::size_t count) {
  using nlohmann::json;
  constexpr std::int64_t kStartMs = 1767261600000;  // 2026-01-01 10:00 UTC
  std::vector<sync::WireEvent> events;
  events.reserve(count);
  store::Hash prev{};
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t sale = i / 5;  // a referral sale is five events
    const std::string me = store_id + "-c" + std::to_string(sale + 1);
    const std::string referrer = store_id + "-c" + std::to_string(sale);
    const std::string txn = store_id + "-t" + std::to_string(sale + 1);
    const std::string code_of_referrer = "R" + std::to_string(sale) + "-" + store_id + "-7QK2";
    const std::string my_code = "R" + std::to_string(sale + 1) + "-" + store_id + "-7QK2";
    sync::WireEvent e;
    e.seq = static_cast<std::int64_t>(i) + 1;
    e.at_ms = kStartMs + static_cast<std::int64_t>(sale) * 20'000;
    e.ruleset_version = 3;
    json body;
    switch (i % 5) {
      case 0:
        e.type = "customer_registered";
        body = {{"customer_id", me}, {"identities", {{{"kind", "phone_hash"}, {"value", std::string(64, 'a')}}}},
                {"source", "checkout"}};
        break;
      case 1:
        e.type = "code_redeemed";
        body = {{"code", code_of_referrer}, {"txn_id", txn}, {"customer_id", me},
                {"referrer_customer_id", referrer}, {"program", "friends"},
                {"discount", {{"kind", "percent"}, {"value", 20}, {"amount_minor", 1260}}},
                {"currency", "USD"}};
        break;
      case 2:
        e.type = "reward_accrued";
        body = {{"customer_id", referrer}, {"side", "referrer"}, {"kind", "store_credit"},
                {"amount", 1000}, {"spendable_at_ms", e.at_ms}, {"held", false},
                {"txn_id", txn}, {"code", code_of_referrer}, {"rule_id", "friends.referrer"}};
        break;
      case 3:
        e.type = "code_issued";
        body = {{"code", my_code}, {"customer_id", me}, {"program", "friends"},
                {"key_id", 1}, {"txn_id", txn}, {"expires_at_ms", e.at_ms + 90LL * 86'400'000}};
        break;
      default:
        e.type = "txn_committed";
        body = {{"txn_id", txn}, {"customer_id", me}, {"currency", "USD"},
                {"lines", {{{"sku", "SKU-1001"}, {"qty", 1}, {"unit_minor", 2500}},
                           {{"sku", "SKU-2002"}, {"qty", 2}, {"unit_minor", 1400}},
                           {{"sku", "SKU-3003"}, {"qty", 1}, {"unit_minor", 1000}}}},
                {"subtotal_minor", 6300}, {"discount_minor", 1260}, {"total_minor", 5040},
                {"codes_redeemed", {code_of_referrer}}, {"codes_issued", {my_code}}};
        break;
    }
    e.body = body.dump();  // nlohmann keeps keys sorted: canonical
    e.prev_hash = prev;
    e.hash = store::event_hash(prev, e.seq, store_id, e.type, e.at_ms, e.ruleset_version, e.body);
    prev = e.hash;
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace refpos::bench
