// Head office database format, table by table (migration 1):
//
//   changes          one row: `last`, the global change counter. Every row a
//                    store may hear about carries the change_seq of its last
//                    change; pulls ask for change_seq > cursor.
//   stores           store_id, acked_seq (highest seq held), last_hash (hash
//                    of that event, 32 zero bytes at 0), last_seen_ms,
//                    revoked (+ revoked_change_seq), flagged_reason ('' or
//                    "fork"/"seq_reused": for the report).
//   events           (store_id, seq) -> type, at_ms, ruleset_version, body
//                    (the exact text hashed), prev_hash, hash, change_seq.
//                    Append-only (triggers).
//   ledger           wallet entries: customer_id, unit, amount,
//                    spendable_at_ms, held, origin (store id or 'hq'), source
//                    (what made it), change_seq. Append-only: a settlement is
//                    a new entry, never an edit.
//   store_customers  (store_id, customer_id): the customers a store knows,
//                    change_seq of when it learnt them.
//   redemptions      (store_id, txn_id) -> code, seq, referee, referrer and
//                    the referrer's reward; reversal flags. rowid is the
//                    arrival order, which settles "the later reward";
//                    referrer_by_code when head office named the referrer.
//   code_owners      code -> customer_id, store_id from code_issued events:
//                    whose code a store that did not issue it redeemed.
//   conflicts        conflict_id, code, kind, settlement, change_seq; and
//   conflict_txns    (conflict_id, store_id, txn_id) the redemptions in it.
//   rule_sets        version -> document (canonical JSON), signature_hex,
//                    change_seq.
//   code_keys        id -> secret_hex, active, change_seq.
//   revocations      (kind 'code'|'store', value) -> change_seq.
//   incidents        forks and reused seqs: store_id, kind, seq, detail,
//                    at_ms, change_seq.
//
// Migration 2:
//   fold_queue       item_id (arrival order), store_id, first_seq, last_seq,
//                    change_seq (the push's): pushed events not folded yet.
//                    A push inserts its row; the transaction that folds the
//                    events deletes it.
//
// Migration 3:
//   hold_decisions   (store_id, txn_id) -> decision ('release'|'forfeit'),
//                    change_seq: head office's review of a held referrer
//                    reward, pulled by the store that held it.
//
// Migration 4:
//   pii_keys         (store_id, subject) -> key: a store's sealing key for a
//                    customer's contact data (a secret). The connection runs
//                    with secure_delete, so a deleted key's bytes are
//                    overwritten.
//   forgotten        customer_id -> origin (the store where they asked, ''
//                    for head office), forgotten_at_ms, change_seq: customers head
//                    office forgot, pulled by every store but the origin.
#include "hq/sqlite_storage.hpp"

#include <algorithm>
#include <iterator>

