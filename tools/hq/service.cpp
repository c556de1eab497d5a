// The head office's protocol logic (docs/sync.md): push rules 1-6 in order,
// folding events into wallets, conflict settlement, pulls, admin routes.
// Every step that changes something is one Storage::write unit of work, so a
// crash at any instant leaves either all of a step or none of it.
//
// Folding, per event type (bodies as plugin/src/checkout/checkout.cpp writes
// them; other types are stored and acknowledged only):
//   customer_registered, code_issued   the store knows customer_id
//   code_redeemed      the store knows customer_id and referrer_customer_id;
//                      a redemption row; over-redemption check
//   reward_accrued     +amount in unit `kind` (recognition: nothing); the
//                      referrer's reward is tied to its redemption and taken
//                      back by head office if the referee already earned the
//                      referrer a reward with the same over-redeemed code
//   reward_reversed    -amount at the accrual's (spendable_at_ms, held)
//   balance_spent      -amount;  balance_restored  +amount  (at at_ms)
//   txn_reversed       complete: the redemption no longer counts (and a
//                      reward head office attributed is taken back)
//
// Codes issued at another store: the redeeming store records the referrer's
// reward against the code (reward_accrued with customer_id null and
// attribute_by "code"); head office credits the code's owner from the
// issuing store's code_issued event, whichever of the two arrives first,
// with an entry of origin 'hq' that every store sees (docs/sync.md).
#include "hq/service.hpp"
#include "hq/storage_reports.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <stop_token>
#include <thread>

#include "codes/code.hpp"
#include "crypto/ed25519.hpp"
#include "report/report.hpp"
#include "rules/ruleset.hpp"
#include "sync/protocol.hpp"
#include "wire/json_input.hpp"

namespace refpos::hq {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kOverRedeemed = "over_redeemed";
constexpr std::size_t kMaxRevokedCodesPerCall = 1'000;
constexpr std::size_t kMaxAdminBodyBytes = 1024 * 1024;

// What a push did, in TigerBeetle's terms (STYLE.md): `exists` is an
// identical replay, safe to acknowledge; `exists_with_different_content` a
// reused seq, refused and reported.
enum class IngestResult { ok, exists, exists_with_different_content };

struct Ingested {
  IngestResult result = IngestResult::ok;
  std::int64_t acked_seq = 0;
  std::int64_t queued = 0;  // events queued for folding
};

Reply error_reply(int status, std::string code, std::string message, std::string reason = {},
                  std::optional<std::int64_t> acked_seq = std::nullopt) {
  return Reply{status, sync::error_body(sync::ProtocolError{std::move(code), std::move(message),
                                                            std::move(reason), acked_seq})};
}

Reply forbidden(std::string message) { return error_reply(403, "forbidden", std::move(message)); }

// How long a store is asked to wait when the database is down: long enough
// for a restart or a failover, short enough for a sync to finish in the night.
constexpr int kRetryAfterSeconds = 30;

Reply reply_for(const Error& e) {
  if (e.kind == ErrorKind::storage && e.reason == "unavailable") {
    Reply reply = error_reply(503, "unavailable",
                              "head office's database is unavailable; nothing was written."
                              " Retry in " + std::to_string(kRetryAfterSeconds) + " s",
                              "unavailable");
    reply.retry_after_s = kRetryAfterSeconds;
    reply.log_detail = e.describe();
    return reply;
  }
  switch (e.kind) {
    case ErrorKind::bad_request: return error_reply(400, "bad_request", e.describe());
    case ErrorKind::not_found: return error_reply(404, "not_found", e.describe());
    case ErrorKind::conflict: return error_reply(409, "conflict", e.describe(), e.reason);
    default: return error_reply(500, "internal", e.describe());
  }
}

bool is_unit(std::string_view unit) {
  return unit == "store_credit" || unit == "points" || unit == "gift_card";
}

// Reads body members leniently: the event is already stored and chained, so
// a member of an unexpected shape means "nothing to fold", never a refusal.
std::string text_of(const Json& body, const char* key) {
  const auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string{};
}
std::int64_t int_of(const Json& body, const char* key) {
  const auto it = body.find(key);
  return it != body.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}
bool bool_of(const Json& body, const char* key) {
  const auto it = body.find(key);
  return it != body.end() && it->is_boolean() && it->get<bool>();
}

// A held reward decided (docs/sync.md, "Held rewards"): `held` (an entry as
// it was recorded, held) is cancelled and, on release, written again as
// spendable at the same time.
Status move_held(Storage& storage, const LedgerEntry& held, bool release, std::int64_t change) {
  LedgerEntry cancelled = held;
  cancelled.amount = -held.amount;
  if (auto st = storage.add_ledger_entry(cancelled, change); !st) return st;
  if (!release) return ok_status();
  LedgerEntry spendable = held;
  spendable.held = false;
  return storage.add_ledger_entry(spendable, change);
}

Result<Json> parse_admin_body(std::string_view text, std::string_view what) {
  if (text.size() > kMaxAdminBodyBytes) {
    return make_error(ErrorKind::bad_request, "",
                      std::string(what) + " is larger than " + std::to_string(kMaxAdminBodyBytes) +
                          " bytes");
  }
  if (const auto bad = wire::first_invalid_utf8(text); bad != std::string_view::npos) {
    return make_error(ErrorKind::bad_request, "", std::string(what) + " is not valid UTF-8");
  }
  Json doc = Json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(ErrorKind::bad_request, "", std::string(what) + " must be a JSON object");
  }
  return doc;
}

}  // namespace

// Folds pushed events into wallets, redemptions and conflicts, behind
// ingest (docs/sync.md, "Ingest and folding"), in arrival order. One per
// connection: the server's thread catches up before a pull, the fold worker
// runs on a connection of its own.
struct Folder {
  Storage* storage;
  // The newest rule set, parsed once per version (conflict checks read it).
  std::int64_t rules_version = -1;
  std::optional<rules::RuleSet> rules;

  explicit Folder(Storage* s) : storage(s) {}

  // Folds queued batches, oldest first, in one write transaction (joining an
  // open one), until at least `max_events` are folded, the queue is empty or
  // (on a background connection) a push waits to write. Returns how many
  // events it folded.
  Result<std::int64_t> fold_some(std::int64_t max_events);
  Status preload(const std::string& store_id, const std::vector<Json>& bodies);
  // `body`: e.body parsed (discarded if it is not JSON).
  Status fold(const std::string& store_id, const sync::WireEvent& e, const Json& body,
              std::int64_t change);
  Status attribute_waiting(const std::string& code, std::int64_t change);
  Status fold_redemption(const std::string& store_id, const Json& body, std::int64_t seq,
                         std::int64_t change);
  Status fold_reward(const std::string& store_id, const sync::WireEvent& e, const Json& body,
                     std::int64_t change, int sign);
  Status settle_referrer_reward(RedemptionRecord& r, std::int64_t change);
  Status know(const std::string& store_id, const std::string& customer_id, std::int64_t change);
  Result<std::int64_t> max_redemptions(const std::string& program);
};

