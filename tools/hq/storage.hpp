// The head office's storage, as an interface the protocol logic
// (service.cpp) is written against, so a PostgreSQL back end can follow the
// SQLite one (sqlite_storage.hpp) without touching it.
//
// Design:
// - Plain value types in and out; no SQL or driver types cross the interface.
// - Transactions are a unit of work: write(work) runs `work` in one
//   serialisable write transaction and commits only if it returns ok; an
//   error (or an exception) rolls everything back. Every mutating method
//   must run inside write(); readers may run inside or outside it.
// - One global change counter: next_change() hands out the next change_seq
//   (inside the unit of work, so a rollback takes it back). Every row a store
//   may need to hear about carries the change_seq of its last change; a
//   store's pull asks "what changed after my cursor".
// - Methods are small and named for the fact they record; the service holds
//   the rules (push rules, folding, conflicts), the storage only remembers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "store/event_log.hpp"
#include "store/pii.hpp"
#include "sync/protocol.hpp"

namespace refpos::hq {

// What head office knows of one store.
struct StoreRecord {
  std::string store_id;
  std::int64_t acked_seq = 0;
  store::Hash last_hash{};       // hash of event acked_seq (zeros at 0)
  std::int64_t last_seen_ms = 0;
  bool revoked = false;
  std::string flagged_reason;    // "" unless a fork or a reused seq was seen
  // The cursor head office last handed this store in a pull. A store that
  // holds a larger one got it from a history this database no longer has
  // (a restore from a backup): it is sent everything again.
  std::int64_t pulled_cursor = 0;
};

// One wallet movement. `origin` is the store whose event it folds, or "hq"
// for head office's own settlements.
struct LedgerEntry {
  std::string customer_id;
  std::string unit;  // store_credit, points, gift_card
  std::int64_t amount = 0;
  std::int64_t spendable_at_ms = 0;
  bool held = false;
  std::string origin;
  std::string source;  // e.g. "reward_accrued:store-001:41", "conflict:3"
};

// One redemption as head office saw it, for conflict detection.
struct RedemptionRecord {
  std::string code;
  std::string store_id;
  std::string txn_id;
  std::int64_t seq = 0;  // the code_redeemed event
  std::string referee_customer_id;
  std::optional<std::string> referrer_customer_id;
  // The referrer's reward for this redemption (from reward_accrued), 0 if none.
  std::string referrer_unit;
  std::int64_t referrer_amount = 0;
  std::int64_t referrer_spendable_at_ms = 0;
  bool referrer_held = false;
  bool reversed = false;                 // the store reversed the transaction
  bool referrer_reversed_by_hq = false;  // a conflict settlement took it back
  bool referrer_reversed_by_store = false;
  // The redeeming store did not know the code (issued at another store):
  // head office names the referrer from the code's code_issued event.
  bool referrer_by_code = false;
};

struct ConflictTxn {
  std::string store_id;
  std::string txn_id;
  bool operator==(const ConflictTxn&) const = default;
};

struct ConflictRecord {
  std::int64_t conflict_id = 0;
  std::string code;
  std::string kind;        // "over_redeemed"
  std::string settlement;
  std::vector<ConflictTxn> txns;  // the redemptions involved, in arrival order
  std::int64_t change_seq = 0;
};

struct RulesRecord {
  std::int64_t version = 0;
  std::string document;  // canonical JSON (document.dump())
  std::string signature_hex;
  std::int64_t change_seq = 0;
};

struct CodeKeyRecord {
  int id = 0;
  std::string secret_hex;  // a secret: never logged
  bool active = false;
};

// A pushed batch waiting to be folded (docs/sync.md, "Ingest and folding"):
// a push appends its events and one item in its transaction; folding takes
// items in arrival order (item_id) in transactions of its own. What folding
// writes carries the push's change_seq: pulls fold everything queued before
// they hand out a cursor, so no store holds a cursor at or past a change
// whose folding is still to come, and one push stays one change.
struct FoldItem {
  std::int64_t item_id = 0;
  std::string store_id;
  std::int64_t first_seq = 0;
  std::int64_t last_seq = 0;
  std::int64_t change_seq = 0;
};

struct Incident {
  std::string store_id;
  std::string kind;  // "fork", "seq_reused"
  std::int64_t seq = 0;
  std::string detail;
  std::int64_t at_ms = 0;
};

// One stored event as a report reads it (valid until the visitor returns).
struct EventView {
  std::string_view store_id;
  std::int64_t seq = 0;
  std::string_view type;
  std::int64_t at_ms = 0;
  std::string_view body;  // canonical JSON
};

class Storage {
 public:
  virtual ~Storage() = default;

