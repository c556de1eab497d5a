// Storage (storage.hpp) in PostgreSQL, through libpq: the back end for a
// chain that runs several refpos-hq instances, stateless, against one
// database. Same tables, columns and meaning
// as SqliteStorage; the schema is written, table by table, in pg_storage.cpp.
//
// Contract, and what a reader could get wrong:
// - Serialised by the DATABASE, not by this process. Every write(work)
//   transaction starts with `SELECT pg_advisory_xact_lock(kWriteLockKey)`:
//   one writer at a time across every connection of every instance, released
//   by COMMIT or ROLLBACK (a crashed instance's lock goes with its session).
//   An in-process mutex (SqliteStorage's WriteGate) would serialise one
//   instance only. The lock also keeps the global change counter monotone
//   in commit order: next_change() is called inside the lock, so change N
//   commits (and becomes visible, before the lock is released) before
//   change N+1 is even handed out, and a pull that answers with cursor N
//   can never later see a row carrying a change <= N appear. Pulls' cursors
//   depend on exactly that. Row locks on `changes` alone would not do: a
//   transaction could read before its first next_change() and act on a
//   state another writer is about to change.
// - Writers are serialised, so READ COMMITTED suffices: each statement of a
//   write sees every commit before it, and nothing else commits meanwhile.
//   Reads outside write() run in autocommit, each statement on a committed
//   state.
// - Parameterised statements only, prepared (PQprepare) once per
//   connection on first use and run with PQexecPrepared. Hashes and keys
//   are bytea, sent in binary; text is sent as text and refused if it holds
//   a NUL byte (PostgreSQL text cannot, and libpq would cut it short).
// - A write whose result the caller does not read (folding's: ledger
//   entries, store customers, redemptions, code owners, the fold queue) is
//   sent without waiting for it (libpq's pipeline mode, send_later in
//   pg_storage.cpp), and its result read before the next statement that
//   answers something and before COMMIT. A failure there fails that
//   statement, with the write's own error, and so the whole write(), which
//   is rolled back as any other: a round trip per read, not per fact.
// - Inside write(), what the transaction read is kept until it ends
//   (TransactionMemo): the newest rule set, the customers it marked known,
//   and what preload_fold read for one fold item, updated by its own
//   writes. Exact, because the write lock keeps every other writer out.
// - Errors are Error values, never a crash: ErrorKind::storage with reason
//   "unavailable" when the connection is gone (the server restarted, the
//   network failed; the next write() reconnects), "constraint" for a
//   unique or check violation, "io" otherwise. No message ever holds the
//   connection's password: the URL is shown through redact_conninfo().
// - One connection per PgStorage, and a fixed set of them per refpos-hq:
//   the server thread's (every request; the Service is single-threaded, so
//   a pool lending several would only queue on the write lock), the fold
//   worker's (open_another) and the report thread's (open_another, kept
//   between reports). kConnectionsPerInstance is that bound; each
//   connection reconnects in place, never adding one. Size PostgreSQL's
//   max_connections from it (docs/scale-out.md); tests/scale counts them.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "hq/storage.hpp"

struct pg_conn;  // libpq's PGconn, kept out of this header

namespace refpos::hq {

// The conninfo (URI or key=value) with its password replaced by "***":
//   postgresql://user:secret@host/db       -> postgresql://user:***@host/db
//   postgresql://h/db?password=secret      -> postgresql://h/db?password=***
//   host=h password=secret dbname=d        -> host=h password=*** dbname=d
std::string redact_conninfo(const std::string& conninfo);

// What messages about a connection may show (PgStorage, and the migration
// in migrate.cpp): the conninfo redacted, and libpq's or the server's text
// with the password hidden wherever libpq reads it from (URI, key=value or
// a query parameter), cut to its first line.
class ShownConninfo {
 public:
  explicit ShownConninfo(const std::string& conninfo);
  [[nodiscard]] const std::string& url() const { return url_; }
  [[nodiscard]] std::string clean(std::string message) const;

 private:
  std::string url_;       // redacted
  std::string password_;  // as libpq parsed it, to hide: never shown
};

// Why connecting with these libpq parameters (PQconnectdbParams' keys and
// values, expand_dbname 1) failed: "unavailable" when the server does not
// answer or is starting or stopping (wait and retry), "refused" when it
// answers and refuses (a password, a database that does not exist, bad
// parameters: a configuration to fix, not an outage to wait out).
std::string connect_failure_reason(const char* const* keys, const char* const* values);

class PgStorage final : public Storage {
 public:
  // Connects to `url` (any libpq conninfo URI or key=value string) and
  // brings the schema up to date (migrations in one transaction, under the
  // write lock, so instances starting together migrate once).
  static Result<std::unique_ptr<PgStorage>> open(const std::string& url);
  // Connections one refpos-hq opens at most (header): foreground, fold, report.
  static constexpr int kConnectionsPerInstance = 3;
  // The same, for a server that must start while the database is down
  // (docs/scale-out.md, "When PostgreSQL is down"): no connection is made
  // now; the first statement connects and migrates, and until it can,
  // every call fails with ErrorKind::storage, reason "unavailable" (which
  // refpos-hq answers 503 with a retry hint).
  static std::unique_ptr<PgStorage> open_when_available(const std::string& url);
  // For refposctl's reports and exports: a connection that never writes
  // (default_transaction_read_only, so nothing it runs can change the
  // database) and never migrates. A schema older or newer than this
  // program's is refused (reason "schema"), naming both versions: the
  // head office's own refpos-hq migrates it.
  static Result<std::unique_ptr<PgStorage>> open_read_only(const std::string& url);
  ~PgStorage() override;
  PgStorage(const PgStorage&) = delete;
  PgStorage& operator=(const PgStorage&) = delete;

