// The head office's protocol logic (docs/sync.md), without the network: the
// HTTPS server (server.cpp) authenticates the caller from its certificate
// and hands each request here; tests call it directly on real SQLite files.
//
// Not thread-safe: the server calls it from one thread (its io_context).
// Folding (docs/sync.md, "Ingest and folding") runs behind ingest: on the
// fold worker's own thread and connection once start_folding() is called,
// and always, for what is left, before a pull or an admin change.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "hq/storage.hpp"

namespace refpos::hq {

// Who is calling, from the client certificate (docs/sync.md, "TLS").
struct Caller {
  enum class Role { store, admin };
  Role role = Role::store;
  std::string name;  // the store id (OU=store) or the admin's name (OU=admin)
};

// What to send back: an HTTP status and a JSON body (for errors, the
// {"error": {"code", "message", ...}} document of docs/sync.md).
struct Reply {
  Reply() = default;
  Reply(int status_code, nlohmann::json json_body) : status(status_code), body(std::move(json_body)) {}

  int status = 200;
  nlohmann::json body;
  // A body that is not this JSON (a report's HTML or its rendered JSON):
  // sent as is, with `content_type`.
  std::optional<std::string> text;
  std::string content_type = "application/json";
  // > 0: the server sends Retry-After with it (503: the database is down).
  int retry_after_s = 0;
  // What went wrong in full, for the server's log only: the store is told
  // less (say, not where head office's database lives).
  std::string log_detail;
};

// GET /v1/reports/referrals (docs/reports.md, "At head office").
struct ReportQuery {
  std::string from;                     // YYYY-MM-DD, first day
  std::string to;                       // YYYY-MM-DD, first day not included
  std::string time_zone;                // POSIX TZ, "" for UTC
  std::optional<std::string> store_id;  // nullopt: the whole chain
  std::string format = "html";          // html | json
};

struct ServiceOptions {
  std::string signing_private_hex;  // Ed25519 seed that signs rule sets (a secret)
  std::size_t max_batch_events = 500;
  // The head office's SQLite file, which reports read on a read-only
  // connection of their own; "" : reports read through the storage
  // (PostgreSQL), on a connection of the report's own.
  std::string report_database;
};

class Service {
 public:
  Service(std::unique_ptr<Storage> storage, ServiceOptions options, Clock& clock);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // GET /v1/health
  Reply health();
  // POST /v1/events (body: the batch as received, not yet parsed)
  Reply push_events(const Caller& caller, std::string_view body);
  // GET /v1/updates?cursor=C (cursor already parsed: >= 0)
  Reply updates(const Caller& caller, std::int64_t cursor);
  // GET /v1/status[?store_id=]
  Reply status(const Caller& caller, const std::optional<std::string>& store_id);
  // POST /v1/admin/rules, /v1/admin/code_keys, /v1/admin/revocations
  Reply publish_rules(const Caller& caller, std::string_view body);
  Reply put_code_key(const Caller& caller, std::string_view body);
  Reply revoke(const Caller& caller, std::string_view body);
  // GET /v1/reports/referrals: the referral report, for admins. In two
  // steps, so a report over a million events (seconds) does not hold the
  // server's thread: prepare_report checks the call and folds what is
  // queued, here; the job it returns builds and renders from copies on a
  // read-only connection of its own and may run on any thread, one job at
  // a time (they share that connection; the server has one report thread).
  using ReportJob = std::function<Reply()>;
  std::variant<Reply, ReportJob> prepare_report(const Caller& caller, const ReportQuery& query);
  // POST /v1/admin/holds: release or forfeit referrer rewards a store held
  // for review (docs/sync.md, "Held rewards").
  Reply decide_holds(const Caller& caller, std::string_view body);
  // POST /v1/pii_keys: a store's sealing keys for its customers' contact
  // data (docs/sync.md, "Contact data and forgetting"); a store puts only
  // its own.
  Reply put_pii_keys(const Caller& caller, std::string_view body);
  // POST /v1/admin/forget {"customer_id"}: forgets a customer's contact data
  // at head office and, at their next sync, at every store; money stays.
  Reply forget(const Caller& caller, std::string_view body);

  // Starts the fold worker (a thread with its own connection); without it,
  // folding happens only when a pull or an admin change catches up.
  Status start_folding();
  // Waits until the worker has folded everything queued (true) or `timeout`
  // passes (false). True at once without a worker.
  bool wait_folded(std::chrono::milliseconds timeout);
  // Events acknowledged and not folded yet.
  Result<std::int64_t> fold_backlog();
  // Stops the worker and folds what is left, so the file a stopped head
  // office leaves is complete for a report read straight from it.
  Status finish_folding();

  // True when head office revoked the store (refused with 403 on every route).
  bool store_revoked(const std::string& store_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace refpos::hq
