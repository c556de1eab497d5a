// The seeded chain (report_bench.hpp). Each store is simulated visit by
// visit; a visit is what one commit (or refund, or ask) of the plugin
// writes, in the plugin's order: customer_registered, identities_seen,
// txn_committed, nps_answered, code_redeemed, reward_accrued (referee, then
// referrer), balance_spent, code_issued; ask_recorded follows its sale;
// txn_reversed is followed by reward_reversed. Bodies carry exactly the
// members checkout.cpp writes, so the report parses what it would parse.
//
// The mix per visit (after the first few, which register customers):
// 12 % anonymous sales, 12 % new customers, 8 % referral sales (of which 8 %
// with a code issued at another store, 6 % with the partner "gym"'s code),
// 2 % refunds, the rest returning customers (3 % of them customers of
// another store). 15 % of named sales answer NPS, 30 % are followed by an
// ask_recorded. Codes are real (codes::issue_with_nonce with a seeded
// nonce); a code redeemed more than kMaxRedemptions times is a conflict.
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_error.hpp"
#include "codes/code.hpp"
#include "hq/sqlite_storage.hpp"
#include "report_bench.hpp"
#include "store/event_log.hpp"

namespace refpos::bench {
namespace {

using nlohmann::json;

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kRowsPerTransaction = 50'000;
constexpr std::int64_t kRulesetVersion = 7;
constexpr std::int64_t kPendingDays = 14;
constexpr std::int64_t kReferrerCreditMinor = 1000;
constexpr std::int64_t kRefereeCreditMinor = 500;
constexpr std::int64_t kPartnerPoints = 50;
constexpr std::size_t kMaxRedemptions = 5;  // the "friends" program's per code
constexpr std::size_t kRecentTxnsMax = 500;  // refunds pick among these
constexpr int kCashiers = 6;

json nullable(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

// One prepared statement on a raw connection; throws on any failure.
class Sql {
 public:
  Sql(sqlite3* db, const char* text) : db_(db) {
    if (sqlite3_prepare_v2(db, text, -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Sql() { sqlite3_finalize(stmt_); }
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;
  Sql& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Sql& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Sql& bind(int i, const store::Hash& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  void run() {
    if (sqlite3_step(stmt_) != SQLITE_DONE) fail("step");
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw BenchError(std::string("chain file: ") + what + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message != nullptr ? message : "unknown";
    sqlite3_free(message);
    throw BenchError(std::string("chain file: ") + sql + ": " + text);
  }
}

struct Code {
  std::string code;
  std::string owner;  // customer id, or "partner:gym"
  std::string store;
};

struct Txn {
  std::string id;
  std::string customer;
  std::int64_t subtotal_minor = 0;
  std::int64_t discount_minor = 0;
  std::int64_t total_minor = 0;
  std::int64_t lines = 0;
  std::string referrer;           // "" when no referral or attributed by code
  std::int64_t referrer_amount = 0;
  std::string referrer_kind;
  std::int64_t referrer_spendable_at_ms = 0;
  bool referrer_held = false;
  std::int64_t referee_credit_minor = 0;
  bool reversed = false;
};

// State shared by every store: codes anyone may redeem, redemptions per
// code (for conflicts), the rows being written.
class Chain {
 public:
  Chain(sqlite3* db, std::uint32_t seed, ChainFile& out)
      : db_(db), out_(out), rng_(seed),
        insert_(db, "INSERT INTO events (store_id, seq, type, at_ms, ruleset_version, body,"
                    " prev_hash, hash, change_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)") {
    key_.id = 1;
    key_.secret.assign(32, 0x5a);
  }

  std::mt19937& rng() { return rng_; }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(between(0, static_cast<std::int64_t>(v.size()) - 1))];
  }

  std::string new_code(std::int64_t at_ms) {
    const auto day = static_cast<std::uint32_t>(at_ms / kDayMs - codes::kCodeEpochUnixDay);
    const auto nonce = static_cast<std::uint64_t>(between(0, (std::int64_t{1} << 35) - 1));
    return codes::issue_with_nonce(key_, day, nonce);
  }

  // Appends one event of `store` (hash chain, counts); false once the
  // store's share of events is written.
  bool add(const std::string& store, std::int64_t at_ms, const char* type, const json& body);
  void begin_store(std::int64_t events) {
    store_events_ = events;
    seq_ = 0;
    prev_ = store::Hash{};
  }
  [[nodiscard]] bool store_full() const { return seq_ >= store_events_; }
  [[nodiscard]] std::int64_t seq() const { return seq_; }
  [[nodiscard]] const store::Hash& last_hash() const { return prev_; }
  [[nodiscard]] std::int64_t store_events() const { return store_events_; }

  std::vector<Code> chain_codes;                    // customer codes of every store so far
  Code partner_code;                                // "gym"'s
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::string>>>
      redemptions_of;                               // code -> (store, txn), in order

 private:
  sqlite3* db_;
  ChainFile& out_;
  std::mt19937 rng_;
  Sql insert_;
  codes::CodeKey key_;
  std::int64_t store_events_ = 0;
  std::int64_t seq_ = 0;
  store::Hash prev_{};
  std::int64_t rows_in_transaction_ = 0;
};

bool Chain::add(const std::string& store, std::int64_t at_ms, const char* type, const json& body) {
  if (store_full()) return false;
  const std::string text = body.dump();  // keys sorted: canonical, as the plugin's
  ++seq_;
  const store::Hash hash = store::event_hash(prev_, seq_, store, type, at_ms, kRulesetVersion, text);
  const std::string type_text = type;
  insert_.bind(1, store).bind(2, seq_).bind(3, type_text).bind(4, at_ms).bind(5, kRulesetVersion);
  insert_.bind(6, text).bind(7, prev_).bind(8, hash).bind(9, out_.events + 1);
  insert_.run();
  prev_ = hash;
  ++out_.events;
  out_.body_bytes += static_cast<std::int64_t>(text.size());
  ++out_.events_by_type[type_text];
  if (type_text == "txn_committed") out_.committed_total_minor += body.at("total_minor").get<std::int64_t>();
  if (++rows_in_transaction_ == kRowsPerTransaction) {
    exec(db_, "COMMIT; BEGIN");
    rows_in_transaction_ = 0;
  }
  return true;
}

// One store's visits until its share of events is written.
class StoreSimulation {
 public:
  StoreSimulation(Chain& chain, std::string store_id, std::string currency, std::int64_t from_ms,
                  std::int64_t period_ms)
      : c_(chain), store_(std::move(store_id)), currency_(std::move(currency)), from_ms_(from_ms),
        period_ms_(period_ms) {}

  void run();
  [[nodiscard]] std::int64_t customers() const { return static_cast<std::int64_t>(customers_.size()); }

 private:
  // Visits start where the store's share of the period says: events are
  // spread evenly, and a visit's events share its clock.
  std::int64_t clock() const {
    return from_ms_ + c_.seq() * period_ms_ / std::max<std::int64_t>(c_.store_events(), 1);
  }
  std::string cashier() { return "cashier-" + std::to_string(c_.between(1, kCashiers)); }
  std::string terminal() { return "till-" + std::to_string(c_.between(1, 3)); }
  std::string new_customer() {
    customers_.push_back("cust-" + store_.substr(6) + "-" + std::to_string(customers_.size() + 1));
    return customers_.back();
  }

  // `redeemed` is copied: issue_code() may grow codes_ it points into.
  void sale(const std::string& customer, bool registered, std::optional<Code> redeemed);
  void refund();
  void issue_code(const std::string& customer, const std::string& txn, std::int64_t at);

  Chain& c_;
  std::string store_;
  std::string currency_;
  std::int64_t from_ms_;
  std::int64_t period_ms_;
  std::vector<std::string> customers_;
  std::unordered_map<std::string, std::string> code_of_;  // customer -> their code
  std::vector<Code> codes_;                               // issued here
  std::vector<Txn> recent_;                               // for refunds, a ring
  std::size_t recent_next_ = 0;
  std::int64_t txns_ = 0;
  std::int64_t reversals_ = 0;
};

void StoreSimulation::run() {
  while (!c_.store_full()) {
    const double roll = std::uniform_real_distribution<double>(0, 1)(c_.rng());
    if (customers_.size() < 5 || (roll >= 0.12 && roll < 0.24)) {
      sale(new_customer(), true, std::nullopt);
    } else if (roll < 0.12) {
      sale("", false, std::nullopt);
    } else if (roll < 0.32) {
      std::optional<Code> code;
      if (c_.chance(0.06)) {
        code = c_.partner_code;
      } else if (c_.chance(0.08) && !c_.chain_codes.empty()) {
        code = c_.pick(c_.chain_codes);
      } else if (!codes_.empty()) {
        code = c_.pick(codes_);
      }
      sale(new_customer(), true, code);
    } else if (roll < 0.34 && !recent_.empty()) {
      refund();
    } else if (c_.chance(0.03) && !c_.chain_codes.empty()) {
      sale(c_.pick(c_.chain_codes).owner, false, std::nullopt);  // a customer of another store
    } else {
      sale(c_.pick(customers_), false, std::nullopt);
    }
  }
  // This store's codes become redeemable everywhere (the stores after it).
  c_.chain_codes.insert(c_.chain_codes.end(), codes_.begin(), codes_.end());
}

void StoreSimulation::sale(const std::string& customer, bool registered, std::optional<Code> redeemed) {
  const std::int64_t at = clock();
  Txn t;
  t.id = "T" + std::to_string(++txns_);
  t.customer = customer;
  t.lines = c_.between(1, 8);
  t.subtotal_minor = t.lines * c_.between(300, 3000);
  const bool partner = redeemed && redeemed->owner == c_.partner_code.owner;
  if (redeemed) t.discount_minor = t.subtotal_minor * (partner ? 10 : 20) / 100;
  const std::int64_t tax = (t.subtotal_minor - t.discount_minor) * 8 / 100;
  t.total_minor = t.subtotal_minor - t.discount_minor + tax;
  const std::string cashier_id = cashier();
  const std::string terminal_id = terminal();

  if (registered) {
    c_.add(store_, at, "customer_registered",
           {{"customer_id", customer},
            {"referred_by", redeemed ? json(redeemed->code) : json(nullptr)}});
    if (c_.chance(0.3)) {
      c_.add(store_, at, "identities_seen",
             {{"customer_id", customer}, {"sealed", std::string(120, 'Q')}});
    }
  }
  c_.add(store_, at, "txn_committed",
         {{"txn_id", t.id}, {"terminal_id", terminal_id}, {"cashier_id", cashier_id},
          {"customer_id", nullable(customer)}, {"currency", currency_}, {"lines", t.lines},
          {"subtotal_minor", t.subtotal_minor}, {"host_discount_minor", 0},
          {"discount_minor", t.discount_minor}, {"tax_minor", tax}, {"total_minor", t.total_minor}});
  if (!customer.empty() && c_.chance(0.15)) {
    c_.add(store_, at, "nps_answered",
           {{"txn_id", t.id}, {"customer_id", customer}, {"score", c_.between(0, 10)},
            {"terminal_id", terminal_id}, {"cashier_id", cashier_id}});
  }
  if (redeemed) {
    const bool here = redeemed->store == store_ || partner;
    const std::string referrer = here ? redeemed->owner : std::string();
    const json flags = c_.chance(0.02) ? json::array({"velocity_terminal"}) : json::array();
    c_.add(store_, at, "code_redeemed",
           {{"txn_id", t.id}, {"code", redeemed->code}, {"program", partner ? "gym" : "friends"},
            {"customer_id", customer}, {"discount_minor", t.discount_minor},
            {"discount_kind", "referral"}, {"referee_credit_minor", partner ? 0 : kRefereeCreditMinor},
            {"currency", currency_}, {"referrer_customer_id", nullable(referrer)}, {"flags", flags}});
    c_.redemptions_of[redeemed->code].emplace_back(store_, t.id);
    if (!partner) {
      t.referee_credit_minor = kRefereeCreditMinor;
      c_.add(store_, at, "reward_accrued",
             {{"customer_id", customer}, {"side", "referee"}, {"kind", "store_credit"},
              {"amount", kRefereeCreditMinor}, {"currency", currency_}, {"spendable_at_ms", at},
              {"held", false}, {"code", redeemed->code}, {"txn_id", t.id}});
    }
    t.referrer = referrer;
    t.referrer_kind = partner ? "points" : "store_credit";
    t.referrer_amount = partner ? kPartnerPoints : kReferrerCreditMinor;
    t.referrer_spendable_at_ms = partner ? at : at + kPendingDays * kDayMs;
    t.referrer_held = !flags.empty();
    json reward = {{"customer_id", nullable(referrer)}, {"side", "referrer"},
                   {"kind", t.referrer_kind}, {"amount", t.referrer_amount},
                   {"currency", currency_}, {"spendable_at_ms", t.referrer_spendable_at_ms},
                   {"held", t.referrer_held}, {"code", redeemed->code}, {"txn_id", t.id}};
    if (!here) reward["attribute_by"] = "code";
    c_.add(store_, at, "reward_accrued", reward);
  }
  if (!customer.empty() && c_.chance(0.04)) {
    const std::int64_t amount = std::min<std::int64_t>(t.total_minor, 500);
    c_.add(store_, at, "balance_spent",
           {{"customer_id", customer}, {"kind", "store_credit"}, {"amount", amount},
            {"value_minor", amount}, {"currency", currency_}, {"txn_id", t.id}});
  }
  if (!customer.empty() && code_of_.count(customer) == 0 && c_.chance(0.25)) {
    issue_code(customer, t.id, at);
  }
  if (c_.chance(0.3)) {
    static const char* const kOutcomes[] = {"asked", "declined", "code_issued", "not_asked"};
    const char* outcome = kOutcomes[static_cast<std::size_t>(c_.between(0, 3))];
    c_.add(store_, at, "ask_recorded",
           {{"txn_id", t.id}, {"outcome", outcome}, {"customer_id", nullable(customer)},
            {"terminal_id", terminal_id}, {"cashier_id", cashier_id}});
  }
  if (recent_.size() < kRecentTxnsMax) {
    recent_.push_back(std::move(t));
  } else {
    recent_[recent_next_++ % kRecentTxnsMax] = std::move(t);
  }
}

void StoreSimulation::issue_code(const std::string& customer, const std::string& txn,
                                 std::int64_t at) {
  const std::string code = c_.new_code(at);
  const auto day = at / kDayMs - codes::kCodeEpochUnixDay;
  c_.add(store_, at, "code_issued",
         {{"code", code}, {"customer_id", customer}, {"program", "friends"}, {"key_id", 1},
          {"issue_day", day}, {"expires_at_ms", (at / kDayMs + 90) * kDayMs}, {"txn_id", nullable(txn)}});
  code_of_[customer] = code;
  codes_.push_back({code, customer, store_});
}

void StoreSimulation::refund() {
  Txn& t = recent_[static_cast<std::size_t>(c_.between(0, static_cast<std::int64_t>(recent_.size()) - 1))];
  if (t.reversed) return;
  t.reversed = true;
  const std::int64_t at = clock();
  const bool complete = c_.chance(0.7);
  const std::int64_t refund = complete ? t.total_minor : t.total_minor / 2;
  const std::int64_t reversed_discount = complete ? t.discount_minor : t.discount_minor / 2;
  const std::string reversal = "X" + std::to_string(++reversals_);
  const std::string cashier_id = cashier();
  c_.add(store_, at, "txn_reversed",
         {{"reversal_id", reversal}, {"txn_id", t.id}, {"kind", "refund"}, {"complete", complete},
          {"lines", json::array({{{"line", 0}, {"quantity", 1}, {"refund_minor", refund},
                                  {"reversed_discount_minor", reversed_discount}}})},
          {"terminal_id", terminal()}, {"cashier_id", cashier_id}, {"refund_minor", refund},
          {"reversed_discount_minor", reversed_discount}});
  if (!complete || t.referrer_amount == 0) return;
  const auto reverse = [&](const std::string& customer, const char* side, const std::string& kind,
                           std::int64_t amount, std::int64_t spendable, bool held) {
    c_.add(store_, at, "reward_reversed",
           {{"customer_id", nullable(customer)}, {"side", side}, {"kind", kind}, {"amount", amount},
            {"spendable_at_ms", spendable}, {"held", held}, {"was_pending", at < spendable},
            {"currency", currency_}, {"txn_id", t.id}, {"reversal_id", reversal},
            {"why", "txn_reversed"}});
  };
  if (!t.referrer.empty()) {
    reverse(t.referrer, "referrer", t.referrer_kind, t.referrer_amount, t.referrer_spendable_at_ms,
            t.referrer_held);
  }
  if (t.referee_credit_minor > 0) {
    reverse(t.customer, "referee", "store_credit", t.referee_credit_minor, at, false);
  }
}

// Codes redeemed more than kMaxRedemptions times, as head office records
// them (tools/hq/service.cpp, "over_redeemed").
std::int64_t write_conflicts(sqlite3* db, const Chain& chain) {
  Sql conflict(db, "INSERT INTO conflicts (conflict_id, code, kind, settlement, change_seq)"
                   " VALUES (?1, ?2, 'over_redeemed', ?3, ?1)");
  Sql txn(db, "INSERT INTO conflict_txns (conflict_id, store_id, txn_id, arrival) VALUES (?1, ?2, ?3, ?4)");
  std::vector<const std::string*> codes;
  for (const auto& [code, redemptions] : chain.redemptions_of) {
    if (redemptions.size() > kMaxRedemptions && code != chain.partner_code.code) codes.push_back(&code);
  }
  std::sort(codes.begin(), codes.end(), [](const auto* a, const auto* b) { return *a < *b; });
  std::int64_t id = 0;
  for (const auto* code : codes) {
    const auto& redemptions = chain.redemptions_of.at(*code);
    const std::string settlement = "redeemed " + std::to_string(redemptions.size()) + " times, " +
                                   std::to_string(kMaxRedemptions) +
                                   " allowed: every customer keeps their discount; the referrer is "
                                   "rewarded once per referee (later rewards reversed by head office)";
    ++id;
    conflict.bind(1, id).bind(2, *code).bind(3, settlement);
    conflict.run();
    std::int64_t arrival = 0;
    for (const auto& [store, txn_id] : redemptions) {
      txn.bind(1, id).bind(2, store).bind(3, txn_id).bind(4, ++arrival);
      txn.run();
    }
  }
  return id;
}

}  // namespace

ChainFile write_chain_file(const std::string& path, const ChainSpec& spec) {
  {
    auto storage = hq::SqliteStorage::open(path);  // the real schema, migrated
    if (!storage) throw BenchError("chain file: " + storage.error().describe());
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(db);
    throw BenchError("chain file: cannot open " + path);
  }
  const std::unique_ptr<sqlite3, int (*)(sqlite3*)> owner(db, sqlite3_close_v2);
  exec(db, "PRAGMA synchronous=OFF");
  exec(db, "BEGIN");
  ChainFile out;
  {
    Chain chain(db, spec.seed, out);
    Sql store_row(db, "INSERT INTO stores (store_id, acked_seq, last_hash, last_seen_ms)"
                      " VALUES (?1, ?2, ?3, ?4)");
    const std::int64_t period_ms = spec.days * kDayMs;
    chain.partner_code = {chain.new_code(spec.from_ms), "partner:gym", "store-0001"};
    for (std::int64_t s = 0; s < spec.stores; ++s) {
      char id[32];
      std::snprintf(id, sizeof id, "store-%04lld", static_cast<long long>(s + 1));
      const std::int64_t share = spec.events / spec.stores + (s < spec.events % spec.stores ? 1 : 0);
      chain.begin_store(share);
      if (s == 0) {  // the partner's code, issued by head office's admin at the first store
        chain.add(id, spec.from_ms, "code_issued",
                  {{"code", chain.partner_code.code}, {"customer_id", chain.partner_code.owner},
                   {"program", "gym"}, {"key_id", 1},
                   {"issue_day", spec.from_ms / kDayMs - codes::kCodeEpochUnixDay},
                   {"expires_at_ms", spec.from_ms + 365 * kDayMs}, {"txn_id", nullptr}});
      }
      StoreSimulation store(chain, id, s % 10 == 9 ? "EUR" : "USD", spec.from_ms, period_ms);
      store.run();
      const std::string store_id = id;  // bound without a copy: alive until run()
      store_row.bind(1, store_id).bind(2, chain.seq()).bind(3, chain.last_hash());
      store_row.bind(4, spec.from_ms + period_ms);
      store_row.run();
      out.customers += store.customers();
    }
    out.conflicts = write_conflicts(db, chain);
    exec(db, "COMMIT");
  }
  exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_stmt* size = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                         -1, &size, nullptr) == SQLITE_OK &&
      sqlite3_step(size) == SQLITE_ROW) {
    out.file_bytes = sqlite3_column_int64(size, 0);
  }
  sqlite3_finalize(size);
  return out;
}

BareAnswer run_bare_query(const std::string& path, std::int64_t from_ms, std::int64_t to_ms) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(db);
    throw BenchError("bare query: cannot open " + path);
  }
  const std::unique_ptr<sqlite3, int (*)(sqlite3*)> owner(db, sqlite3_close_v2);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, kBareQuery, -1, &stmt, nullptr) != SQLITE_OK) {
    throw BenchError(std::string("bare query: ") + sqlite3_errmsg(db));
  }
  const std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> statement(stmt, sqlite3_finalize);
  sqlite3_bind_int64(stmt, 1, from_ms);
  sqlite3_bind_int64(stmt, 2, to_ms);
  BareAnswer answer;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const auto* type = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    answer.events_by_type[type != nullptr ? type : ""] = sqlite3_column_int64(stmt, 1);
    answer.committed_total_minor += sqlite3_column_int64(stmt, 2);  // NULL reads 0
  }
  if (rc != SQLITE_DONE) throw BenchError(std::string("bare query: ") + sqlite3_errmsg(db));
  return answer;
}

}  // namespace refpos::bench