  // Runs `work` as one write transaction (see the design above).
  virtual Status write(const std::function<Status()>& work) = 0;

  // Another connection to the same database for background work on a
  // thread of its own (the fold worker). Write transactions on the two never
  // interleave; the background connection's give way to the others' (it
  // waits while one is waiting, and others_waiting() tells its work to end
  // the transaction early), and may be lost to a power cut until the next
  // transaction of another connection commits, so background work must be
  // work that is simply done again (SQLite: synchronous=NORMAL).
  virtual Result<std::unique_ptr<Storage>> open_another() = 0;
  // True when a connection that is not background waits to write.
  virtual bool others_waiting() = 0;

  // The change counter: the last number handed out, and the next one.
  virtual Result<std::int64_t> current_change() = 0;
  virtual Result<std::int64_t> next_change() = 0;

  // Stores. find_store is nullopt for a store never seen.
  virtual Result<std::optional<StoreRecord>> find_store(const std::string& store_id) = 0;
  // Creates the row if missing; sets acked_seq/last_hash/last_seen_ms.
  virtual Status save_store_progress(const StoreRecord& store) = 0;
  virtual Status touch_store(const std::string& store_id, std::int64_t seen_ms) = 0;
  // A pull answered with `cursor`: touch_store, and pulled_cursor = cursor.
  virtual Status record_pull(const std::string& store_id, std::int64_t seen_ms,
                             std::int64_t cursor) = 0;
  virtual Status flag_store(const std::string& store_id, const std::string& reason) = 0;
  // True if the store was not revoked before.
  virtual Result<bool> revoke_store(const std::string& store_id, std::int64_t change_seq) = 0;
  virtual Status record_incident(const Incident& incident, std::int64_t change_seq) = 0;
  virtual Result<std::int64_t> count_incidents(const std::string& store_id) = 0;

  // Events, as received (the hash chain's bytes).
  virtual Result<std::optional<sync::WireEvent>> find_event(const std::string& store_id,
                                                            std::int64_t seq) = 0;
  virtual Status insert_event(const std::string& store_id, const sync::WireEvent& event,
                              std::int64_t change_seq) = 0;
  // A push's new events (one store, contiguous seqs, in order) at once: what
  // insert_event does for each, in one call, so a back end that pays a
  // network round trip per statement can send them together. The default
  // inserts them one by one.
  virtual Status insert_events(const std::string& store_id, std::span<const sync::WireEvent> events,
                               std::int64_t change_seq) {
    for (const auto& e : events) {
      if (auto st = insert_event(store_id, e, change_seq); !st) return st;
    }
    return ok_status();
  }

  // A push's whole write (service.cpp, apply()) as one write transaction:
  // if the store's acked_seq is still `expected_acked` (another instance
  // may have taken a batch since; else ErrorKind::conflict, reason
  // "raced"), take the next change, insert `events` (insert_events), queue
  // their folding (enqueue_fold) and save `progress` (save_store_progress),
  // all carrying that change, which it returns. The default does exactly
  // that through write(); a back end that pays a network round trip per
  // statement may send them together.
  virtual Result<std::int64_t> append_push(const std::string& store_id, std::int64_t expected_acked,
                                           std::span<const sync::WireEvent> events,
                                           const StoreRecord& progress) {
    std::int64_t change = 0;
    auto st = write([&]() -> Status {
      auto current = find_store(store_id);
      if (!current) return current.error();
      if ((*current ? (*current)->acked_seq : 0) != expected_acked) return raced();
      auto next = next_change();
      if (!next) return next.error();
      change = *next;
      if (auto inserted = insert_events(store_id, events, change); !inserted) return inserted;
      if (auto queued = enqueue_fold({0, store_id, events.front().seq, events.back().seq, change});
          !queued) {
        return queued;
      }
      return save_store_progress(progress);
    });
    if (!st) return st.error();
    return change;
  }