// The fold worker: a thread with its own connection that folds whatever a
// push queued, so a push is acknowledged once its events are appended.
// Folding is background work and gives way to pushes three times over: it
// starts once pushes pause (kQuiet) unless too much waits (kMaxLag, which
// bounds what a pull may have to fold itself), it ends a transaction as
// soon as a push waits to write, and its thread runs niced. Errors (a full
// disk) leave the queue as it was; the next push or pull tries again.
class FoldWorker {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kQuiet = std::chrono::milliseconds(20);
  static constexpr std::int64_t kMaxLag = 100'000;  // events

  explicit FoldWorker(std::unique_ptr<Storage> storage)
      : storage_(std::move(storage)), folder_(storage_.get()),
        thread_([this](std::stop_token stop) { run(stop); }) {}
  ~FoldWorker() {
    thread_.request_stop();
    cv_.notify_all();
  }  // jthread joins after the current transaction
  FoldWorker(const FoldWorker&) = delete;
  FoldWorker& operator=(const FoldWorker&) = delete;

  // A push queued `events` events.
  void notify(std::int64_t events) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      pending_ = true;
      lag_ += events;
      last_push_ = Clock::now();
    }
    cv_.notify_all();
  }

  // Waits until the worker has nothing left to do or `timeout` passes;
  // true if idle (tests use it instead of sleeping).
  bool wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return idle_cv_.wait_for(lock, timeout, [this] { return !pending_ && !busy_; });
  }

 private:
  static constexpr std::int64_t kEventsPerTransaction = 2'000;
  static constexpr int kFoldNice = 10;

  // Under mutex_: pushes are arriving and not much waits.
  [[nodiscard]] bool pushing() const {
    return lag_ < kMaxLag && Clock::now() - last_push_ < kQuiet;
  }

  void run(std::stop_token stop) {
    ::pthread_setname_np(::pthread_self(), "refpos-hq-fold");  // for top -H and perf
    // When the cores are busy, pushes (a store waits on each) come first.
    // Linux nices threads one by one; failure is harmless.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kFoldNice);
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, stop, [this] { return pending_; });
      while (!stop.stop_requested() && pushing()) {
        cv_.wait_until(lock, stop, last_push_ + kQuiet, [this] { return lag_ >= kMaxLag; });
      }
      if (stop.stop_requested()) return;
      pending_ = false;
      lag_ = 0;
      busy_ = true;
      lock.unlock();
      for (;;) {
        auto folded = folder_.fold_some(kEventsPerTransaction);
        if (!folded || *folded == 0 || stop.stop_requested()) break;
        std::lock_guard<std::mutex> check(mutex_);
        if (pending_ && pushing()) break;  // pushes again: wait for the next pause
      }
      lock.lock();
      busy_ = false;
      idle_cv_.notify_all();
    }
  }

  std::unique_ptr<Storage> storage_;
  Folder folder_;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  std::condition_variable_any idle_cv_;
  bool pending_ = true;  // first, a backlog the last run of the server left
  bool busy_ = false;
  std::int64_t lag_ = 0;         // events pushed since folding last started
  Clock::time_point last_push_;  // epoch: no push yet, nothing to wait for
  std::jthread thread_;  // last: starts once everything above exists
};

struct Service::Impl {
  std::unique_ptr<Storage> storage;
  ServiceOptions options;
  Clock& clock;
  Folder folder;  // on `storage`: catches up before a pull or an admin change
  std::unique_ptr<FoldWorker> worker;
  // The report thread's own connection (a back end without a file the
  // report engine reads): opened by the first report, kept for the next.
  // Only that one thread touches it.
  std::unique_ptr<Storage> report_storage;

  Impl(std::unique_ptr<Storage> s, ServiceOptions o, Clock& c)
      : storage(std::move(s)), options(std::move(o)), clock(c), folder(storage.get()) {}

  // `known`: the store's record as read just before (nullopt: never seen).
  Result<Ingested> ingest(const sync::PushBatch& batch, std::optional<StoreRecord> known);
  Result<Ingested> ingest_once(const sync::PushBatch& batch, StoreRecord store);
  Result<std::optional<Error>> check_chain(const sync::PushBatch& batch, const StoreRecord& store);
  Status record_incident(const std::string& store_id, const std::string& kind, std::int64_t seq,
                         const std::string& detail);
  Status apply(const sync::PushBatch& batch, std::size_t first_new, StoreRecord store);
  // Folds everything queued (inside the caller's write transaction, if any).
  Status catch_up();
  Result<sync::Updates> collect_updates(const std::string& store_id, std::int64_t cursor);
  // The referral report read through the storage, on report_storage.
  Result<report::Report> report_from_storage(const report::Period& period,
                                             const std::optional<std::string>& store_id);
};

Result<report::Report> Service::Impl::report_from_storage(const report::Period& period,
                                                         const std::optional<std::string>& store_id) {
  if (!report_storage) {
    auto own = storage->open_another();
    if (!own) return own.error();
    report_storage = std::move(*own);
  }
  report::ReportRequest request;
  request.period = period;
  request.store_id = store_id;
  auto built = build_report_from(*report_storage, request);
  // A connection lost mid-report: the next report opens a new one.
  if (!built && built.error().reason == "unavailable") report_storage.reset();
  return built;
}

Service::Service(std::unique_ptr<Storage> storage, ServiceOptions options, Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(storage), std::move(options), clock)) {}
Service::~Service() = default;

Reply Service::health() { return Reply{200, Json{{"status", "ok"}, {"version", REFPOS_VERSION}}}; }

bool Service::store_revoked(const std::string& store_id) {
  auto found = impl_->storage->find_store(store_id);
  return found && *found && (*found)->revoked;
}

// ---- push ----------------------------------------------------------------

