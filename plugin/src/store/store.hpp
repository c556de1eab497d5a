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
  std::optional<std::string> referrer_customer_id;  // credited here, if known
  std::int64_t referrer_reward_minor = 0;
};

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

  Result<rules::CodeFacts> code_facts(const std::string& code);
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

  Status add_to_wallet(const std::string& customer_id, std::int64_t delta_minor);
  Result<CustomerView> customer_view(const std::string& customer_id);

 private:
  Store(std::unique_ptr<Database> db, int lock_fd, std::string store_id);
  std::unique_ptr<Database> db_;
  std::unique_ptr<Checkpointer> checkpointer_;  // stopped before db_ closes
  int lock_fd_;
  std::string store_id_;
};

}  // namespace refpos::store
