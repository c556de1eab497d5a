// Sync under faults (docs/sync.md: "Killing either side at any instant and
// syncing again ends in the same state as an uninterrupted sync"). A store
// with a backlog of events (several batches of 7) syncs with the real
// refpos-hq while
//   - a proxy on loopback cuts the TLS stream after byte k of either
//     direction (the handshake, a request, a response, the pull);
//   - the store's process (refpos_sync_child) is killed with SIGKILL after
//     its n-th progress callback, or when the proxy has passed byte k;
//   - head office is killed with SIGKILL when the proxy has passed byte k,
//     then started again on the same data folder.
// Then the store syncs again directly until it succeeds, and the outcome is
// compared with an uninterrupted sync of the same files: head office's acked
// seq and cursor, the store's sync_acked_seq, sync_cursor and log, wallet
// balances, codes, and the audit of the store's file.
//
// Every run starts from the same files (a store folder and a head-office
// data folder made once per process and copied), so the byte stream and
// the events are the same from run to run; the cut points come from an
// uninterrupted run's transcript and a fixed seed. No sleeps: poll() and
// pidfds, with guard timeouts against a hang only.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "crypto/ed25519.hpp"
#include "cut_proxy.hpp"
#include "harness.hpp"
#include "pg_cluster.hpp"
#include "plugin.hpp"

using namespace refpos::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kStoreId = "store-a";
constexpr std::int64_t kBacklog = 60;  // events at least, before the sync

void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out.good()) throw std::runtime_error("cannot write " + path);
  ::chmod(path.c_str(), mode);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// refpos_sync_child and the like: `args`, stdout and stderr appended to
// `out_path`, the environment without REFPOS_HQ_* as for head office.
pid_t spawn(const std::vector<std::string>& args, const std::string& out_path) {
  const int log_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) throw std::runtime_error("cannot open " + out_path);
  try {
    const pid_t pid = refpos::process::spawn_child(args, log_fd, log_fd, "REFPOS_HQ_");
    ::close(log_fd);
    return pid;
  } catch (...) {
    ::close(log_fd);
    throw;
  }
}

// refpos-hq on a data folder of the test's choosing (HqProcess makes its
// own), so that a killed head office can be started again on the same files.
// `dir` holds hq.json, hq.log (appended to by every start) and data/.
class HqAt {
 public:
  // `database`: "" for SQLite in dir/data, or a postgresql:// URL.
  explicit HqAt(const std::string& dir, const std::string& database = "")
      : child_(configure(dir, database)) {}
  // A graceful stop that must exit 0, as for HqProcess.
  ~HqAt() { check_clean_stop(child_); }
  HqAt(const HqAt&) = delete;
  HqAt& operator=(const HqAt&) = delete;

  // SIGKILL, and wait until it is gone (any thread may call it, once).
  void kill_now() { child_.kill_now(); }

  [[nodiscard]] std::uint16_t port() const { return child_.port(); }
  [[nodiscard]] std::string log() const { return child_.log(); }

 private:
  static refpos::process::HqChildOptions configure(const std::string& dir, const std::string& database) {
    const TestChain& chain = TestChain::get();
    nlohmann::json config = {{"listen", "127.0.0.1"},
                                   {"port", 0},
                                   {"data_dir", dir + "/data"},
                                   {"ca_file", chain.ca_file},
                                   {"crl_file", chain.crl_file},
                                   {"cert_file", chain.cert_file},
                                   {"key_file", chain.key_file},
                                   {"signing_key_file", chain.signing_key_file}};
    if (!database.empty()) config["database"] = database;
    write_file(dir + "/hq.json", config.dump(2));
    refpos::process::HqChildOptions options;
    options.executable = REFPOS_HQ_PATH;
    options.arguments = {"--config", dir + "/hq.json"};
    options.log_path = dir + "/hq.log";
    options.append_log = true;
    options.start_timeout_ms = kGuardMs;
    return options;
  }

  refpos::process::HqChild child_;
};