Reply Service::push_events(const Caller& caller, std::string_view body) {
  if (caller.role != Caller::Role::store) return forbidden("only a store pushes events");
  auto batch = sync::parse_batch(body);
  if (!batch) {
    // Rule 1 comes first: another store's batch is 403 even when malformed.
    const Json doc = Json::parse(body.begin(), body.end(), nullptr, false);
    if (doc.is_object() && doc.contains("store_id") && doc["store_id"].is_string() &&
        doc["store_id"].get<std::string>() != caller.name) {
      return forbidden("store_id: this certificate is store \"" + caller.name +
                       "\"; a store pushes only its own events");
    }
    return reply_for(batch.error());
  }
  if (batch->store_id != caller.name) {
    return forbidden("store_id: this certificate is store \"" + caller.name +
                     "\"; a store pushes only its own events");
  }
  // Read once: for the revocation check here and the checks of the first
  // ingest attempt (a round trip less per push on PostgreSQL).
  auto known = impl_->storage->find_store(caller.name);
  if (!known) return reply_for(known.error());
  if (*known && (*known)->revoked) return forbidden("store \"" + caller.name + "\" is revoked");
  if (batch->events.size() > impl_->options.max_batch_events) {
    return error_reply(400, "bad_request",
                       "events: at most " + std::to_string(impl_->options.max_batch_events) +
                           " events per batch, got " + std::to_string(batch->events.size()));
  }
  auto ingested = impl_->ingest(*batch, std::move(*known));
  if (!ingested) {
    const Error& e = ingested.error();
    if (e.kind != ErrorKind::conflict) return reply_for(e);
    auto store = impl_->storage->find_store(caller.name);
    const std::int64_t acked = store && *store ? (*store)->acked_seq : 0;
    return error_reply(409, "conflict", e.describe(), e.reason, acked);
  }
  if (ingested->result == IngestResult::exists_with_different_content) {
    return error_reply(409, "conflict", "a held seq was sent with other content", "seq_reused",
                       ingested->acked_seq);
  }
  if (ingested->result == IngestResult::ok && impl_->worker) {
    impl_->worker->notify(ingested->queued);
  }
  return Reply{200, Json::parse(sync::serialize_ack({ingested->acked_seq}))};
}

Status Service::start_folding() {
  if (impl_->worker) return ok_status();
  auto own = impl_->storage->open_another();
  if (!own) return own.error();
  impl_->worker = std::make_unique<FoldWorker>(std::move(*own));
  return ok_status();
}

bool Service::wait_folded(std::chrono::milliseconds timeout) {
  return !impl_->worker || impl_->worker->wait_idle(timeout);
}

Result<std::int64_t> Service::fold_backlog() { return impl_->storage->fold_backlog(); }

Status Service::finish_folding() {
  impl_->worker.reset();  // joins after its current transaction
  return impl_->storage->write([&] { return impl_->catch_up(); });
}

// Several instances on one database (docs/scale-out.md) may take the same
// store's batch at once (a retry through another instance). The checks read
// outside the write transaction; apply() sees inside it whether another
// instance moved the store meanwhile ("raced"), and the checks then run
// again on what it wrote: the batch is acknowledged as a replay.
constexpr int kIngestAttempts = 3;

Result<Ingested> Service::Impl::ingest(const sync::PushBatch& batch,
                                       std::optional<StoreRecord> known) {
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1) {  // raced: what another instance wrote since
      auto found = storage->find_store(batch.store_id);
      if (!found) return found.error();
      known = std::move(*found);
    }
    auto done = ingest_once(batch, known.value_or(StoreRecord{batch.store_id, 0, {}, 0, false, ""}));
    if (done || done.error().reason != "raced" || attempt == kIngestAttempts) return done;
  }
}

Result<Ingested> Service::Impl::ingest_once(const sync::PushBatch& batch, StoreRecord store) {
  const std::int64_t now = clock.now_ms();

  // Rule 3: the chain.
  auto fork = check_chain(batch, store);
  if (!fork) return fork.error();
  if (*fork) {
    const Error& e = **fork;
    if (auto st = record_incident(batch.store_id, "fork", 0, e.describe()); !st) return st.error();
    return e;
  }
  // Rule 4: what head office holds must come back byte-identical.
  std::size_t first_new = 0;
  for (const auto& e : batch.events) {
    if (e.seq > store.acked_seq) break;
    auto held = storage->find_event(batch.store_id, e.seq);
    if (!held) return held.error();
    if (!*held || **held != e) {
      const std::string detail = "events[" + std::to_string(first_new) + "]: seq " +
                                 std::to_string(e.seq) + " is held with other content";
      if (auto st = record_incident(batch.store_id, "seq_reused", e.seq, detail); !st) {
        return st.error();
      }
      return Ingested{IngestResult::exists_with_different_content, store.acked_seq};
    }
    ++first_new;
  }
  // Rule 5: no gap.
  const std::int64_t first_seq = batch.events.front().seq;
  if (first_seq > store.acked_seq + 1) {
    return make_error(ErrorKind::conflict, "events[0].seq",
                      "must be at most " + std::to_string(store.acked_seq + 1) + ", got " +
                          std::to_string(first_seq) + "; resend from acked_seq + 1",
                      "gap");
  }
  if (first_new == batch.events.size()) {
    if (auto st = storage->touch_store(batch.store_id, now); !st) return st.error();
    return Ingested{IngestResult::exists, store.acked_seq};
  }
  // Rule 6: all or nothing.
  store.last_seen_ms = now;
  if (auto st = apply(batch, first_new, store); !st) return st.error();
  return Ingested{IngestResult::ok, batch.events.back().seq,
                  static_cast<std::int64_t>(batch.events.size() - first_new)};
}

// A fork as an Error (kind conflict, reason "fork"), or nullopt.
Result<std::optional<Error>> Service::Impl::check_chain(const sync::PushBatch& batch,
                                                        const StoreRecord& store) {
  const auto fork = [](std::size_t i, std::string message) {
    return std::optional<Error>(make_error(ErrorKind::conflict,
                                           "events[" + std::to_string(i) + "]",
                                           std::move(message), "fork"));
  };
  for (std::size_t i = 0; i < batch.events.size(); ++i) {
    const auto& e = batch.events[i];
    std::optional<store::Hash> expected_prev;
    if (i > 0) {
      expected_prev = batch.events[i - 1].hash;
    } else if (e.seq == 1) {
      expected_prev = store::Hash{};
    } else if (e.seq - 1 == store.acked_seq) {
      expected_prev = store.last_hash;
    } else if (e.seq - 1 < store.acked_seq) {
      auto held = storage->find_event(batch.store_id, e.seq - 1);
      if (!held) return held.error();
      if (*held) expected_prev = (*held)->hash;
    }  // else a gap: rule 5 answers it
    if (expected_prev && *expected_prev != e.prev_hash) {
      return fork(i, "prev_hash is not the hash of seq " + std::to_string(e.seq - 1) +
                         " (head office holds " + sync::hash_hex(*expected_prev) + ")");
    }
    const auto h = store::event_hash(e.prev_hash, e.seq, batch.store_id, e.type, e.at_ms,
                                     e.ruleset_version, e.body);
    if (h != e.hash) return fork(i, "hash does not match the event's content");
  }
  return std::optional<Error>{};
}

Status Service::Impl::record_incident(const std::string& store_id, const std::string& kind,
                                      std::int64_t seq, const std::string& detail) {
  return storage->write([&]() -> Status {
    auto change = storage->next_change();
    if (!change) return change.error();
    if (auto st = storage->record_incident({store_id, kind, seq, detail, clock.now_ms()}, *change);
        !st) {
      return st;
    }
    return storage->flag_store(store_id, kind);
  });
}