namespace refpos::hq {
namespace {

using store::Database;
using store::Query;

// Migration N brings user_version from N-1 to N. Append only.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE changes (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL) STRICT;
INSERT INTO changes (id, last) VALUES (1, 0);
CREATE TABLE stores (
  store_id TEXT PRIMARY KEY,
  acked_seq INTEGER NOT NULL DEFAULT 0 CHECK (acked_seq >= 0),
  last_hash BLOB NOT NULL CHECK (length(last_hash) = 32),
  last_seen_ms INTEGER NOT NULL DEFAULT 0,
  revoked INTEGER NOT NULL DEFAULT 0,
  revoked_change_seq INTEGER,
  flagged_reason TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE TABLE events (
  store_id TEXT NOT NULL,
  seq INTEGER NOT NULL CHECK (seq > 0),
  type TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  ruleset_version INTEGER NOT NULL,
  body TEXT NOT NULL,
  prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
  hash BLOB NOT NULL CHECK (length(hash) = 32),
  change_seq INTEGER NOT NULL,
  PRIMARY KEY (store_id, seq)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END;
CREATE TABLE ledger (
  entry_id INTEGER PRIMARY KEY,
  customer_id TEXT NOT NULL,
  unit TEXT NOT NULL CHECK (unit IN ('store_credit', 'points', 'gift_card')),
  amount INTEGER NOT NULL,
  spendable_at_ms INTEGER NOT NULL,
  held INTEGER NOT NULL,
  origin TEXT NOT NULL,
  source TEXT NOT NULL,
  change_seq INTEGER NOT NULL
) STRICT;
CREATE INDEX ledger_by_customer ON ledger(customer_id, origin);
CREATE INDEX ledger_by_change ON ledger(change_seq);
CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only: UPDATE refused'); END;
CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only: DELETE refused'); END;
CREATE TABLE store_customers (
  store_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  change_seq INTEGER NOT NULL,
  PRIMARY KEY (store_id, customer_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX store_customers_by_customer ON store_customers(customer_id);
CREATE TABLE redemptions (
  arrival INTEGER PRIMARY KEY,
  store_id TEXT NOT NULL,
  txn_id TEXT NOT NULL,
  code TEXT NOT NULL,
  seq INTEGER NOT NULL,
  referee_customer_id TEXT NOT NULL,
  referrer_customer_id TEXT,
  referrer_unit TEXT NOT NULL,
  referrer_amount INTEGER NOT NULL,
  referrer_spendable_at_ms INTEGER NOT NULL,
  referrer_held INTEGER NOT NULL,
  reversed INTEGER NOT NULL,
  referrer_reversed_by_hq INTEGER NOT NULL,
  referrer_reversed_by_store INTEGER NOT NULL,
  referrer_by_code INTEGER NOT NULL DEFAULT 0,
  UNIQUE (store_id, txn_id)
) STRICT;
CREATE INDEX redemptions_by_code ON redemptions(code, arrival);
CREATE TABLE code_owners (
  code TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  store_id TEXT NOT NULL
) STRICT;
CREATE TABLE conflicts (
  conflict_id INTEGER PRIMARY KEY,
  code TEXT NOT NULL,
  kind TEXT NOT NULL,
  settlement TEXT NOT NULL,
  change_seq INTEGER NOT NULL,
  UNIQUE (code, kind)
) STRICT;
CREATE TABLE conflict_txns (
  conflict_id INTEGER NOT NULL REFERENCES conflicts(conflict_id),
  store_id TEXT NOT NULL,
  txn_id TEXT NOT NULL,
  arrival INTEGER NOT NULL,
  PRIMARY KEY (conflict_id, store_id, txn_id)
) STRICT;
CREATE INDEX conflict_txns_by_store ON conflict_txns(store_id);
CREATE TABLE rule_sets (
  version INTEGER PRIMARY KEY CHECK (version > 0),
  document TEXT NOT NULL,
  signature_hex TEXT NOT NULL,
  change_seq INTEGER NOT NULL
) STRICT;
CREATE TABLE code_keys (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  secret_hex TEXT NOT NULL,
  active INTEGER NOT NULL,
  change_seq INTEGER NOT NULL
) STRICT;
CREATE TABLE revocations (
  kind TEXT NOT NULL CHECK (kind IN ('code', 'store')),
  value TEXT NOT NULL,
  change_seq INTEGER NOT NULL,
  PRIMARY KEY (kind, value)
) STRICT, WITHOUT ROWID;
CREATE INDEX revocations_by_change ON revocations(change_seq);
CREATE TABLE incidents (
  incident_id INTEGER PRIMARY KEY,
  store_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  seq INTEGER NOT NULL,
  detail TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  change_seq INTEGER NOT NULL
) STRICT;
)sql",
    // 2: folding runs behind ingest. Events of a database at version 1 were
    // folded as they arrived, so the queue starts empty.
    R"sql(
CREATE TABLE fold_queue (
  item_id INTEGER PRIMARY KEY,
  store_id TEXT NOT NULL,
  first_seq INTEGER NOT NULL CHECK (first_seq > 0),
  last_seq INTEGER NOT NULL CHECK (last_seq >= first_seq),
  change_seq INTEGER NOT NULL
) STRICT;
)sql",
    // 3: head office's decisions on referrer rewards stores held for review.
    R"sql(
CREATE TABLE hold_decisions (
  store_id TEXT NOT NULL,
  txn_id TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('release', 'forfeit')),
  change_seq INTEGER NOT NULL,
  PRIMARY KEY (store_id, txn_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX hold_decisions_by_change ON hold_decisions(store_id, change_seq);
)sql",
    // 4: contact-data keys from the stores, and the customers forgotten.
    R"sql(
CREATE TABLE pii_keys (
  store_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  key BLOB NOT NULL CHECK (length(key) = 32),
  PRIMARY KEY (store_id, subject)
) STRICT, WITHOUT ROWID;
CREATE INDEX pii_keys_by_subject ON pii_keys(subject);
CREATE TABLE forgotten (
  customer_id TEXT PRIMARY KEY,
  origin TEXT NOT NULL,
  forgotten_at_ms INTEGER NOT NULL,
  change_seq INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX forgotten_by_change ON forgotten(change_seq);
)sql",
    // 5: the cursor each store was last handed (StoreRecord::pulled_cursor).
    // No store can hold one past the counter as it stands now.
    R"sql(
ALTER TABLE stores ADD COLUMN pulled_cursor INTEGER NOT NULL DEFAULT 0;
UPDATE stores SET pulled_cursor = (SELECT last FROM changes WHERE id = 1);
)sql",
};

static_assert(SqliteStorage::kSchemaVersion == static_cast<int>(std::size(kMigrations)),
              "SqliteStorage::kSchemaVersion (sqlite_storage.hpp) is the number of migrations");
constexpr int kSchemaVersion = SqliteStorage::kSchemaVersion;

Status migrate(Database& db) {
  int version = 0;
  {
    auto q = db.query("PRAGMA user_version");
    if (!q) return q.error();
    if (auto row = (*q)->step(); !row) return row.error();
    version = static_cast<int>((*q)->int64(0));
  }
  if (version > kSchemaVersion) {
    return make_error(ErrorKind::storage, "",
                      "hq: the database has schema version " + std::to_string(version) +
                          ", newer than this server's " + std::to_string(kSchemaVersion),
                      "too_new");
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    auto tx = store::WriteTransaction::begin(db);
    if (!tx) return tx.error();
    if (auto st = db.exec(kMigrations[v]); !st) return st;
    const std::string set_version = "PRAGMA user_version = " + std::to_string(v + 1);
    if (auto st = db.exec(set_version.c_str()); !st) return st;
    if (auto st = (*tx)->commit(); !st) return st;
  }
  return ok_status();
}

store::Hash to_hash(const std::vector<std::uint8_t>& bytes) {
  store::Hash h{};
  if (bytes.size() == h.size()) std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

Status run(Result<std::unique_ptr<Query>>& q) {
  if (!q) return q.error();
  return (*q)->run();
}

// Runs `q` and collects one value per row with `read`.
template <typename T, typename Read>
Result<std::vector<T>> collect(Query& q, Read read) {
  std::vector<T> out;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(read(q));
  }
}

RedemptionRecord read_redemption(const Query& q) {
  RedemptionRecord r;
  r.store_id = q.text(0);
  r.txn_id = q.text(1);
  r.code = q.text(2);
  r.seq = q.int64(3);
  r.referee_customer_id = q.text(4);
  r.referrer_customer_id = q.optional_text(5);
  r.referrer_unit = q.text(6);
  r.referrer_amount = q.int64(7);
  r.referrer_spendable_at_ms = q.int64(8);
  r.referrer_held = q.int64(9) != 0;
  r.reversed = q.int64(10) != 0;
  r.referrer_reversed_by_hq = q.int64(11) != 0;
  r.referrer_reversed_by_store = q.int64(12) != 0;
  r.referrer_by_code = q.int64(13) != 0;
  return r;
}

}  // namespace

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::open(const std::string& path) {
  auto db = Database::open(path);  // WAL, synchronous=FULL
  if (!db) return db.error();
  if (auto st = migrate(**db); !st) return st.error();
  return std::unique_ptr<SqliteStorage>(
      new SqliteStorage(std::move(*db), path, std::make_shared<WriteGate>(), false));
}

Result<std::unique_ptr<Storage>> SqliteStorage::open_another() {
  auto db = Database::open(path_);  // already migrated by open()
  if (!db) return db.error();
  // In WAL mode synchronous is per connection: this one's commits reach the
  // disk with the next synced commit of another connection (or a
  // checkpoint); a pull's or a push's commit syncs them before anything
  // they wrote is answered.
  if (auto st = (*db)->exec("PRAGMA synchronous=NORMAL"); !st) return st.error();
  return std::unique_ptr<Storage>(new SqliteStorage(std::move(*db), path_, gate_, true));
}

void SqliteStorage::WriteGate::lock(bool background) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!background) ++foreground_waiting_;
  cv_.wait(lock, [&] { return !held_ && (!background || foreground_waiting_ == 0); });
  if (!background) --foreground_waiting_;
  held_ = true;
}