json store_config(const std::string& folder, const std::string& store_id, std::uint16_t port) {
  const TestChain& chain = TestChain::get();
  json config = default_config(folder + "/data");
  config["store_id"] = store_id;
  config["sync"] = {{"url", "https://127.0.0.1:" + std::to_string(port)},
                    {"ca_file", chain.ca_file},
                    {"cert_file", folder + "/store.pem"},
                    {"key_file", folder + "/store.key"},
                    {"signing_public_key_hex", *refpos::crypto::ed25519_public_of(chain.signing_key_hex)},
                    {"batch_events", 7},
                    {"timeout_ms", 20'000}};
  return config;
}

void make_store_folder(const std::string& folder, const Credentials& creds) {
  fs::create_directories(folder + "/data");
  write_file(folder + "/store.pem", creds.cert_pem);
  write_file(folder + "/store.key", creds.key_pem, 0600);
}

Reply sync_once(StoreHandle& store) {
  char* answer = nullptr;
  Reply reply;
  reply.status = plugin_api().sync(store.raw(), "{}", 2, nullptr, nullptr, &answer);
  if (answer != nullptr) reply.text = answer;
  plugin_api().free_buffer(answer);
  reply.message = plugin_api().last_error(store.raw());
  reply.body = json::parse(reply.text, nullptr, false);
  return reply;
}

std::string issued_code(const Reply& commit) {
  if (commit.status != REFPOS_OK || !commit.body["issued_code"].is_object())
    throw std::runtime_error("commit did not issue a code: " + commit.text + " " + commit.message);
  return commit.body["issued_code"]["normalized"].get<std::string>();
}

// The files every run starts from, made once: store-a's folder with a backlog
// of events (sales, codes issued, redemptions of its own codes), and head
// office's data folder that already holds store-b's redemption of a code
// store-a issued, so store-a's pull brings alice's reward from elsewhere.
struct Templates {
  TempDir dir;
  std::string hq() const { return dir.str() + "/hq"; }
  std::string store() const { return dir.str() + "/a"; }

  static const Templates& get() {
    static const Templates* t = [] {
      auto* made = new Templates();  // lives for the whole run
      made->build();
      return made;
    }();
    return *t;
  }

 private:
  void build() {
    const TestChain& chain = TestChain::get();
    fs::create_directories(hq());
    HqAt hq_process(hq());
    make_store_folder(store(), chain.store_a);
    const std::string b_folder = dir.str() + "/b";
    make_store_folder(b_folder, chain.store_b);
    std::string alice_code;
    {
      StoreHandle a(store_config(store(), kStoreId, hq_process.port()));
      alice_code = issued_code(a.commit(cart("A-0", "alice", {5000})));
      std::vector<std::string> codes = {alice_code};
      for (int i = 1; snapshot_of(store() + "/data").last_seq < kBacklog; ++i) {
        json request = cart("A-" + std::to_string(i), "c-" + std::to_string(i), {3000 + 100 * i});
        // Every third customer comes with the code of an earlier one.
        if (i % 3 == 0) request["code"] = codes[static_cast<std::size_t>(i / 3) % codes.size()];
        auto r = a.commit(request);
        if (r.status != REFPOS_OK) throw std::runtime_error("commit " + std::to_string(i) + ": " + r.text + r.message);
        if (r.body["issued_code"].is_object()) codes.push_back(issued_code(r));
      }
    }
    StoreHandle b(store_config(b_folder, "store-b", hq_process.port()));
    json redeem = cart("B-1", "bob", {8000});
    redeem["code"] = alice_code;
    auto r = b.commit(redeem);
    if (r.status != REFPOS_OK || !r.body["redemption"].is_object())
      throw std::runtime_error("store-b's redemption: " + r.text + r.message);
    auto synced = sync_once(b);
    if (synced.status != REFPOS_OK) throw std::runtime_error("store-b's sync: " + synced.message);
  }
};

// What an observer can see once a sync is over.
struct FinalState {
  std::int64_t hq_acked = 0, hq_cursor = 0;
  bool hq_flagged = false;
  std::int64_t store_acked = 0, store_cursor = 0, last_seq = 0;
  std::int64_t sync_applied = 0;      // the store's sync_applied events
  std::vector<std::string> backlog;   // every other event: "seq type hash"
  json wallets, codes;
  std::string audit;
};

std::string meta_of(sqlite3* db, const char* key) {
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &q, nullptr);
  sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
  std::string value = "0";
  if (sqlite3_step(q) == SQLITE_ROW) value = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  return value;
}

FinalState state_of(const std::string& data_dir, std::uint16_t hq_port) {
  FinalState s;
  const TestChain& chain = TestChain::get();
  TlsClient admin(hq_port, chain.admin);
  REQUIRE(admin.handshake_ok());
  auto status = admin.request("GET", std::string("/v1/status?store_id=") + kStoreId);
  REQUIRE(status.has_value());
  REQUIRE_MESSAGE(status->status == 200, status->body);
  const json body = json::parse(status->body);
  s.hq_acked = body["acked_seq"].get<std::int64_t>();
  s.hq_cursor = body["cursor"].get<std::int64_t>();
  s.hq_flagged = body["flagged"].get<bool>();

  sqlite3* db = nullptr;
  const std::string path = data_dir + "/refpos.db";
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  s.store_acked = std::stoll(meta_of(db, "sync_acked_seq"));
  s.store_cursor = std::stoll(meta_of(db, "sync_cursor"));
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT seq, type, hex(hash) FROM events ORDER BY seq", -1, &q, nullptr) ==
          SQLITE_OK);
  while (sqlite3_step(q) == SQLITE_ROW) {
    const std::int64_t seq = sqlite3_column_int64(q, 0);
    const std::string type = reinterpret_cast<const char*>(sqlite3_column_text(q, 1));
    s.last_seq = seq;
    if (type == "sync_applied") {
      ++s.sync_applied;
    } else {
      s.backlog.push_back(std::to_string(seq) + " " + type + " " +
                          reinterpret_cast<const char*>(sqlite3_column_text(q, 2)));
    }
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  const auto snapshot = snapshot_of(data_dir);
  s.wallets = snapshot.wallets;
  s.codes = snapshot.codes;
  s.audit = audit_store(data_dir, kStoreId);
  return s;
}

// One run: fresh copies of the template files, head office started on its
// copy, the store open and pointed at it (or at a proxy).
struct Run {
  TempDir root;
  std::unique_ptr<HqAt> hq;
  json config;
  std::unique_ptr<StoreHandle> store;

  Run() {
    const Templates& t = Templates::get();
    fs::copy(t.hq(), hq_dir(), fs::copy_options::recursive);
    fs::copy(t.store(), folder(), fs::copy_options::recursive);
    hq = std::make_unique<HqAt>(hq_dir());
    point_at(hq->port());
  }
  // Head office on the PostgreSQL database `url` (empty: store-b's
  // redemption is not there), store-a's folder as in the template.
  explicit Run(const std::string& url) {
    fs::create_directories(hq_dir());
    fs::copy(Templates::get().store(), folder(), fs::copy_options::recursive);
    hq = std::make_unique<HqAt>(hq_dir(), url);
    point_at(hq->port());
  }
  std::string hq_dir() const { return root.str() + "/hq"; }
  std::string folder() const { return root.str() + "/a"; }
  std::string data() const { return folder() + "/data"; }
  std::string config_path() const { return folder() + "/config.json"; }

  // The configuration is read at open: close, rewrite sync.url, open again.
  void point_at(std::uint16_t port, bool open = true) {
    store.reset();
    config = store_config(folder(), kStoreId, port);
    write_file(config_path(), config.dump());
    if (open) store = std::make_unique<StoreHandle>(config);
  }
  Reply sync() { return sync_once(*store); }

  // Sync directly with head office until it succeeds (a bounded few tries).
  Reply settle() {
    point_at(hq->port());
    Reply last;
    for (int attempt = 0; attempt < 3; ++attempt) {
      last = sync();
      if (last.status == REFPOS_OK) break;
    }
    REQUIRE_MESSAGE(last.status == REFPOS_OK, last.message);
    return last;
  }
  FinalState state() { return state_of(data(), hq->port()); }
};

// The uninterrupted sync of the template files, through a proxy that never
// cuts: its end state, and its transcript (where each flight ends).
struct Reference {
  FinalState state;
  std::uint64_t total[2] = {0, 0};
  std::vector<std::uint64_t> ends[2];  // per direction: offsets where a flight ends
  std::int64_t batches = 0;
  std::int64_t progress_calls = 0;

  static const Reference& get() {
    static const Reference* r = [] {
      auto* made = new Reference();
      made->build();
      return made;
    }();
    return *r;
  }

 private:
  void build() {
    Run run;
    CutProxy proxy(run.hq->port());
    run.point_at(proxy.port());
    auto synced = run.sync();
    if (synced.status != REFPOS_OK) throw std::runtime_error("reference sync: " + synced.message);
    batches = synced.body["batches"].get<std::int64_t>();
    progress_calls = batches + 3;  // push 0 of N, one per batch, pull 0 of 1 and 1 of 1
    state = run.state();
    for (int d = 0; d < 2; ++d) total[d] = proxy.forwarded(static_cast<Direction>(d));
    const auto chunks = proxy.chunks();
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      if (i + 1 == chunks.size() || chunks[i + 1].direction != chunks[i].direction)
        ends[static_cast<int>(chunks[i].direction)].push_back(chunks[i].total_after);
    }
  }
};