Status Service::Impl::apply(const sync::PushBatch& batch, std::size_t first_new, StoreRecord store) {
  // What the checks read must still hold when it is written: another
  // instance may have taken this store's batch since (append_push answers
  // "raced", and ingest() checks again). One batch is one change.
  const std::int64_t expected_acked = store.acked_seq;
  store.acked_seq = batch.events.back().seq;
  store.last_hash = batch.events.back().hash;
  const std::span<const sync::WireEvent> fresh(batch.events);
  auto change = storage->append_push(batch.store_id, expected_acked, fresh.subspan(first_new), store);
  if (!change) return change.error();
  return ok_status();
}

// ---- folding -------------------------------------------------------------

Result<std::int64_t> Folder::fold_some(std::int64_t max_events) {
  std::int64_t folded = 0;
  auto st = storage->write([&]() -> Status {
    while (folded < max_events) {
      auto item = storage->next_fold();
      if (!item) return item.error();
      if (!*item) break;
      const std::int64_t change = (*item)->change_seq;  // the push's (storage.hpp, FoldItem)
      auto events = storage->events_between((*item)->store_id, (*item)->first_seq,
                                            (*item)->last_seq);
      if (!events) return events.error();
      std::vector<Json> bodies;
      bodies.reserve(events->size());
      for (const auto& e : *events) bodies.push_back(Json::parse(e.body, nullptr, false));
      if (auto loaded = preload((*item)->store_id, bodies); !loaded) return loaded;
      for (std::size_t i = 0; i < events->size(); ++i) {
        const auto& e = (*events)[i];
        if (auto f = fold((*item)->store_id, e, bodies[i], change); !f) return f;
        ++folded;
        // A push waits for this transaction: end it here, the rest later.
        if (e.seq < (*item)->last_seq && storage->others_waiting()) {
          return storage->advance_fold((*item)->item_id, e.seq + 1);
        }
      }
      if (auto f = storage->finish_fold((*item)->item_id); !f) return f;
      if (storage->others_waiting()) break;
    }
    return ok_status();
  });
  if (!st) return st.error();
  return folded;
}

Status Service::Impl::catch_up() {
  for (;;) {
    auto folded = folder.fold_some(std::numeric_limits<std::int64_t>::max());
    if (!folded) return folded.error();
    if (*folded == 0) return ok_status();
  }
}

Status Folder::know(const std::string& store_id, const std::string& customer_id,
                           std::int64_t change) {
  if (customer_id.empty()) return ok_status();
  return storage->mark_store_customer(store_id, customer_id, change);
}

// What the item's events will look up, at once (Storage::preload_fold):
// every code and txn_id they name, whatever their type.
Status Folder::preload(const std::string& store_id, const std::vector<Json>& bodies) {
  std::set<std::string> txn_ids;
  std::set<std::string> codes;
  for (const auto& body : bodies) {
    if (!body.is_object()) continue;
    if (auto txn = text_of(body, "txn_id"); !txn.empty()) txn_ids.insert(std::move(txn));
    if (auto code = text_of(body, "code"); !code.empty()) codes.insert(std::move(code));
  }
  const std::vector<std::string> txn_list(txn_ids.begin(), txn_ids.end());
  const std::vector<std::string> code_list(codes.begin(), codes.end());
  return storage->preload_fold(store_id, txn_list, code_list);
}

Status Folder::fold(const std::string& store_id, const sync::WireEvent& e, const Json& body,
                    std::int64_t change) {
  if (!body.is_object()) return ok_status();  // an object: parse_batch checked
  if (e.type == "code_issued") {
    const std::string code = text_of(body, "code");
    const std::string owner = text_of(body, "customer_id");
    if (auto st = know(store_id, owner, change); !st) return st;
    if (code.empty() || owner.empty()) return ok_status();
    if (auto st = storage->set_code_owner(code, owner, store_id); !st) return st;
    return attribute_waiting(code, change);
  }
  if (e.type == "customer_registered") {
    return know(store_id, text_of(body, "customer_id"), change);
  }
  if (e.type == "code_redeemed") return fold_redemption(store_id, body, e.seq, change);
  if (e.type == "reward_accrued") return fold_reward(store_id, e, body, change, +1);
  if (e.type == "reward_reversed") return fold_reward(store_id, e, body, change, -1);
  if (e.type == "balance_spent" || e.type == "balance_restored") {
    const std::string customer = text_of(body, "customer_id");
    const std::string unit = text_of(body, "kind");
    const std::int64_t amount = int_of(body, "amount");
    if (customer.empty() || !is_unit(unit) || amount == 0) return ok_status();
    const std::int64_t signed_amount = e.type == "balance_spent" ? -amount : amount;
    if (auto st = know(store_id, customer, change); !st) return st;
    return storage->add_ledger_entry({customer, unit, signed_amount, e.at_ms, false, store_id,
                                      e.type + ":" + store_id + ":" + std::to_string(e.seq)},
                                     change);
  }
  if (e.type == "customer_forgotten") {
    // The customer asked at this store: head office's copies of their keys
    // go, and every other store forgets them at its next pull. A store that
    // forgot because head office told it to says so, and is not repeated.
    const std::string customer = text_of(body, "customer_id");
    if (customer.empty()) return ok_status();
    if (auto removed = storage->delete_pii_keys(customer); !removed) return removed.error();
    if (text_of(body, "by") == "head_office") return ok_status();
    return storage->save_forgotten(customer, store_id, e.at_ms, change);
  }
  if (e.type == "hold_released" || e.type == "hold_forfeited") {
    // The store applied head office's decision: its held entry moves.
    const std::string customer = text_of(body, "customer_id");
    const std::string unit = text_of(body, "kind");
    const std::int64_t amount = int_of(body, "amount");
    const std::int64_t spendable_at_ms = int_of(body, "spendable_at_ms");
    if (customer.empty() || !is_unit(unit) || amount == 0) return ok_status();
    return move_held(*storage,
                     {customer, unit, amount, spendable_at_ms, true, store_id,
                      e.type + ":" + store_id + ":" + std::to_string(e.seq)},
                     e.type == "hold_released", change);
  }
  if (e.type == "txn_reversed" && bool_of(body, "complete")) {
    auto r = storage->find_redemption(store_id, text_of(body, "txn_id"));
    if (!r) return r.error();
    if (!*r) return ok_status();
    RedemptionRecord& x = **r;
    x.reversed = true;
    // The store could not take back a reward it did not know the owner of.
    if (x.referrer_by_code && x.referrer_customer_id && x.referrer_amount != 0 &&
        !x.referrer_reversed_by_hq && !x.referrer_reversed_by_store) {
      if (auto st = storage->add_ledger_entry(
              {*x.referrer_customer_id, x.referrer_unit, -x.referrer_amount,
               x.referrer_spendable_at_ms, x.referrer_held, "hq",
               "attributed_reversed:" + x.store_id + ":" + x.txn_id},
              change);
          !st) {
        return st;
      }
      x.referrer_reversed_by_store = true;
    }
    return storage->update_redemption(x);
  }
  return ok_status();  // a type head office does not fold
}