void SqliteStorage::WriteGate::unlock() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = false;
  }
  cv_.notify_all();
}

bool SqliteStorage::WriteGate::foreground_waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return foreground_waiting_ > 0;
}

bool SqliteStorage::others_waiting() { return background_ && gate_->foreground_waiting(); }

Status SqliteStorage::write(const std::function<Status()>& work) {
  if (in_write_) return work();  // joins the unit of work already open
  // SQLite lets one connection write at a time and makes the others wait in
  // its busy handler, which sleeps in steps of milliseconds: connections of
  // this process queue at the gate instead, and wait no longer than the
  // writer.
  gate_->lock(background_);
  struct Open {
    WriteGate& gate;
    ~Open() { gate.unlock(); }
  } open{*gate_};
  auto tx = store::WriteTransaction::begin(*db_);
  if (!tx) return tx.error();
  in_write_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{in_write_};
  if (auto st = work(); !st) return st;  // the transaction rolls back
  return (*tx)->commit();
}

Result<std::int64_t> SqliteStorage::current_change() {
  auto q = db_->query("SELECT last FROM changes WHERE id = 1");
  if (!q) return q.error();
  if (auto row = (*q)->step(); !row) return row.error();
  return (*q)->int64(0);
}

Result<std::int64_t> SqliteStorage::next_change() {
  auto q = db_->query("UPDATE changes SET last = last + 1 WHERE id = 1 RETURNING last");
  if (!q) return q.error();
  auto row = (*q)->step();
  if (!row) return row.error();
  const std::int64_t n = (*q)->int64(0);
  if (auto done = (*q)->step(); !done) return done.error();
  return n;
}