  // The events of one store from `first_seq` to `last_seq`, in seq order.
  virtual Result<std::vector<sync::WireEvent>> events_between(const std::string& store_id,
                                                              std::int64_t first_seq,
                                                              std::int64_t last_seq) = 0;

  // Folding behind ingest: enqueue assigns item_id; next_fold is the oldest
  // item; finish_fold removes it (in the transaction that folded it).
  virtual Status enqueue_fold(const FoldItem& item) = 0;
  virtual Result<std::optional<FoldItem>> next_fold() = 0;
  virtual Status finish_fold(std::int64_t item_id) = 0;
  // The item's events before `first_seq` are folded (a transaction that
  // gave way part-way through it).
  virtual Status advance_fold(std::int64_t item_id, std::int64_t first_seq) = 0;
  // Events pushed and not folded yet.
  virtual Result<std::int64_t> fold_backlog() = 0;

  // Wallets.
  virtual Status add_ledger_entry(const LedgerEntry& entry, std::int64_t change_seq) = 0;
  // Marks the customer known at the store; true if they were new there.
  virtual Result<bool> add_store_customer(const std::string& store_id,
                                          const std::string& customer_id,
                                          std::int64_t change_seq) = 0;
  // The same, for a caller that does not ask whether they were new
  // (folding): a back end that pays a round trip per statement may send it
  // behind the statements that follow (its failure then fails the write()
  // around it all the same). The default calls add_store_customer.
  virtual Status mark_store_customer(const std::string& store_id, const std::string& customer_id,
                                     std::int64_t change_seq) {
    auto added = add_store_customer(store_id, customer_id, change_seq);
    if (!added) return added.error();
    return ok_status();
  }
  // Customers `store_id` knows whose entries from elsewhere changed after
  // `cursor`, or who became known there after it.
  virtual Result<std::vector<std::string>> wallets_changed(const std::string& store_id,
                                                           std::int64_t cursor) = 0;
  // The customer's entries from elsewhere than `store_id`, summed by
  // (unit, spendable_at_ms, held), zero sums left out.
  virtual Result<std::vector<sync::WalletEntryUpdate>> entries_elsewhere(
      const std::string& store_id, const std::string& customer_id) = 0;

  // Redemptions, keyed by (store_id, txn_id).
  // Who was issued a code, from the issuing store's code_issued event.
  virtual Status set_code_owner(const std::string& code, const std::string& customer_id,
                                const std::string& store_id) = 0;
  virtual Result<std::optional<std::string>> find_code_owner(const std::string& code) = 0;

  virtual Status insert_redemption(const RedemptionRecord& redemption) = 0;
  virtual Status update_redemption(const RedemptionRecord& redemption) = 0;
  virtual Result<std::optional<RedemptionRecord>> find_redemption(const std::string& store_id,
                                                                  const std::string& txn_id) = 0;
  // In the order head office received them.
  virtual Result<std::vector<RedemptionRecord>> redemptions_of_code(const std::string& code) = 0;
  // Folding is about to read the redemptions of `codes` and of these
  // transactions of `store_id`, and the owners and conflicts of their codes
  // (what one fold item's events name). A back end that pays a round trip
  // per statement may read them all now and answer those reads from memory
  // until the write transaction ends, keeping them up to date with its own
  // writes (the write lock keeps every other writer out). The default does
  // nothing.
  virtual Status preload_fold(const std::string& store_id, std::span<const std::string> txn_ids,
                              std::span<const std::string> codes) {
    (void)store_id, (void)txn_ids, (void)codes;
    return ok_status();
  }

  // Conflicts, one per code and kind; saving assigns conflict_id when 0.
  virtual Result<std::optional<ConflictRecord>> find_conflict(const std::string& code,
                                                              const std::string& kind) = 0;
  // Inserts or updates the conflict (with every txn in it) and returns its id.
  virtual Result<std::int64_t> save_conflict(const ConflictRecord& conflict) = 0;
  virtual Result<std::vector<ConflictRecord>> conflicts_of_store(const std::string& store_id,
                                                                 std::int64_t cursor) = 0;

  // Head office's decisions on held referrer rewards, one per (store, txn).
  virtual Result<std::optional<std::string>> find_hold_decision(const std::string& store_id,
                                                                const std::string& txn_id) = 0;
  virtual Status save_hold_decision(const std::string& store_id, const sync::HoldDecision& d,
                                    std::int64_t change_seq) = 0;
  virtual Result<std::vector<sync::HoldDecision>> hold_decisions_since(const std::string& store_id,
                                                                       std::int64_t cursor) = 0;

