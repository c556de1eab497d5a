// The report engine: one pass over the event log (store file or head-office
// file, the same event bodies), collecting per-entity facts, then a finish
// step that turns them into the Report's figures. docs/reports.md defines
// every figure; the comments here say only what a reader could get wrong.
//
// Two scopes meet here. Counted figures take the events of the scope (one
// store, or all) whose at_ms lies in [from_ms, to_ms). Facts about people
// take every event the file holds before to_ms, whatever store recorded it:
// whether a customer "came through a code", who owns a code, whether a
// transaction was refunded. A head office thus knows that a customer
// referred at store A and shopping at store B is a referred customer at B.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "event_source.hpp"
#include "report.hpp"
#include "sqlite_reader.hpp"

namespace refpos::report {
namespace {

using nlohmann::json;

constexpr std::string_view kPartnerPrefix = "partner:";

std::int64_t int_of(const json& body, const char* member) {
  const auto it = body.find(member);
  if (it == body.end() || !it->is_number_integer()) return 0;
  return it->get<std::int64_t>();
}

std::string text_of(const json& body, const char* member) {
  const auto it = body.find(member);
  if (it == body.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

bool bool_of(const json& body, const char* member) {
  const auto it = body.find(member);
  return it != body.end() && it->is_boolean() && it->get<bool>();
}

// (store, transaction): transaction ids are unique per store only.
std::string txn_key(const std::string& store, const std::string& txn) {
  return store + '\x1f' + txn;
}

std::optional<double> ratio(std::int64_t part, std::int64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

// total / count rounded half up (away from zero), with no intermediate that
// could overflow: the remainder is below count.
std::optional<std::int64_t> average_half_up(std::int64_t total, std::int64_t count) {
  if (count == 0) return std::nullopt;
  const std::int64_t q = total / count;
  const std::int64_t rest = total % count;
  if (rest >= 0) return 2 * rest >= count ? q + 1 : q;
  return -2 * rest >= count ? q - 1 : q;
}

std::string currency_for(const std::string& unit, const json& body) {
  return unit == "store_credit" || unit == "gift_card" ? text_of(body, "currency") : std::string();
}

}  // namespace

class ReportFold::State {
 public:
  struct Redemption {
    std::string store;
    std::string txn;
    std::string code;
    std::string customer;
    std::string referrer;  // from the event; "" when issued at another store
    std::int64_t at_ms = 0;
    bool in_scope = false;
  };

  struct Accrual {
    std::string store;
    std::string txn;
    std::string side;
    std::string unit;
    std::string currency;
    std::int64_t amount = 0;
    std::int64_t spendable_at_ms = 0;
    bool held = false;
  };

  struct Spend {
    std::int64_t transactions = 0;
    std::int64_t revenue_minor = 0;
  };

  struct CashierTally {
    std::int64_t eligible = 0, asked = 0, declined = 0, code_issued = 0, not_asked = 0;
  };

  State(Period period, std::optional<std::string> scope)
      : period_(std::move(period)), scope_(std::move(scope)) {}

  Status add(const std::string& store, std::int64_t seq, std::string_view type, std::int64_t at_ms,
             std::string_view body_text);
  void finish(Report& r) const;
  [[nodiscard]] const Period& period() const { return period_; }

  std::int64_t events_in_period = 0;
  std::set<std::string> redeemed_txns_in_scope;  // txn_key of redemptions counted
  std::vector<ConflictRow> conflicts;            // every one the source knows

 private:
  [[nodiscard]] bool counted(const std::string& store, std::int64_t at_ms) const {
    return at_ms >= period_.from_ms && at_ms < period_.to_ms && (!scope_ || *scope_ == store);
  }
  [[nodiscard]] std::string owner_of(const Redemption& r) const {
    if (!r.referrer.empty()) return r.referrer;
    const auto it = code_owner_.find(r.code);
    return it == code_owner_.end() ? std::string() : it->second;
  }
  void count_ask(const std::string& store, const json& body);
  void count_nps(std::int64_t score);
  void finish_revenue(Report& r) const;
  void finish_rewards(Report& r) const;
  void finish_referrers(Report& r) const;

  Period period_;
  std::optional<std::string> scope_;

  // Facts about people, from every event before to_ms.
  std::unordered_set<std::string> referred_;  // customers who redeemed a code
  std::unordered_map<std::string, std::string> code_owner_;
  std::unordered_set<std::string> reversed_txns_;     // refunded or voided whole
  std::unordered_set<std::string> reversed_rewards_;  // txn_key + side
  std::vector<Redemption> redemptions_;               // in the period, any scope

  // Counted: in scope and in the period.
  std::int64_t codes_issued_ = 0;
  std::int64_t codes_issued_partner_ = 0;
  std::map<std::string, std::int64_t> partner_codes_issued_;
  std::map<std::string, std::map<std::string, Spend>> spend_;  // currency -> customer -> spend
  std::map<std::string, Spend> anonymous_;                     // currency -> spend
  std::vector<Accrual> accruals_;
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<std::int64_t, std::int64_t>>
      clawed_back_;  // (side, unit, currency) -> (count, amount)
  std::map<std::pair<std::string, std::string>, CashierTally> cashiers_;
  NpsFigures nps_;
};

Status ReportFold::State::add(const std::string& store, std::int64_t seq, std::string_view type,
                              std::int64_t at_ms, std::string_view body_text) {
  static const std::unordered_set<std::string_view> kRead = {
      "code_issued",    "code_redeemed",   "txn_committed", "txn_reversed",
      "reward_accrued", "reward_reversed", "ask_recorded",  "nps_answered"};
  const bool in = counted(store, at_ms);
  if (in) ++events_in_period;
  if (kRead.count(type) == 0) return ok_status();
  const json body = json::parse(body_text, nullptr, false);
  if (!body.is_object()) {
    return make_error(
        ErrorKind::storage, "events",
        "event " + store + "/" + std::to_string(seq) + ": the body is not a JSON object");
  }
  if (type == "code_issued") {
    const auto owner = text_of(body, "customer_id");
    code_owner_[text_of(body, "code")] = owner;
    if (!in) return ok_status();
    ++codes_issued_;
    if (owner.starts_with(kPartnerPrefix)) {
      ++codes_issued_partner_;
      ++partner_codes_issued_[owner.substr(kPartnerPrefix.size())];
    }
  } else if (type == "code_redeemed") {
    Redemption r{store,
                 text_of(body, "txn_id"),
                 text_of(body, "code"),
                 text_of(body, "customer_id"),
                 text_of(body, "referrer_customer_id"),
                 at_ms,
                 in};
    referred_.insert(r.customer);
    if (at_ms < period_.from_ms) return ok_status();
    if (in) redeemed_txns_in_scope.insert(txn_key(store, r.txn));
    redemptions_.push_back(std::move(r));
  } else if (type == "txn_committed") {
    if (!in) return ok_status();
    const auto customer = text_of(body, "customer_id");
    Spend& s = customer.empty() ? anonymous_[text_of(body, "currency")]
                                : spend_[text_of(body, "currency")][customer];
    ++s.transactions;
    s.revenue_minor += int_of(body, "total_minor");
  } else if (type == "txn_reversed") {
    if (bool_of(body, "complete")) reversed_txns_.insert(txn_key(store, text_of(body, "txn_id")));
  } else if (type == "reward_accrued") {
    if (!in) return ok_status();
    const auto unit = text_of(body, "kind");
    accruals_.push_back({store, text_of(body, "txn_id"), text_of(body, "side"), unit,
                         currency_for(unit, body), int_of(body, "amount"),
                         int_of(body, "spendable_at_ms"), bool_of(body, "held")});
  } else if (type == "reward_reversed") {
    const auto side = text_of(body, "side");
    reversed_rewards_.insert(txn_key(store, text_of(body, "txn_id")) + '\x1f' + side);
    if (!in) return ok_status();
    const auto unit = text_of(body, "kind");
    auto& row = clawed_back_[{side, unit, currency_for(unit, body)}];
    ++row.first;
    row.second += int_of(body, "amount");
  } else if (type == "ask_recorded") {
    if (in) count_ask(store, body);
  } else if (type == "nps_answered") {
    if (in) count_nps(int_of(body, "score"));
  }
  return ok_status();
}

void ReportFold::State::count_ask(const std::string& store, const json& body) {
  auto& t = cashiers_[{store, text_of(body, "cashier_id")}];
  const auto outcome = text_of(body, "outcome");
  ++t.eligible;
  if (outcome == "not_asked") {
    ++t.not_asked;
    return;
  }
  ++t.asked;  // asked, declined (asked; the customer said no) or code_issued
  if (outcome == "declined") ++t.declined;
  if (outcome == "code_issued") ++t.code_issued;
}

void ReportFold::State::count_nps(std::int64_t score) {
  if (score < 0 || score > 10) return;  // the plugin never writes one
  ++nps_.histogram[score];
  ++nps_.answers;
  if (score >= 9) {
    ++nps_.promoters;
  } else if (score >= 7) {
    ++nps_.passives;
  } else {
    ++nps_.detractors;
  }
}

void ReportFold::State::finish_revenue(Report& r) const {
  std::set<std::string> currencies;
  for (const auto& [c, _] : spend_) currencies.insert(c);
  for (const auto& [c, _] : anonymous_) currencies.insert(c);
  for (const auto& currency : currencies) {
    RevenueRow row;
    row.currency = currency;
    if (const auto it = spend_.find(currency); it != spend_.end()) {
      for (const auto& [customer, s] : it->second) {
        CustomerGroup& g = referred_.count(customer) != 0 ? row.referred : row.not_referred;
        ++g.customers;
        g.transactions += s.transactions;
        g.revenue_minor += s.revenue_minor;
        if (s.transactions >= 2) ++g.repeat_customers;
      }
    }
    for (CustomerGroup* g : {&row.referred, &row.not_referred}) {
      g->average_basket_minor = average_half_up(g->revenue_minor, g->transactions);
      g->repeat_rate = ratio(g->repeat_customers, g->customers);
    }
    if (const auto it = anonymous_.find(currency); it != anonymous_.end()) {
      row.anonymous_transactions = it->second.transactions;
      row.anonymous_revenue_minor = it->second.revenue_minor;
    }
    r.revenue.push_back(std::move(row));
  }
}

void ReportFold::State::finish_rewards(Report& r) const {
  std::map<std::tuple<std::string, std::string, std::string>, RewardRow> rows;
  const auto row_for = [&](const std::string& side, const std::string& unit,
                           const std::string& currency) -> RewardRow& {
    auto& row = rows[{side, unit, currency}];
    row.side = side;
    row.unit = unit;
    row.currency = currency;
    return row;
  };
  for (const auto& a : accruals_) {
    auto& row = row_for(a.side, a.unit, a.currency);
    ++row.granted_count;
    row.granted_amount += a.amount;
    const bool reversed = reversed_rewards_.count(txn_key(a.store, a.txn) + '\x1f' + a.side) != 0;
    if (reversed || a.unit == "recognition") continue;
    if (a.spendable_at_ms >= period_.to_ms) {
      ++row.pending_count;
      row.pending_amount += a.amount;
    }
    if (a.held) {
      ++row.held_count;
      row.held_amount += a.amount;
    }
  }
  for (const auto& [key, tally] : clawed_back_) {
    auto& row = row_for(std::get<0>(key), std::get<1>(key), std::get<2>(key));
    row.clawed_back_count += tally.first;
    row.clawed_back_amount += tally.second;
  }
  for (auto& [_, row] : rows) r.rewards.push_back(std::move(row));
}

void ReportFold::State::finish_referrers(Report& r) const {
  struct Tally {
    std::int64_t redemptions = 0;
    std::set<std::string> referees;
  };
  std::map<std::string, Tally> by_owner;
  std::set<std::string> codes;
  for (const auto& red : redemptions_) {
    if (!red.in_scope) continue;
    ++r.codes.redemptions;
    codes.insert(red.code);
    if (reversed_txns_.count(txn_key(red.store, red.txn)) != 0) ++r.codes.redemptions_reversed;
    const auto owner = owner_of(red);
    if (owner.empty()) {
      ++r.redemptions_unattributed;
      continue;
    }
    auto& t = by_owner[owner];
    ++t.redemptions;
    t.referees.insert(red.customer);
  }
  r.codes.codes_redeemed = static_cast<std::int64_t>(codes.size());

  std::map<std::string, PartnerRow> partners;
  for (const auto& [id, n] : partner_codes_issued_) {
    partners[id].partner_id = id;
    partners[id].codes_issued = n;
  }
  for (const auto& [owner, t] : by_owner) {
    const auto referees = static_cast<std::int64_t>(t.referees.size());
    if (owner.starts_with(kPartnerPrefix)) {
      const auto id = owner.substr(kPartnerPrefix.size());
      auto& p = partners[id];
      p.partner_id = id;
      p.redemptions = t.redemptions;
      p.referees = referees;
    } else {
      r.top_referrers.push_back({owner, t.redemptions, referees});
    }
  }
  std::sort(r.top_referrers.begin(), r.top_referrers.end(), [](const auto& a, const auto& b) {
    return a.redemptions != b.redemptions ? a.redemptions > b.redemptions
                                          : a.customer_id < b.customer_id;
  });
  if (r.top_referrers.size() > kTopReferrersMax) r.top_referrers.resize(kTopReferrersMax);
  for (auto& [_, p] : partners) r.partners.push_back(std::move(p));
  std::sort(r.partners.begin(), r.partners.end(), [](const auto& a, const auto& b) {
    return a.redemptions != b.redemptions ? a.redemptions > b.redemptions
                                          : a.partner_id < b.partner_id;
  });
}

void ReportFold::State::finish(Report& r) const {
  r.events_in_period = events_in_period;
  r.empty = events_in_period == 0;
  r.codes.issued = codes_issued_;
  r.codes.issued_partner = codes_issued_partner_;
  finish_referrers(r);
  r.codes.conversion_rate = ratio(r.codes.redemptions, r.codes.issued);
  finish_revenue(r);
  finish_rewards(r);

  // The referral chain: referees of the period (in scope) who own a code
  // redeemed, anywhere in the file, at or after their own redemption.
  std::map<std::string, std::int64_t> first_redeemed;  // referee -> earliest at_ms
  for (const auto& red : redemptions_) {
    if (!red.in_scope) continue;
    auto [it, fresh] = first_redeemed.emplace(red.customer, red.at_ms);
    if (!fresh) it->second = std::min(it->second, red.at_ms);
  }
  std::set<std::string> went_on;
  for (const auto& red : redemptions_) {
    const auto owner = owner_of(red);
    const auto it = first_redeemed.find(owner);
    if (it != first_redeemed.end() && red.at_ms >= it->second && red.customer != owner) {
      went_on.insert(owner);
    }
  }
  r.chain.referred_customers = static_cast<std::int64_t>(first_redeemed.size());
  r.chain.referred_who_referred = static_cast<std::int64_t>(went_on.size());
  r.chain.rate = ratio(r.chain.referred_who_referred, r.chain.referred_customers);

  for (const auto& [key, t] : cashiers_) {
    r.cashiers.push_back({key.first, key.second, t.eligible, t.asked, t.declined, t.code_issued,
                          t.not_asked, ratio(t.asked, t.eligible)});
  }
  r.nps = nps_;
  r.nps.score =
      nps_.answers == 0
          ? std::nullopt
          : std::optional<double>(100.0 * static_cast<double>(nps_.promoters - nps_.detractors) /
                                  static_cast<double>(nps_.answers));
}

namespace {

// ---- reading the file --------------------------------------------------------

Status read_conflicts(ReadOnlyDatabase& db, SourceKind kind, ReportFold& fold) {
  auto exists = db.has_table("conflicts");
  if (!exists) return exists.error();
  if (!*exists) return ok_status();  // a store from before sync existed
  const bool hq = kind == SourceKind::head_office;
  auto q =
      db.prepare(hq ? "SELECT c.conflict_id, c.code, c.kind, c.settlement, t.store_id, t.txn_id"
                      " FROM conflicts c JOIN conflict_txns t ON t.conflict_id = c.conflict_id"
                      " ORDER BY c.conflict_id, t.arrival, t.store_id, t.txn_id"
                    : "SELECT conflict_id, code, kind, settlement, '', txn_ids FROM conflicts"
                      " ORDER BY conflict_id");
  if (!q) return q.error();
  std::map<std::int64_t, ConflictRow> rows;  // a head office gives one row per transaction
  for (;;) {
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) break;
    const std::int64_t id = (*q)->int64(0);
    auto& c = rows[id];
    c.conflict_id = id;
    c.code = (*q)->text(1);
    c.kind = (*q)->text(2);
    c.settlement = (*q)->text(3);
    if (hq) {
      c.txns.push_back({(*q)->text(4), (*q)->text(5)});
      continue;
    }
    const json ids = json::parse((*q)->text_view(5), nullptr, false);
    if (!ids.is_array()) continue;
    for (const auto& t : ids) {
      if (t.is_string()) c.txns.push_back({"", t.get<std::string>()});
    }
  }
  for (auto& [_, c] : rows) fold.add_conflict(std::move(c));
  return ok_status();
}

}  // namespace

ReportFold::ReportFold(SourceKind source, Period period, std::optional<std::string> store_id,
                       std::vector<std::string> stores)
    : source_(source), scope_(store_id.value_or("")), stores_(std::move(stores)) {
  state_ = std::make_unique<State>(std::move(period), std::move(store_id));
}

ReportFold::~ReportFold() = default;

Status ReportFold::add(const EventRow& event) {
  store_.assign(event.store_id);
  return state_->add(store_, event.seq, event.type, event.at_ms, event.body);
}

void ReportFold::add_conflict(ConflictRow conflict) {
  state_->conflicts.push_back(std::move(conflict));
}

Report ReportFold::finish() {
  Report r;
  r.source = source_;
  r.scope = scope_;
  r.stores = stores_;
  r.period = state_->period();
  state_->finish(r);
  // A store file's conflicts name its own transactions without a store id.
  const std::string own = source_ == SourceKind::store && !stores_.empty() ? stores_.front() : "";
  for (auto& c : state_->conflicts) {
    const bool touches = std::any_of(c.txns.begin(), c.txns.end(), [&](const ConflictTxn& t) {
      const auto& store = t.store_id.empty() ? own : t.store_id;
      return state_->redeemed_txns_in_scope.count(txn_key(store, t.txn_id)) != 0;
    });
    if (touches) r.conflicts.push_back(std::move(c));
  }
  state_->conflicts.clear();
  return r;
}

Result<SourceKind> detect_source(const std::string& path) {
  auto db = ReadOnlyDatabase::open(path);
  if (!db) return db.error();
  return detect_kind(**db);
}

Result<Report> build_report(const ReportRequest& request) {
  auto source = open_event_source(request.path, request.store_id);
  if (!source) return source.error();
  ReportFold fold(source->kind, request.period, request.store_id,
                  request.store_id ? std::vector<std::string>{*request.store_id} : source->stores);
  if (auto st = for_each_event(
          *source, request.progress, [&](const EventRow& event) { return fold.add(event); },
          request.period.to_ms);
      !st) {
    return st.error();
  }
  if (auto st = read_conflicts(*source->db, source->kind, fold); !st) return st.error();
  return fold.finish();
}

}  // namespace refpos::report