Result<std::optional<StoreRecord>> SqliteStorage::find_store(const std::string& store_id) {
  auto q = db_->query(
      "SELECT acked_seq, last_hash, last_seen_ms, revoked, flagged_reason, pulled_cursor FROM stores"
      " WHERE store_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<StoreRecord>{};
  StoreRecord s;
  s.store_id = store_id;
  s.acked_seq = (*q)->int64(0);
  s.last_hash = to_hash((*q)->blob(1));
  s.last_seen_ms = (*q)->int64(2);
  s.revoked = (*q)->int64(3) != 0;
  s.flagged_reason = (*q)->text(4);
  s.pulled_cursor = (*q)->int64(5);
  return std::optional<StoreRecord>(std::move(s));
}

namespace {
Status ensure_store(Database& db, const std::string& store_id) {
  const store::Hash zero{};
  auto q = db.query("INSERT OR IGNORE INTO stores (store_id, last_hash) VALUES (?1, ?2)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id)).bind_blob(2, zero);
  return (*q)->run();
}
}  // namespace

Status SqliteStorage::save_store_progress(const StoreRecord& s) {
  if (auto st = ensure_store(*db_, s.store_id); !st) return st;
  auto q = db_->query(
      "UPDATE stores SET acked_seq = ?2, last_hash = ?3, last_seen_ms = ?4 WHERE store_id = ?1");
  if (q) {
    (*q)->bind(1, std::string_view(s.store_id)).bind(2, s.acked_seq).bind_blob(3, s.last_hash);
    (*q)->bind(4, s.last_seen_ms);
  }
  return run(q);
}

Status SqliteStorage::touch_store(const std::string& store_id, std::int64_t seen_ms) {
  if (auto st = ensure_store(*db_, store_id); !st) return st;
  auto q = db_->query("UPDATE stores SET last_seen_ms = max(last_seen_ms, ?2) WHERE store_id = ?1");
  if (q) (*q)->bind(1, std::string_view(store_id)).bind(2, seen_ms);
  return run(q);
}

Status SqliteStorage::record_pull(const std::string& store_id, std::int64_t seen_ms,
                                  std::int64_t cursor) {
  if (auto st = ensure_store(*db_, store_id); !st) return st;
  auto q = db_->query(
      "UPDATE stores SET last_seen_ms = max(last_seen_ms, ?2), pulled_cursor = ?3 WHERE store_id = ?1");
  if (q) (*q)->bind(1, std::string_view(store_id)).bind(2, seen_ms).bind(3, cursor);
  return run(q);
}

Status SqliteStorage::flag_store(const std::string& store_id, const std::string& reason) {
  if (auto st = ensure_store(*db_, store_id); !st) return st;
  auto q = db_->query("UPDATE stores SET flagged_reason = ?2 WHERE store_id = ?1");
  if (q) (*q)->bind(1, std::string_view(store_id)).bind(2, std::string_view(reason));
  return run(q);
}

Result<bool> SqliteStorage::revoke_store(const std::string& store_id, std::int64_t change_seq) {
  if (auto st = ensure_store(*db_, store_id); !st) return st.error();
  auto q = db_->query(
      "UPDATE stores SET revoked = 1, revoked_change_seq = ?2 WHERE store_id = ?1 AND revoked = 0");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id)).bind(2, change_seq);
  if (auto st = (*q)->run(); !st) return st.error();
  if (sqlite3_changes(db_->handle()) == 0) return false;
  auto ins = db_->query(
      "INSERT OR IGNORE INTO revocations (kind, value, change_seq) VALUES ('store', ?1, ?2)");
  if (ins) (*ins)->bind(1, std::string_view(store_id)).bind(2, change_seq);
  if (auto st = run(ins); !st) return st.error();
  return true;
}

Status SqliteStorage::record_incident(const Incident& i, std::int64_t change_seq) {
  auto q = db_->query(
      "INSERT INTO incidents (store_id, kind, seq, detail, at_ms, change_seq)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (q) {
    (*q)->bind(1, std::string_view(i.store_id)).bind(2, std::string_view(i.kind)).bind(3, i.seq);
    (*q)->bind(4, std::string_view(i.detail)).bind(5, i.at_ms).bind(6, change_seq);
  }
  return run(q);
}

Result<std::int64_t> SqliteStorage::count_incidents(const std::string& store_id) {
  auto q = db_->query("SELECT count(*) FROM incidents WHERE store_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id));
  if (auto row = (*q)->step(); !row) return row.error();
  return (*q)->int64(0);
}

Result<std::optional<sync::WireEvent>> SqliteStorage::find_event(const std::string& store_id,
                                                                 std::int64_t seq) {
  auto q = db_->query(
      "SELECT type, at_ms, ruleset_version, body, prev_hash, hash FROM events"
      " WHERE store_id = ?1 AND seq = ?2");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id)).bind(2, seq);
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<sync::WireEvent>{};
  sync::WireEvent e;
  e.seq = seq;
  e.type = (*q)->text(0);
  e.at_ms = (*q)->int64(1);
  e.ruleset_version = (*q)->int64(2);
  e.body = (*q)->text(3);
  e.prev_hash = to_hash((*q)->blob(4));
  e.hash = to_hash((*q)->blob(5));
  return std::optional<sync::WireEvent>(std::move(e));
}

Status SqliteStorage::insert_event(const std::string& store_id, const sync::WireEvent& e,
                                   std::int64_t change_seq) {
  auto q = db_->query(
      "INSERT INTO events (store_id, seq, type, at_ms, ruleset_version, body, prev_hash, hash,"
      " change_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (q) {
    // `store_id` and `e` outlive the Query (the statement runs below).
    (*q)->bind_unowned(1, store_id).bind(2, e.seq).bind_unowned(3, e.type);
    (*q)->bind(4, e.at_ms).bind(5, e.ruleset_version).bind_unowned(6, e.body);
    (*q)->bind_blob_unowned(7, e.prev_hash).bind_blob_unowned(8, e.hash).bind(9, change_seq);
  }
  return run(q);
}

