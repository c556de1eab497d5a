#include "store/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace refpos::store {
namespace {

// Migration N brings user_version from N-1 to N. Append only; never edit a
// migration that has shipped.
const char* const kMigrations[] = {
    // 1: the first schema.
    R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE transactions (
  txn_id TEXT PRIMARY KEY,
  request_sha256 BLOB NOT NULL,
  answer TEXT NOT NULL,
  customer_id TEXT,
  issued_code TEXT,
  committed_at_ms INTEGER NOT NULL,
  reversed_by TEXT
) STRICT;
CREATE TABLE reversals (
  reversal_id TEXT PRIMARY KEY,
  txn_id TEXT NOT NULL UNIQUE REFERENCES transactions(txn_id),
  request_sha256 BLOB NOT NULL,
  answer TEXT NOT NULL,
  reversed_at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE customers (
  customer_id TEXT PRIMARY KEY,
  first_seen_ms INTEGER NOT NULL,
  purchases INTEGER NOT NULL DEFAULT 0 CHECK (purchases >= 0),
  referred_by TEXT
) STRICT;
CREATE TABLE codes (
  code TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(customer_id),
  issued_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX codes_by_customer ON codes(customer_id, issued_at_ms);
CREATE TABLE redemptions (
  txn_id TEXT PRIMARY KEY REFERENCES transactions(txn_id) DEFERRABLE INITIALLY DEFERRED,
  code TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  discount_minor INTEGER NOT NULL,
  referrer_customer_id TEXT,
  referrer_reward_minor INTEGER NOT NULL,
  reversed INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX redemptions_by_code ON redemptions(code);
CREATE TABLE wallets (
  customer_id TEXT PRIMARY KEY REFERENCES customers(customer_id),
  balance_minor INTEGER NOT NULL
) STRICT;
)sql",
    // 2: the referral loop: a wallet ledger (pending rewards, points, spent
    // balances), partial refunds, identities against self-referral, sealed
    // contact data that can be forgotten, leads, close-the-loop notices.
    R"sql(
CREATE TABLE wallet_entries (
  entry_id INTEGER PRIMARY KEY,
  customer_id TEXT NOT NULL,
  unit TEXT NOT NULL CHECK (unit IN ('store_credit', 'points', 'gift_card')),
  amount INTEGER NOT NULL,
  spendable_at_ms INTEGER NOT NULL,
  held INTEGER NOT NULL DEFAULT 0,
  txn_id TEXT,
  source TEXT NOT NULL
) STRICT;
CREATE INDEX wallet_by_customer ON wallet_entries(customer_id, unit);
INSERT INTO wallet_entries (customer_id, unit, amount, spendable_at_ms, source)
  SELECT customer_id, 'store_credit', balance_minor, 0, 'migrated' FROM wallets
  WHERE balance_minor <> 0;
DROP TABLE wallets;
ALTER TABLE redemptions ADD COLUMN program TEXT NOT NULL DEFAULT '';
ALTER TABLE redemptions ADD COLUMN redeemed_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE redemptions ADD COLUMN terminal_id TEXT NOT NULL DEFAULT '';
ALTER TABLE redemptions ADD COLUMN cashier_id TEXT;
ALTER TABLE redemptions ADD COLUMN referrer_unit TEXT NOT NULL DEFAULT 'store_credit';
ALTER TABLE redemptions ADD COLUMN referrer_spendable_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE redemptions ADD COLUMN referrer_held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE redemptions ADD COLUMN referee_credit_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE redemptions ADD COLUMN rewarded INTEGER NOT NULL DEFAULT 1;
CREATE INDEX redemptions_by_time ON redemptions(redeemed_at_ms);
CREATE INDEX redemptions_by_referrer ON redemptions(referrer_customer_id, redeemed_at_ms);
CREATE INDEX redemptions_by_terminal ON redemptions(terminal_id, redeemed_at_ms);
CREATE INDEX redemptions_by_cashier ON redemptions(cashier_id, redeemed_at_ms);
CREATE INDEX redemptions_by_code_time ON redemptions(code, redeemed_at_ms);
CREATE TABLE reversals_v2 (
  reversal_id TEXT PRIMARY KEY,
  txn_id TEXT NOT NULL REFERENCES transactions(txn_id),
  request_sha256 BLOB NOT NULL,
  answer TEXT NOT NULL,
  reversed_at_ms INTEGER NOT NULL
) STRICT;
INSERT INTO reversals_v2 SELECT reversal_id, txn_id, request_sha256, answer, reversed_at_ms
  FROM reversals;
DROP TABLE reversals;
ALTER TABLE reversals_v2 RENAME TO reversals;
CREATE INDEX reversals_by_txn ON reversals(txn_id);
ALTER TABLE transactions ADD COLUMN lines TEXT;
ALTER TABLE transactions ADD COLUMN refunded TEXT;
CREATE TABLE identities (
  customer_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (customer_id, hash)
) STRICT, WITHOUT ROWID;
CREATE TABLE pii_keys (subject TEXT PRIMARY KEY, key BLOB NOT NULL) STRICT;
CREATE TABLE leads (
  lead_id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  sealed TEXT,
  created_at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE notices (
  txn_id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  text TEXT NOT NULL,
  delivered_in TEXT
) STRICT;
CREATE INDEX notices_by_customer ON notices(customer_id, delivered_in);
CREATE TABLE ask_outcomes (
  txn_id TEXT PRIMARY KEY,
  request_sha256 BLOB NOT NULL,
  answer TEXT NOT NULL
) STRICT;
)sql",
    // 3: sync with head office (docs/sync.md): codes revoked anywhere in the
    // chain, conflicts settled by head office. Balances from elsewhere are
    // wallet_entries with source 'hq', replaced whole at each pull.
    R"sql(
CREATE TABLE revoked_codes (
  code TEXT PRIMARY KEY,
  revoked_at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE conflicts (
  conflict_id INTEGER PRIMARY KEY CHECK (conflict_id > 0),
  code TEXT NOT NULL,
  kind TEXT NOT NULL,
  settlement TEXT NOT NULL,
  txn_ids TEXT NOT NULL
) STRICT;
CREATE INDEX wallet_by_source ON wallet_entries(customer_id, source);
)sql",
    // 4: contact-data keys go to head office after each pull (docs/sync.md,
    // "Contact data and forgetting"); `uploaded` marks those it holds.
    R"sql(
ALTER TABLE pii_keys ADD COLUMN uploaded INTEGER NOT NULL DEFAULT 0;
)sql",
};

constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

Result<int> schema_version(Database& db) {
  auto q = db.query("PRAGMA user_version");
  if (!q) return q.error();
  if (auto row = (*q)->step(); !row) return row.error();
  return static_cast<int>((*q)->int64(0));
}

Status migrate(Database& db) {
  const auto found = schema_version(db);
  if (!found) return found.error();
  const int version = *found;
  if (version > kSchemaVersion) {
    return make_error(ErrorKind::storage, "",
                      "store: the database has schema version " + std::to_string(version) +
                          ", newer than this plugin's " + std::to_string(kSchemaVersion) +
                          "; upgrade the plugin",
                      "too_new");
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    auto tx = WriteTransaction::begin(db);
    if (!tx) return tx.error();
    if (v == 0) {
      if (auto st = db.exec(kEventLogSchema); !st) return st;
    }
    if (auto st = db.exec(kMigrations[v]); !st) return st;
    const std::string set_version = "PRAGMA user_version = " + std::to_string(v + 1);
    if (auto st = db.exec(set_version.c_str()); !st) return st;
    if (auto st = (*tx)->commit(); !st) return st;
  }
  return ok_status();
}

Status check_identity(Database& db, const std::string& key, const std::string& expected) {
  auto q = db.query("SELECT value FROM meta WHERE key = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(key));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (*row) {
    const std::string found = (*q)->text(0);
    if (found != expected) {
      return make_error(ErrorKind::config, key,
                        "the data folder belongs to " + key + " \"" + found +
                            "\", not \"" + expected + "\"");
    }
    return ok_status();
  }
  auto ins = db.query("INSERT INTO meta (key, value) VALUES (?1, ?2)");
  if (!ins) return ins.error();
  (*ins)->bind(1, std::string_view(key)).bind(2, std::string_view(expected));
  return (*ins)->run();
}

Result<int> lock_folder(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return make_error(ErrorKind::storage, "data_dir",
                      "cannot create \"" + data_dir + "\": " + ec.message(), "io");
  }
  const std::string path = data_dir + "/refpos.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(ErrorKind::storage, "data_dir",
                      "cannot open " + path + ": " + std::strerror(errno), "io");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return make_error(ErrorKind::storage, "data_dir",
                      "the store in \"" + data_dir + "\" is already open in another handle or process",
                      "busy");
  }
  return fd;
}