// A run's end state against the uninterrupted one. A sync that was cut
// after the store applied the pull leaves one more sync_applied event (and
// the next sync pushes it, one more batch, so one more head-office change):
// the events of the sale log must be the same ones, the acked seq and the
// cursors the reference's plus those extra records, everything else equal.
void check_same_outcome(const FinalState& got, const FinalState& ref = Reference::get().state) {
  CHECK(got.audit == "");
  CHECK(got.backlog == ref.backlog);
  CHECK(got.wallets == ref.wallets);
  CHECK(got.codes == ref.codes);
  // One pushed batch is one head-office change: each extra sync record
  // pushed moved head office's counter by one; the store is up to date.
  CHECK(got.store_cursor == got.hq_cursor);
  CHECK(got.hq_cursor - (got.sync_applied - 1) == ref.hq_cursor);
  CHECK_FALSE(got.hq_flagged);
  CHECK(got.hq_acked == got.store_acked);
  // Everything up to the last sync's own record is at head office...
  CHECK(got.last_seq == got.store_acked + 1);
  // ...which is the reference's acked seq plus the extra sync records.
  CHECK(got.sync_applied >= 1);
  CHECK(got.hq_acked - (got.sync_applied - 1) == ref.hq_acked);
}

std::string child_path() {
  return (fs::read_symlink("/proc/self/exe").parent_path() / "refpos_sync_child").string();
}

