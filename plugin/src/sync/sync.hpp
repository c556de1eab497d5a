// One sync of a store with head office (docs/sync.md, "A sync, from the
// store"): push the events head office has not acknowledged, in batches,
// then pull what changed and apply it in one local transaction.
//
// The sync works on its own SQLite connection to the store's file, so a
// till keeps selling while its backlog goes up (WAL: one writer at a time,
// readers never wait); the host's handle only reloads the rules and keys the
// pull installed (Checkout::reload_installed) once the sync is done.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "sync/https_client.hpp"
#include "wire/config.hpp"

namespace refpos::sync {

// Where a sync is: stage "push" (done = events acknowledged, total = events
// to send when the sync started) or "pull" (0 of 1, then 1 of 1).
using Progress = std::function<void(std::string_view stage, std::int64_t done, std::int64_t total)>;

// One request to head office; HttpsClient in production, anything in tests.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<HttpResponse> request(std::string_view method, std::string_view target,
                                       std::string_view body) = 0;
};

struct SyncReport {
  std::int64_t pushed = 0;     // events acknowledged by this sync
  std::int64_t batches = 0;
  std::int64_t acked_seq = 0;  // head office holds the log up to here
  std::int64_t cursor = 0;     // head office's changes applied up to here
  std::optional<std::int64_t> rules_version;  // a rule set installed by this sync
  bool code_keys_updated = false;
  std::size_t revoked_codes = 0;
  std::size_t wallets = 0;
  std::size_t conflicts = 0;
  std::size_t hold_decisions = 0;  // held rewards released or forfeited by this sync
  std::size_t forgotten = 0;       // customers head office told this store to forget
  std::int64_t keys_uploaded = 0;  // contact-data keys head office took
  std::int64_t next_sync_at_ms = 0;  // this store's next slot in its window
};

// Runs one sync for the store `config` describes (config.sync must be set).
// Errors: ErrorKind::config (no sync section), storage (the network or the
// file; reason "network" for the former), conflict (head office refused the
// log: reason "fork" or "seq_reused"), bad_request (an answer that does not
// parse or a rule set whose signature or content fails: nothing applied).
// Whatever fails, what was acknowledged stays acknowledged and nothing is
// half-applied: running it again finishes the job.
Result<SyncReport> run_sync(const wire::StoreConfig& config, Transport& transport, const Clock& clock,
                            const Progress& progress);

// Connects to config.sync's head office with the store's certificate and
// runs one sync over that connection.
Result<SyncReport> sync_over_https(const wire::StoreConfig& config, const Clock& clock,
                                   const Progress& progress);

// When this store should next sync (docs/sync.md, "Scheduling"): in its
// nightly window (sync.window, in the store's time zone), at an offset
// inside the window fixed by its store id (SHA-256), so a thousand stores
// spread over the whole window and each keeps its slot from night to night.
// The first such instant strictly after `now_ms`.
std::int64_t next_sync_at_ms(const wire::StoreConfig& config, std::int64_t now_ms);

// The store's fixed offset into its window, in milliseconds (0 <= offset <
// window length).
std::int64_t window_offset_ms(std::string_view store_id, int window_minutes);

// The answer document of a sync (docs/api.md, "sync").
std::string report_json(const SyncReport& report);

}  // namespace refpos::sync
