// Scale-out (docs/scale-out.md, DESIGN.md section 9): two refpos-hq
// processes on one throwaway PostgreSQL, behind HAProxy in TLS passthrough
// (the shipped assets/haproxy/refpos-hq.cfg with 127.0.0.1 addresses), and
// 100 stores, each the real plugin (dlopen) on its own SQLite file with its
// own client certificate, syncing through HAProxy in a random order (fixed
// seed), four at a time. Then two more stores, each syncing directly with a
// different instance, redeem one code issued at the first store: head office
// must see one double redemption whichever instance received which.
//
// Checked: every store's acked_seq (its answer and head office's row) is the
// last seq it had when it synced; PostgreSQL holds exactly the sum of the
// stores' events; both instances received pushes (their request logs, and
// HAProxy's connection log naming both servers); the conflict is one row
// naming both redemptions. A second run kills one instance (SIGKILL) a
// third of the way through: stores whose sync was cut sync again, and the
// end state is whole (everything acknowledged once, nothing twice, the fold
// queue drained by the survivor). Every child (HAProxy, both refpos-hq, the
// PostgreSQL server) is stopped by a destructor on every path out, and by
// the kernel (dying_with_parent) or PgCluster's guard if this process dies.
#include <doctest/doctest.h>

#include <libpq-fe.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/hq_child.hpp"
#include "common/pki.hpp"
#include "crypto/ed25519.hpp"
#include "harness.hpp"
#include "haproxy.hpp"
#include "hq/pg_storage.hpp"
#include "pg_cluster.hpp"
#include "plugin.hpp"

using namespace refpos::test;

namespace {

constexpr int kStores = 100;
constexpr int kWorkers = 4;  // stores syncing at once
constexpr std::uint32_t kSeed = 20'261'205;

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out.good()) throw std::runtime_error("cannot write " + path);
  ::chmod(path.c_str(), mode);
}

template <typename T>
T must(refpos::Result<T> result) {
  if (!result) throw std::runtime_error(result.error().describe());
  return std::move(result).value();
}

// A store certificate (OU=store, CN=store_id) from the test chain's CA.
Credentials store_credentials(const std::string& store_id) {
  namespace pki = refpos::pki;
  const TestChain& chain = TestChain::get();
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  Credentials c;
  c.key_pem = must(pki::new_private_key_pem());
  pki::IssueOptions options;
  options.profile = pki::Profile::client;
  options.validity = {now - 86'400, now + 30 * 86'400};
  c.cert_pem = must(pki::sign_csr_pem(must(pki::make_csr_pem(c.key_pem, {store_id, "store"})),
                                      chain.ca_cert_pem, chain.ca_key_pem, options));
  return c;
}

// One refpos-hq on the shared database, in a folder of its own (hq.json,
// hq.log). Stopped with SIGTERM, and it must exit 0 (check_clean_stop).
class Instance {
 public:
  explicit Instance(const std::string& database_url) : child_(configure(dir_.str(), database_url)) {}
  ~Instance() { check_clean_stop(child_); }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  [[nodiscard]] std::uint16_t port() const { return child_.port(); }
  [[nodiscard]] std::string log() const { return child_.log(); }
  // SIGKILL, from any thread (a crash in the middle of whatever it does).
  void kill_now() { child_.kill_now(); }

 private:
  static refpos::process::HqChildOptions configure(const std::string& folder,
                                                   const std::string& database_url) {
    const TestChain& chain = TestChain::get();
    const nlohmann::json config = {{"listen", "127.0.0.1"},
                                   {"port", 0},
                                   {"database", database_url},
                                   {"ca_file", chain.ca_file},
                                   {"crl_file", chain.crl_file},
                                   {"cert_file", chain.cert_file},
                                   {"key_file", chain.key_file},
                                   {"signing_key_file", chain.signing_key_file}};
    write_file(folder + "/hq.json", config.dump(2), 0600);
    refpos::process::HqChildOptions options;
    // setpriv execs refpos-hq in the same process: HqChild's pid, signals
    // and "listening on" line are refpos-hq's.
    auto argv = dying_with_parent({REFPOS_HQ_PATH, "--config", folder + "/hq.json"});
    options.executable = argv.front();
    options.arguments.assign(argv.begin() + 1, argv.end());
    options.log_path = folder + "/hq.log";
    options.start_timeout_ms = kGuardMs;
    return options;
  }

  TempDir dir_;  // before child_: the child's files live here
  refpos::process::HqChild child_;
};