Result<std::int64_t> Folder::max_redemptions(const std::string& program) {
  auto latest = storage->latest_rules();
  if (!latest) return latest.error();
  if (!*latest) return std::int64_t{1};  // no rule set published: codes are single-use
  if ((*latest)->version != rules_version) {
    const Json doc = Json::parse((*latest)->document, nullptr, false);
    auto parsed = rules::parse_ruleset(doc, "rules");
    if (!parsed) return make_error(ErrorKind::internal, "", "hq: the published rule set no longer parses");
    rules = std::move(*parsed);
    rules_version = (*latest)->version;
  }
  const rules::Program* p = rules->partner(program);
  return (p != nullptr ? *p : rules->program).code.max_redemptions;
}

Status Folder::fold_redemption(const std::string& store_id, const Json& body,
                                      std::int64_t seq, std::int64_t change) {
  RedemptionRecord r;
  r.store_id = store_id;
  r.seq = seq;
  r.code = text_of(body, "code");
  r.txn_id = text_of(body, "txn_id");
  r.referee_customer_id = text_of(body, "customer_id");
  if (const auto referrer = text_of(body, "referrer_customer_id"); !referrer.empty()) {
    r.referrer_customer_id = referrer;
  }
  if (auto st = know(store_id, r.referee_customer_id, change); !st) return st;
  if (r.referrer_customer_id) {
    if (auto st = know(store_id, *r.referrer_customer_id, change); !st) return st;
  }
  if (r.code.empty() || r.txn_id.empty()) return ok_status();
  if (auto found = storage->find_redemption(store_id, r.txn_id); !found || *found) {
    return found ? ok_status() : Status(found.error());  // one redemption per transaction
  }
  if (auto st = storage->insert_redemption(r); !st) return st;

  auto max = max_redemptions(text_of(body, "program"));
  if (!max) return max.error();
  auto all = storage->redemptions_of_code(r.code);
  if (!all) return all.error();
  std::vector<ConflictTxn> standing;
  for (const auto& x : *all) {
    if (!x.reversed) standing.push_back({x.store_id, x.txn_id});
  }
  if (static_cast<std::int64_t>(standing.size()) <= *max) return ok_status();
  auto existing = storage->find_conflict(r.code, std::string(kOverRedeemed));
  if (!existing) return existing.error();
  ConflictRecord c = existing->value_or(ConflictRecord{});
  c.code = r.code;
  c.kind = std::string(kOverRedeemed);
  c.change_seq = change;
  for (const auto& t : standing) {
    if (std::find(c.txns.begin(), c.txns.end(), t) == c.txns.end()) c.txns.push_back(t);
  }
  c.settlement = "redeemed " + std::to_string(standing.size()) + " times, " +
                 std::to_string(*max) +
                 " allowed: every customer keeps their discount; the referrer is rewarded once "
                 "per referee (later rewards reversed by head office)";
  auto id = storage->save_conflict(c);
  if (!id) return id.error();
  return ok_status();
}

Status Folder::fold_reward(const std::string& store_id, const sync::WireEvent& e,
                                  const Json& body, std::int64_t change, int sign) {
  const std::string customer = text_of(body, "customer_id");
  const std::string unit = text_of(body, "kind");  // recognition: nothing of value
  const std::int64_t amount = int_of(body, "amount");
  const std::int64_t spendable_at_ms = int_of(body, "spendable_at_ms");
  const bool held = bool_of(body, "held");
  if (customer.empty()) {
    if (sign < 0 || text_of(body, "side") != "referrer" || text_of(body, "attribute_by") != "code" ||
        !is_unit(unit) || amount == 0) {
      return ok_status();
    }
    auto found = storage->find_redemption(store_id, text_of(body, "txn_id"));
    if (!found) return found.error();
    if (!*found) return ok_status();
    RedemptionRecord& r = **found;
    r.referrer_unit = unit;
    r.referrer_amount = amount;
    r.referrer_spendable_at_ms = spendable_at_ms;
    r.referrer_held = held;
    r.referrer_by_code = true;
    if (auto st = storage->update_redemption(r); !st) return st;
    return attribute_waiting(r.code, change);
  }
  if (auto st = know(store_id, customer, change); !st) return st;
  if (is_unit(unit) && amount != 0) {
    if (auto st = storage->add_ledger_entry({customer, unit, sign * amount, spendable_at_ms, held,
                                             store_id,
                                             e.type + ":" + store_id + ":" + std::to_string(e.seq)},
                                            change);
        !st) {
      return st;
    }
  }
  if (text_of(body, "side") != "referrer") return ok_status();
  auto found = storage->find_redemption(store_id, text_of(body, "txn_id"));
  if (!found) return found.error();
  if (!*found) return ok_status();
  RedemptionRecord& r = **found;
  if (sign > 0) {
    if (!is_unit(unit) || amount == 0) return ok_status();
    r.referrer_unit = unit;
    r.referrer_amount = amount;
    r.referrer_spendable_at_ms = spendable_at_ms;
    r.referrer_held = held;
    if (auto st = storage->update_redemption(r); !st) return st;
    return settle_referrer_reward(r, change);
  }
  r.referrer_reversed_by_store = true;
  if (r.referrer_reversed_by_hq && r.referrer_amount != 0) {
    // The store took back a reward head office had already taken back: give
    // head office's reversal back, so it is reversed once.
    if (auto st = storage->add_ledger_entry(
            {*r.referrer_customer_id, r.referrer_unit, r.referrer_amount,
             r.referrer_spendable_at_ms, r.referrer_held, "hq",
             "reversal_withdrawn:" + r.store_id + ":" + r.txn_id},
            change);
        !st) {
      return st;
    }
  }
  return storage->update_redemption(r);
}

// Rewards recorded against `code` by stores that did not know its owner:
// credited to the owner once head office knows them (origin 'hq', so every
// store sees it, the redeeming one too), then settled like any other.
Status Folder::attribute_waiting(const std::string& code, std::int64_t change) {
  auto owner = storage->find_code_owner(code);
  if (!owner) return owner.error();
  if (!*owner) return ok_status();
  auto all = storage->redemptions_of_code(code);
  if (!all) return all.error();
  for (auto& r : *all) {
    if (!r.referrer_by_code || r.referrer_customer_id || r.referrer_amount == 0 || r.reversed) {
      continue;
    }
    r.referrer_customer_id = **owner;
    if (auto st = know(r.store_id, **owner, change); !st) return st;
    if (auto st = storage->add_ledger_entry({**owner, r.referrer_unit, r.referrer_amount,
                                             r.referrer_spendable_at_ms, r.referrer_held, "hq",
                                             "attributed:" + r.store_id + ":" + r.txn_id},
                                            change);
        !st) {
      return st;
    }
    if (auto st = storage->update_redemption(r); !st) return st;
    if (auto st = settle_referrer_reward(r, change); !st) return st;
  }
  return ok_status();
}