std::string name_of(Direction d) { return d == Direction::to_server ? "store->hq" : "hq->store"; }

struct CutPoint {
  Direction direction;
  std::uint64_t k;
  bool operator<(const CutPoint& o) const {
    return std::pair(static_cast<int>(direction), k) < std::pair(static_cast<int>(o.direction), o.k);
  }
};

// 0 and 1 in both directions; just before and at the end of flights (the
// handshake, the first batches, the last ones, the pull); and a seeded
// sample of offsets anywhere up to an uninterrupted sync's length.
std::vector<CutPoint> cut_points() {
  const Reference& ref = Reference::get();
  std::set<CutPoint> points;
  for (const Direction d : {Direction::to_server, Direction::to_client}) {
    points.insert({d, 0});
    points.insert({d, 1});
  }
  const auto& down = ref.ends[static_cast<int>(Direction::to_client)];
  const auto& up = ref.ends[static_cast<int>(Direction::to_server)];
  const std::size_t n = down.size();
  for (const std::size_t i : {std::size_t{0}, std::size_t{1}, std::size_t{2}, n / 2, n - 2, n - 1}) {
    if (i >= n) continue;
    points.insert({Direction::to_client, down[i] - 1});  // committed, the answer cut short
    points.insert({Direction::to_client, down[i]});      // the whole answer, then the cut
  }
  for (const std::size_t i : {std::size_t{1}, up.size() / 2, up.size() - 1}) {
    if (i < up.size()) points.insert({Direction::to_server, up[i] - 1});  // request cut short
  }
  std::mt19937_64 rng(20260101);
  for (int i = 0; i < 6; ++i) {
    for (const Direction d : {Direction::to_server, Direction::to_client}) {
      const std::uint64_t total = ref.total[static_cast<int>(d)];
      points.insert({d, 2 + rng() % (total - 2)});
    }
  }
  return {points.begin(), points.end()};
}

}  // namespace

TEST_CASE("sync faults: the reference run syncs the whole backlog in several batches") {
  const Reference& ref = Reference::get();
  MESSAGE("reference: " << ref.batches << " batches, " << ref.total[0] << " bytes up, " << ref.total[1]
                        << " bytes down, flights up " << ref.ends[0].size() << ", down " << ref.ends[1].size());
  CHECK(ref.batches >= 8);
  CHECK(ref.state.hq_acked >= kBacklog);
  CHECK(ref.state.store_acked == ref.state.hq_acked);
  CHECK(ref.state.sync_applied == 1);
  CHECK(ref.state.audit == "");
  CHECK(ref.state.wallets.contains("alice/store_credit"));
}