Result<std::vector<sync::WireEvent>> SqliteStorage::events_between(const std::string& store_id,
                                                                  std::int64_t first_seq,
                                                                  std::int64_t last_seq) {
  auto q = db_->query(
      "SELECT seq, type, at_ms, ruleset_version, body, prev_hash, hash FROM events"
      " WHERE store_id = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id)).bind(2, first_seq).bind(3, last_seq);
  return collect<sync::WireEvent>(**q, [](const Query& r) {
    sync::WireEvent e;
    e.seq = r.int64(0);
    e.type = r.text(1);
    e.at_ms = r.int64(2);
    e.ruleset_version = r.int64(3);
    e.body = r.text(4);
    e.prev_hash = to_hash(r.blob(5));
    e.hash = to_hash(r.blob(6));
    return e;
  });
}

Status SqliteStorage::enqueue_fold(const FoldItem& item) {
  auto q = db_->query(
      "INSERT INTO fold_queue (store_id, first_seq, last_seq, change_seq) VALUES (?1, ?2, ?3, ?4)");
  if (q) {
    (*q)->bind(1, std::string_view(item.store_id)).bind(2, item.first_seq).bind(3, item.last_seq);
    (*q)->bind(4, item.change_seq);
  }
  return run(q);
}

Result<std::optional<FoldItem>> SqliteStorage::next_fold() {
  auto q = db_->query(
      "SELECT item_id, store_id, first_seq, last_seq, change_seq FROM fold_queue"
      " ORDER BY item_id LIMIT 1");
  if (!q) return q.error();
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<FoldItem>{};
  return std::optional<FoldItem>(
      FoldItem{(*q)->int64(0), (*q)->text(1), (*q)->int64(2), (*q)->int64(3), (*q)->int64(4)});
}

Status SqliteStorage::finish_fold(std::int64_t item_id) {
  auto q = db_->query("DELETE FROM fold_queue WHERE item_id = ?1");
  if (q) (*q)->bind(1, item_id);
  return run(q);
}

Status SqliteStorage::advance_fold(std::int64_t item_id, std::int64_t first_seq) {
  auto q = db_->query("UPDATE fold_queue SET first_seq = ?2 WHERE item_id = ?1");
  if (q) (*q)->bind(1, item_id).bind(2, first_seq);
  return run(q);
}

Result<std::int64_t> SqliteStorage::fold_backlog() {
  auto q = db_->query("SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM fold_queue");
  if (!q) return q.error();
  if (auto row = (*q)->step(); !row) return row.error();
  return (*q)->int64(0);
}

Status SqliteStorage::add_ledger_entry(const LedgerEntry& e, std::int64_t change_seq) {
  auto q = db_->query(
      "INSERT INTO ledger (customer_id, unit, amount, spendable_at_ms, held, origin, source,"
      " change_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (q) {
    (*q)->bind(1, std::string_view(e.customer_id)).bind(2, std::string_view(e.unit));
    (*q)->bind(3, e.amount).bind(4, e.spendable_at_ms).bind(5, std::int64_t{e.held ? 1 : 0});
    (*q)->bind(6, std::string_view(e.origin)).bind(7, std::string_view(e.source));
    (*q)->bind(8, change_seq);
  }
  return run(q);
}

Result<bool> SqliteStorage::add_store_customer(const std::string& store_id,
                                               const std::string& customer_id,
                                               std::int64_t change_seq) {
  auto q = db_->query(
      "INSERT OR IGNORE INTO store_customers (store_id, customer_id, change_seq)"
      " VALUES (?1, ?2, ?3)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id)).bind(2, std::string_view(customer_id));
  (*q)->bind(3, change_seq);
  if (auto st = (*q)->run(); !st) return st.error();
  return sqlite3_changes(db_->handle()) > 0;
}

Result<std::vector<std::string>> SqliteStorage::wallets_changed(const std::string& store_id,
                                                                std::int64_t cursor) {
  // Newly known customers count only if something elsewhere is there to send.
  auto q = db_->query(
      "SELECT sc.customer_id FROM store_customers sc"
      " WHERE sc.store_id = ?1 AND sc.change_seq > ?2 AND EXISTS"
      "  (SELECT 1 FROM ledger l WHERE l.customer_id = sc.customer_id AND l.origin <> ?1)"
      " UNION"
      " SELECT l.customer_id FROM ledger l JOIN store_customers sc"
      "  ON sc.store_id = ?1 AND sc.customer_id = l.customer_id"
      " WHERE l.change_seq > ?2 AND l.origin <> ?1"
      " ORDER BY 1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id)).bind(2, cursor);
  return collect<std::string>(**q, [](const Query& r) { return r.text(0); });
}

Result<std::vector<sync::WalletEntryUpdate>> SqliteStorage::entries_elsewhere(
    const std::string& store_id, const std::string& customer_id) {
  auto q = db_->query(
      "SELECT unit, spendable_at_ms, held, sum(amount) FROM ledger"
      " WHERE customer_id = ?2 AND origin <> ?1"
      " GROUP BY unit, spendable_at_ms, held HAVING sum(amount) <> 0"
      " ORDER BY unit, spendable_at_ms, held");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id)).bind(2, std::string_view(customer_id));
  return collect<sync::WalletEntryUpdate>(**q, [](const Query& r) {
    return sync::WalletEntryUpdate{r.text(0), r.int64(3), r.int64(1), r.int64(2) != 0};
  });
}

Status SqliteStorage::insert_redemption(const RedemptionRecord& r) {
  auto q = db_->query(
      "INSERT INTO redemptions (store_id, txn_id, code, seq, referee_customer_id,"
      " referrer_customer_id, referrer_unit, referrer_amount, referrer_spendable_at_ms,"
      " referrer_held, reversed, referrer_reversed_by_hq, referrer_reversed_by_store,"
      " referrer_by_code)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  if (q) {
    auto& s = **q;
    s.bind(1, std::string_view(r.store_id)).bind(2, std::string_view(r.txn_id));
    s.bind(3, std::string_view(r.code)).bind(4, r.seq);
    s.bind(5, std::string_view(r.referee_customer_id)).bind(6, r.referrer_customer_id);
    s.bind(7, std::string_view(r.referrer_unit)).bind(8, r.referrer_amount);
    s.bind(9, r.referrer_spendable_at_ms).bind(10, std::int64_t{r.referrer_held ? 1 : 0});
    s.bind(11, std::int64_t{r.reversed ? 1 : 0});
    s.bind(12, std::int64_t{r.referrer_reversed_by_hq ? 1 : 0});
    s.bind(13, std::int64_t{r.referrer_reversed_by_store ? 1 : 0});
    s.bind(14, std::int64_t{r.referrer_by_code ? 1 : 0});
  }
  return run(q);
}

Status SqliteStorage::set_code_owner(const std::string& code, const std::string& customer_id,
                                     const std::string& store_id) {
  auto q = db_->query(
      "INSERT INTO code_owners (code, customer_id, store_id) VALUES (?1, ?2, ?3)"
      " ON CONFLICT (code) DO NOTHING");
  if (q) {
    (*q)->bind(1, std::string_view(code)).bind(2, std::string_view(customer_id));
    (*q)->bind(3, std::string_view(store_id));
  }
  return run(q);
}

Result<std::optional<std::string>> SqliteStorage::find_code_owner(const std::string& code) {
  auto q = db_->query("SELECT customer_id FROM code_owners WHERE code = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(code));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>((*q)->text(0));
}

Status SqliteStorage::update_redemption(const RedemptionRecord& r) {
  auto q = db_->query(
      "UPDATE redemptions SET referrer_unit = ?3, referrer_amount = ?4,"
      " referrer_spendable_at_ms = ?5, referrer_held = ?6, reversed = ?7,"
      " referrer_reversed_by_hq = ?8, referrer_reversed_by_store = ?9,"
      " referrer_customer_id = ?10, referrer_by_code = ?11"
      " WHERE store_id = ?1 AND txn_id = ?2");
  if (q) {
    auto& s = **q;
    s.bind(1, std::string_view(r.store_id)).bind(2, std::string_view(r.txn_id));
    s.bind(3, std::string_view(r.referrer_unit)).bind(4, r.referrer_amount);
    s.bind(5, r.referrer_spendable_at_ms).bind(6, std::int64_t{r.referrer_held ? 1 : 0});
    s.bind(7, std::int64_t{r.reversed ? 1 : 0});
    s.bind(8, std::int64_t{r.referrer_reversed_by_hq ? 1 : 0});
    s.bind(9, std::int64_t{r.referrer_reversed_by_store ? 1 : 0});
    s.bind(10, r.referrer_customer_id).bind(11, std::int64_t{r.referrer_by_code ? 1 : 0});
  }
  return run(q);
}

Result<std::optional<RedemptionRecord>> SqliteStorage::find_redemption(const std::string& store_id,
                                                                       const std::string& txn_id) {
  auto q = db_->query(
      "SELECT store_id, txn_id, code, seq, referee_customer_id, referrer_customer_id,"
      " referrer_unit, referrer_amount, referrer_spendable_at_ms, referrer_held, reversed,"
      " referrer_reversed_by_hq, referrer_reversed_by_store, referrer_by_code"
      " FROM redemptions WHERE store_id = ?1 AND txn_id = ?2");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id)).bind(2, std::string_view(txn_id));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<RedemptionRecord>{};
  return std::optional<RedemptionRecord>(read_redemption(**q));
}