// A store folder with the plugin open on it, syncing with 127.0.0.1:port.
struct Store {
  TempDir dir;
  std::string id;
  std::unique_ptr<StoreHandle> handle;
  std::int64_t last_seq_at_sync = -1;  // the store's last seq when its sync began
  Reply answer;

  Store(std::string store_id, std::uint16_t port) : id(std::move(store_id)) {
    const TestChain& chain = TestChain::get();
    const Credentials creds = store_credentials(id);
    write_file(dir.str() + "/store.pem", creds.cert_pem, 0644);
    write_file(dir.str() + "/store.key", creds.key_pem, 0600);
    json config = default_config(dir.str() + "/data");
    config["store_id"] = id;
    config["sync"] = {{"url", "https://127.0.0.1:" + std::to_string(port)},
                      {"ca_file", chain.ca_file},
                      {"cert_file", dir.str() + "/store.pem"},
                      {"key_file", dir.str() + "/store.key"},
                      {"signing_public_key_hex", *refpos::crypto::ed25519_public_of(chain.signing_key_hex)},
                      {"batch_events", 7},
                      {"timeout_ms", 20'000}};
    handle = std::make_unique<StoreHandle>(config);
  }

  std::string data() const { return dir.str() + "/data"; }
  std::int64_t last_seq() const {
    return store_sql_int(data(), "SELECT coalesce(max(seq), 0) FROM events");
  }

  // One sync; remembers what it had to push and the answer. No doctest
  // assertion here: workers call it from their threads.
  void sync() {
    last_seq_at_sync = last_seq();
    char* text = nullptr;
    answer = {};
    answer.status = plugin_api().sync(handle->raw(), "{}", 2, nullptr, nullptr, &text);
    if (text != nullptr) answer.text = text;
    plugin_api().free_buffer(text);
    answer.message = plugin_api().last_error(handle->raw());
    answer.body = json::parse(answer.text, nullptr, false);
  }
};

// The rows of `sql` on PostgreSQL, each column as text.
std::vector<std::vector<std::string>> pg_rows(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::vector<std::vector<std::string>> rows;
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(r);
    } else {
      for (int i = 0; i < PQntuples(r); ++i) {
        rows.emplace_back();
        for (int j = 0; j < PQnfields(r); ++j) rows.back().emplace_back(PQgetvalue(r, i, j));
      }
    }
    PQclear(r);
  }
  PQfinish(conn);
  if (!error.empty()) throw std::runtime_error(sql + ": " + error);
  return rows;
}

std::int64_t pg_int(const std::string& url, const std::string& sql) {
  const auto rows = pg_rows(url, sql);
  if (rows.size() != 1 || rows[0].size() != 1) throw std::runtime_error(sql + ": not one value");
  return std::stoll(rows[0][0]);
}

// Pushes (POST /v1/events answered 200) in a refpos-hq request log, by caller.
std::map<std::string, int> pushes_by_caller(const std::string& log) {
  std::map<std::string, int> out;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    const json entry = json::parse(line, nullptr, false);
    if (!entry.is_object() || entry.value("target", "") != "/v1/events" || entry.value("status", 0) != 200)
      continue;
    ++out[entry.contains("caller") && entry["caller"].is_string() ? entry["caller"].get<std::string>() : ""];
  }
  return out;
}

std::string issued_code(const Reply& commit) {
  REQUIRE_MESSAGE(commit.status == REFPOS_OK, commit.text);
  REQUIRE(commit.body["issued_code"].is_object());
  return commit.body["issued_code"]["normalized"].get<std::string>();
}

std::string store_name(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "store-%03d", i);
  return name;
}

// kStores stores on `port`, each with one to three sales (a code issued
// each time, so batches differ in size), before any of them syncs. `code`:
// the first code issued at store-000.
std::vector<std::unique_ptr<Store>> stores_with_sales(std::uint16_t port, std::mt19937& random,
                                                      std::string& code) {
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kStores; ++i) {
    stores.push_back(std::make_unique<Store>(store_name(i), port));
    const int sales = 1 + static_cast<int>(random() % 3);
    for (int s = 1; s <= sales; ++s) {
      const Reply sale = stores.back()->handle->commit(
          cart("T-" + std::to_string(s), "c-" + std::to_string(i) + "-" + std::to_string(s), {5000}));
      const std::string issued = issued_code(sale);
      if (i == 0 && s == 1) code = issued;
    }
  }
  return stores;
}