TEST_CASE("sync faults: the connection cut after byte k of either direction and then a sync to the end") {
  const auto points = cut_points();
  MESSAGE(points.size() << " cut points");
  for (const auto& point : points) {
    INFO("cut " << name_of(point.direction) << " after byte " << point.k);
    Run run;
    CutProxy proxy(run.hq->port(), CutPlan{point.direction, point.k, {}});
    run.point_at(proxy.port());
    const auto cut = run.sync();
    CHECK_MESSAGE((cut.status == REFPOS_OK || cut.status == REFPOS_E_STORAGE), cut.message);
    // A stream a byte or two shorter than the reference's (signature
    // lengths vary) may end before k: then the sync simply succeeded.
    CHECK((proxy.cut() || cut.status == REFPOS_OK));
    run.settle();
    check_same_outcome(run.state());
  }
}

namespace {

// refpos_sync_child on the run's store (the test's own handle closed: a data
// folder is open in one place at a time). Returns the raw wait status.
struct Child {
  std::atomic<pid_t> pid{0};

  int run(Run& r, std::int64_t kill_at_progress) {
    r.store.reset();
    pid = spawn({child_path(), REFPOS_PLUGIN_PATH, r.config_path(), std::to_string(kill_at_progress)},
                r.folder() + "/child.log");
    const auto status = refpos::process::wait_child_status(pid, 3 * kGuardMs);
    if (!status) {
      ::kill(pid, SIGKILL);
      int ignored = 0;
      ::waitpid(pid, &ignored, 0);
      FAIL("refpos_sync_child hung; its output:\n" << read_all(r.folder() + "/child.log"));
    }
    return *status;
  }
  // From the proxy's thread: the child is running by the time its bytes
  // pass, but wait for posix_spawn to have handed over the pid.
  void kill_now() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kGuardMs);
    while (pid.load() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    if (pid.load() > 0) ::kill(pid.load(), SIGKILL);
  }
};

bool killed(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }

}  // namespace

TEST_CASE("sync faults: the store's process killed after its n-th progress report and then a sync to the end") {
  const Reference& ref = Reference::get();
  const std::int64_t b = ref.batches;
  // 1: before anything is sent; 2, 3: after the first acknowledgements; a
  // batch in the middle; after the last batch's; "pull 0 of 1" (the pull
  // not sent); "pull 1 of 1" (applied, not yet reported); and never.
  const std::vector<std::int64_t> points = {1, 2, 3, b / 2 + 1, b + 1, b + 2, b + 3, 0};
  for (const auto n : points) {
    INFO("SIGKILL at progress call " << n << " of " << ref.progress_calls);
    Run run;
    run.point_at(run.hq->port(), false);
    Child child;
    const int status = child.run(run, n);
    if (n == 0) {
      CHECK_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), read_all(run.folder() + "/child.log"));
    } else {
      CHECK_MESSAGE(killed(status), read_all(run.folder() + "/child.log"));
    }
    run.settle();
    check_same_outcome(run.state());
  }
}

TEST_CASE("sync faults: the store's process killed when the stream reaches byte k and then a sync to the end") {
  const Reference& ref = Reference::get();
  const auto& down = ref.ends[static_cast<int>(Direction::to_client)];
  const auto& up = ref.ends[static_cast<int>(Direction::to_server)];
  REQUIRE(down.size() >= 4);
  // Killed while reading: the first batch's acknowledgement, one in the
  // middle, the pull's answer (head office answered, the store never
  // applied); and while sending the pull's request.
  const std::vector<CutPoint> points = {{Direction::to_client, down[2] - 1},
                                        {Direction::to_client, down[down.size() / 2] - 1},
                                        {Direction::to_client, down.back() - 1},
                                        {Direction::to_server, up.back() - 1}};
  for (const auto& point : points) {
    INFO("SIGKILL the store at " << name_of(point.direction) << " byte " << point.k);
    Run run;
    Child child;
    CutProxy proxy(run.hq->port(), CutPlan{point.direction, point.k, [&child] { child.kill_now(); }});
    run.point_at(proxy.port(), false);
    const int status = child.run(run, 0);
    CHECK_MESSAGE((proxy.cut() || (WIFEXITED(status) && WEXITSTATUS(status) == 0)),
                  "status " << status << ", " << read_all(run.folder() + "/child.log"));
    // The last byte may let the sync finish before the kill lands.
    CHECK_MESSAGE((killed(status) || (WIFEXITED(status) && (WEXITSTATUS(status) == 0 ||
                                                          WEXITSTATUS(status) == REFPOS_E_STORAGE))),
                  read_all(run.folder() + "/child.log"));
    run.settle();
    check_same_outcome(run.state());
  }
}