  // Contact-data keys (docs/sync.md, "Contact data and forgetting"): each
  // store's per-customer sealing keys, which open what its events seal for
  // that customer. A key is a secret: never logged. Putting a key again
  // replaces it (a customer forgotten and back has a new one).
  virtual Status put_pii_key(const std::string& store_id, const std::string& subject,
                             const std::vector<std::uint8_t>& key) = 0;
  // Deletes every store's key for the customer (the bytes overwritten);
  // how many went.
  virtual Result<std::int64_t> delete_pii_keys(const std::string& subject) = 0;
  // Customers head office forgot, with the change that announced it to the
  // stores (a customer forgotten again gets the new change).
  virtual Result<std::optional<std::int64_t>> forgotten_change(const std::string& customer_id) = 0;
  // `origin`: the store where the customer asked, or "" for head office;
  // that store has forgotten them already and is not told again (a consent
  // the customer gave there after asking stays).
  virtual Status save_forgotten(const std::string& customer_id, const std::string& origin,
                                std::int64_t at_ms, std::int64_t change_seq) = 0;
  // Customers forgotten after `cursor` that `store_id` must forget.
  virtual Result<std::vector<std::string>> forgotten_since(const std::string& store_id,
                                                           std::int64_t cursor) = 0;

  // Rule sets.
  virtual Result<std::optional<RulesRecord>> latest_rules() = 0;
  virtual Status insert_rules(const RulesRecord& rules) = 0;

  // Code keys: the whole list, and when it last changed (0: never).
  virtual Result<std::vector<CodeKeyRecord>> code_keys() = 0;
  virtual Result<std::int64_t> code_keys_changed() = 0;
  virtual Status put_code_key(const CodeKeyRecord& key, std::int64_t change_seq) = 0;

  // Revocations (a code or a store is revoked once; later calls change nothing).
  virtual Result<bool> revoke_code(const std::string& code, std::int64_t change_seq) = 0;
  virtual Result<std::vector<std::string>> revoked_codes_since(std::int64_t cursor) = 0;
  virtual Result<std::vector<std::string>> revoked_stores_since(std::int64_t cursor) = 0;

  // ---- Reading for the referral report (docs/reports.md, "At head office"),
  // on a connection of the report's own. A back end that reads from a file
  // the report engine can open itself (SQLite) need not implement these:
  // the defaults say so, and Service reads the file instead.

  // Runs `work` in one read-only transaction that sees a single committed
  // state, however long it takes (PostgreSQL: REPEATABLE READ), so the
  // report's figures agree with one another while stores keep syncing.
  virtual Status read_snapshot(const std::function<Status()>& work) {
    (void)work;
    return not_for_reports();
  }
  // Every store head office has heard from, by id.
  virtual Result<std::vector<std::string>> store_ids() { return not_for_reports(); }
  // Events with at_ms < before_ms, ordered by (store_id, seq), streamed (a
  // chain's log does not fit in memory), stopping at the visitor's first
  // error. `total` (may be empty) first gets how many there are.
  virtual Status scan_events(std::int64_t before_ms,
                             const std::function<void(std::int64_t total)>& total,
                             const std::function<Status(const EventView&)>& visit) {
    (void)before_ms, (void)total, (void)visit;
    return not_for_reports();
  }
  // Every conflict, by conflict_id, each with its transactions in arrival order.
  virtual Result<std::vector<ConflictRecord>> all_conflicts() { return not_for_reports(); }
  // For the follow-up exports: the contact-data key `store_id` uploaded for
  // `subject` (pii_keys); nullopt when there is none (forgotten, or never
  // uploaded). The caller wipes the key when done.
  virtual Result<std::optional<store::PiiKey>> find_pii_key(const std::string& store_id,
                                                            const std::string& subject) {
    (void)store_id, (void)subject;
    return not_for_reports();
  }

 protected:
  static Error raced() {
    return make_error(ErrorKind::conflict, "", "another head office took this store's batch first",
                      "raced");
  }

 private:
  static Error not_for_reports() {
    return make_error(ErrorKind::internal, "", "hq: this storage serves reports from its file",
                      "not_implemented");
  }
};

}  // namespace refpos::hq