// Every store syncs once, in a random order, kWorkers at a time; a sync that
// fails is tried again (up to `attempts` in all). `after_each` runs on the
// worker's thread after each attempt. Returns the failed attempts.
int sync_all(std::vector<std::unique_ptr<Store>>& stores, std::mt19937& random, int attempts,
             const std::function<void()>& after_each = {}) {
  std::vector<std::size_t> order(stores.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), random);
  std::atomic<std::size_t> next{0};
  std::atomic<int> failed{0};
  {
    std::vector<std::jthread> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.emplace_back([&] {
        for (std::size_t k = next++; k < order.size(); k = next++) {
          Store& store = *stores[order[k]];
          for (int attempt = 1; attempt <= attempts; ++attempt) {
            store.sync();
            if (after_each) after_each();
            if (store.answer.status == REFPOS_OK) break;
            ++failed;
          }
        }
      });
    }
  }  // joined
  return failed.load();
}

// Every store's sync succeeded and acknowledged all it had, head office's
// row says the same, and PostgreSQL holds exactly their events. Returns
// that sum.
std::int64_t check_everything_acked(const std::string& url,
                                    const std::vector<std::unique_ptr<Store>>& stores) {
  std::map<std::string, std::int64_t> acked_at_hq;
  for (const auto& row : pg_rows(url, "SELECT store_id, acked_seq FROM stores"))
    acked_at_hq[row[0]] = std::stoll(row[1]);
  std::int64_t total = 0;
  for (const auto& s : stores) {
    CAPTURE(s->id);
    REQUIRE_MESSAGE(s->answer.status == REFPOS_OK, s->answer.message);
    CHECK(s->last_seq_at_sync > 0);
    CHECK(s->answer.body["acked_seq"] == s->last_seq_at_sync);
    CHECK(acked_at_hq[s->id] == s->last_seq_at_sync);
    total += s->last_seq_at_sync;
  }
  CHECK(acked_at_hq.size() == stores.size());
  CHECK(pg_int(url, "SELECT count(*) FROM events") == total);
  return total;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("scale: 100 stores sync in random order through HAProxy to two refpos-hq on one PostgreSQL") {
  const auto test_started = std::chrono::steady_clock::now();
  PgCluster pg;  // declared first: stopped last, after everything that uses it
  const std::string url = pg.create_database("scale");
  Instance hq1(url);
  Instance hq2(url);
  TempDir haproxy_dir;
  HaproxyProcess haproxy(haproxy_dir.str(), std::string(REFPOS_SOURCE_DIR) + "/assets/haproxy/refpos-hq.cfg",
                         {hq1.port(), hq2.port()});

  std::mt19937 random(kSeed);
  std::string code;  // issued at store-000, redeemed later at two other stores
  auto stores = stores_with_sales(haproxy.port(), random, code);
  MESSAGE("PostgreSQL, two refpos-hq, HAProxy and " << kStores << " stores with their sales ready in "
          << seconds_since(test_started) << " s");

  const auto started = std::chrono::steady_clock::now();
  CHECK(sync_all(stores, random, 1) == 0);
  MESSAGE(kStores << " stores synced through HAProxy in " << seconds_since(started) << " s (" << kWorkers
                  << " at a time)");
  const std::int64_t total = check_everything_acked(url, stores);

  // Both instances took pushes through HAProxy, and HAProxy says so too.
  const auto at_hq1 = pushes_by_caller(hq1.log());
  const auto at_hq2 = pushes_by_caller(hq2.log());
  std::int64_t pushes1 = 0, pushes2 = 0;
  for (const auto& [caller, n] : at_hq1) pushes1 += n;
  for (const auto& [caller, n] : at_hq2) pushes2 += n;
  MESSAGE("pushes: hq1 " << pushes1 << " from " << at_hq1.size() << " stores, hq2 " << pushes2
                         << " from " << at_hq2.size() << " stores");
  CHECK(pushes1 > 0);
  CHECK(pushes2 > 0);
  const std::string proxy_log = haproxy.log();
  CHECK(proxy_log.find("refpos_hq_instances/hq1") != std::string::npos);
  CHECK(proxy_log.find("refpos_hq_instances/hq2") != std::string::npos);

  // Two stores that never synced redeem store-000's code offline (one
  // redemption allowed: head office knows no published rule set), and sync
  // each with a different instance directly.
  REQUIRE(!code.empty());
  Store via1("store-r1", hq1.port());
  Store via2("store-r2", hq2.port());
  for (Store* s : {&via1, &via2}) {
    json sale = cart("R-1", "friend-of-" + s->id, {8000});
    sale["code"] = code;
    const Reply redeemed = s->handle->commit(sale);
    REQUIRE_MESSAGE(redeemed.status == REFPOS_OK, redeemed.text);
    REQUIRE(redeemed.body["redemption"].is_object());
    s->sync();
    REQUIRE_MESSAGE(s->answer.status == REFPOS_OK, s->answer.message);
    CHECK(s->answer.body["acked_seq"] == s->last_seq_at_sync);
  }
  CHECK(pushes_by_caller(hq1.log()).count("store:store-r1") == 1);
  CHECK(pushes_by_caller(hq2.log()).count("store:store-r2") == 1);
  // The second store's pull folded its redemption: one conflict, naming both.
  CHECK(pg_int(url, "SELECT count(*) FROM conflicts") == 1);
  CHECK(pg_int(url, "SELECT count(*) FROM conflicts WHERE kind = 'over_redeemed' AND code = '" + code + "'") == 1);
  const auto txns = pg_rows(url, "SELECT store_id, txn_id FROM conflict_txns ORDER BY arrival");
  REQUIRE(txns.size() == 2);
  CHECK(txns[0] == std::vector<std::string>{"store-r1", "R-1"});
  CHECK(txns[1] == std::vector<std::string>{"store-r2", "R-1"});
  CHECK(pg_int(url, "SELECT count(*) FROM events") ==
        total + via1.last_seq_at_sync + via2.last_seq_at_sync);

  // Each instance holds a bounded set of connections, however many stores
  // came: the request thread's and the fold worker's so far; a report adds
  // the report thread's, kept for the next one.
  const auto hq_connections = [&] {
    return pg_int(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'refpos-hq'");
  };
  CHECK(hq_connections() == 4);
  for (const std::uint16_t port : {hq1.port(), hq2.port()}) {
    for (int i = 0; i < 2; ++i) {
      TlsClient admin(port, TestChain::get().admin);
      REQUIRE(admin.handshake_ok());
      auto report = admin.request("GET", "/v1/reports/referrals?from=2020-01-01&to=2040-01-01&format=json");
      REQUIRE(report.has_value());
      CHECK_MESSAGE(report->status == 200, report->body.substr(0, 300));
    }
  }
  CHECK(hq_connections() == 2 * refpos::hq::PgStorage::kConnectionsPerInstance);
}

// DESIGN.md section 9's fault: one of the two instances dies (SIGKILL) while
// stores sync through HAProxy. HAProxy sends new connections to the other
// (a refused connect is retried there: `retries`, `option redispatch`); a
// store whose sync was cut tries again, as its next slot would. The end
// state is that of a run without the fault: everything acknowledged once,
// nothing lost, nothing twice.
TEST_CASE("scale: one of two refpos-hq killed while 100 stores sync through HAProxy; the end state is whole") {
  PgCluster pg;
  const std::string url = pg.create_database("scale_kill");
  Instance hq1(url);
  Instance hq2(url);
  TempDir haproxy_dir;
  HaproxyProcess haproxy(haproxy_dir.str(), std::string(REFPOS_SOURCE_DIR) + "/assets/haproxy/refpos-hq.cfg",
                         {hq1.port(), hq2.port()});
  std::mt19937 random(kSeed + 1);
  std::string code;
  auto stores = stores_with_sales(haproxy.port(), random, code);

  // hq1 dies once a third of the syncs are done, while others are under way.
  std::atomic<int> syncs{0};
  const int failed = sync_all(stores, random, 5, [&] {
    if (++syncs == kStores / 3) hq1.kill_now();
  });
  MESSAGE("hq1 killed after " << kStores / 3 << " syncs; " << failed << " sync(s) failed and were tried again");
  check_everything_acked(url, stores);
  // Nothing ingested twice, and every event's place in its store's chain is
  // where the store put it.
  CHECK(pg_int(url, "SELECT count(*) FROM (SELECT store_id, seq FROM events GROUP BY store_id, seq"
                    " HAVING count(*) > 1) AS twice") == 0);
  CHECK(pg_int(url, "SELECT count(*) FROM stores s WHERE s.acked_seq <> (SELECT count(*) FROM events e"
                    " WHERE e.store_id = s.store_id)") == 0);
  // hq2 took over: every store that synced after the kill reached it.
  CHECK(pushes_by_caller(hq2.log()).size() >= static_cast<std::size_t>(kStores - kStores / 3 - kWorkers));
  // The survivor folds everything (no work left to the dead one): a pull
  // through HAProxy answers, and the fold queue is empty.
  stores.front()->sync();
  REQUIRE_MESSAGE(stores.front()->answer.status == REFPOS_OK, stores.front()->answer.message);
  CHECK(pg_int(url, "SELECT count(*) FROM fold_queue") == 0);
}
