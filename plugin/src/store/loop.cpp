// The referral loop's state in the store: the wallet ledger, the counts that
// limits and fraud rules need, identities, sealing keys, leads, notices for
// referrers, and what partial refunds need to remember. Every write runs in
// the caller's transaction next to the event that records it.
#include <sqlite3.h>

#include <functional>

#include "store/pii.hpp"
#include "store/store.hpp"

namespace refpos::store {
namespace {

Result<std::int64_t> single_int(Database& db, const char* sql,
                                const std::function<void(Query&)>& bind) {
  auto q = db.query(sql);
  if (!q) return q.error();
  bind(**q);
  auto row = (*q)->step();
  if (!row) return row.error();
  return *row ? (*q)->int64(0) : std::int64_t{0};
}

Result<std::optional<std::string>> single_text(Database& db, const char* sql,
                                               const std::string& key) {
  auto q = db.query(sql);
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(key));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>{};
  return (*q)->optional_text(0);
}

}  // namespace

Status Store::mark_referrer_unrewarded(const std::string& txn_id) {
  auto q = db_->query("UPDATE redemptions SET rewarded = 0 WHERE txn_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id));
  return (*q)->run();
}

Status Store::add_wallet_entry(const WalletEntry& e) {
  auto q = db_->query(
      "INSERT INTO wallet_entries (customer_id, unit, amount, spendable_at_ms, held, txn_id, source)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(e.customer_id)).bind(2, std::string_view(e.unit));
  (*q)->bind(3, e.amount).bind(4, e.spendable_at_ms).bind(5, std::int64_t{e.held});
  (*q)->bind(6, e.txn_id).bind(7, std::string_view(e.source));
  return (*q)->run();
}

Result<Balance> Store::balance(const std::string& customer_id, std::string_view unit,
                               std::int64_t now_ms) {
  auto q = db_->query(
      "SELECT coalesce(sum(CASE WHEN held = 0 AND spendable_at_ms <= ?3 THEN amount END), 0),"
      " coalesce(sum(CASE WHEN held = 0 AND spendable_at_ms > ?3 THEN amount END), 0),"
      " coalesce(sum(CASE WHEN held = 1 THEN amount END), 0)"
      " FROM wallet_entries WHERE customer_id = ?1 AND unit = ?2");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(customer_id)).bind(2, unit).bind(3, now_ms);
  if (auto row = (*q)->step(); !row) return row.error();
  return Balance{(*q)->int64(0), (*q)->int64(1), (*q)->int64(2)};
}

Result<std::int64_t> Store::count_redemptions(CountBy by, const std::string& value,
                                              std::int64_t since_ms) {
  const char* sql = nullptr;
  switch (by) {
    case CountBy::code:
      sql = "SELECT count(*) FROM redemptions WHERE code = ?1 AND redeemed_at_ms >= ?2 AND reversed = 0";
      break;
    case CountBy::terminal:
      sql = "SELECT count(*) FROM redemptions WHERE redeemed_at_ms >= ?2 AND terminal_id = ?1";
      break;
    case CountBy::cashier:
      sql = "SELECT count(*) FROM redemptions WHERE redeemed_at_ms >= ?2 AND cashier_id = ?1";
      break;
  }
  return single_int(*db_, sql, [&](Query& q) { q.bind(1, std::string_view(value)).bind(2, since_ms); });
}

Result<std::int64_t> Store::count_referrer_rewards(const std::string& referrer, std::int64_t since_ms) {
  return single_int(*db_,
                    "SELECT count(*) FROM redemptions WHERE referrer_customer_id = ?1"
                    " AND redeemed_at_ms >= ?2 AND reversed = 0 AND rewarded = 1",
                    [&](Query& q) { q.bind(1, std::string_view(referrer)).bind(2, since_ms); });
}

// The granted value is a running total, kept in meta beside the facts, so
// that the cap costs one read at the till however many redemptions the store
// holds; a sync resets it.
Result<Store::OfflineExposure> Store::offline_exposure() {
  auto q = db_->query(
      "SELECT CAST(coalesce((SELECT value FROM meta WHERE key = 'last_sync_ms'),"
      " (SELECT value FROM meta WHERE key = 'opened_at_ms'), 0) AS INTEGER),"
      " CAST(coalesce((SELECT value FROM meta WHERE key = 'granted_since_sync_minor'), 0) AS INTEGER)");
  if (!q) return q.error();
  if (auto row = (*q)->step(); !row) return row.error();
  return OfflineExposure{(*q)->int64(0), (*q)->int64(1)};
}

Status Store::add_granted(std::int64_t minor) {
  auto q = db_->query(
      "INSERT INTO meta (key, value) VALUES ('granted_since_sync_minor', ?1)"
      " ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ?1 AS TEXT)");
  if (!q) return q.error();
  (*q)->bind(1, minor);
  return (*q)->run();
}

Status Store::add_identity(const std::string& customer_id, const std::string& hash) {
  auto q = db_->query("INSERT OR IGNORE INTO identities (customer_id, hash) VALUES (?1, ?2)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(customer_id)).bind(2, std::string_view(hash));
  return (*q)->run();
}

Result<rules::IdSet> Store::identities_of(const std::string& customer_id) {
  auto q = db_->query("SELECT hash FROM identities WHERE customer_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(customer_id));
  rules::IdSet out;
  for (;;) {
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) break;
    out.insert((*q)->text(0));
  }
  return out;
}

Result<std::vector<std::uint8_t>> Store::pii_key(const std::string& subject, bool create) {
  auto q = db_->query("SELECT key FROM pii_keys WHERE subject = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(subject));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (*row) return (*q)->blob(0);
  if (!create) return std::vector<std::uint8_t>{};
  auto key = new_pii_key();
  if (!key) return key.error();
  std::vector<std::uint8_t> bytes(key->begin(), key->end());
  auto ins = db_->query("INSERT INTO pii_keys (subject, key) VALUES (?1, ?2)");
  if (!ins) return ins.error();
  (*ins)->bind(1, std::string_view(subject)).bind_blob(2, bytes);
  if (auto st = (*ins)->run(); !st) return st.error();
  return bytes;
}

Result<std::int64_t> forget_customer(Database& db, const std::string& customer_id) {
  std::int64_t removed = 0;
  const char* const kStatements[] = {
      "DELETE FROM pii_keys WHERE subject = ?1",
      "DELETE FROM identities WHERE customer_id = ?1",
      "UPDATE leads SET sealed = NULL WHERE customer_id = ?1 AND sealed IS NOT NULL",
  };
  for (const char* sql : kStatements) {
    auto q = db.query(sql);
    if (!q) return q.error();
    (*q)->bind(1, std::string_view(customer_id));
    if (auto st = (*q)->run(); !st) return st.error();
    removed += sqlite3_changes(db.handle());
  }
  return removed;
}

Result<std::int64_t> Store::forget(const std::string& customer_id) {
  return forget_customer(*db_, customer_id);
}

Result<bool> Store::lead_exists(const std::string& lead_id) {
  auto n = single_int(*db_, "SELECT count(*) FROM leads WHERE lead_id = ?1",
                      [&](Query& q) { q.bind(1, std::string_view(lead_id)); });
  if (!n) return n.error();
  return *n > 0;
}

Status Store::insert_lead(const std::string& lead_id, const std::string& customer_id,
                          const std::string& sealed, std::int64_t at_ms) {
  auto q = db_->query(
      "INSERT INTO leads (lead_id, customer_id, sealed, created_at_ms) VALUES (?1, ?2, ?3, ?4)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(lead_id)).bind(2, std::string_view(customer_id));
  (*q)->bind(3, std::string_view(sealed)).bind(4, at_ms);
  return (*q)->run();
}

Status Store::add_notice(const std::string& txn_id, const std::string& customer_id,
                         const std::string& text) {
  auto q = db_->query("INSERT INTO notices (txn_id, customer_id, text) VALUES (?1, ?2, ?3)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id)).bind(2, std::string_view(customer_id));
  (*q)->bind(3, std::string_view(text));
  return (*q)->run();
}

Status Store::drop_notice(const std::string& txn_id) {
  auto q = db_->query("DELETE FROM notices WHERE txn_id = ?1 AND delivered_in IS NULL");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id));
  return (*q)->run();
}

Result<std::vector<Notice>> Store::undelivered_notices(const std::string& customer_id) {
  auto q = db_->query(
      "SELECT txn_id, text FROM notices WHERE customer_id = ?1 AND delivered_in IS NULL"
      " ORDER BY rowid");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(customer_id));
  std::vector<Notice> out;
  for (;;) {
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(Notice{(*q)->text(0), (*q)->text(1)});
  }
  return out;
}

Status Store::mark_notices_delivered(const std::string& customer_id, const std::string& in_txn) {
  auto q = db_->query(
      "UPDATE notices SET delivered_in = ?2 WHERE customer_id = ?1 AND delivered_in IS NULL");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(customer_id)).bind(2, std::string_view(in_txn));
  return (*q)->run();
}

Status Store::save_lines(const std::string& txn_id, const std::string& lines_json) {
  auto q = db_->query("UPDATE transactions SET lines = ?2 WHERE txn_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id)).bind(2, std::string_view(lines_json));
  return (*q)->run();
}

Result<std::optional<std::string>> Store::lines_of(const std::string& txn_id) {
  return single_text(*db_, "SELECT lines FROM transactions WHERE txn_id = ?1", txn_id);
}

Result<std::optional<std::string>> Store::refunded_of(const std::string& txn_id) {
  return single_text(*db_, "SELECT refunded FROM transactions WHERE txn_id = ?1", txn_id);
}

Status Store::set_refunded(const std::string& txn_id, const std::string& refunded_json) {
  auto q = db_->query("UPDATE transactions SET refunded = ?2 WHERE txn_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id)).bind(2, std::string_view(refunded_json));
  return (*q)->run();
}

Result<std::optional<SavedAnswer>> Store::find_ask_outcome(const std::string& txn_id) {
  auto q = db_->query("SELECT request_sha256, answer FROM ask_outcomes WHERE txn_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<SavedAnswer>{};
  return std::optional<SavedAnswer>(SavedAnswer{(*q)->blob(0), (*q)->text(1)});
}

Status Store::save_ask_outcome(const std::string& txn_id, const SavedAnswer& saved) {
  auto q = db_->query("INSERT INTO ask_outcomes (txn_id, request_sha256, answer) VALUES (?1, ?2, ?3)");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(txn_id)).bind_blob(2, saved.request_sha256);
  (*q)->bind(3, std::string_view(saved.answer));
  return (*q)->run();
}

Result<std::optional<std::string>> Store::meta(const std::string& key) {
  return single_text(*db_, "SELECT value FROM meta WHERE key = ?1", key);
}

Status Store::set_meta(const std::string& key, const std::string& value) {
  auto q = db_->query(
      "INSERT INTO meta (key, value) VALUES (?1, ?2)"
      " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(key)).bind(2, std::string_view(value));
  return (*q)->run();
}

}  // namespace refpos::store
