// An auditor of a store's SQLite file written against the documented formats
// only (no plugin code), so that a bug in the plugin cannot hide itself.
#include <openssl/evp.h>
#include <sqlite3.h>

#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#include "plugin.hpp"

namespace refpos::test {
namespace {

using Bytes = std::vector<unsigned char>;

void add_be(Bytes& out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
void add_field(Bytes& out, const std::string& s) {
  add_be(out, s.size(), 4);
  out.insert(out.end(), s.begin(), s.end());
}

Bytes sha256(const Bytes& in) {
  Bytes out(32);
  unsigned int n = 0;
  EVP_Digest(in.data(), in.size(), out.data(), &n, EVP_sha256(), nullptr);
  return out;
}

class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + path);
    }
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Rows as vectors of text (BLOBs as raw bytes in a string).
  std::vector<std::vector<std::string>> rows(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string(sqlite3_errmsg(db_)) + " in " + sql);
    }
    std::vector<std::vector<std::string>> out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(st, i));
        row.emplace_back(p != nullptr ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, i))) : "");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

struct Fold {
  std::map<std::string, std::int64_t> wallets;  // "customer/unit" -> balance
  std::set<std::string> codes, revoked, txns, customers;
  std::map<std::string, std::string> redemptions;  // txn -> code (not reversed)
};

std::string check_chain(Db& db, const std::string& store_id, Fold& fold) {
  Bytes prev(32, 0);
  std::int64_t expected = 1;
  for (const auto& r : db.rows("SELECT seq, store_id, type, at_ms, ruleset_version, body,"
                               " prev_hash, hash FROM events ORDER BY seq")) {
    const auto seq = std::stoll(r[0]);
    const std::string at = "event " + r[0] + ": ";
    if (seq != expected) return "gap before seq " + r[0];
    if (r[1] != store_id) return at + "foreign store id";
    if (Bytes(r[6].begin(), r[6].end()) != prev) return at + "prev_hash breaks the chain";
    Bytes in = prev;
    add_be(in, static_cast<std::uint64_t>(seq), 8);
    add_field(in, r[1]);
    add_field(in, r[2]);
    add_be(in, static_cast<std::uint64_t>(std::stoll(r[3])), 8);
    add_be(in, static_cast<std::uint64_t>(std::stoll(r[4])), 8);
    add_field(in, r[5]);
    prev = sha256(in);
    if (Bytes(r[7].begin(), r[7].end()) != prev) return at + "hash does not match content";
    const auto body = json::parse(r[5]);
    const auto& type = r[2];
    // Wallet movements: rewards (amount_minor before the ledger had units),
    // their reversals, balances spent and restored by refunds.
    const auto wallet = [&](std::int64_t sign) {
      const std::string unit = body["kind"];
      if (unit == "recognition") return;
      const auto amount = body.contains("amount") ? body["amount"].get<std::int64_t>()
                                                  : body["amount_minor"].get<std::int64_t>();
      // A reward for a code issued at another store names no one here: head
      // office credits the code's owner (docs/sync.md).
      if (body["customer_id"].is_null()) return;
      fold.wallets[body["customer_id"].get<std::string>() + "/" + unit] += sign * amount;
    };
    if (type == "reward_accrued") wallet(1);
    if (type == "reward_reversed") wallet(-1);
    if (type == "balance_spent") wallet(-1);
    if (type == "balance_restored") wallet(1);
    // Head office's review of a held reward: a release moves it from held
    // to spendable (the sum stays), a forfeit takes it back.
    if (type == "hold_forfeited") wallet(-1);
    if (type == "code_issued") fold.codes.insert(body["code"].get<std::string>());
    if (type == "code_revoked") fold.revoked.insert(body["code"].get<std::string>());
    if (type == "txn_committed") fold.txns.insert(body["txn_id"].get<std::string>());
    if (type == "customer_registered") fold.customers.insert(body["customer_id"].get<std::string>());
    if (type == "code_redeemed") fold.redemptions[body["txn_id"]] = body["code"];
    if (type == "txn_reversed" && body.value("complete", true)) {
      fold.redemptions.erase(body["txn_id"].get<std::string>());
    }
    ++expected;
  }
  return "";
}

std::string compare_state(Db& db, const Fold& fold) {
  std::map<std::string, std::int64_t> wallets;
  // Entries from elsewhere (source 'hq') are head office's view, replaced
  // whole at each sync; the store's own log explains the rest.
  for (const auto& r : db.rows("SELECT customer_id || '/' || unit, sum(amount) FROM wallet_entries"
                               " WHERE source != 'hq' GROUP BY customer_id, unit")) {
    if (std::stoll(r[1]) != 0) wallets[r[0]] = std::stoll(r[1]);
  }
  std::map<std::string, std::int64_t> folded;
  for (const auto& [k, v] : fold.wallets) {
    if (v != 0) folded[k] = v;
  }
  if (wallets != folded) return "wallet balances differ from the fold over events";
  std::set<std::string> codes, revoked, txns, customers;
  for (const auto& r : db.rows("SELECT code, revoked FROM codes")) {
    codes.insert(r[0]);
    if (r[1] == "1") revoked.insert(r[0]);
  }
  if (codes != fold.codes) return "codes table differs from code_issued events";
  if (revoked != fold.revoked) return "revoked codes differ from code_revoked events";
  for (const auto& r : db.rows("SELECT txn_id FROM transactions")) txns.insert(r[0]);
  if (txns != fold.txns) return "transactions differ from txn_committed events";
  for (const auto& r : db.rows("SELECT customer_id FROM customers")) customers.insert(r[0]);
  if (customers != fold.customers) return "customers differ from customer_registered events";
  std::map<std::string, std::string> redemptions;
  for (const auto& r : db.rows("SELECT txn_id, code FROM redemptions WHERE reversed = 0")) {
    redemptions[r[0]] = r[1];
  }
  if (redemptions != fold.redemptions) return "redemptions differ from code_redeemed events";
  return "";
}

}  // namespace

std::string with_check_symbol(std::string code) {
  static constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  int sum = 0;
  bool twice = true;
  for (auto i = std::size_t{15}; i-- > 0; twice = !twice) {
    const int v = static_cast<int>(kAlphabet.find(code[i])) * (twice ? 2 : 1);
    sum += v / 32 + v % 32;
  }
  code[15] = kAlphabet[static_cast<std::size_t>((32 - sum % 32) % 32)];
  return code;
}

std::string audit_store(const std::string& data_dir, const std::string& store_id) {
  Db db(data_dir + "/refpos.db");
  const auto integrity = db.rows("PRAGMA integrity_check");
  if (integrity.size() != 1 || integrity[0][0] != "ok") return "integrity_check failed";
  Fold fold;
  if (auto problem = check_chain(db, store_id, fold); !problem.empty()) return problem;
  return compare_state(db, fold);
}

}  // namespace refpos::test