Result<std::vector<RedemptionRecord>> SqliteStorage::redemptions_of_code(const std::string& code) {
  auto q = db_->query(
      "SELECT store_id, txn_id, code, seq, referee_customer_id, referrer_customer_id,"
      " referrer_unit, referrer_amount, referrer_spendable_at_ms, referrer_held, reversed,"
      " referrer_reversed_by_hq, referrer_reversed_by_store, referrer_by_code"
      " FROM redemptions WHERE code = ?1 ORDER BY arrival");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(code));
  return collect<RedemptionRecord>(**q, read_redemption);
}

Result<std::vector<ConflictTxn>> SqliteStorage::txns_of(std::int64_t conflict_id) {
  auto q = db_->query(
      "SELECT store_id, txn_id FROM conflict_txns WHERE conflict_id = ?1 ORDER BY arrival");
  if (!q) return q.error();
  (*q)->bind(1, conflict_id);
  return collect<ConflictTxn>(**q, [](const Query& r) { return ConflictTxn{r.text(0), r.text(1)}; });
}

Result<std::optional<ConflictRecord>> SqliteStorage::find_conflict(const std::string& code,
                                                                   const std::string& kind) {
  ConflictRecord c;
  {
    auto q = db_->query(
        "SELECT conflict_id, settlement, change_seq FROM conflicts WHERE code = ?1 AND kind = ?2");
    if (!q) return q.error();
    (*q)->bind(1, std::string_view(code)).bind(2, std::string_view(kind));
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) return std::optional<ConflictRecord>{};
    c.conflict_id = (*q)->int64(0);
    c.settlement = (*q)->text(1);
    c.change_seq = (*q)->int64(2);
  }
  c.code = code;
  c.kind = kind;
  auto txns = txns_of(c.conflict_id);
  if (!txns) return txns.error();
  c.txns = std::move(*txns);
  return std::optional<ConflictRecord>(std::move(c));
}