// The policy of docs/sync.md, "Conflicts": once a code is over-redeemed, a
// referee earns its referrer one reward; a later one is reversed here.
Status Folder::settle_referrer_reward(RedemptionRecord& r, std::int64_t change) {
  if (!r.referrer_customer_id || r.reversed) return ok_status();
  auto conflict = storage->find_conflict(r.code, std::string(kOverRedeemed));
  if (!conflict) return conflict.error();
  if (!*conflict) return ok_status();
  auto all = storage->redemptions_of_code(r.code);
  if (!all) return all.error();
  bool earlier_reward = false;
  for (const auto& x : *all) {
    if (x.store_id == r.store_id && x.txn_id == r.txn_id) break;  // arrival order
    if (x.referee_customer_id == r.referee_customer_id && !x.reversed && x.referrer_amount != 0 &&
        !x.referrer_reversed_by_hq && !x.referrer_reversed_by_store) {
      earlier_reward = true;
    }
  }
  if (!earlier_reward) return ok_status();
  if (auto st = storage->add_ledger_entry(
          {*r.referrer_customer_id, r.referrer_unit, -r.referrer_amount,
           r.referrer_spendable_at_ms, r.referrer_held, "hq",
           "conflict:" + std::to_string((*conflict)->conflict_id) + ":" + r.store_id + ":" +
               r.txn_id},
          change);
      !st) {
    return st;
  }
  r.referrer_reversed_by_hq = true;
  return storage->update_redemption(r);
}

// ---- pull ----------------------------------------------------------------

Result<sync::Updates> Service::Impl::collect_updates(const std::string& store_id,
                                                     std::int64_t cursor) {
  sync::Updates u;
  auto current = storage->current_change();
  if (!current) return current.error();
  u.cursor = *current;
  // A cursor this database never handed the store (head office restored
  // from a backup taken before that pull): past the counter, or past the
  // store's last pull as this database remembers it. Its numbers belong to
  // a lost history that new changes are reusing, so send everything; every
  // part of the answer replaces, so this is safe (docs/scale-out.md).
  auto store = storage->find_store(store_id);
  if (!store) return store.error();
  const std::int64_t handed = *store ? (*store)->pulled_cursor : 0;
  if (cursor > *current || cursor > handed) {
    cursor = 0;
    // The contact-data keys the store sent since may be lost with it.
    u.resend_keys = true;
  }
  auto latest = storage->latest_rules();
  if (!latest) return latest.error();
  if (*latest && (*latest)->change_seq > cursor) {
    u.rules = sync::SignedRules{(*latest)->version, Json::parse((*latest)->document),
                                (*latest)->signature_hex};
  }
  auto keys_changed = storage->code_keys_changed();
  if (!keys_changed) return keys_changed.error();
  if (*keys_changed > cursor) {
    auto keys = storage->code_keys();
    if (!keys) return keys.error();
    std::vector<sync::CodeKeyUpdate> list;
    for (const auto& k : *keys) list.push_back({k.id, k.secret_hex, k.active});
    u.code_keys = std::move(list);
  }
  auto codes = storage->revoked_codes_since(cursor);
  if (!codes) return codes.error();
  u.revoked_codes = std::move(*codes);
  auto stores = storage->revoked_stores_since(cursor);
  if (!stores) return stores.error();
  u.revoked_stores = std::move(*stores);
  auto customers = storage->wallets_changed(store_id, cursor);
  if (!customers) return customers.error();
  for (const auto& customer : *customers) {
    auto entries = storage->entries_elsewhere(store_id, customer);
    if (!entries) return entries.error();
    u.wallets.push_back({customer, std::move(*entries)});
  }
  auto forgotten = storage->forgotten_since(store_id, cursor);
  if (!forgotten) return forgotten.error();
  u.forgotten = std::move(*forgotten);
  auto holds = storage->hold_decisions_since(store_id, cursor);
  if (!holds) return holds.error();
  u.hold_decisions = std::move(*holds);
  auto conflicts = storage->conflicts_of_store(store_id, cursor);
  if (!conflicts) return conflicts.error();
  for (const auto& c : *conflicts) {
    sync::ConflictNotice notice{c.conflict_id, c.code, c.kind, c.settlement, {}};
    for (const auto& t : c.txns) notice.txn_ids.push_back(t.txn_id);
    u.conflicts.push_back(std::move(notice));
  }
  return u;
}

Reply Service::updates(const Caller& caller, std::int64_t cursor) {
  if (caller.role != Caller::Role::store) return forbidden("only a store pulls updates");
  if (cursor < 0) return error_reply(400, "bad_request", "cursor: must be 0 or more");
  if (store_revoked(caller.name)) return forbidden("store \"" + caller.name + "\" is revoked");
  std::optional<sync::Updates> out;
  auto st = impl_->storage->write([&]() -> Status {  // one consistent snapshot
    // Everything acknowledged so far is folded before the answer is read.
    if (auto caught_up = impl_->catch_up(); !caught_up) return caught_up;
    auto u = impl_->collect_updates(caller.name, cursor);
    if (!u) return u.error();
    out = std::move(*u);
    return impl_->storage->record_pull(caller.name, impl_->clock.now_ms(), out->cursor);
  });
  if (!st) return reply_for(st.error());
  return Reply{200, Json::parse(sync::serialize_updates(*out))};
}

// ---- status and admin ----------------------------------------------------

Reply Service::status(const Caller& caller, const std::optional<std::string>& store_id) {
  std::string id;
  if (caller.role == Caller::Role::store) {
    if (store_id && *store_id != caller.name) return forbidden("a store sees only its own status");
    id = caller.name;
  } else {
    if (!store_id) return error_reply(400, "bad_request", "store_id: is required for an admin");
    id = *store_id;
  }
  auto found = impl_->storage->find_store(id);
  if (!found) return reply_for(found.error());
  if (!*found && caller.role == Caller::Role::admin) {
    return error_reply(404, "not_found", "store_id: no store \"" + id + "\" has synced");
  }
  auto cursor = impl_->storage->current_change();
  if (!cursor) return reply_for(cursor.error());
  auto backlog = impl_->storage->fold_backlog();
  if (!backlog) return reply_for(backlog.error());
  const StoreRecord s = found->value_or(StoreRecord{id, 0, {}, 0, false, ""});
  return Reply{200, Json{{"store_id", id},
                         {"fold_backlog", *backlog},
                         {"acked_seq", s.acked_seq},
                         {"cursor", *cursor},
                         {"last_seen_ms", s.last_seen_ms},
                         {"flagged", !s.flagged_reason.empty()},
                         {"flag_reason", s.flagged_reason.empty() ? Json(nullptr)
                                                                  : Json(s.flagged_reason)},
                         {"revoked", s.revoked}}};
}

