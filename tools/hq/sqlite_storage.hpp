// Storage (storage.hpp) in one SQLite file: WAL, synchronous=FULL (a push is
// acknowledged only once it is on disk), parameterised SQL only, and a
// schema brought up to date by numbered migrations (PRAGMA user_version), as
// the store does (plugin/src/store/store.cpp). Tables and columns are
// described where the schema is written, in sqlite_storage.cpp.
#pragma once

#include <memory>
#include <condition_variable>
#include <mutex>
#include <string>

#include "hq/storage.hpp"
#include "store/database.hpp"

namespace refpos::hq {

class SqliteStorage final : public Storage {
 public:
  // Opens (creating, migrating) the head office's database at `path`.
  static Result<std::unique_ptr<SqliteStorage>> open(const std::string& path);
  // The schema version open() brings a file to (PRAGMA user_version): the
  // number of migrations in sqlite_storage.cpp, which checks it.
  static constexpr int kSchemaVersion = 5;

  Status write(const std::function<Status()>& work) override;
  // Shares this connection's write gate (see write()).
  Result<std::unique_ptr<Storage>> open_another() override;
  bool others_waiting() override;
  Result<std::int64_t> current_change() override;
  Result<std::int64_t> next_change() override;

  Result<std::optional<StoreRecord>> find_store(const std::string& store_id) override;
  Status save_store_progress(const StoreRecord& store) override;
  Status touch_store(const std::string& store_id, std::int64_t seen_ms) override;
  Status record_pull(const std::string& store_id, std::int64_t seen_ms,
                     std::int64_t cursor) override;
  Status flag_store(const std::string& store_id, const std::string& reason) override;
  Result<bool> revoke_store(const std::string& store_id, std::int64_t change_seq) override;
  Status record_incident(const Incident& incident, std::int64_t change_seq) override;
  Result<std::int64_t> count_incidents(const std::string& store_id) override;

  Result<std::optional<sync::WireEvent>> find_event(const std::string& store_id,
                                                    std::int64_t seq) override;
  Status insert_event(const std::string& store_id, const sync::WireEvent& event,
                      std::int64_t change_seq) override;

  Result<std::vector<sync::WireEvent>> events_between(const std::string& store_id,
                                                      std::int64_t first_seq,
                                                      std::int64_t last_seq) override;
  Status enqueue_fold(const FoldItem& item) override;
  Result<std::optional<FoldItem>> next_fold() override;
  Status finish_fold(std::int64_t item_id) override;
  Status advance_fold(std::int64_t item_id, std::int64_t first_seq) override;
  Result<std::int64_t> fold_backlog() override;

  Status add_ledger_entry(const LedgerEntry& entry, std::int64_t change_seq) override;
  Result<bool> add_store_customer(const std::string& store_id, const std::string& customer_id,
                                  std::int64_t change_seq) override;
  Result<std::vector<std::string>> wallets_changed(const std::string& store_id,
                                                   std::int64_t cursor) override;
  Result<std::vector<sync::WalletEntryUpdate>> entries_elsewhere(
      const std::string& store_id, const std::string& customer_id) override;

  Status set_code_owner(const std::string& code, const std::string& customer_id,
                        const std::string& store_id) override;
  Result<std::optional<std::string>> find_code_owner(const std::string& code) override;
  Status insert_redemption(const RedemptionRecord& redemption) override;
  Status update_redemption(const RedemptionRecord& redemption) override;
  Result<std::optional<RedemptionRecord>> find_redemption(const std::string& store_id,
                                                          const std::string& txn_id) override;
  Result<std::vector<RedemptionRecord>> redemptions_of_code(const std::string& code) override;

  Result<std::optional<ConflictRecord>> find_conflict(const std::string& code,
                                                      const std::string& kind) override;
  Result<std::int64_t> save_conflict(const ConflictRecord& conflict) override;
  Result<std::vector<ConflictRecord>> conflicts_of_store(const std::string& store_id,
                                                         std::int64_t cursor) override;

  Result<std::optional<std::string>> find_hold_decision(const std::string& store_id,
                                                        const std::string& txn_id) override;
  Status save_hold_decision(const std::string& store_id, const sync::HoldDecision& d,
                            std::int64_t change_seq) override;
  Result<std::vector<sync::HoldDecision>> hold_decisions_since(const std::string& store_id,
                                                               std::int64_t cursor) override;

  Status put_pii_key(const std::string& store_id, const std::string& subject,
                     const std::vector<std::uint8_t>& key) override;
  Result<std::int64_t> delete_pii_keys(const std::string& subject) override;
  Result<std::optional<std::int64_t>> forgotten_change(const std::string& customer_id) override;
  Status save_forgotten(const std::string& customer_id, const std::string& origin,
                        std::int64_t at_ms, std::int64_t change_seq) override;
  Result<std::vector<std::string>> forgotten_since(const std::string& store_id,
                                                   std::int64_t cursor) override;

  Result<std::optional<RulesRecord>> latest_rules() override;
  Status insert_rules(const RulesRecord& rules) override;

  Result<std::vector<CodeKeyRecord>> code_keys() override;
  Result<std::int64_t> code_keys_changed() override;
  Status put_code_key(const CodeKeyRecord& key, std::int64_t change_seq) override;

  Result<bool> revoke_code(const std::string& code, std::int64_t change_seq) override;
  Result<std::vector<std::string>> revoked_codes_since(std::int64_t cursor) override;
  Result<std::vector<std::string>> revoked_stores_since(std::int64_t cursor) override;

 private:
  // One writer at a time among this process's connections to one file,
  // foreground first (storage.hpp, open_another).
  class WriteGate {
   public:
    void lock(bool background);
    void unlock();
    [[nodiscard]] bool foreground_waiting() const;

   private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool held_ = false;
    int foreground_waiting_ = 0;
  };

  SqliteStorage(std::unique_ptr<store::Database> db, std::string path,
                std::shared_ptr<WriteGate> gate, bool background)
      : db_(std::move(db)), path_(std::move(path)), gate_(std::move(gate)), background_(background) {}
  Result<std::vector<ConflictTxn>> txns_of(std::int64_t conflict_id);
  std::unique_ptr<store::Database> db_;
  std::string path_;
  std::shared_ptr<WriteGate> gate_;  // one per file, shared by open_another()
  bool background_ = false;
  bool in_write_ = false;
};

}  // namespace refpos::hq
