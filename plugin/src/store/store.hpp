// The store's local state in one SQLite file (<data_dir>/refpos.db): the
// event log plus the tables derived from it that checkout needs fast
// (customers, codes, redemptions, wallets) and the answers already given
// (transactions, reversals) that make commit and reverse idempotent.
//
// Every method runs in the caller's transaction where it writes; the Store
// itself holds no state but the connection and the folder lock. Schema
// changes are numbered migrations tracked in PRAGMA user_version.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "rules/evaluate.hpp"
#include "store/checkpointer.hpp"
#include "store/database.hpp"
#include "store/event_log.hpp"

namespace refpos::store {

struct SavedAnswer {
  std::vector<std::uint8_t> request_sha256;
  std::string answer;
};

struct TransactionRecord {
  std::optional<std::string> customer_id;
  std::optional<std::string> issued_code;   // a code this transaction created
  std::optional<std::string> reversed_by;   // reversal_id
};

struct RedemptionRecord {
  std::string code;
  std::int64_t discount_minor = 0;
  std::optional<std::string> referrer_customer_id;  // rewarded here, if known
  std::int64_t referrer_reward = 0;                 // in referrer_unit
  std::string program;
  std::int64_t redeemed_at_ms = 0;
  std::string terminal_id;
  std::optional<std::string> cashier_id;
  std::string referrer_unit = "store_credit";       // store_credit, points or gift_card
  std::int64_t referrer_spendable_at_ms = 0;
  bool referrer_held = false;
  std::int64_t referee_credit_minor = 0;
  bool rewarded = true;                             // the referrer's reward still stands
};

// One movement in a wallet: a reward (pending until spendable_at_ms), a
// spend, a reversal. Balances are sums, so every movement is a fact.
struct WalletEntry {
  std::string customer_id;                          // or "partner:<id>"
  std::string unit;                                 // store_credit, points, gift_card
  std::int64_t amount = 0;
  std::int64_t spendable_at_ms = 0;
  bool held = false;
  std::optional<std::string> txn_id;
  std::string source;
};

struct Balance {
  std::int64_t spendable = 0;
  std::int64_t pending = 0;   // becomes spendable after the return window
  std::int64_t held = 0;      // held for review at head office
};

struct Notice {
  std::string txn_id;         // the friend's redemption
  std::string text;
};

// How redemptions are counted for velocity rules.
enum class CountBy { code, terminal, cashier };

struct CodeRecord {
  std::string code;  // normalised
  std::int64_t issued_at_ms = 0;
  std::int64_t expires_at_ms = 0;
  std::int64_t redemptions = 0;
  bool revoked = false;
};

struct CustomerView {
  bool known = false;
  std::int64_t first_seen_ms = 0;
  std::int64_t purchases = 0;
  std::int64_t balance_minor = 0;
  std::optional<std::string> referred_by;
  std::vector<CodeRecord> codes;
};

// Forgets a customer on `db`, in the caller's transaction: deletes their
// sealing key (secure_delete overwrites it), identities and leads' sealed
// contacts, so what the log seals for them no longer opens; money facts
// stay. How many rows went. Shared by Store::forget (the till) and the sync
// (head office forgot them).
Result<std::int64_t> forget_customer(Database& db, const std::string& customer_id);

class Store {
 public:
  // Opens or creates the store in `data_dir`, migrating its schema, and locks
  // the folder for this process. A file made for another store id or
  // currency is refused (config).
  static Result<std::unique_ptr<Store>> open(const std::string& data_dir,
                                             const std::string& store_id,
                                             const std::string& currency);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Database& db() { return *db_; }
  [[nodiscard]] const std::string& store_id() const { return store_id_; }

  Result<AppendedEvent> append(std::int64_t at_ms, std::int64_t ruleset_version,
                               const EventDraft& event);

  Result<std::optional<SavedAnswer>> find_transaction(const std::string& txn_id);
  Result<std::optional<TransactionRecord>> transaction_record(const std::string& txn_id);
  Status save_transaction(const std::string& txn_id, const SavedAnswer& saved,
                          const std::optional<std::string>& customer_id,
                          const std::optional<std::string>& issued_code, std::int64_t at_ms);
  Status mark_transaction_reversed(const std::string& txn_id, const std::string& reversal_id);