Reply Service::publish_rules(const Caller& caller, std::string_view body) {
  if (caller.role != Caller::Role::admin) return forbidden("an admin route");
  auto doc = parse_admin_body(body, "the rule set");
  if (!doc) return reply_for(doc.error());
  auto parsed = rules::parse_ruleset(*doc, "rules");
  if (!parsed) return reply_for(parsed.error());
  const std::string canonical = doc->dump();
  auto signature = crypto::ed25519_sign(impl_->options.signing_private_hex, canonical);
  if (!signature) return error_reply(500, "internal", "the signing key is not usable");
  std::optional<Reply> refused;
  std::int64_t change_seq = 0;
  auto st = impl_->storage->write([&]() -> Status {
    // What arrived before this change is folded under what was in force.
    if (auto caught_up = impl_->catch_up(); !caught_up) return caught_up;
    auto latest = impl_->storage->latest_rules();
    if (!latest) return latest.error();
    if (*latest && parsed->version <= (*latest)->version) {
      refused = error_reply(409, "conflict",
                            "version: must be greater than the published " +
                                std::to_string((*latest)->version) + ", got " +
                                std::to_string(parsed->version),
                            "version_not_newer");
      return ok_status();
    }
    auto change = impl_->storage->next_change();
    if (!change) return change.error();
    change_seq = *change;
    return impl_->storage->insert_rules({parsed->version, canonical, *signature, *change});
  });
  if (!st) return reply_for(st.error());
  if (refused) return *refused;
  return Reply{200, Json{{"version", parsed->version}, {"change_seq", change_seq}}};
}

Reply Service::put_code_key(const Caller& caller, std::string_view body) {
  if (caller.role != Caller::Role::admin) return forbidden("an admin route");
  auto doc = parse_admin_body(body, "the code key");
  if (!doc) return reply_for(doc.error());
  wire::FieldReader r(*doc, "");
  CodeKeyRecord key;
  key.id = static_cast<int>(r.integer("id", 1, codes::kMaxKeyId));
  key.secret_hex = r.text("secret_hex", 2 * codes::kMaxKeySecretBytes);
  const bool hex = std::all_of(key.secret_hex.begin(), key.secret_hex.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (!r.failed() && (!hex || key.secret_hex.size() % 2 != 0 ||
                      key.secret_hex.size() < 2 * codes::kMinKeySecretBytes)) {
    r.fail("secret_hex", "must be " + std::to_string(2 * codes::kMinKeySecretBytes) + " to " +
                             std::to_string(2 * codes::kMaxKeySecretBytes) +
                             " lower-case hex digits, an even number");  // never echoed
  }
  if (!doc->contains("active") && !r.failed()) r.fail("active", "is required");
  key.active = r.boolean("active", false);
  if (auto st = r.finish(); !st) return reply_for(st.error());
  auto st = impl_->storage->write([&]() -> Status {
    // What arrived before this change is folded under what was in force.
    if (auto caught_up = impl_->catch_up(); !caught_up) return caught_up;
    auto change = impl_->storage->next_change();
    if (!change) return change.error();
    // One key issues codes: making one active retires the others from
    // issuing (they still verify the codes they made).
    if (key.active) {
      auto keys = impl_->storage->code_keys();
      if (!keys) return keys.error();
      for (auto other : *keys) {
        if (other.id == key.id || !other.active) continue;
        other.active = false;
        if (auto s = impl_->storage->put_code_key(other, *change); !s) return s;
      }
    }
    return impl_->storage->put_code_key(key, *change);
  });
  if (!st) return reply_for(st.error());
  return Reply{200, Json{{"id", key.id}, {"active", key.active}}};
}

Reply Service::revoke(const Caller& caller, std::string_view body) {
  if (caller.role != Caller::Role::admin) return forbidden("an admin route");
  auto doc = parse_admin_body(body, "the revocation");
  if (!doc) return reply_for(doc.error());
  wire::FieldReader r(*doc, "");
  const auto store_id = r.optional_id("store_id");
  const Json* list = r.array("codes", false, 1, kMaxRevokedCodesPerCall);
  if (auto st = r.finish(); !st) return reply_for(st.error());
  if ((store_id.has_value()) == (list != nullptr)) {
    return error_reply(400, "bad_request", "give either \"codes\": [...] or \"store_id\", not both");
  }
  std::vector<std::string> codes;
  if (list != nullptr) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const Json& v = (*list)[i];
      auto normal = v.is_string() ? codes::normalize(v.get<std::string>())
                                  : Result<std::string>(make_error(ErrorKind::bad_request, "", ""));
      if (!normal) {
        return error_reply(400, "bad_request",
                           "codes[" + std::to_string(i) + "]: must be a referral code, got " +
                               wire::describe_value(v));
      }
      codes.push_back(std::move(*normal));
    }
  }
  std::int64_t newly = 0;
  auto st = impl_->storage->write([&]() -> Status {
    // What arrived before this change is folded under what was in force.
    if (auto caught_up = impl_->catch_up(); !caught_up) return caught_up;
    auto change = impl_->storage->next_change();
    if (!change) return change.error();
    if (store_id) {
      auto done = impl_->storage->revoke_store(*store_id, *change);
      if (!done) return done.error();
      newly += *done ? 1 : 0;
    }
    for (const auto& code : codes) {
      auto done = impl_->storage->revoke_code(code, *change);
      if (!done) return done.error();
      newly += *done ? 1 : 0;
    }
    if (newly == 0) return make_error(ErrorKind::conflict, "", "already revoked", "unchanged");
    return ok_status();
  });
  if (!st && st.error().reason != "unchanged") return reply_for(st.error());
  return Reply{200, Json{{"revoked", newly}}};
}

std::variant<Reply, Service::ReportJob> Service::prepare_report(const Caller& caller,
                                                               const ReportQuery& query) {
  if (caller.role != Caller::Role::admin) return forbidden("reports are for admins");
  if (query.format != "html" && query.format != "json") {
    return error_reply(400, "bad_request", "format: must be html or json, got \"" +
                                               query.format.substr(0, 16) + "\"");
  }
  auto period = report::parse_period(query.from, query.to, query.time_zone);
  if (!period) return reply_for(period.error());
  // Conflicts are folded: the report reads them with the events.
  if (auto caught_up = impl_->storage->write([&] { return impl_->catch_up(); }); !caught_up) {
    return reply_for(caught_up.error());
  }
  // On the report thread: the SQLite file read by the report engine, or
  // the storage's own reading (PostgreSQL) on the report's connection.
  return ReportJob([impl = impl_.get(),
                    request = report::ReportRequest{impl_->options.report_database, *period,
                                                    query.store_id, {}},
                    html = query.format == "html"]() -> Reply {
    auto built = request.path.empty() ? impl->report_from_storage(request.period, request.store_id)
                                      : report::build_report(request);
    if (!built) return reply_for(built.error());
    Reply reply;
    if (html) {
      reply.text = report::render_html(*built);
      reply.content_type = "text/html; charset=utf-8";
    } else {
      reply.text = report::render_json(*built);
    }
    return reply;
  });
}