  Status write(const std::function<Status()>& work) override;
  // A second connection to the same database, for background work: its
  // commits do not wait for the WAL flush (synchronous_commit=off: lost to a
  // crash until the next commit of another connection flushes the WAL past
  // them, as storage.hpp allows).
  Result<std::unique_ptr<Storage>> open_another() override;
  // For a background connection: is any other session waiting for the write
  // lock (pg_locks, asked at most once per kWaitingCheckInterval, so a
  // long fold asks it a few hundred times a second at most)? The waiter
  // may be a foreground connection of any instance, or another instance's
  // background one; either way this transaction ends early, which is safe.
  // Always false for a foreground connection.
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
  // The whole push in one COPY: one round trip instead of one per event.
  Status insert_events(const std::string& store_id, std::span<const sync::WireEvent> events,
                       std::int64_t change_seq) override;
  // In four round trips, as a raw COPY of the rows takes: BEGIN, the lock,
  // the next change and the store's acked_seq in one pipeline; the COPY
  // (two); the fold item, the store's progress and COMMIT in one pipeline.
  // Inside another write() it is the default's sequence.
  Result<std::int64_t> append_push(const std::string& store_id, std::int64_t expected_acked,
                                   std::span<const sync::WireEvent> events,
                                   const StoreRecord& progress) override;
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
  Status mark_store_customer(const std::string& store_id, const std::string& customer_id,
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
  // Three statements (redemptions, owners, conflicts); until the write
  // transaction ends, the reads of what they returned are answered from
  // memory (TransactionMemo), as the writes of this transaction leave it.
  Status preload_fold(const std::string& store_id, std::span<const std::string> txn_ids,
                      std::span<const std::string> codes) override;

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

  // Reports read PostgreSQL through these (storage.hpp), on a connection
  // of their own: a REPEATABLE READ READ ONLY transaction, and events
  // through a server-side cursor, kEventsPerFetch rows at a time, so a
  // report's memory does not grow with the chain's log.
  Status read_snapshot(const std::function<Status()>& work) override;
  Result<std::vector<std::string>> store_ids() override;
  Status scan_events(std::int64_t before_ms, const std::function<void(std::int64_t total)>& total,
                     const std::function<Status(const EventView&)>& visit) override;
  Result<std::vector<ConflictRecord>> all_conflicts() override;
  Result<std::optional<store::PiiKey>> find_pii_key(const std::string& store_id,
                                                    const std::string& subject) override;
  static constexpr int kEventsPerFetch = 5'000;

  // The advisory lock every write transaction takes first: one number for
  // the whole database ("rpos" in ASCII), the same in every instance.
  static constexpr std::int64_t kWriteLockKey = 0x72706f73;
  static constexpr std::chrono::milliseconds kWaitingCheckInterval{5};

  // One libpq connection and what was prepared on it (the unit a pool will
  // lend out). Defined in pg_storage.cpp.
  class Connection;
  class Rows;
  class WriteScope;

 private:
  PgStorage(std::unique_ptr<Connection> conn, std::string url, bool background);
  // Brings the schema up to date; runs on every connection each time it
  // (re)connects, so a database restored empty or older is migrated again
  // before anything else reads it.
  static Status migrate(Connection& c);
  // open_read_only's check, on every (re)connect.
  static Status check_schema(Connection& c);
  Result<std::vector<ConflictTxn>> txns_of(std::int64_t conflict_id);
  struct TransactionMemo;
  Status preload_into(TransactionMemo& m, const std::string& store_id,
                      std::span<const std::string> txn_ids, std::span<const std::string> codes);
  Result<std::vector<ConflictRecord>> conflicts_from(const Rows& rows);

  std::unique_ptr<Connection> conn_;
  std::string url_;  // as given; shown only through redact_conninfo()
  bool background_ = false;
  bool in_write_ = false;
  // What the write transaction under way has read or written, so it is not
  // asked again: exact while it lasts, since the write lock keeps every
  // other writer out; made and dropped by WriteScope (pg_storage.cpp).
  std::unique_ptr<TransactionMemo> memo_;
  std::chrono::steady_clock::time_point last_waiting_check_{};
  // COPY rows of the last push (pg_storage.cpp, copy_rows): its capacity is
  // reused, so a push's rows go into memory already faulted in.
  std::string copy_buffer_;
};

}  // namespace refpos::hq