Result<std::int64_t> SqliteStorage::save_conflict(const ConflictRecord& c) {
  std::int64_t id = c.conflict_id;
  if (id == 0) {
    auto q = db_->query(
        "INSERT INTO conflicts (code, kind, settlement, change_seq) VALUES (?1, ?2, ?3, ?4)");
    if (q) {
      (*q)->bind(1, std::string_view(c.code)).bind(2, std::string_view(c.kind));
      (*q)->bind(3, std::string_view(c.settlement)).bind(4, c.change_seq);
    }
    if (auto st = run(q); !st) return st.error();
    id = sqlite3_last_insert_rowid(db_->handle());
  } else {
    auto q = db_->query("UPDATE conflicts SET settlement = ?2, change_seq = ?3 WHERE conflict_id = ?1");
    if (q) (*q)->bind(1, id).bind(2, std::string_view(c.settlement)).bind(3, c.change_seq);
    if (auto st = run(q); !st) return st.error();
  }
  std::int64_t arrival = 0;
  for (const auto& t : c.txns) {
    auto q = db_->query(
        "INSERT OR IGNORE INTO conflict_txns (conflict_id, store_id, txn_id, arrival)"
        " VALUES (?1, ?2, ?3, ?4)");
    if (q) {
      (*q)->bind(1, id).bind(2, std::string_view(t.store_id)).bind(3, std::string_view(t.txn_id));
      (*q)->bind(4, ++arrival);
    }
    if (auto st = run(q); !st) return st.error();
  }
  return id;
}

Result<std::vector<ConflictRecord>> SqliteStorage::conflicts_of_store(const std::string& store_id,
                                                                      std::int64_t cursor) {
  std::vector<ConflictRecord> out;
  {
    auto q = db_->query(
        "SELECT conflict_id, code, kind, settlement, change_seq FROM conflicts c"
        " WHERE change_seq > ?2 AND EXISTS (SELECT 1 FROM conflict_txns t"
        "  WHERE t.conflict_id = c.conflict_id AND t.store_id = ?1)"
        " ORDER BY conflict_id");
    if (!q) return q.error();
    (*q)->bind(1, std::string_view(store_id)).bind(2, cursor);
    auto rows = collect<ConflictRecord>(**q, [](const Query& r) {
      ConflictRecord c;
      c.conflict_id = r.int64(0);
      c.code = r.text(1);
      c.kind = r.text(2);
      c.settlement = r.text(3);
      c.change_seq = r.int64(4);
      return c;
    });
    if (!rows) return rows.error();
    out = std::move(*rows);
  }
  for (auto& c : out) {
    auto txns = txns_of(c.conflict_id);
    if (!txns) return txns.error();
    c.txns = std::move(*txns);
  }
  return out;
}

Result<std::optional<std::string>> SqliteStorage::find_hold_decision(const std::string& store_id,
                                                                     const std::string& txn_id) {
  auto q = db_->query("SELECT decision FROM hold_decisions WHERE store_id = ?1 AND txn_id = ?2");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id)).bind(2, std::string_view(txn_id));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>((*q)->text(0));
}

Status SqliteStorage::save_hold_decision(const std::string& store_id, const sync::HoldDecision& d,
                                         std::int64_t change_seq) {
  auto q = db_->query(
      "INSERT INTO hold_decisions (store_id, txn_id, decision, change_seq) VALUES (?1, ?2, ?3, ?4)");
  if (q) {
    (*q)->bind(1, std::string_view(store_id)).bind(2, std::string_view(d.txn_id));
    (*q)->bind(3, std::string_view(d.decision)).bind(4, change_seq);
  }
  return run(q);
}

Result<std::vector<sync::HoldDecision>> SqliteStorage::hold_decisions_since(
    const std::string& store_id, std::int64_t cursor) {
  auto q = db_->query(
      "SELECT txn_id, decision FROM hold_decisions WHERE store_id = ?1 AND change_seq > ?2"
      " ORDER BY change_seq, txn_id");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id)).bind(2, cursor);
  return collect<sync::HoldDecision>(**q, [](const Query& r) {
    return sync::HoldDecision{r.text(0), r.text(1)};
  });
}

Status SqliteStorage::put_pii_key(const std::string& store_id, const std::string& subject,
                                  const std::vector<std::uint8_t>& key) {
  auto q = db_->query(
      "INSERT INTO pii_keys (store_id, subject, key) VALUES (?1, ?2, ?3)"
      " ON CONFLICT (store_id, subject) DO UPDATE SET key = excluded.key");
  if (q) {
    (*q)->bind(1, std::string_view(store_id)).bind(2, std::string_view(subject));
    (*q)->bind_blob(3, key);
  }
  return run(q);
}