Reply Service::decide_holds(const Caller& caller, std::string_view body) {
  if (caller.role != Caller::Role::admin) return forbidden("an admin route");
  auto doc = parse_admin_body(body, "the decision");
  if (!doc) return reply_for(doc.error());
  wire::FieldReader r(*doc, "");
  const std::string store_id = r.id("store_id");
  const std::string decision = r.text("decision", wire::kMaxIdBytes);
  if (!r.failed() && decision != sync::kHoldRelease && decision != sync::kHoldForfeit) {
    r.fail("decision", "must be \"release\" or \"forfeit\", got \"" + decision + "\"");
  }
  std::vector<std::string> txn_ids;
  if (const Json* list = r.array("txn_ids", true, 1, kMaxRevokedCodesPerCall)) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const Json& v = (*list)[i];
      if (!v.is_string() || !wire::is_clean_text(v.get_ref<const std::string&>(), wire::kMaxIdBytes)) {
        r.fail("txn_ids[" + std::to_string(i) + "]",
               "must be a transaction id, got " + wire::describe_value(v));
        break;
      }
      txn_ids.push_back(v.get<std::string>());
    }
  }
  if (auto st = r.finish(); !st) return reply_for(st.error());
  std::optional<Reply> refused;
  std::int64_t decided = 0;
  auto st = impl_->storage->write([&]() -> Status {
    // The redemptions and their holds as the store reported them.
    if (auto caught_up = impl_->catch_up(); !caught_up) return caught_up;
    auto change = impl_->storage->next_change();
    if (!change) return change.error();
    for (std::size_t i = 0; i < txn_ids.size(); ++i) {
      const std::string& txn = txn_ids[i];
      const std::string at = "txn_ids[" + std::to_string(i) + "]: \"" + txn + "\" ";
      auto found = impl_->storage->find_redemption(store_id, txn);
      if (!found) return found.error();
      if (!*found || !(*found)->referrer_held) {
        refused = error_reply(404, "not_found",
                              at + "is no redemption with a held referrer reward that store \"" +
                                  store_id + "\" has pushed");
        return make_error(ErrorKind::conflict, "", "refused", "refused");
      }
      auto before = impl_->storage->find_hold_decision(store_id, txn);
      if (!before) return before.error();
      if (*before) {
        if (**before == decision) continue;  // said again: changes nothing
        refused = error_reply(409, "conflict", at + "was decided already: " + **before,
                              "already_decided");
        return make_error(ErrorKind::conflict, "", "refused", "refused");
      }
      if (auto s = impl_->storage->save_hold_decision(store_id, {txn, decision}, *change); !s) return s;
      RedemptionRecord& x = **found;
      // A reward head office attributed by code is head office's own entry:
      // it moves here (the redeeming store never knew whose it was).
      if (x.referrer_by_code && x.referrer_customer_id && x.referrer_amount != 0 &&
          !x.referrer_reversed_by_hq && !x.referrer_reversed_by_store) {
        if (auto s = move_held(*impl_->storage,
                               {*x.referrer_customer_id, x.referrer_unit, x.referrer_amount,
                                x.referrer_spendable_at_ms, true, "hq",
                                "hold_" + decision + ":" + x.store_id + ":" + x.txn_id},
                               decision == sync::kHoldRelease, *change);
            !s) {
          return s;
        }
      }
      ++decided;
    }
    return ok_status();
  });
  if (refused) return *refused;
  if (!st) return reply_for(st.error());
  return Reply{200, Json{{"decided", decided}, {"decision", decision}}};
}

Reply Service::put_pii_keys(const Caller& caller, std::string_view body) {
  if (caller.role != Caller::Role::store) return forbidden("only a store puts its keys");
  if (body.size() > sync::kMaxBodyBytes) return error_reply(413, "payload_too_large", "the keys: too large");
  auto upload = sync::parse_key_upload(body);
  if (!upload) return reply_for(upload.error());
  std::int64_t stored = 0;
  std::int64_t skipped = 0;
  auto st = impl_->storage->write([&]() -> Status {
    // What the store pushed is folded first: a forget it recorded before
    // these keys must not delete them after.
    if (auto caught_up = impl_->catch_up(); !caught_up) return caught_up;
    stored = skipped = 0;
    for (const auto& k : upload->keys) {
      // Forgotten after what the store has pulled: it still holds the old
      // key and will delete it at its next pull; head office keeps none.
      auto forgotten = impl_->storage->forgotten_change(k.subject);
      if (!forgotten) return forgotten.error();
      if (*forgotten && **forgotten > upload->cursor) {
        ++skipped;
        continue;
      }
      const auto bytes = sync::parse_hash_hex(k.key_hex);  // 32 bytes, checked by the parser
      if (!bytes) return make_error(ErrorKind::bad_request, "keys", "a key is not 64 hex digits");
      if (auto put = impl_->storage->put_pii_key(caller.name, k.subject,
                                                 {bytes->begin(), bytes->end()});
          !put) {
        return put;
      }
      ++stored;
    }
    return ok_status();
  });
  if (!st) return reply_for(st.error());
  return Reply{200, Json{{"stored", stored}, {"skipped", skipped}}};
}

Reply Service::forget(const Caller& caller, std::string_view body) {
  if (caller.role != Caller::Role::admin) return forbidden("an admin route");
  auto doc = parse_admin_body(body, "the request");
  if (!doc) return reply_for(doc.error());
  wire::FieldReader r(*doc, "");
  const std::string customer = r.id("customer_id");
  if (auto fin = r.finish(); !fin) return reply_for(fin.error());
  std::int64_t keys_removed = 0;
  std::int64_t change_seq = 0;
  auto st = impl_->storage->write([&]() -> Status {
    // Keys a store uploaded with events not folded yet are in the table
    // already; what is queued is folded first so nothing comes back after.
    if (auto caught_up = impl_->catch_up(); !caught_up) return caught_up;
    auto change = impl_->storage->next_change();
    if (!change) return change.error();
    change_seq = *change;
    auto removed = impl_->storage->delete_pii_keys(customer);
    if (!removed) return removed.error();
    keys_removed = *removed;
    return impl_->storage->save_forgotten(customer, "", impl_->clock.now_ms(), *change);
  });
  if (!st) return reply_for(st.error());
  return Reply{200, Json{{"customer_id", customer}, {"keys_removed", keys_removed},
                         {"change_seq", change_seq}}};
}

}  // namespace refpos::hq