TEST_CASE("sync faults: head office killed when the stream reaches byte k, restarted on its files and then a sync to the end") {
  const Reference& ref = Reference::get();
  const auto& down = ref.ends[static_cast<int>(Direction::to_client)];
  const auto& up = ref.ends[static_cast<int>(Direction::to_server)];
  REQUIRE(down.size() >= 4);
  REQUIRE(up.size() >= 4);
  const std::vector<CutPoint> points = {
      {Direction::to_client, down[0] - 1},                 // in the handshake
      {Direction::to_server, up[2] - 1},                   // a batch half received
      {Direction::to_server, up[up.size() / 2]},           // a batch whole, maybe being applied
      {Direction::to_client, down[2] - 1},                 // committed, its acknowledgement cut
      {Direction::to_client, down[down.size() / 2]},       // acknowledged, then killed
      {Direction::to_client, down.back() - 1}};            // the pull's answer cut
  for (const auto& point : points) {
    INFO("SIGKILL head office at " << name_of(point.direction) << " byte " << point.k);
    Run run;
    HqAt* hq = run.hq.get();
    CutProxy proxy(hq->port(), CutPlan{point.direction, point.k, [hq] { hq->kill_now(); }});
    run.point_at(proxy.port());
    const auto cut = run.sync();
    CHECK_MESSAGE((cut.status == REFPOS_OK || cut.status == REFPOS_E_STORAGE), cut.message);
    CHECK((proxy.cut() || cut.status == REFPOS_OK));
    if (!proxy.cut()) run.hq->kill_now();  // the stream ended before k: kill it anyway
    run.hq = std::make_unique<HqAt>(run.hq_dir());  // the same files, a new port
    run.settle();
    check_same_outcome(run.state());
  }
}

// Head office restored from a backup taken before the store's last sync
// (docs/scale-out.md, "Backups and restore"): the store sends again the
// events head office lost (a gap answer), and, told that its cursor is one
// head office never handed out, its contact-data keys too.
TEST_CASE("sync faults: head office restored from an older backup gets back the events and the contact keys it lost") {
  Run run;
  REQUIRE(run.sync().status == REFPOS_OK);
  const auto stop_hq = [&] { run.hq.reset(); };  // SIGTERM, must exit 0
  const auto start_hq = [&] {
    run.hq = std::make_unique<HqAt>(run.hq_dir());
    run.point_at(run.hq->port());
  };
  const std::string data = run.hq_dir() + "/data";
  const std::string backup = run.root.str() + "/hq-backup";
  stop_hq();
  fs::copy(data, backup, fs::copy_options::recursive);
  start_hq();

  // After the backup: Alice gives her e-mail (a sealing key), more sales.
  REQUIRE(call_op(*run.store, "contact",
                  json{{"customer_id", "alice"}, {"channel", "email"},
                       {"address", "alice@example.com"}, {"consent", true}, {"terminal_id", "till-1"}})
              .status == REFPOS_OK);
  REQUIRE(run.store->commit(cart("A-after", "c-after", {4200})).status == REFPOS_OK);
  auto synced = run.sync();
  REQUIRE_MESSAGE(synced.status == REFPOS_OK, synced.message);
  CHECK(synced.body["keys_uploaded"] == 1);
  const std::string hq_db = data + "/hq.sqlite3";
  const auto hq_keys = [&] { return sql_int_in_file(hq_db, "SELECT count(*) FROM pii_keys"); };
  CHECK(hq_keys() == 1);
  const FinalState before = run.state();

  stop_hq();
  fs::remove_all(data);
  fs::copy(backup, data, fs::copy_options::recursive);
  start_hq();
  CHECK(hq_keys() == 0);  // lost with the restore
  auto again = run.sync();
  REQUIRE_MESSAGE(again.status == REFPOS_OK, again.message);
  CHECK(again.body["keys_uploaded"] == 1);  // sent again unasked
  CHECK(hq_keys() == 1);
  const FinalState after = run.state();
  CHECK(after.audit == "");
  CHECK(after.hq_acked == after.store_acked);  // every event is back at head office
  CHECK(after.hq_acked > before.hq_acked);     // and this sync's own record
  CHECK(after.backlog == before.backlog);
  CHECK_FALSE(after.hq_flagged);
  CHECK(run.sync().body["keys_uploaded"] == 0);  // once
}