  Result<std::optional<SavedAnswer>> find_reversal(const std::string& reversal_id);
  Status save_reversal(const std::string& reversal_id, const std::string& txn_id,
                       const SavedAnswer& saved, std::int64_t at_ms);

  Result<rules::CustomerFacts> customer_facts(const std::string& customer_id);
  // Adds the customer if unknown; true if they were added.
  Result<bool> register_customer(const std::string& customer_id, std::int64_t at_ms,
                                 const std::optional<std::string>& referred_by);
  Status count_purchase(const std::string& customer_id, std::int64_t delta);

  // The code's row and its redemptions here (not reversed): in all, and
  // since period_start_ms (pass kNoPeriod when no limit counts per period).
  static constexpr std::int64_t kNoPeriod = INT64_MAX;
  Result<rules::CodeFacts> code_facts(const std::string& code, std::int64_t period_start_ms = kNoPeriod);
  Status insert_code(const std::string& code, const std::string& customer_id,
                     std::int64_t issued_at_ms, std::int64_t expires_at_ms);
  // The customer's newest code that is neither revoked nor expired at now_ms.
  Result<std::optional<CodeRecord>> valid_code_of(const std::string& customer_id,
                                                  std::int64_t now_ms);
  Status revoke_code(const std::string& code);

  Status insert_redemption(const std::string& txn_id, const std::string& customer_id,
                           const RedemptionRecord& redemption);
  Result<std::optional<RedemptionRecord>> redemption_of(const std::string& txn_id);
  Status mark_redemption_reversed(const std::string& txn_id);

  Status mark_referrer_unrewarded(const std::string& txn_id);
  Result<CustomerView> customer_view(const std::string& customer_id);

  // The referral loop (store/loop.cpp).
  Status add_wallet_entry(const WalletEntry& entry);
  Result<Balance> balance(const std::string& customer_id, std::string_view unit, std::int64_t now_ms);
  Result<std::int64_t> count_redemptions(CountBy by, const std::string& value, std::int64_t since_ms);
  Result<std::int64_t> count_referrer_rewards(const std::string& referrer, std::int64_t since_ms);
  // How long and how much the store has been on its own: since the last
  // sync (or the first open, before any sync), and the value granted
  // (discounts, friend's credit, referrer's money) since then. One read.
  struct OfflineExposure {
    std::int64_t since_ms = 0;
    std::int64_t granted_minor = 0;
  };
  Result<OfflineExposure> offline_exposure();
  Status add_granted(std::int64_t minor);
  Status add_identity(const std::string& customer_id, const std::string& hash);
  Result<rules::IdSet> identities_of(const std::string& customer_id);
  // The subject's sealing key, made on first use.
  Result<std::vector<std::uint8_t>> pii_key(const std::string& subject, bool create);
  // Forgets a subject: their key, identities and leads' sealed contacts.
  // Returns how many rows went.
  Result<std::int64_t> forget(const std::string& customer_id);
  Result<bool> lead_exists(const std::string& lead_id);
  Status insert_lead(const std::string& lead_id, const std::string& customer_id,
                     const std::string& sealed, std::int64_t at_ms);
  Status add_notice(const std::string& txn_id, const std::string& customer_id, const std::string& text);
  Status drop_notice(const std::string& txn_id);
  Result<std::vector<Notice>> undelivered_notices(const std::string& customer_id);
  Status mark_notices_delivered(const std::string& customer_id, const std::string& in_txn);
  Status save_lines(const std::string& txn_id, const std::string& lines_json);
  Result<std::optional<std::string>> lines_of(const std::string& txn_id);
  Result<std::optional<std::string>> refunded_of(const std::string& txn_id);
  Status set_refunded(const std::string& txn_id, const std::string& refunded_json);
  Result<std::optional<SavedAnswer>> find_ask_outcome(const std::string& txn_id);
  Status save_ask_outcome(const std::string& txn_id, const SavedAnswer& saved);
  // meta values (e.g. "last_sync_ms", "opened_at_ms").
  Result<std::optional<std::string>> meta(const std::string& key);
  Status set_meta(const std::string& key, const std::string& value);

 private:
  Store(std::unique_ptr<Database> db, int lock_fd, std::string store_id);
  std::unique_ptr<Database> db_;
  std::unique_ptr<Checkpointer> checkpointer_;  // stopped before db_ closes
  int lock_fd_;
  std::string store_id_;
};

}  // namespace refpos::store