Result<std::int64_t> SqliteStorage::delete_pii_keys(const std::string& subject) {
  auto q = db_->query("DELETE FROM pii_keys WHERE subject = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(subject));
  if (auto st = (*q)->run(); !st) return st.error();
  return static_cast<std::int64_t>(sqlite3_changes(db_->handle()));
}

Result<std::optional<std::int64_t>> SqliteStorage::forgotten_change(const std::string& customer_id) {
  auto q = db_->query("SELECT change_seq FROM forgotten WHERE customer_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(customer_id));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>((*q)->int64(0));
}

Status SqliteStorage::save_forgotten(const std::string& customer_id, const std::string& origin,
                                     std::int64_t at_ms, std::int64_t change_seq) {
  auto q = db_->query(
      "INSERT INTO forgotten (customer_id, origin, forgotten_at_ms, change_seq)"
      " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (customer_id) DO UPDATE SET origin = excluded.origin,"
      " forgotten_at_ms = excluded.forgotten_at_ms, change_seq = excluded.change_seq");
  if (q) {
    (*q)->bind(1, std::string_view(customer_id)).bind(2, std::string_view(origin));
    (*q)->bind(3, at_ms).bind(4, change_seq);
  }
  return run(q);
}

Result<std::vector<std::string>> SqliteStorage::forgotten_since(const std::string& store_id,
                                                                std::int64_t cursor) {
  auto q = db_->query(
      "SELECT customer_id FROM forgotten WHERE change_seq > ?2 AND origin <> ?1"
      " ORDER BY change_seq, customer_id");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(store_id)).bind(2, cursor);
  return collect<std::string>(**q, [](const Query& r) { return r.text(0); });
}

Result<std::optional<RulesRecord>> SqliteStorage::latest_rules() {
  auto q = db_->query(
      "SELECT version, document, signature_hex, change_seq FROM rule_sets"
      " ORDER BY version DESC LIMIT 1");
  if (!q) return q.error();
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<RulesRecord>{};
  return std::optional<RulesRecord>(
      RulesRecord{(*q)->int64(0), (*q)->text(1), (*q)->text(2), (*q)->int64(3)});
}

Status SqliteStorage::insert_rules(const RulesRecord& r) {
  auto q = db_->query(
      "INSERT INTO rule_sets (version, document, signature_hex, change_seq) VALUES (?1, ?2, ?3, ?4)");
  if (q) {
    (*q)->bind(1, r.version).bind(2, std::string_view(r.document));
    (*q)->bind(3, std::string_view(r.signature_hex)).bind(4, r.change_seq);
  }
  return run(q);
}

Result<std::vector<CodeKeyRecord>> SqliteStorage::code_keys() {
  auto q = db_->query("SELECT id, secret_hex, active FROM code_keys ORDER BY id");
  if (!q) return q.error();
  return collect<CodeKeyRecord>(**q, [](const Query& r) {
    return CodeKeyRecord{static_cast<int>(r.int64(0)), r.text(1), r.int64(2) != 0};
  });
}

Result<std::int64_t> SqliteStorage::code_keys_changed() {
  auto q = db_->query("SELECT coalesce(max(change_seq), 0) FROM code_keys");
  if (!q) return q.error();
  if (auto row = (*q)->step(); !row) return row.error();
  return (*q)->int64(0);
}

Status SqliteStorage::put_code_key(const CodeKeyRecord& k, std::int64_t change_seq) {
  auto q = db_->query(
      "INSERT INTO code_keys (id, secret_hex, active, change_seq) VALUES (?1, ?2, ?3, ?4)"
      " ON CONFLICT (id) DO UPDATE SET secret_hex = excluded.secret_hex,"
      " active = excluded.active, change_seq = excluded.change_seq");
  if (q) {
    (*q)->bind(1, std::int64_t{k.id}).bind(2, std::string_view(k.secret_hex));
    (*q)->bind(3, std::int64_t{k.active ? 1 : 0}).bind(4, change_seq);
  }
  return run(q);
}

Result<bool> SqliteStorage::revoke_code(const std::string& code, std::int64_t change_seq) {
  auto q = db_->query(
      "INSERT OR IGNORE INTO revocations (kind, value, change_seq) VALUES ('code', ?1, ?2)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(code)).bind(2, change_seq);
  if (auto st = (*q)->run(); !st) return st.error();
  return sqlite3_changes(db_->handle()) > 0;
}

Result<std::vector<std::string>> SqliteStorage::revoked_codes_since(std::int64_t cursor) {
  auto q = db_->query(
      "SELECT value FROM revocations WHERE kind = 'code' AND change_seq > ?1 ORDER BY value");
  if (!q) return q.error();
  (*q)->bind(1, cursor);
  return collect<std::string>(**q, [](const Query& r) { return r.text(0); });
}

Result<std::vector<std::string>> SqliteStorage::revoked_stores_since(std::int64_t cursor) {
  auto q = db_->query(
      "SELECT value FROM revocations WHERE kind = 'store' AND change_seq > ?1 ORDER BY value");
  if (!q) return q.error();
  (*q)->bind(1, cursor);
  return collect<std::string>(**q, [](const Query& r) { return r.text(0); });
}

}  // namespace refpos::hq