// PostgreSQL down in the middle of a sync (docs/scale-out.md, "When
// PostgreSQL is down"): the cluster is stopped when the stream reaches byte
// k, and the stream itself stays whole, so head office answers what the
// store asks next while its database is gone.
TEST_CASE("sync faults: PostgreSQL stopped mid-sync: 503 with a retry hint, nothing half-written, and the next sync completes") {
  PgCluster& cluster = PgCluster::shared();
  static int databases = 0;
  const auto fresh = [&] { return cluster.create_database("faults_" + std::to_string(++databases)); };

  // The uninterrupted run on PostgreSQL, through a proxy that only watches.
  FinalState ref;
  std::vector<std::uint64_t> ends[2];
  {
    Run run(fresh());
    CutProxy proxy(run.hq->port());
    run.point_at(proxy.port());
    const auto synced = run.sync();
    REQUIRE_MESSAGE(synced.status == REFPOS_OK, synced.message);
    ref = run.state();
    const auto chunks = proxy.chunks();
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      if (i + 1 == chunks.size() || chunks[i + 1].direction != chunks[i].direction)
        ends[static_cast<int>(chunks[i].direction)].push_back(chunks[i].total_after);
    }
  }
  CHECK(ref.audit == "");
  CHECK(ref.hq_acked >= kBacklog);
  const auto& up = ends[static_cast<int>(Direction::to_server)];
  const auto& down = ends[static_cast<int>(Direction::to_client)];
  REQUIRE(up.size() >= 4);
  REQUIRE(down.size() >= 4);
  // Midway through a flight: a run's stream may be a byte longer or shorter
  // than the reference's (a signature's DER length varies).
  const auto midway = [](const std::vector<std::uint64_t>& flight_ends, std::size_t i) {
    return flight_ends[i - 1] + (flight_ends[i] - flight_ends[i - 1]) / 2;
  };
  const std::size_t n = up.size();
  const std::vector<CutPoint> points = {
      {Direction::to_server, midway(up, 2)},        // a batch half received
      {Direction::to_client, midway(down, 2)},      // a batch committed, its acknowledgement on the way
      {Direction::to_server, midway(up, n - 1)}};  // the pull half received
  for (const auto& point : points) {
    INFO("PostgreSQL stopped at " << name_of(point.direction) << " byte " << point.k);
    Run run(fresh());
    struct Restart {  // the cluster comes back even if a check below throws
      PgCluster& cluster;
      bool down = false;
      ~Restart() {
        if (down) cluster.start_server();
      }
    } restart{cluster};
    CutProxy proxy(run.hq->port(), CutPlan{point.direction, point.k,
                                           [&] {
                                             cluster.stop_server();
                                             restart.down = true;
                                           },
                                           false});
    run.point_at(proxy.port());
    const auto failed = run.sync();
    REQUIRE(proxy.fired());
    CHECK(failed.status == REFPOS_E_STORAGE);
    CHECK_MESSAGE(failed.message.find("HTTP 503") != std::string::npos, failed.message);
    CHECK_MESSAGE(failed.message.find("Retry in") != std::string::npos, failed.message);
    // Where head office's database lives is for its log, not for the store.
    CHECK(failed.message.find(cluster.socket_dir()) == std::string::npos);

    {  // While it is down every call gets 503 and Retry-After.
      TlsClient admin(run.hq->port(), TestChain::get().admin);
      REQUIRE(admin.handshake_ok());
      auto status = admin.request("GET", std::string("/v1/status?store_id=") + kStoreId);
      REQUIRE(status.has_value());
      CHECK(status->status == 503);
      CHECK(status->headers["retry-after"] == "30");
    }
    cluster.start_server();
    restart.down = false;

    // Nothing half-written: head office holds exactly what it acknowledged.
    const FinalState between = run.state();
    CHECK(between.hq_acked == between.store_acked);
    CHECK(between.hq_acked <= ref.hq_acked);

    run.settle();
    check_same_outcome(run.state(), ref);
    CHECK(run.hq->log().find("\"status\":503") != std::string::npos);
  }
}
