// Ingest: one store pushes every event over one keep-alive mutual-TLS
// connection, batch after batch, and after each push the same rows go raw
// into a SQLite file in the same folder, or a COPY on PostgreSQL
// (hq_bench.hpp, docs/benchmarks.md).
#include <sqlite3.h>

#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "bench_error.hpp"
#include "hq_bench.hpp"

namespace refpos::bench {
namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(60);

// The head office's events table (tools/hq/sqlite_storage.cpp) without its
// change_seq bookkeeping: the same key, the same row shape.
constexpr const char* kRawSchema = R"(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
CREATE TABLE events (
  store_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  ruleset_version INTEGER NOT NULL,
  body TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (store_id, seq)
) STRICT, WITHOUT ROWID;
)";

class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
      fail("open");
    exec(kRawSchema);
    if (sqlite3_prepare_v3(db_, "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1,
                           SQLITE_PREPARE_PERSISTENT, &insert_, nullptr) != SQLITE_OK)
      fail("prepare");
  }
  ~RawDb() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
  }
  void insert(const std::string& store_id, const sync::WireEvent& e) {
    sqlite3_bind_text(insert_, 1, store_id.data(), static_cast<int>(store_id.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert_, 2, e.seq);
    sqlite3_bind_text(insert_, 3, e.type.data(), static_cast<int>(e.type.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert_, 4, e.at_ms);
    sqlite3_bind_int64(insert_, 5, e.ruleset_version);
    sqlite3_bind_text(insert_, 6, e.body.data(), static_cast<int>(e.body.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert_, 7, e.prev_hash.data(), static_cast<int>(e.prev_hash.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert_, 8, e.hash.data(), static_cast<int>(e.hash.size()), SQLITE_STATIC);
    if (sqlite3_step(insert_) != SQLITE_DONE) fail("insert");
    sqlite3_reset(insert_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw BenchError("raw SQLite: " + what + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : "no database"));
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

class RawSqlite final : public RawBaseline {
 public:
  explicit RawSqlite(const std::string& folder) : raw_(folder + "/raw.sqlite3") {}
  void prepare(const std::string& store_id, const std::vector<sync::WireEvent>& events,
               std::size_t batch_size) override {
    store_id_ = store_id;
    events_ = &events;
    batch_size_ = batch_size;
  }
  void write_batch(std::size_t i) override {
    const std::size_t first = i * batch_size_;
    raw_.exec("BEGIN");
    for (std::size_t k = first; k < std::min(events_->size(), first + batch_size_); ++k)
      raw_.insert(store_id_, (*events_)[k]);
    raw_.exec("COMMIT");
  }

 private:
  RawDb raw_;
  std::string store_id_;
  const std::vector<sync::WireEvent>* events_ = nullptr;
  std::size_t batch_size_ = 1;
};

}  // namespace

std::unique_ptr<RawBaseline> raw_sqlite_baseline(const std::string& folder) {
  return std::make_unique<RawSqlite>(folder);
}

IngestResult run_ingest(const HqServer& server, const BenchChain& chain, const std::vector<sync::WireEvent>& events,
                        std::size_t batch_size, RawBaseline& raw) {
  IngestResult r;
  r.events = events.size();
  const std::string& store_id = chain.store_ids.at(0);
  for (const auto& e : events) r.body_bytes += static_cast<std::int64_t>(e.body.size());

  // The requests are serialised before the clock starts: what is timed is
  // TLS, HTTP and the head office, not the client's JSON.
  std::vector<std::string> requests;
  std::vector<std::int64_t> last_seq;
  for (std::size_t first = 0; first < events.size(); first += batch_size) {
    const std::size_t end = std::min(events.size(), first + batch_size);
    sync::PushBatch batch{store_id, {events.begin() + static_cast<std::ptrdiff_t>(first),
                                     events.begin() + static_cast<std::ptrdiff_t>(end)}};
    requests.push_back(sync::serialize_batch(batch));
    r.request_bytes += static_cast<std::int64_t>(requests.back().size());
    last_seq.push_back(events[end - 1].seq);
  }
  r.batches = requests.size();
  raw.prepare(store_id, events, batch_size);

  auto client = sync::HttpsClient::connect({"127.0.0.1", server.port()}, chain.stores.at(0), kRequestTimeout);
  if (!client) throw BenchError("ingest: connect: " + client.error().describe());
  r.batch_ns.reserve(requests.size());
  r.raw_txn_ns.reserve(requests.size());
  // Push i, then the same rows raw (hq_bench.hpp, RawBaseline).
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto t0 = BenchClock::now();
    auto answer = (*client)->request("POST", "/v1/events", requests[i]);
    const auto t1 = BenchClock::now();
    if (!answer) throw BenchError("ingest: batch " + std::to_string(i + 1) + ": " + answer.error().describe());
    if (answer->status != 200)
      throw BenchError("ingest: batch " + std::to_string(i + 1) + ": HTTP " + std::to_string(answer->status) +
                       " " + answer->body.substr(0, 300));
    auto ack = sync::parse_ack(answer->body);
    if (!ack || ack->acked_seq != last_seq[i])
      throw BenchError("ingest: batch " + std::to_string(i + 1) + ": unexpected ack " + answer->body.substr(0, 200));
    r.acked_seq = ack->acked_seq;
    r.batch_ns.push_back(elapsed_ns(t0, t1));
    r.ingest_ns += r.batch_ns.back();

    const auto t2 = BenchClock::now();
    raw.write_batch(i);
    r.raw_txn_ns.push_back(elapsed_ns(t2, BenchClock::now()));
    r.raw_ns += r.raw_txn_ns.back();
  }
  const auto last_ack = BenchClock::now();

  // Then folding catches up: poll the store's status (a benchmark may poll;
  // the tests wait on the service instead) until nothing waits.
  for (;;) {
    auto status = (*client)->request("GET", "/v1/status", "");
    if (!status || status->status != 200)
      throw BenchError("ingest: status: " + (status ? status->body.substr(0, 200) : status.error().describe()));
    const auto doc = nlohmann::json::parse(status->body, nullptr, false);
    if (!doc.is_object() || !doc.contains("fold_backlog"))
      throw BenchError("ingest: status without fold_backlog: " + status->body.substr(0, 200));
    if (doc["fold_backlog"].get<std::int64_t>() == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  r.fold_drain_ns = elapsed_ns(last_ack, BenchClock::now());
  client->reset();
  return r;
}

}  // namespace refpos::bench
