// refpos-bench-hq's pieces (docs/benchmarks.md, "Head office: ingest and
// 1,000 stores"): a temporary chain, the real refpos-hq process, events with
// a valid hash chain, and the two measurements. Nothing here includes
// Boost.Asio or Beast: the stores talk through refpos::sync::HttpsClient.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/hq_child.hpp"
#include "latency.hpp"
#include "sync/https_client.hpp"
#include "sync/protocol.hpp"

namespace refpos::bench {

// A chain made with refpos_pki in `folder`: CA, the head office's
// certificate for 127.0.0.1, an admin, and `stores` store certificates
// (store-0001 ...), each with its own P-256 key. Files only; PEM text is not
// kept.
struct BenchChain {
  std::string ca_file, crl_file, hq_cert_file, hq_key_file, signing_key_file;
  sync::TlsFiles admin;
  std::vector<std::string> store_ids;
  std::vector<sync::TlsFiles> stores;
};
BenchChain make_chain(const std::string& folder, std::size_t stores);

// refpos-hq started on 127.0.0.1 port 0 with its data in `folder`/hq-data
// (process::HqChild); ready once its "listening on" line was read. stop()
// sends SIGTERM and waits; the destructor kills a server still running.
// Failures are BenchErrors.
class HqServer {
 public:
  // `database`: "" for SQLite in the folder, or a postgresql:// URL.
  HqServer(const std::string& hq_path, const std::string& folder, const BenchChain& chain,
           std::int64_t header_timeout_ms, const std::string& database = {});
  HqServer(const HqServer&) = delete;
  HqServer& operator=(const HqServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return child_.port(); }
  [[nodiscard]] pid_t pid() const { return child_.pid(); }
  [[nodiscard]] const std::string& log_path() const { return child_.log_path(); }
  // VmHWM of the server process in bytes (its peak resident set so far).
  [[nodiscard]] std::int64_t peak_resident_bytes() const;
  // SIGTERM, then the exit code (-1: killed by a signal or did not stop).
  int stop();

 private:
  process::HqChild child_;
};

// `count` events of one store from seq 1, chained with store::event_hash;
// bodies shaped like the plugin's (a referral sale is customer_registered,
// code_redeemed, reward_accrued, code_issued, txn_committed); customer ids
// and codes carry the store id, so stores never share them.
std::vector<sync::WireEvent> make_events(const std::string& store_id, std::size_t count);

// ---- ingest: one store, one connection, against raw SQLite -------------

struct IngestResult {
  std::size_t events = 0;
  std::size_t batches = 0;
  std::int64_t body_bytes = 0;        // sum of the events' bodies
  std::int64_t request_bytes = 0;     // sum of the POST bodies
  std::int64_t ingest_ns = 0;         // the requests' times, summed
  std::vector<std::int64_t> batch_ns; // one request + ack each
  std::int64_t raw_ns = 0;            // the raw transactions' times, summed
  std::vector<std::int64_t> raw_txn_ns;
  std::int64_t acked_seq = 0;
  // Folding runs behind ingest (docs/sync.md): from the last ack until the
  // head office's fold_backlog is 0, read from /v1/status.
  std::int64_t fold_drain_ns = 0;
};

// The baseline: the same rows written raw, one transaction per batch. Its
// transactions are interleaved with the pushes (push i, then raw
// transaction i), so both sides run under the same load of the machine:
// on a shared 2-core VM a baseline run on its own, before or after, was
// measured anywhere from 100k to 180k rows/s, which swung the ratio more
// than any change to head office did.
class RawBaseline {
 public:
  virtual ~RawBaseline() = default;
  // Everything before the clock starts (the rows formatted, as the
  // requests are serialised before it).
  virtual void prepare(const std::string& store_id, const std::vector<sync::WireEvent>& events,
                       std::size_t batch_size) = 0;
  // Writes batch i (in prepare's order) in one transaction.
  virtual void write_batch(std::size_t i) = 0;
};
// Raw SQLite inserts into `folder`/raw.sqlite3 (WAL, synchronous=FULL).
std::unique_ptr<RawBaseline> raw_sqlite_baseline(const std::string& folder);
// Raw COPY into a table shaped like head office's events, in the database
// at `url` (pg_raw.cpp).
std::unique_ptr<RawBaseline> raw_copy_baseline(const std::string& url);

IngestResult run_ingest(const HqServer& server, const BenchChain& chain, const std::vector<sync::WireEvent>& events,
                        std::size_t batch_size, RawBaseline& raw);

// ---- many stores at once -------------------------------------------------

struct StoresResult {
  std::size_t stores = 0;
  std::size_t connected = 0;   // handshakes that succeeded
  std::size_t completed = 0;   // pushed everything and pulled once
  std::int64_t events_sent = 0;
  std::int64_t events_acked = 0;       // from the stores' acks
  std::int64_t events_verified = 0;    // from GET /v1/status (admin)
  std::size_t stores_short = 0;        // status acked_seq != what was sent
  // Head office acknowledged events it does not hold (status acked_seq below
  // the store's last ack), or a store that finished holds less than it sent.
  std::size_t stores_lost = 0;
  std::int64_t connect_ns = 0;         // all handshakes, wall
  std::int64_t sync_ns = 0;            // release to the last store done, wall
  std::vector<std::int64_t> store_ns;  // per store: first push to pull answer
  std::vector<std::string> errors;     // the first few
};
// Store s talks to ports[s % ports.size()] (one head office, or several
// instances on one database); the admin check asks the first.
StoresResult run_stores(const std::vector<std::uint16_t>& ports, const BenchChain& chain,
                        std::size_t events_per_store, std::size_t batch_size);

}  // namespace refpos::bench