Result<std::optional<SavedAnswer>> find_saved(Database& db, const char* sql,
                                               const std::string& id) {
  auto q = db.query(sql);
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(id));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<SavedAnswer>{};
  return std::optional<SavedAnswer>(SavedAnswer{(*q)->blob(0), (*q)->text(1)});
}

}  // namespace

Store::Store(std::unique_ptr<Database> db, int lock_fd, std::string store_id)
    : db_(std::move(db)), lock_fd_(lock_fd), store_id_(std::move(store_id)) {}

Store::~Store() {
  checkpointer_.reset();
  db_.reset();
  ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<Store>> Store::open(const std::string& data_dir, const std::string& store_id,
                                           const std::string& currency) {
  auto fd = lock_folder(data_dir);
  if (!fd) return fd.error();
  auto db = Database::open(data_dir + "/refpos.db");
  if (!db) {
    ::close(*fd);
    return db.error();
  }
  std::unique_ptr<Store> store(new Store(std::move(*db), *fd, store_id));
  if (auto st = migrate(store->db()); !st) return st.error();
  auto tx = WriteTransaction::begin(store->db());
  if (!tx) return tx.error();
  if (auto st = check_identity(store->db(), "store_id", store_id); !st) return st.error();
  if (auto st = check_identity(store->db(), "currency", currency); !st) return st.error();
  if (auto st = (*tx)->commit(); !st) return st.error();
  auto checkpointer = Checkpointer::start(data_dir + "/refpos.db", store->db().handle());
  if (!checkpointer) return checkpointer.error();
  store->checkpointer_ = std::move(*checkpointer);
  return store;
}

Result<AppendedEvent> Store::append(std::int64_t at_ms, std::int64_t ruleset_version,
                                    const EventDraft& event) {
  return append_event(*db_, store_id_, at_ms, ruleset_version, event);
}

Result<std::optional<SavedAnswer>> Store::find_transaction(const std::string& txn_id) {
  return find_saved(*db_, "SELECT request_sha256, answer FROM transactions WHERE txn_id = ?1",
                    txn_id);
}

Result<std::optional<TransactionRecord>> Store::transaction_record(const std::string& txn_id) {
  auto q = db_->query(
      "SELECT customer_id, issued_code, reversed_by FROM transactions WHERE txn_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<TransactionRecord>{};
  auto& r = **q;
  return std::optional<TransactionRecord>(
      TransactionRecord{r.optional_text(0), r.optional_text(1), r.optional_text(2)});
}

Status Store::save_transaction(const std::string& txn_id, const SavedAnswer& saved,
                               const std::optional<std::string>& customer_id,
                               const std::optional<std::string>& issued_code,
                               std::int64_t at_ms) {
  auto q = db_->query(
      "INSERT INTO transactions (txn_id, request_sha256, answer, customer_id, issued_code,"
      " committed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id)).bind_blob(2, saved.request_sha256);
  (*q)->bind(3, std::string_view(saved.answer)).bind(4, customer_id).bind(5, issued_code);
  (*q)->bind(6, at_ms);
  return (*q)->run();
}

Status Store::mark_transaction_reversed(const std::string& txn_id,
                                        const std::string& reversal_id) {
  auto q = db_->query("UPDATE transactions SET reversed_by = ?2 WHERE txn_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id)).bind(2, std::string_view(reversal_id));
  return (*q)->run();
}

Result<std::optional<SavedAnswer>> Store::find_reversal(const std::string& reversal_id) {
  return find_saved(*db_, "SELECT request_sha256, answer FROM reversals WHERE reversal_id = ?1",
                    reversal_id);
}

Status Store::save_reversal(const std::string& reversal_id, const std::string& txn_id,
                            const SavedAnswer& saved, std::int64_t at_ms) {
  auto q = db_->query(
      "INSERT INTO reversals (reversal_id, txn_id, request_sha256, answer, reversed_at_ms)"
      " VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(reversal_id)).bind(2, std::string_view(txn_id));
  (*q)->bind_blob(3, saved.request_sha256).bind(4, std::string_view(saved.answer));
  (*q)->bind(5, at_ms);
  return (*q)->run();
}

Result<rules::CustomerFacts> Store::customer_facts(const std::string& customer_id) {
  auto q = db_->query("SELECT purchases FROM customers WHERE customer_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(customer_id));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return rules::CustomerFacts{};
  return rules::CustomerFacts{true, (*q)->int64(0)};
}

Result<bool> Store::register_customer(const std::string& customer_id, std::int64_t at_ms,
                                      const std::optional<std::string>& referred_by) {
  auto q = db_->query(
      "INSERT INTO customers (customer_id, first_seen_ms, referred_by) VALUES (?1, ?2, ?3)"
      " ON CONFLICT (customer_id) DO NOTHING");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(customer_id)).bind(2, at_ms).bind(3, referred_by);
  if (auto st = (*q)->run(); !st) return st.error();
  return sqlite3_changes(db_->handle()) == 1;
}

Status Store::count_purchase(const std::string& customer_id, std::int64_t delta) {
  auto q = db_->query("UPDATE customers SET purchases = purchases + ?2 WHERE customer_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(customer_id)).bind(2, delta);
  return (*q)->run();
}

Result<rules::CodeFacts> Store::code_facts(const std::string& code, std::int64_t period_start_ms) {
  // One statement: a code at the till costs one read for its row and both
  // counts (the period's count is 0 at no cost when period_start_ms is
  // kNoPeriod, past every redemption).
  auto q = db_->query(
      "SELECT c.customer_id, coalesce(c.revoked, 0) OR EXISTS (SELECT 1 FROM revoked_codes WHERE code = ?1),"
      " (SELECT count(*) FROM redemptions WHERE code = ?1 AND reversed = 0),"
      " (SELECT count(*) FROM redemptions WHERE code = ?1 AND redeemed_at_ms >= ?2 AND reversed = 0)"
      " FROM (SELECT 1) LEFT JOIN codes c ON c.code = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(code)).bind(2, period_start_ms);
  if (auto row = (*q)->step(); !row) return row.error();
  rules::CodeFacts facts;
  if (!(*q)->is_null(0)) {
    facts.issued_here = true;
    facts.referrer_customer_id = (*q)->text(0);
  }
  // Revoked here, or anywhere in the chain (head office's list, by sync).
  facts.revoked = (*q)->int64(1) != 0;
  facts.redemptions = (*q)->int64(2);
  facts.redemptions_in_period = (*q)->int64(3);
  return facts;
}

Status Store::insert_code(const std::string& code, const std::string& customer_id,
                          std::int64_t issued_at_ms, std::int64_t expires_at_ms) {
  auto q = db_->query(
      "INSERT INTO codes (code, customer_id, issued_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(code)).bind(2, std::string_view(customer_id));
  (*q)->bind(3, issued_at_ms).bind(4, expires_at_ms);
  return (*q)->run();
}

Result<std::optional<CodeRecord>> Store::valid_code_of(const std::string& customer_id,
                                                       std::int64_t now_ms) {
  auto q = db_->query(
      "SELECT code, issued_at_ms, expires_at_ms FROM codes"
      " WHERE customer_id = ?1 AND revoked = 0 AND expires_at_ms > ?2"
      " ORDER BY issued_at_ms DESC, code LIMIT 1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(customer_id)).bind(2, now_ms);
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<CodeRecord>{};
  auto& r = **q;
  return std::optional<CodeRecord>(CodeRecord{r.text(0), r.int64(1), r.int64(2), 0, false});
}

Status Store::revoke_code(const std::string& code) {
  auto q = db_->query("UPDATE codes SET revoked = 1 WHERE code = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(code));
  return (*q)->run();
}

Status Store::insert_redemption(const std::string& txn_id, const std::string& customer_id,
                                const RedemptionRecord& r) {
  auto q = db_->query(
      "INSERT INTO redemptions (txn_id, code, customer_id, discount_minor, referrer_customer_id,"
      " referrer_reward_minor, program, redeemed_at_ms, terminal_id, cashier_id, referrer_unit,"
      " referrer_spendable_at_ms, referrer_held, referee_credit_minor)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id)).bind(2, std::string_view(r.code));
  (*q)->bind(3, std::string_view(customer_id)).bind(4, r.discount_minor);
  (*q)->bind(5, r.referrer_customer_id).bind(6, r.referrer_reward);
  (*q)->bind(7, std::string_view(r.program)).bind(8, r.redeemed_at_ms);
  (*q)->bind(9, std::string_view(r.terminal_id)).bind(10, r.cashier_id);
  (*q)->bind(11, std::string_view(r.referrer_unit)).bind(12, r.referrer_spendable_at_ms);
  (*q)->bind(13, std::int64_t{r.referrer_held}).bind(14, r.referee_credit_minor);
  return (*q)->run();
}

Result<std::optional<RedemptionRecord>> Store::redemption_of(const std::string& txn_id) {
  auto q = db_->query(
      "SELECT code, discount_minor, referrer_customer_id, referrer_reward_minor, program,"
      " redeemed_at_ms, terminal_id, cashier_id, referrer_unit, referrer_spendable_at_ms,"
      " referrer_held, referee_credit_minor, rewarded"
      " FROM redemptions WHERE txn_id = ?1 AND reversed = 0");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<RedemptionRecord>{};
  auto& r = **q;
  RedemptionRecord out;
  out.code = r.text(0);
  out.discount_minor = r.int64(1);
  out.referrer_customer_id = r.optional_text(2);
  out.referrer_reward = r.int64(3);
  out.program = r.text(4);
  out.redeemed_at_ms = r.int64(5);
  out.terminal_id = r.text(6);
  out.cashier_id = r.optional_text(7);
  out.referrer_unit = r.text(8);
  out.referrer_spendable_at_ms = r.int64(9);
  out.referrer_held = r.int64(10) != 0;
  out.referee_credit_minor = r.int64(11);
  out.rewarded = r.int64(12) != 0;
  return std::optional<RedemptionRecord>(std::move(out));
}

Status Store::mark_redemption_reversed(const std::string& txn_id) {
  auto q = db_->query("UPDATE redemptions SET reversed = 1 WHERE txn_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id));
  return (*q)->run();
}

Result<CustomerView> Store::customer_view(const std::string& customer_id) {
  CustomerView view;
  {
    auto q = db_->query(
        "SELECT first_seen_ms, purchases, referred_by, 0 FROM customers WHERE customer_id = ?1");
    if (!q) return q.error();
    (*q)->bind(1, std::string_view(customer_id));
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) return view;
    auto& r = **q;
    view = CustomerView{true, r.int64(0), r.int64(1), r.int64(3), r.optional_text(2), {}};
  }
  auto q = db_->query(
      "SELECT code, issued_at_ms, expires_at_ms, revoked,"
      " (SELECT count(*) FROM redemptions r WHERE r.code = codes.code AND r.reversed = 0)"
      " FROM codes WHERE customer_id = ?1 ORDER BY issued_at_ms, code");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(customer_id));
  for (;;) {
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) break;
    auto& r = **q;
    view.codes.push_back(CodeRecord{r.text(0), r.int64(1), r.int64(2), r.int64(4), r.int64(3) != 0});
  }
  return view;
}

}  // namespace refpos::store
