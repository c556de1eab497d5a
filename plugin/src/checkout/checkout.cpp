#include "checkout/checkout.hpp"

#include <algorithm>
#include <cassert>

#include "codes/code.hpp"
#include "money/tax.hpp"
#include "receipt/printout.hpp"
#include "store/pii.hpp"
#include "receipt/receipt_text.hpp"
#include "rules/evaluate.hpp"
#include "wire/answers.hpp"
#include "wire/requests.hpp"

namespace refpos::checkout {
namespace {

using nlohmann::json;
using wire::CheckoutRequest;

// Issuing retries this often if a fresh code collides with one already here
// (35 random bits per key per day: a retry is rare, two are rarer still).
constexpr int kIssueAttempts = 4;

Answer fail(Error error) {
  auto doc = wire::error_document(error);
  return Answer{std::move(error), doc.dump()};
}

Answer succeed(const json& answer) { return Answer{std::nullopt, answer.dump()}; }

Error code_rejected(std::string reason, std::string message) {
  return make_error(ErrorKind::code_rejected, "code", std::move(message), std::move(reason));
}

json base_answer() { return json{{"schema", wire::kAnswerSchema}}; }

Answer no_such_transaction(const std::string& txn_id) {
  return fail(make_error(ErrorKind::not_found, "txn_id",
                         "no committed transaction \"" + txn_id + "\" in this store"));
}

json nullable(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }

// An accepted code and what it gives.
struct CodeCheck {
  std::string normalized;
  codes::CodeFields fields;
  rules::CodeFacts facts;
  rules::RedemptionDecision decision;
};

// The customer's own code, new or still valid.
struct IssuedCode {
  std::string normalized;
  bool is_new = false;
  std::int64_t expires_at_ms = 0;
};

// Appends events inside one write transaction and remembers their range.
class EventBatch {
 public:
  EventBatch(store::Store& store, std::int64_t at_ms, std::int64_t ruleset_version)
      : store_(store), at_ms_(at_ms), ruleset_version_(ruleset_version) {}

  Status add(std::string_view type, json body) {
    auto appended = store_.append(at_ms_, ruleset_version_, store::EventDraft{type, std::move(body)});
    if (!appended) return appended.error();
    if (first_seq_ == 0) first_seq_ = appended->seq;
    assert(last_seq_ == 0 || appended->seq == last_seq_ + 1);
    last_seq_ = appended->seq;
    return ok_status();
  }
  [[nodiscard]] json range() const { return wire::event_range(first_seq_, last_seq_); }

 private:
  store::Store& store_;
  std::int64_t at_ms_;
  std::int64_t ruleset_version_;
  std::int64_t first_seq_ = 0;
  std::int64_t last_seq_ = 0;
};

// A saved answer for this id: the identical bytes for a retry, a conflict
// for the same id with other content.
std::optional<Answer> replay_of(const Result<std::optional<store::SavedAnswer>>& saved,
                                const wire::RequestDigest& digest, std::string_view field,
                                const std::string& id) {
  if (!saved) return fail(saved.error());
  if (!*saved) return std::nullopt;
  if ((*saved)->request_sha256 == digest) return Answer{std::nullopt, (*saved)->answer};
  return fail(make_error(ErrorKind::conflict, std::string(field),
                         "\"" + id + "\" was already used for a different request"));
}

// Every discount refpos gives on a cart: the referral's, then balances the
// customer spends, each allocated to lines so that lines add up exactly.
struct Pricing {
  std::vector<std::int64_t> referral;      // per line
  std::string referral_kind = "referral";
  std::vector<std::int64_t> store_credit;  // per line
  std::vector<std::int64_t> points;        // per line (value of the points)
  std::int64_t referral_minor = 0;
  std::int64_t store_credit_minor = 0;
  std::int64_t points_minor = 0;
  std::int64_t points_spent = 0;

  [[nodiscard]] std::int64_t discount_minor() const {
    return referral_minor + store_credit_minor + points_minor;
  }
  [[nodiscard]] std::int64_t line_discount(std::size_t i) const {
    return referral[i] + store_credit[i] + points[i];
  }
};

// What is left to pay on each line after the host's and the referral's
// discounts: the weights balances are spread over.
std::vector<std::int64_t> left_to_pay(const Cart& cart, const Pricing& p) {
  std::vector<std::int64_t> left(cart.lines.size());
  for (std::size_t i = 0; i < left.size(); ++i) {
    left[i] = cart.line_net_minor(i) - p.line_discount(i);
  }
  return left;
}

std::int64_t sum(const std::vector<std::int64_t>& v) {
  std::int64_t total = 0;
  for (const auto x : v) total += x;
  return total;
}

// Prices the cart: the referral decision (if any), then the balances the
// customer asked to spend, checked against what they can spend now.
Result<Pricing> price(const wire::StoreConfig& config, store::Store& store, const Cart& cart,
                      const rules::RedemptionDecision* decision, const wire::Spend& spend,
                      std::int64_t now) {
  Pricing p;
  const auto n = cart.lines.size();
  p.referral.assign(n, 0);
  p.store_credit.assign(n, 0);
  p.points.assign(n, 0);
  if (decision != nullptr) {
    p.referral = decision->line_discounts_minor;
    p.referral_minor = decision->discount_minor;
    p.referral_kind = decision->discount_kind;
  }
  if (spend.store_credit_minor == 0 && spend.points == 0) return p;
  const auto& customer = *cart.customer_id;  // the request parser requires one
  std::int64_t left = sum(left_to_pay(cart, p));
  if (spend.store_credit_minor > 0) {
    auto balance = store.balance(customer, "store_credit", now);
    if (!balance) return balance.error();
    if (spend.store_credit_minor > balance->spendable) {
      return make_error(ErrorKind::bad_request, "spend.store_credit_minor",
                        "asks for " + wire::money_text(config, spend.store_credit_minor) +
                            " but the customer can spend " +
                            wire::money_text(config, std::max<std::int64_t>(balance->spendable, 0)) +
                            " now", "insufficient_balance");
    }
    if (spend.store_credit_minor > left) {
      return make_error(ErrorKind::bad_request, "spend.store_credit_minor",
                        "is more than is left to pay (" + wire::money_text(config, left) + ")",
                        "more_than_total");
    }
    p.store_credit = money::allocate_largest_remainder(spend.store_credit_minor, left_to_pay(cart, p));
    p.store_credit_minor = spend.store_credit_minor;
    left -= spend.store_credit_minor;
  }
  if (spend.points > 0) {
    if (config.rules.point_value_minor == 0) {
      return make_error(ErrorKind::bad_request, "spend.points",
                        "points cannot be spent at this store (rules.point_value_minor is 0)");
    }
    auto balance = store.balance(customer, "points", now);
    if (!balance) return balance.error();
    if (spend.points > balance->spendable) {
      return make_error(ErrorKind::bad_request, "spend.points",
                        "asks for " + std::to_string(spend.points) +
                            " points but the customer can spend " +
                            std::to_string(std::max<std::int64_t>(balance->spendable, 0)) + " now",
                        "insufficient_balance");
    }
    const std::int64_t value = spend.points * config.rules.point_value_minor;  // <= 10^15
    if (value > left) {
      return make_error(ErrorKind::bad_request, "spend.points",
                        "are worth more than is left to pay (" + wire::money_text(config, left) + ")",
                        "more_than_total");
    }
    p.points = money::allocate_largest_remainder(value, left_to_pay(cart, p));
    p.points_minor = value;
    p.points_spent = spend.points;
  }
  return p;
}

json totals(const Cart& cart, const Pricing& p) {
  auto lines = wire::discount_lines(p.referral, p.referral_kind);
  for (auto& l : wire::discount_lines(p.store_credit, "store_credit")) lines.push_back(std::move(l));
  for (auto& l : wire::discount_lines(p.points, "points")) lines.push_back(std::move(l));
  json out = {{"currency", cart.currency.code},
              {"subtotal_minor", cart.subtotal_minor},
              {"host_discount_minor", cart.host_discount_minor},
              {"discount_minor", p.discount_minor()},
              {"discount_lines", std::move(lines)}};
  const std::int64_t net = cart.subtotal_minor - cart.host_discount_minor - p.discount_minor();
  if (cart.tax == TaxPricing::none) {
    out["tax_minor"] = 0;
    out["total_minor"] = net;
    return out;
  }
  // Tax on what each line really costs, per line, so the lines add up.
  std::vector<money::TaxLineIn> in;
  in.reserve(cart.lines.size());
  for (std::size_t i = 0; i < cart.lines.size(); ++i) {
    in.push_back({cart.lines[i].total_minor, cart.lines[i].host_discount_minor + p.line_discount(i),
                  cart.lines[i].tax_rate_bp});
  }
  const auto tax = money::compute_tax(
      in, cart.tax == TaxPricing::inclusive ? money::TaxMode::inclusive : money::TaxMode::exclusive);
  auto per_line = json::array();
  for (std::size_t i = 0; i < tax.lines.size(); ++i) {
    per_line.push_back({{"line", i},
                        {"net_minor", tax.lines[i].net_minor},
                        {"taxable_minor", tax.lines[i].taxable_minor},
                        {"tax_minor", tax.lines[i].tax_minor},
                        {"gross_minor", tax.lines[i].gross_minor}});
  }
  auto by_rate = json::array();
  for (std::size_t k = 0; k < tax.tax_by_rate.size(); ++k) {
    by_rate.push_back({{"rate_bp", tax.tax_by_rate[k].first},
                       {"taxable_minor", tax.taxable_by_rate[k].second},
                       {"tax_minor", tax.tax_by_rate[k].second}});
  }
  out["tax"] = cart.tax == TaxPricing::inclusive ? "inclusive" : "exclusive";
  out["tax_minor"] = tax.tax_minor;
  out["total_minor"] = tax.gross_minor;
  out["tax_lines"] = std::move(per_line);
  out["tax_by_rate"] = std::move(by_rate);
  return out;
}

json referrer_json(const rules::RedemptionDecision& d, std::int64_t now) {
  json out = {{"kind", rules::name_of(d.referrer.kind)},
              {"amount_minor", d.referrer.amount_minor},
              {"points", d.referrer.points},
              {"held", d.referrer.held},
              {"capped", d.referrer.capped}};
  out["spendable_at_ms"] = now + d.referrer.pending_days * kMsPerDay;
  return out;
}

json code_json(const std::string& shown, std::string_view status, const std::string& reason,
               const std::string& message) {
  // The customer sees the same words for every code that might be a guess.
  const std::string customer = status == "accepted" || rules::reveals_nothing(reason)
                                   ? message
                                   : std::string(rules::kCannotBeUsed);
  return {{"code", shown}, {"status", status}, {"reason", reason},
          {"message", customer}, {"customer_message", customer}};
}

json issued_code_json(const wire::StoreConfig& config, const IssuedCode& issued) {
  return {{"code", codes::display(issued.normalized)},
          {"normalized", issued.normalized},
          {"new", issued.is_new},
          {"expires_at_ms", issued.expires_at_ms},
          {"share_link", wire::share_link(config, issued.normalized)},
          {"message", rules::referral_offer_message(config.rules, [&](std::int64_t minor) {
             return wire::money_text(config, minor);
           })}};
}

}  // namespace

struct Checkout::Impl {
  static Status apply_clock(Checkout& c, const wire::RequestContext& ctx) {
    if (!ctx.clock_ms) return ok_status();
    auto* manual = dynamic_cast<ManualClock*>(c.clock_.get());
    if (manual == nullptr) {
      return make_error(ErrorKind::bad_request, "clock_ms",
                        "is accepted only by a store opened with a \"clock\" override");
    }
    manual->set_ms(*ctx.clock_ms);
    return ok_status();
  }

  // Rejections that say something about the code itself (someone may be
  // guessing), as opposed to this customer or cart not qualifying.
  static bool counts_as_failed_attempt(const std::string& reason) {
    static constexpr std::string_view kGuessing[] = {
        "malformed", "mistyped", "unknown_key", "not_authentic",
        "expired",   "not_yet_valid", "revoked", "used_up"};
    return std::find(std::begin(kGuessing), std::end(kGuessing), reason) != std::end(kGuessing);
  }

  // check_code behind the terminal's brake on failed attempts.
  static Result<CodeCheck> check_code_limited(Checkout& c, const CheckoutRequest& req,
                                              std::int64_t now) {
    const std::string& terminal = req.cart.terminal_id;
    if (const auto until = c.attempts_.blocked_until(terminal, now)) {
      const std::int64_t minutes = (*until - now + 59'999) / 60'000;
      return make_error(ErrorKind::rate_limited, "code",
                        "Too many codes that could not be used on terminal \"" + terminal +
                            "\": codes are refused there for " + std::to_string(minutes) +
                            " more minute" + (minutes == 1 ? "" : "s") + ".",
                        "rate_limited");
    }
    auto check = check_code(c, req, now);
    if (!check && check.error().kind == ErrorKind::code_rejected &&
        counts_as_failed_attempt(check.error().reason)) {
      c.attempts_.record_failure(terminal, now);
    }
    return check;
  }

  // What the store knows that the rules of `program` ask about this code.
  static Result<rules::CodeFacts> gather_code_facts(Checkout& c, const std::string& code,
                                                    const rules::Program& program, const Cart& cart,
                                                    std::int64_t now) {
    const auto period = [&](rules::Per per) { return period_start(c, per, now); };
    auto facts = c.store_->code_facts(code, program.code.max_redemptions_per.count > 0
                                                ? period(program.code.max_redemptions_per.per)
                                                : store::Store::kNoPeriod);
    if (!facts) return facts.error();
    if (program.partner) facts->referrer_customer_id = "partner:" + program.id;
    if (!facts->referrer_customer_id.empty()) {
      if (program.referrer.max_rewards.count > 0) {
        auto n = c.store_->count_referrer_rewards(facts->referrer_customer_id,
                                                  period(program.referrer.max_rewards.per));
        if (!n) return n.error();
        facts->referrer_rewards_in_period = *n;
      }
      auto ids = c.store_->identities_of(facts->referrer_customer_id);
      if (!ids) return ids.error();
      facts->referrer_identities = std::move(*ids);
    }
    for (const auto& rule : c.config_.rules.fraud.velocity) {
      const std::int64_t since = now - rule.window_minutes * 60'000;
      std::int64_t count = 0;
      if (rule.scope == rules::VelocityScope::code) {
        auto n = c.store_->count_redemptions(store::CountBy::code, code, since);
        if (!n) return n.error();
        count = *n;
      } else if (rule.scope == rules::VelocityScope::terminal) {
        auto n = c.store_->count_redemptions(store::CountBy::terminal, cart.terminal_id, since);
        if (!n) return n.error();
        count = *n;
      } else if (cart.cashier_id) {
        auto n = c.store_->count_redemptions(store::CountBy::cashier, *cart.cashier_id, since);
        if (!n) return n.error();
        count = *n;
      }
      facts->velocity_counts.push_back(count);
    }
    return facts;
  }

  static Result<rules::ExposureFacts> exposure(Checkout& c) {
    auto stored = c.store_->offline_exposure();
    if (!stored) return stored.error();
    rules::ExposureFacts out;
    out.last_sync_ms = stored->since_ms;
    out.granted_since_sync_minor = stored->granted_minor;
    return out;
  }

  // The start of the store's current month or year, computed again only
  // when `now` leaves the period it was computed for.
  static std::int64_t period_start(Checkout& c, rules::Per per, std::int64_t now) {
    const Period period = per == rules::Per::month ? Period::month : Period::year;
    auto& memo = c.periods_[per == rules::Per::month ? 0 : 1];
    if (now < memo.start_ms || now >= memo.end_ms) {
      memo.start_ms = c.config_.time_zone.period_start_ms(now, period);
      memo.end_ms = c.config_.time_zone.period_end_ms(now, period);
    }
    return memo.start_ms;
  }

  // Format and check symbol, key, the buyer's conditions, MAC, then the
  // code's own facts: the first failure wins. The buyer's conditions come
  // before the MAC so that they answer alike for real and made-up codes.
  static Result<CodeCheck> check_code(Checkout& c, const CheckoutRequest& req, std::int64_t now) {
    auto normalized = codes::normalize(*req.code);
    if (!normalized) return normalized.error();
    auto fields = codes::parse(*normalized);
    if (!fields) return fields.error();
    const codes::CodeKey* key = c.config_.key(fields->key_id);
    if (key == nullptr) return code_rejected("unknown_key", std::string(rules::kCannotBeUsed));
    const rules::Program& program = c.config_.rules.program_for_key(fields->key_id);
    rules::CustomerFacts customer;
    if (req.cart.customer_id) {
      auto found = c.store_->customer_facts(*req.cart.customer_id);
      if (!found) return found.error();
      customer = *found;
    }
    if (auto buyer = rules::check_buyer(program, req.cart, customer); !buyer.accepted) {
      return code_rejected(buyer.reason, buyer.message);
    }
    if (!codes::mac_matches(*normalized, *key)) {
      return code_rejected("not_authentic", std::string(rules::kCannotBeUsed));
    }
    auto facts = gather_code_facts(c, *normalized, program, req.cart, now);
    if (!facts) return facts.error();
    auto exp = exposure(c);
    if (!exp) return exp.error();
    auto decision = rules::evaluate_redemption(c.config_.rules, req.cart, *fields, customer,
                                               *facts, now, *exp);
    if (!decision.accepted) {
      auto error = code_rejected(decision.reason, decision.message);
      return error;
    }
    return CodeCheck{std::move(*normalized), *fields, std::move(*facts), std::move(decision)};
  }

  // A refusal the store must remember (offline bounds, fraud): its own
  // transaction, so the commit that was refused leaves a trace for head
  // office and the report.
  static void record_refusal(Checkout& c, const CheckoutRequest& req, const Error& error,
                             std::int64_t now) {
    static constexpr std::string_view kRecorded[] = {"offline_limit", "offline_too_long",
                                                     "online_only", "fraud_suspected"};
    if (std::find(std::begin(kRecorded), std::end(kRecorded), error.reason) == std::end(kRecorded)) {
      return;
    }
    auto tx = store::WriteTransaction::begin(c.store_->db());
    if (!tx) return;
    EventBatch events(*c.store_, now, c.config_.rules.version);
    const auto normalized = codes::normalize(*req.code);
    auto st = events.add("redemption_refused",
                         {{"txn_id", nullable(req.txn_id)},
                          {"code", normalized ? *normalized : std::string()},
                          {"customer_id", nullable(req.cart.customer_id)},
                          {"terminal_id", req.cart.terminal_id},
                          {"cashier_id", nullable(req.cart.cashier_id)},
                          {"reason", error.reason}});
    if (st) (void)(*tx)->commit();  // best effort: the refusal stands either way
  }

  static Result<IssuedCode> issue_or_reuse_code(Checkout& c, const std::string& customer_id,
                                                const codes::CodeKey& key, std::int64_t now,
                                                const std::optional<std::string>& txn_id,
                                                EventBatch& events) {
    auto existing = c.store_->valid_code_of(customer_id, now);
    if (!existing) return existing.error();
    if (*existing) return IssuedCode{(*existing)->code, false, (*existing)->expires_at_ms};
    auto day = codes::issue_day_of(now);
    if (!day) return day.error();
    std::string code;
    for (int attempt = 0; attempt < kIssueAttempts && code.empty(); ++attempt) {
      auto fresh = codes::issue(key, *day);
      if (!fresh) return fresh.error();
      auto facts = c.store_->code_facts(*fresh);
      if (!facts) return facts.error();
      if (!facts->issued_here) code = std::move(*fresh);
    }
    if (code.empty()) return make_error(ErrorKind::internal, "", "could not draw a fresh code");
    const auto& program = c.config_.rules.program_for_key(key.id);
    const std::int64_t expires = rules::code_expires_at_ms(program, *day);
    if (auto st = c.store_->insert_code(code, customer_id, now, expires); !st) return st.error();
    auto st = events.add("code_issued", {{"code", code},
                                         {"customer_id", customer_id},
                                         {"program", program.id},
                                         {"key_id", key.id},
                                         {"issue_day", *day},
                                         {"expires_at_ms", expires},
                                         {"txn_id", nullable(txn_id)}});
    if (!st) return st.error();
    return IssuedCode{std::move(code), true, expires};
  }

  // Registers an unknown customer (with an event); the rest is the caller's.
  static Status register_customer(Checkout& c, const std::string& customer_id, std::int64_t now,
                                  const std::optional<std::string>& referred_by,
                                  EventBatch& events) {
    auto added = c.store_->register_customer(customer_id, now, referred_by);
    if (!added) return added.error();
    if (!*added) return ok_status();
    return events.add("customer_registered",
                      {{"customer_id", customer_id}, {"referred_by", nullable(referred_by)}});
  }

  // Contact and payment-token hashes seen with a customer: kept for the
  // self-referral check, and in the log only sealed with the customer's own
  // key, so that forgetting the customer makes them unreadable there too.
  static Status remember_identities(Checkout& c, const Cart& cart, EventBatch& events) {
    if (!cart.customer_id || cart.identity_hashes.empty()) return ok_status();
    const auto& customer = *cart.customer_id;
    auto known = c.store_->identities_of(customer);
    if (!known) return known.error();
    json fresh = json::array();
    for (const auto& hash : cart.identity_hashes) {
      if (known->count(hash) != 0) continue;
      if (auto st = c.store_->add_identity(customer, hash); !st) return st;
      fresh.push_back(hash);
    }
    if (fresh.empty()) return ok_status();
    auto sealed = seal_for(c, customer, "identities:" + customer, fresh.dump());
    if (!sealed) return sealed.error();
    return events.add("identities_seen", {{"customer_id", customer}, {"sealed", *sealed}});
  }

  static Result<std::string> seal_for(Checkout& c, const std::string& subject,
                                      const std::string& context, const std::string& plaintext) {
    auto key_bytes = c.store_->pii_key(subject, true);
    if (!key_bytes) return key_bytes.error();
    store::PiiKey key{};
    std::copy_n(key_bytes->begin(), std::min(key.size(), key_bytes->size()), key.begin());
    return store::seal(key, context, plaintext);
  }

  // The unit a referrer reward is kept in ("" for recognition: nothing kept).
  static std::string unit_of(rules::ReferrerKind kind) {
    switch (kind) {
      case rules::ReferrerKind::store_credit: return "store_credit";
      case rules::ReferrerKind::points: return "points";
      case rules::ReferrerKind::gift_card: return "gift_card";
      case rules::ReferrerKind::recognition: return "";
    }
    return "";
  }

  // What the referrer's next receipt says about this redemption.
  static std::string notice_text(Checkout& c, const rules::RedemptionDecision& d,
                                 std::int64_t spendable_at) {
    std::string what;
    switch (d.referrer.kind) {
      case rules::ReferrerKind::store_credit: what = wire::money_text(c.config_, d.referrer.amount_minor) + " added"; break;
      case rules::ReferrerKind::points: what = std::to_string(d.referrer.points) + " points added"; break;
      case rules::ReferrerKind::gift_card: what = "a " + wire::money_text(c.config_, d.referrer.amount_minor) + " gift card is on its way"; break;
      case rules::ReferrerKind::recognition: break;
    }
    if (what.empty() || d.referrer.capped || d.referrer.held) return "Your friend joined: thank you!";
    std::string text = "Your friend joined: " + what;
    if (d.referrer.pending_days > 0) text += " (yours from " + receipt::utc_date(spendable_at) + ")";
    return text + ". Thank you!";
  }

  // The redemption, the friend's credit, and the referrer's reward when the
  // referrer is known here. Returns the "redemption" member of the answer.
  static Result<json> record_redemption(Checkout& c, const CheckoutRequest& req,
                                        const CodeCheck& code, std::int64_t now,
                                        EventBatch& events) {
    const auto& currency = c.config_.currency.code;
    const auto& txn_id = *req.txn_id;
    const auto& customer_id = *req.cart.customer_id;  // check_buyer requires one
    const auto& d = code.decision;
    const std::string unit = unit_of(d.referrer.kind);
    const std::int64_t reward = d.referrer.kind == rules::ReferrerKind::points ? d.referrer.points
                                                                               : d.referrer.amount_minor;
    const bool known_referrer = !code.facts.referrer_customer_id.empty();
    store::RedemptionRecord record;
    record.code = code.normalized;
    record.discount_minor = d.discount_minor;
    record.program = d.program->id;
    record.redeemed_at_ms = now;
    record.terminal_id = req.cart.terminal_id;
    record.cashier_id = req.cart.cashier_id;
    record.referrer_unit = unit.empty() ? "store_credit" : unit;
    record.referrer_spendable_at_ms = now + d.referrer.pending_days * kMsPerDay;
    record.referrer_held = d.referrer.held;
    record.referee_credit_minor = d.referee_credit_minor;
    if (known_referrer) {
      record.referrer_customer_id = code.facts.referrer_customer_id;
      record.referrer_reward = unit.empty() ? 0 : reward;
    }
    if (auto st = c.store_->insert_redemption(txn_id, customer_id, record); !st) return st.error();
    if (auto st = c.store_->add_granted(d.granted_minor()); !st) return st.error();
    json flags = d.flags;
    auto st = events.add("code_redeemed", {{"txn_id", txn_id},
                                           {"code", code.normalized},
                                           {"program", record.program},
                                           {"customer_id", customer_id},
                                           {"discount_minor", record.discount_minor},
                                           {"discount_kind", d.discount_kind},
                                           {"referee_credit_minor", d.referee_credit_minor},
                                           {"currency", currency},
                                           {"referrer_customer_id", nullable(record.referrer_customer_id)},
                                           {"flags", flags}});
    if (!st) return st.error();
    if (d.referee_credit_minor > 0) {
      if (st = c.store_->add_wallet_entry({customer_id, "store_credit", d.referee_credit_minor, now,
                                           false, txn_id, "welcome_credit"});
          !st) {
        return st.error();
      }
      st = events.add("reward_accrued", {{"customer_id", customer_id},
                                         {"side", "referee"},
                                         {"kind", "store_credit"},
                                         {"amount", d.referee_credit_minor},
                                         {"currency", currency},
                                         {"spendable_at_ms", now},
                                         {"held", false},
                                         {"code", code.normalized},
                                         {"txn_id", txn_id}});
      if (!st) return st.error();
    }
    if (known_referrer && !d.referrer.capped) {
      const auto& referrer = *record.referrer_customer_id;
      if (!unit.empty() && reward > 0) {
        if (st = c.store_->add_wallet_entry({referrer, unit, reward, record.referrer_spendable_at_ms,
                                             d.referrer.held, txn_id, "referral_reward"});
            !st) {
          return st.error();
        }
      }
      st = events.add("reward_accrued", {{"customer_id", referrer},
                                         {"side", "referrer"},
                                         {"kind", rules::name_of(d.referrer.kind)},
                                         {"amount", unit.empty() ? 0 : reward},
                                         {"currency", currency},
                                         {"spendable_at_ms", record.referrer_spendable_at_ms},
                                         {"held", d.referrer.held},
                                         {"code", code.normalized},
                                         {"txn_id", txn_id}});
      if (!st) return st.error();
      if (!d.program->partner) {
        const auto text = notice_text(c, d, record.referrer_spendable_at_ms);
        if (st = c.store_->add_notice(txn_id, referrer, text); !st) return st.error();
      }
    }
    if (!known_referrer && !d.program->partner && !d.referrer.capped) {
      // A code issued at another store of the chain: who referred is known
      // to head office, not here. The reward is recorded against the code,
      // and head office credits the code's owner when it has both facts
      // (docs/sync.md, "Codes issued at another store").
      st = events.add("reward_accrued", {{"customer_id", nullptr},
                                         {"side", "referrer"},
                                         {"attribute_by", "code"},
                                         {"kind", rules::name_of(d.referrer.kind)},
                                         {"amount", unit.empty() ? 0 : reward},
                                         {"currency", currency},
                                         {"spendable_at_ms", record.referrer_spendable_at_ms},
                                         {"held", d.referrer.held},
                                         {"code", code.normalized},
                                         {"txn_id", txn_id}});
      if (!st) return st.error();
    }
    json out = {{"code", codes::display(code.normalized)},
                {"program", record.program},
                {"discount_minor", record.discount_minor},
                {"discount_kind", d.discount_kind},
                {"referee_credit_minor", d.referee_credit_minor},
                {"flags", flags},
                {"referrer_reward", referrer_json(d, now)}};
    out["referrer_reward"]["settled"] = known_referrer ? "store" : "head_office";
    return out;
  }

  // Balances spent at checkout leave the wallet as events like any other.
  static Status record_spend(Checkout& c, const CheckoutRequest& req, const Pricing& p,
                             std::int64_t now, EventBatch& events) {
    const auto spend = [&](const char* unit, std::int64_t amount, std::int64_t value) -> Status {
      if (amount == 0) return ok_status();
      if (auto st = c.store_->add_wallet_entry({*req.cart.customer_id, unit, -amount, now, false,
                                                *req.txn_id, "spent"});
          !st) {
        return st;
      }
      return events.add("balance_spent", {{"customer_id", *req.cart.customer_id},
                                          {"kind", unit},
                                          {"amount", amount},
                                          {"value_minor", value},
                                          {"currency", c.config_.currency.code},
                                          {"txn_id", *req.txn_id}});
    };
    if (auto st = spend("store_credit", p.store_credit_minor, p.store_credit_minor); !st) return st;
    return spend("points", p.points_spent, p.points_minor);
  }

  // What a later partial refund needs: each line and what refpos took off it.
  static std::string lines_record(const Cart& cart, const Pricing& p, const CodeCheck* code) {
    json lines = json::array();
    for (std::size_t i = 0; i < cart.lines.size(); ++i) {
      const auto& l = cart.lines[i];
      const bool eligible = code != nullptr && code->decision.program->referee.is_eligible(l.sku, l.category);
      lines.push_back({l.quantity, l.total_minor, l.host_discount_minor, p.referral[i],
                       p.store_credit[i], p.points[i], eligible});
    }
    return json{{"lines", lines}, {"points_spent", p.points_spent},
                {"min_spend_minor", code != nullptr ? code->decision.program->referee.min_spend_minor : 0}}
        .dump();
  }

  // Notices for a referrer whose friends redeemed: printed now, once.
  static Result<std::vector<std::string>> deliver_notices(Checkout& c, const std::string& customer,
                                                          const std::string& txn_id,
                                                          EventBatch& events) {
    auto notices = c.store_->undelivered_notices(customer);
    if (!notices) return notices.error();
    std::vector<std::string> lines;
    if (notices->empty()) return lines;
    json about = json::array();
    for (const auto& n : *notices) {
      lines.push_back(n.text);
      about.push_back(n.txn_id);
    }
    if (auto st = c.store_->mark_notices_delivered(customer, txn_id); !st) return st.error();
    auto st = events.add("referrer_thanked",
                         {{"customer_id", customer}, {"txn_id", txn_id}, {"redemptions", about}});
    if (!st) return st.error();
    return lines;
  }

  static Answer commit_in_transaction(Checkout& c, const CheckoutRequest& req,
                                      const std::optional<CodeCheck>& code, std::int64_t now) {
    auto tx = store::WriteTransaction::begin(c.store_->db());
    if (!tx) return fail(tx.error());
    EventBatch events(*c.store_, now, c.config_.rules.version);
    const Cart& cart = req.cart;
    const auto* decision = code ? &code->decision : nullptr;
    auto pricing = price(c.config_, *c.store_, cart, decision, req.spend, now);
    if (!pricing) return fail(pricing.error());
    const json priced = totals(cart, *pricing);
    const std::int64_t paid = priced["total_minor"].get<std::int64_t>();

    if (cart.customer_id) {
      const auto referred_by = code ? std::optional<std::string>(code->normalized) : std::nullopt;
      if (auto st = register_customer(c, *cart.customer_id, now, referred_by, events); !st) {
        return fail(st.error());
      }
      if (auto st = c.store_->count_purchase(*cart.customer_id, 1); !st) return fail(st.error());
      if (auto st = remember_identities(c, cart, events); !st) return fail(st.error());
    }
    auto st = events.add("txn_committed", {{"txn_id", *req.txn_id},
                                           {"terminal_id", cart.terminal_id},
                                           {"cashier_id", nullable(cart.cashier_id)},
                                           {"customer_id", nullable(cart.customer_id)},
                                           {"currency", cart.currency.code},
                                           {"lines", cart.lines.size()},
                                           {"subtotal_minor", cart.subtotal_minor},
                                           {"host_discount_minor", cart.host_discount_minor},
                                           {"discount_minor", pricing->discount_minor()},
                                           {"tax_minor", priced["tax_minor"]},
                                           {"total_minor", paid}});
    if (!st) return fail(st.error());
    if (req.nps) {
      st = events.add("nps_answered", {{"txn_id", *req.txn_id},
                                       {"customer_id", *cart.customer_id},
                                       {"score", *req.nps},
                                       {"terminal_id", cart.terminal_id},
                                       {"cashier_id", nullable(cart.cashier_id)}});
      if (!st) return fail(st.error());
    }

    json redemption = nullptr;
    if (code) {
      auto r = record_redemption(c, req, *code, now, events);
      if (!r) return fail(r.error());
      redemption = std::move(*r);
    }
    if (st = record_spend(c, req, *pricing, now, events); !st) return fail(st.error());

    const auto ask = rules::should_ask(c.config_.rules, cart, paid, req.nps);
    std::optional<IssuedCode> issued;
    if (ask.ask) {
      auto i = issue_or_reuse_code(c, *cart.customer_id, c.config_.active_key(), now, req.txn_id, events);
      if (!i) return fail(i.error());
      issued = std::move(*i);
    }
    std::vector<std::string> notes;
    if (cart.customer_id) {
      auto delivered = deliver_notices(c, *cart.customer_id, *req.txn_id, events);
      if (!delivered) return fail(delivered.error());
      notes = std::move(*delivered);
    }

    const auto money = [&](std::int64_t minor) { return wire::money_text(c.config_, minor); };
    receipt::ReceiptFacts facts{c.config_.printer.columns(),
                                pricing->referral_minor > 0 ? money(-pricing->referral_minor) : "",
                                std::nullopt, std::nullopt,
                                rules::referral_offer_message(c.config_.rules, money), "", 0, {}};
    if (code) facts.redeemed_code = codes::display(code->normalized);
    if (decision != nullptr && decision->referee_credit_minor > 0) {
      facts.notes.push_back("Welcome: " + money(decision->referee_credit_minor) +
                            " store credit added for your next visit.");
    }
    if (pricing->store_credit_minor > 0) {
      facts.notes.push_back("Store credit used: " + money(pricing->store_credit_minor));
    }
    if (pricing->points_spent > 0) {
      facts.notes.push_back("Points used: " + std::to_string(pricing->points_spent) + " (" +
                            money(pricing->points_minor) + ")");
    }
    for (auto& n : notes) facts.notes.push_back(std::move(n));
    if (issued) {
      facts.issued_code = codes::display(issued->normalized);
      facts.share_link = wire::share_link(c.config_, issued->normalized);
      facts.code_expires_at_ms = issued->expires_at_ms;
    }
    json answer = base_answer();
    answer["txn_id"] = *req.txn_id;
    answer["store_id"] = c.config_.store_id;
    answer["committed_at_ms"] = now;
    answer["ruleset_version"] = c.config_.rules.version;
    answer.update(priced);
    answer["redemption"] = std::move(redemption);
    answer["ask"] = {{"ask", ask.ask}, {"why", ask.why}};
    answer["issued_code"] = issued ? issued_code_json(c.config_, *issued) : json(nullptr);
    answer["receipt_lines"] = receipt::receipt_lines(facts);
    answer["events"] = events.range();
    const std::string text = answer.dump();

    const auto new_code = issued && issued->is_new ? std::optional(issued->normalized) : std::nullopt;
    st = c.store_->save_transaction(*req.txn_id, {req.context.digest, text}, cart.customer_id,
                                      new_code, now);
    if (!st) return fail(st.error());
    // Every sale keeps its lines, so any of them can be refunded in part.
    if (st = c.store_->save_lines(*req.txn_id, lines_record(cart, *pricing, code ? &*code : nullptr)); !st) {
      return fail(st.error());
    }
    if (auto done = (*tx)->commit(); !done) return fail(done.error());
    // What prints is added after the facts are stored (and again on every
    // retry): it is derived from them, never stored.
    receipt::add_presentation(c.config_, answer);
    return succeed(answer);
  }

  // A replayed commit answer gets the same presentation as the first one.
  static Answer present(const Checkout& c, Answer stored) {
    if (stored.error) return stored;
    json answer = json::parse(stored.json, nullptr, false);
    if (!answer.is_object()) {
      return fail(make_error(ErrorKind::internal, "txn_id", "the stored answer does not parse"));
    }
    receipt::add_presentation(c.config_, answer);
    return succeed(answer);
  }

  struct LineRecord {
    std::int64_t quantity, total, host, referral, store_credit, points_value;
    bool eligible;
  };

  static std::vector<LineRecord> read_lines(const json& doc) {
    std::vector<LineRecord> out;
    for (const auto& l : doc["lines"]) {
      out.push_back({l[0].get<std::int64_t>(), l[1].get<std::int64_t>(), l[2].get<std::int64_t>(),
                     l[3].get<std::int64_t>(), l[4].get<std::int64_t>(), l[5].get<std::int64_t>(),
                     l[6].get<bool>()});
    }
    return out;
  }

  // One reward taken back: a wallet entry cancelling it (same spendable_at,
  // so a pending reward and its reversal cancel in "pending" and a
  // spendable one leaves the balance at once) and the event that says so.
  struct TakenBack {
    const std::string& customer_id;
    std::string_view side;
    const std::string& unit;
    std::int64_t amount;
    std::int64_t spendable_at_ms;
    bool held;
  };
  static Status reverse_reward(Checkout& c, const TakenBack& r, const std::string& txn_id,
                               const std::string& reversal_id, const std::string& why,
                               std::int64_t now, EventBatch& events) {
    if (auto st = c.store_->add_wallet_entry({r.customer_id, r.unit, -r.amount, r.spendable_at_ms,
                                              r.held, txn_id, "clawed_back"});
        !st) {
      return st;
    }
    return events.add("reward_reversed", {{"customer_id", r.customer_id},
                                          {"side", r.side},
                                          {"kind", r.unit},
                                          {"amount", r.amount},
                                          {"spendable_at_ms", r.spendable_at_ms},
                                          {"held", r.held},
                                          {"was_pending", now < r.spendable_at_ms},
                                          {"currency", c.config_.currency.code},
                                          {"txn_id", txn_id},
                                          {"reversal_id", reversal_id},
                                          {"why", why}});
  }

  // Takes back what a redemption granted: the referrer's reward (pending or
  // not: a spent one leaves a negative balance, never a silent loss) and the
  // friend's welcome credit. Returns what was taken back.
  static Result<json> claw_back(Checkout& c, const std::string& txn_id,
                                const store::RedemptionRecord& r,
                                const std::optional<std::string>& referee,
                                const std::string& reversal_id, const std::string& why,
                                std::int64_t now, EventBatch& events) {
    json out = {{"kind", r.referrer_unit}, {"amount", 0}, {"referee_credit_minor", 0}};
    if (!r.rewarded) return out;
    if (auto st = c.store_->mark_referrer_unrewarded(txn_id); !st) return st.error();
    if (auto st = c.store_->drop_notice(txn_id); !st) return st.error();
    if (r.referrer_customer_id && r.referrer_reward > 0) {
      const TakenBack reward{*r.referrer_customer_id, "referrer", r.referrer_unit,
                             r.referrer_reward, r.referrer_spendable_at_ms, r.referrer_held};
      if (auto st = reverse_reward(c, reward, txn_id, reversal_id, why, now, events); !st) {
        return st.error();
      }
      out["amount"] = r.referrer_reward;
    }
    if (r.referee_credit_minor > 0 && referee) {
      static const std::string kStoreCredit = "store_credit";
      const TakenBack credit{*referee, "referee", kStoreCredit, r.referee_credit_minor,
                             r.redeemed_at_ms, false};
      if (auto st = reverse_reward(c, credit, txn_id, reversal_id, why, now, events); !st) {
        return st.error();
      }
      out["referee_credit_minor"] = r.referee_credit_minor;
    }
    return out;
  }

  static Answer reverse_in_transaction(Checkout& c, const wire::ReverseRequest& req,
                                       const store::TransactionRecord& record, std::int64_t now) {
    auto tx = store::WriteTransaction::begin(c.store_->db());
    if (!tx) return fail(tx.error());
    EventBatch events(*c.store_, now, c.config_.rules.version);

    auto stored_lines = c.store_->lines_of(req.txn_id);
    if (!stored_lines) return fail(stored_lines.error());
    auto stored_refunded = c.store_->refunded_of(req.txn_id);
    if (!stored_refunded) return fail(stored_refunded.error());
    auto redemption = c.store_->redemption_of(req.txn_id);
    if (!redemption) return fail(redemption.error());
    if (!*stored_lines && !req.lines.empty()) {
      return fail(make_error(ErrorKind::bad_request, "lines",
                             "\"" + req.txn_id + "\" was committed before partial refunds existed; "
                             "refund it whole"));
    }

    // Quantities refunded before, now, and what each line gives back.
    const json lines_doc = *stored_lines ? json::parse(**stored_lines) : json{{"lines", json::array()}};
    const auto lines = read_lines(lines_doc);
    std::vector<std::int64_t> before(lines.size(), 0);
    if (*stored_refunded) before = json::parse(**stored_refunded).get<std::vector<std::int64_t>>();
    std::vector<std::int64_t> now_q(lines.size(), 0);
    if (req.lines.empty()) {
      for (std::size_t i = 0; i < lines.size(); ++i) now_q[i] = lines[i].quantity - before[i];
    } else {
      for (std::size_t k = 0; k < req.lines.size(); ++k) {
        const auto& rl = req.lines[k];
        const std::string field = "lines[" + std::to_string(k) + "]";
        if (rl.line >= lines.size()) {
          return fail(make_error(ErrorKind::bad_request, field + ".line",
                                 "the transaction has " + std::to_string(lines.size()) + " lines"));
        }
        const auto left = lines[rl.line].quantity - before[rl.line];
        if (rl.quantity > left) {
          return fail(make_error(ErrorKind::bad_request, field + ".quantity",
                                 "only " + std::to_string(left) + " of line " +
                                     std::to_string(rl.line) + " are left to refund"));
        }
        now_q[rl.line] = rl.quantity;
      }
    }
    std::int64_t refund = 0, referral = 0, credit = 0, points_value = 0, kept_eligible = 0;
    bool everything = true;
    json refund_lines = json::array();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const auto& l = lines[i];
      const auto a = before[i];
      const auto b = before[i] + now_q[i];
      const auto cash = l.total - l.host - l.referral - l.store_credit - l.points_value;
      const auto d = [&](std::int64_t amount) { return money::share_half_up(amount, b, l.quantity) - money::share_half_up(amount, a, l.quantity); };
      if (now_q[i] > 0) {
        refund_lines.push_back({{"line", i}, {"quantity", now_q[i]}, {"refund_minor", d(cash)},
                                {"reversed_discount_minor", d(l.referral)}});
      }
      refund += d(cash);
      referral += d(l.referral);
      credit += d(l.store_credit);
      points_value += d(l.points_value);
      if (l.eligible) kept_eligible += (l.total - l.host) - money::share_half_up(l.total - l.host, b, l.quantity);
      if (b < l.quantity) everything = false;
      before[i] = b;
    }
    const auto points_total = lines_doc.value("points_spent", std::int64_t{0});
    std::int64_t points_back = 0;
    if (points_total > 0) {
      std::int64_t value_total = 0, value_done_before = 0, value_done_after = 0;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        value_total += lines[i].points_value;
        value_done_after += money::share_half_up(lines[i].points_value, before[i], lines[i].quantity);
        value_done_before += money::share_half_up(lines[i].points_value, before[i] - now_q[i], lines[i].quantity);
      }
      points_back = money::share_half_up(points_total, value_done_after, value_total) -
                    money::share_half_up(points_total, value_done_before, value_total);
    }

    auto st = events.add("txn_reversed", {{"reversal_id", req.reversal_id},
                                          {"txn_id", req.txn_id},
                                          {"kind", req.kind},
                                          {"complete", everything},
                                          {"lines", refund_lines},
                                          {"terminal_id", req.terminal_id},
                                          {"cashier_id", nullable(req.cashier_id)},
                                          {"refund_minor", refund},
                                          {"reversed_discount_minor", referral}});
    if (!st) return fail(st.error());
    // Balances spent on what comes back go back to the wallet.
    const auto restore = [&](const char* unit, std::int64_t amount, std::int64_t value) -> Status {
      if (amount == 0 || !record.customer_id) return ok_status();
      if (auto s2 = c.store_->add_wallet_entry({*record.customer_id, unit, amount, now, false,
                                                req.txn_id, "refunded"});
          !s2) {
        return s2;
      }
      return events.add("balance_restored", {{"customer_id", *record.customer_id},
                                             {"kind", unit},
                                             {"amount", amount},
                                             {"value_minor", value},
                                             {"currency", c.config_.currency.code},
                                             {"txn_id", req.txn_id},
                                             {"reversal_id", req.reversal_id}});
    };
    if (st = restore("store_credit", credit, credit); !st) return fail(st.error());
    if (st = restore("points", points_back, points_value); !st) return fail(st.error());

    json referrer = nullptr;
    if (*redemption) {
      const auto min_spend = lines_doc.value("min_spend_minor", std::int64_t{0});
      const bool below = everything || !*stored_lines || kept_eligible < std::max<std::int64_t>(min_spend, 1);
      if (below) {
        auto taken = claw_back(c, req.txn_id, **redemption, record.customer_id, req.reversal_id,
                               everything || !*stored_lines ? "refunded" : "below_min_spend", now, events);
        if (!taken) return fail(taken.error());
        referrer = std::move(*taken);
      }
      if (everything || !*stored_lines) {
        if (st = c.store_->mark_redemption_reversed(req.txn_id); !st) return fail(st.error());
      }
    }
    json revoked = nullptr;
    const bool complete = everything || !*stored_lines;
    if (complete) {
      if (record.customer_id) {
        if (st = c.store_->count_purchase(*record.customer_id, -1); !st) return fail(st.error());
      }
      if (record.issued_code) {
        if (st = c.store_->revoke_code(*record.issued_code); !st) return fail(st.error());
        st = events.add("code_revoked", {{"code", *record.issued_code},
                                         {"reason", "txn_reversed"},
                                         {"reversal_id", req.reversal_id}});
        if (!st) return fail(st.error());
        revoked = codes::display(*record.issued_code);
      }
    }
    if (!complete || *stored_lines) {
      if (st = c.store_->set_refunded(req.txn_id, json(before).dump()); !st) return fail(st.error());
    }
    json answer = base_answer();
    answer["reversal_id"] = req.reversal_id;
    answer["txn_id"] = req.txn_id;
    answer["kind"] = req.kind;
    answer["complete"] = complete;
    answer["lines"] = std::move(refund_lines);
    answer["refund_minor"] = refund;
    answer["reversed_discount_minor"] = *stored_lines ? referral : (*redemption ? (*redemption)->discount_minor : 0);
    answer["restored_store_credit_minor"] = credit;
    answer["restored_points"] = points_back;
    answer["reversed_referrer_reward_minor"] =
        referrer.is_object() && referrer["kind"] != "points" ? referrer["amount"] : json(0);
    answer["referrer_reward_reversed"] = std::move(referrer);
    answer["revoked_code"] = std::move(revoked);
    answer["events"] = events.range();
    const std::string text = answer.dump();
    if (complete) {
      if (st = c.store_->mark_transaction_reversed(req.txn_id, req.reversal_id); !st) {
        return fail(st.error());
      }
    }
    if (st = c.store_->save_reversal(req.reversal_id, req.txn_id, {req.context.digest, text}, now);
        !st) {
      return fail(st.error());
    }
    if (auto done = (*tx)->commit(); !done) return fail(done.error());
    return Answer{std::nullopt, text};
  }
};

Checkout::Checkout(wire::StoreConfig config, std::unique_ptr<store::Store> store,
                   std::unique_ptr<Clock> clock)
    : config_(std::move(config)),
      store_(std::move(store)),
      clock_(std::move(clock)),
      attempts_(config_.rules.limits.failed_code_attempts,
                config_.rules.limits.window_minutes * 60'000) {}

Result<std::unique_ptr<Checkout>> Checkout::open(wire::StoreConfig config) {
  std::unique_ptr<Clock> clock;
  if (config.fixed_clock_ms) {
    clock = std::make_unique<ManualClock>(*config.fixed_clock_ms);
  } else {
    clock = std::make_unique<SystemClock>();
  }
  return open(std::move(config), std::move(clock));
}

// Code keys and a rule set installed later (by sync from head office, or
// install_rules) outrank older ones in the configuration file. Whatever does
// not check out against the configuration is left aside, not half-applied.
Status Checkout::apply_installed(store::Store& store, wire::StoreConfig& config) {
  auto keys = store.meta("code_keys");
  if (!keys) return keys.error();
  if (*keys && keys->has_value()) {
    const json doc = json::parse(**keys, nullptr, false);
    wire::StoreConfig candidate = config;
    if (wire::replace_code_keys(doc, "code_keys", candidate) &&
        wire::check_rule_keys(candidate, candidate.rules)) {
      config.code_keys = std::move(candidate.code_keys);
      config.active_key_id = candidate.active_key_id;
    }
  }
  auto installed = store.meta("rules");
  if (!installed) return installed.error();
  if (*installed && installed->has_value()) {
    const json doc = json::parse(**installed, nullptr, false);
    auto rules = rules::parse_ruleset(doc, "rules");
    if (rules && rules->version > config.rules.version && wire::check_rule_keys(config, *rules)) {
      config.rules = std::move(*rules);
    }
  }
  return ok_status();
}

Status Checkout::reload_installed() {
  if (auto st = apply_installed(*store_, config_); !st) return st;
  attempts_.reconfigure(config_.rules.limits.failed_code_attempts,
                        config_.rules.limits.window_minutes * 60'000);
  return ok_status();
}

Result<std::unique_ptr<Checkout>> Checkout::open(wire::StoreConfig config,
                                                 std::unique_ptr<Clock> clock) {
  auto store = store::Store::open(config.data_dir, config.store_id, std::string(config.currency.code));
  if (!store) return store.error();
  if (auto st = apply_installed(**store, config); !st) return st.error();
  // Offline exposure is measured from the last sync, or from the first open.
  auto opened = (*store)->meta("opened_at_ms");
  if (!opened) return opened.error();
  if (!*opened) {
    auto tx = store::WriteTransaction::begin((*store)->db());
    if (!tx) return tx.error();
    if (auto st = (*store)->set_meta("opened_at_ms", std::to_string(clock->now_ms())); !st) {
      return st.error();
    }
    if (auto st = (*tx)->commit(); !st) return st.error();
  }
  return std::unique_ptr<Checkout>(
      new Checkout(std::move(config), std::move(*store), std::move(clock)));
}

Answer Checkout::preview(std::string_view request) {
  auto req = wire::parse_checkout_request(request, config_.currency, false);
  if (!req) return fail(req.error());
  if (auto st = Impl::apply_clock(*this, req->context); !st) return fail(st.error());
  const std::int64_t now = clock_->now_ms();
  json answer = base_answer();
  auto snapshot = store::ReadTransaction::begin(store_->db());
  if (!snapshot) return fail(snapshot.error());
  std::optional<CodeCheck> check;
  std::optional<Error> rejected;
  if (req->code) {
    auto checked = Impl::check_code_limited(*this, *req, now);
    if (checked) {
      check = std::move(*checked);
    } else if (checked.error().kind == ErrorKind::code_rejected) {
      rejected = checked.error();
    } else {
      return fail(checked.error());
    }
  }
  auto pricing = price(config_, *store_, req->cart, check ? &check->decision : nullptr, req->spend, now);
  if (!pricing) return fail(pricing.error());
  answer.update(totals(req->cart, *pricing));
  const auto ask = rules::should_ask(config_.rules, req->cart, answer["total_minor"].get<std::int64_t>(), req->nps);
  answer["ask"] = {{"ask", ask.ask}, {"why", ask.why}};
  if (!req->code) {
    answer["code"] = nullptr;
    answer["referrer_reward"] = nullptr;
    return succeed(answer);
  }
  if (rejected) {
    const auto normalized = codes::normalize(*req->code);
    answer["code"] = code_json(normalized ? codes::display(*normalized) : *req->code, "rejected",
                               rejected->reason, rejected->message);
    answer["referrer_reward"] = nullptr;
    answer["error"] = wire::error_document(*rejected)["error"];
    return Answer{*rejected, answer.dump()};
  }
  answer["code"] = code_json(codes::display(check->normalized), "accepted", "", check->decision.message);
  answer["code"]["program"] = check->decision.program->id;
  answer["code"]["flags"] = check->decision.flags;
  answer["referee_credit_minor"] = check->decision.referee_credit_minor;
  answer["referrer_reward"] = referrer_json(check->decision, now);
  return succeed(answer);
}

Answer Checkout::commit(std::string_view request) {
  auto req = wire::parse_checkout_request(request, config_.currency, true);
  if (!req) return fail(req.error());
  if (auto st = Impl::apply_clock(*this, req->context); !st) return fail(st.error());
  if (auto replay = replay_of(store_->find_transaction(*req->txn_id), req->context.digest,
                              "txn_id", *req->txn_id)) {
    return Impl::present(*this, std::move(*replay));
  }
  const std::int64_t now = clock_->now_ms();
  std::optional<CodeCheck> code;
  if (req->code) {
    auto check = Impl::check_code_limited(*this, *req, now);
    if (!check) {
      Impl::record_refusal(*this, *req, check.error(), now);
      return fail(check.error());
    }
    code = std::move(*check);
  }
  return Impl::commit_in_transaction(*this, *req, code, now);
}

Answer Checkout::reverse(std::string_view request) {
  auto req = wire::parse_reverse_request(request);
  if (!req) return fail(req.error());
  if (auto st = Impl::apply_clock(*this, req->context); !st) return fail(st.error());
  if (auto replay = replay_of(store_->find_reversal(req->reversal_id), req->context.digest,
                              "reversal_id", req->reversal_id)) {
    return *replay;
  }
  auto record = store_->transaction_record(req->txn_id);
  if (!record) return fail(record.error());
  if (!*record) {
    return no_such_transaction(req->txn_id);
  }
  if ((*record)->reversed_by) {
    return fail(make_error(ErrorKind::conflict, "txn_id",
                           "\"" + req->txn_id + "\" was already reversed by \"" +
                               *(*record)->reversed_by + "\""));
  }
  return Impl::reverse_in_transaction(*this, *req, **record, clock_->now_ms());
}

Answer Checkout::issue_code(std::string_view request) {
  auto req = wire::parse_issue_code_request(request);
  if (!req) return fail(req.error());
  if (auto st = Impl::apply_clock(*this, req->context); !st) return fail(st.error());
  const codes::CodeKey* key = &config_.active_key();
  if (req->partner_id) {
    const auto* partner = config_.rules.partner(*req->partner_id);
    if (partner == nullptr) {
      return fail(make_error(ErrorKind::not_found, "partner_id",
                             "no partner program \"" + *req->partner_id + "\" in the rule set"));
    }
    key = config_.key(partner->key_id);
  }
  const std::int64_t now = clock_->now_ms();
  auto tx = store::WriteTransaction::begin(store_->db());
  if (!tx) return fail(tx.error());
  EventBatch events(*store_, now, config_.rules.version);
  if (auto st = Impl::register_customer(*this, req->customer_id, now, std::nullopt, events); !st) {
    return fail(st.error());
  }
  auto issued = Impl::issue_or_reuse_code(*this, req->customer_id, *key, now, std::nullopt, events);
  if (!issued) return fail(issued.error());
  if (auto done = (*tx)->commit(); !done) return fail(done.error());
  json answer = base_answer();
  answer["customer_id"] = req->customer_id;
  answer.update(issued_code_json(config_, *issued));
  return succeed(answer);
}

Answer Checkout::customer(std::string_view request) {
  auto req = wire::parse_customer_request(request);
  if (!req) return fail(req.error());
  if (auto st = Impl::apply_clock(*this, req->context); !st) return fail(st.error());
  const std::int64_t now = clock_->now_ms();
  auto snapshot = store::ReadTransaction::begin(store_->db());
  if (!snapshot) return fail(snapshot.error());
  auto view = store_->customer_view(req->customer_id);
  if (!view) return fail(view.error());
  auto codes_json = json::array();
  for (const auto& code : view->codes) {
    codes_json.push_back({{"code", codes::display(code.code)},
                          {"issued_at_ms", code.issued_at_ms},
                          {"expires_at_ms", code.expires_at_ms},
                          {"redemptions", code.redemptions},
                          {"revoked", code.revoked}});
  }
  auto credit = store_->balance(req->customer_id, "store_credit", now);
  if (!credit) return fail(credit.error());
  auto points = store_->balance(req->customer_id, "points", now);
  if (!points) return fail(points.error());
  auto gift = store_->balance(req->customer_id, "gift_card", now);
  if (!gift) return fail(gift.error());
  json answer = base_answer();
  answer["customer_id"] = req->customer_id;
  answer["known"] = view->known;
  answer["first_seen_ms"] = view->first_seen_ms;
  answer["purchases"] = view->purchases;
  answer["wallet"] = {{"currency", config_.currency.code},
                      {"balance_minor", credit->spendable},
                      {"pending_minor", credit->pending},
                      {"held_minor", credit->held},
                      {"points", points->spendable},
                      {"pending_points", points->pending},
                      {"held_points", points->held},
                      {"gift_cards_owed_minor", gift->spendable + gift->pending}};
  answer["codes"] = std::move(codes_json);
  answer["referred_by"] =
      view->referred_by ? json(codes::display(*view->referred_by)) : json(nullptr);
  return succeed(answer);
}

Answer Checkout::render(std::string_view request) {
  auto req = wire::parse_render_request(request);
  if (!req) return fail(req.error());
  auto saved = store_->find_transaction(req->txn_id);
  if (!saved) return fail(saved.error());
  if (!*saved) {
    return no_such_transaction(req->txn_id);
  }
  const json answer = json::parse((*saved)->answer, nullptr, false);
  if (!answer.is_object()) {
    return fail(make_error(ErrorKind::internal, "txn_id", "the stored answer does not parse"));
  }
  auto bytes = receipt::render(config_, answer, req->what, req->format, std::move(req->host_lines));
  if (!bytes) return fail(bytes.error());
  return Answer{std::nullopt, std::move(*bytes)};
}

Answer Checkout::ask_outcome(std::string_view request) {
  auto req = wire::parse_ask_outcome_request(request);
  if (!req) return fail(req.error());
  if (auto st = Impl::apply_clock(*this, req->context); !st) return fail(st.error());
  if (auto replay = replay_of(store_->find_ask_outcome(req->txn_id), req->context.digest, "txn_id",
                              req->txn_id)) {
    return *replay;
  }
  auto record = store_->transaction_record(req->txn_id);
  if (!record) return fail(record.error());
  if (!*record) {
    return no_such_transaction(req->txn_id);
  }
  const std::int64_t now = clock_->now_ms();
  auto tx = store::WriteTransaction::begin(store_->db());
  if (!tx) return fail(tx.error());
  EventBatch events(*store_, now, config_.rules.version);
  auto st = events.add("ask_recorded", {{"txn_id", req->txn_id},
                                        {"outcome", req->outcome},
                                        {"customer_id", nullable((*record)->customer_id)},
                                        {"terminal_id", req->terminal_id},
                                        {"cashier_id", nullable(req->cashier_id)}});
  if (!st) return fail(st.error());
  json answer = base_answer();
  answer["txn_id"] = req->txn_id;
  answer["outcome"] = req->outcome;
  answer["events"] = events.range();
  const std::string text = answer.dump();
  if (st = store_->save_ask_outcome(req->txn_id, {req->context.digest, text}); !st) return fail(st.error());
  if (auto done = (*tx)->commit(); !done) return fail(done.error());
  return Answer{std::nullopt, text};
}

Answer Checkout::lead(std::string_view request) {
  auto req = wire::parse_lead_request(request);
  if (!req) return fail(req.error());
  if (auto st = Impl::apply_clock(*this, req->context); !st) return fail(st.error());
  auto exists = store_->lead_exists(req->lead_id);
  if (!exists) return fail(exists.error());
  if (*exists) {
    return fail(make_error(ErrorKind::conflict, "lead_id",
                           "\"" + req->lead_id + "\" was already recorded"));
  }
  const std::int64_t now = clock_->now_ms();
  auto tx = store::WriteTransaction::begin(store_->db());
  if (!tx) return fail(tx.error());
  EventBatch events(*store_, now, config_.rules.version);
  if (auto st = Impl::register_customer(*this, req->customer_id, now, std::nullopt, events); !st) {
    return fail(st.error());
  }
  // The friend's name and contact exist only sealed with the referrer's key.
  const json contact = {{"name", req->friend_name}, {"contact", req->friend_contact}};
  auto sealed = Impl::seal_for(*this, req->customer_id, "lead:" + req->lead_id, contact.dump());
  if (!sealed) return fail(sealed.error());
  if (auto st = store_->insert_lead(req->lead_id, req->customer_id, *sealed, now); !st) {
    return fail(st.error());
  }
  auto st = events.add("lead_captured", {{"lead_id", req->lead_id},
                                         {"customer_id", req->customer_id},
                                         {"consent", true},
                                         {"sealed", *sealed},
                                         {"terminal_id", req->terminal_id},
                                         {"cashier_id", nullable(req->cashier_id)}});
  if (!st) return fail(st.error());
  if (auto done = (*tx)->commit(); !done) return fail(done.error());
  json answer = base_answer();
  answer["lead_id"] = req->lead_id;
  answer["customer_id"] = req->customer_id;
  answer["events"] = events.range();
  return succeed(answer);
}

Answer Checkout::contact(std::string_view request) {
  auto req = wire::parse_contact_request(request);
  if (!req) return fail(req.error());
  if (auto st = Impl::apply_clock(*this, req->context); !st) return fail(st.error());
  const std::int64_t now = clock_->now_ms();
  auto tx = store::WriteTransaction::begin(store_->db());
  if (!tx) return fail(tx.error());
  EventBatch events(*store_, now, config_.rules.version);
  if (auto st = Impl::register_customer(*this, req->customer_id, now, std::nullopt, events); !st) {
    return fail(st.error());
  }
  Status st = ok_status();
  if (req->consent) {
    // The address exists only sealed with the customer's own key, bound to
    // the customer and channel: forget makes it unreadable everywhere.
    const json contact = {{"address", req->address}, {"name", req->name}};
    auto sealed = Impl::seal_for(*this, req->customer_id,
                                 "contact:" + req->customer_id + ":" + req->channel, contact.dump());
    if (!sealed) return fail(sealed.error());
    st = events.add("contact_consented", {{"customer_id", req->customer_id},
                                          {"channel", req->channel},
                                          {"sealed", *sealed},
                                          {"terminal_id", req->terminal_id},
                                          {"cashier_id", nullable(req->cashier_id)}});
  } else {
    st = events.add("contact_withdrawn", {{"customer_id", req->customer_id},
                                          {"channel", req->channel},
                                          {"terminal_id", req->terminal_id},
                                          {"cashier_id", nullable(req->cashier_id)}});
  }
  if (!st) return fail(st.error());
  if (auto done = (*tx)->commit(); !done) return fail(done.error());
  json answer = base_answer();
  answer["customer_id"] = req->customer_id;
  answer["channel"] = req->channel;
  answer["consent"] = req->consent;
  answer["events"] = events.range();
  return succeed(answer);
}

Answer Checkout::forget(std::string_view request) {
  auto req = wire::parse_forget_request(request);
  if (!req) return fail(req.error());
  if (auto st = Impl::apply_clock(*this, req->context); !st) return fail(st.error());
  const std::int64_t now = clock_->now_ms();
  auto tx = store::WriteTransaction::begin(store_->db());
  if (!tx) return fail(tx.error());
  EventBatch events(*store_, now, config_.rules.version);
  auto removed = store_->forget(req->customer_id);
  if (!removed) return fail(removed.error());
  // The money facts stay: only the key to the sealed contact data goes.
  auto st = events.add("customer_forgotten",
                       {{"customer_id", req->customer_id}, {"terminal_id", req->terminal_id}});
  if (!st) return fail(st.error());
  if (auto done = (*tx)->commit(); !done) return fail(done.error());
  json answer = base_answer();
  answer["customer_id"] = req->customer_id;
  answer["removed"] = *removed;
  answer["events"] = events.range();
  return succeed(answer);
}

Answer Checkout::install_rules(std::string_view request) {
  auto req = wire::parse_rules_request(request);
  if (!req) return fail(req.error());
  if (auto st = Impl::apply_clock(*this, req->context); !st) return fail(st.error());
  // Checked whole before anything changes: a bad rule set leaves the active
  // one in place.
  auto rules = rules::parse_ruleset(req->rules, "rules");
  if (!rules) return fail(rules.error());
  if (auto st = wire::check_rule_keys(config_, *rules); !st) {
    return fail(make_error(ErrorKind::bad_request, st.error().field, st.error().message));
  }
  if (rules->version <= config_.rules.version) {
    return fail(make_error(ErrorKind::conflict, "rules.version",
                           "must be newer than the active rule set's version " +
                               std::to_string(config_.rules.version) + ", got " +
                               std::to_string(rules->version)));
  }
  const std::int64_t now = clock_->now_ms();
  auto tx = store::WriteTransaction::begin(store_->db());
  if (!tx) return fail(tx.error());
  EventBatch events(*store_, now, rules->version);
  if (auto st = store_->set_meta("rules", req->rules.dump()); !st) return fail(st.error());
  auto st = events.add("rules_installed", {{"version", rules->version},
                                           {"previous_version", config_.rules.version},
                                           {"program", rules->program.id},
                                           {"partners", rules->partners.size()}});
  if (!st) return fail(st.error());
  if (auto done = (*tx)->commit(); !done) return fail(done.error());
  json answer = base_answer();
  answer["version"] = rules->version;
  answer["previous_version"] = config_.rules.version;
  answer["events"] = events.range();
  config_.rules = std::move(*rules);
  attempts_.reconfigure(config_.rules.limits.failed_code_attempts,
                        config_.rules.limits.window_minutes * 60'000);
  return succeed(answer);
}

Result<wire::StoreConfig> Checkout::begin_sync(std::string_view request) {
  auto req = wire::parse_sync_request(request);
  if (!req) return req.error();
  if (auto st = Impl::apply_clock(*this, req->context); !st) return st.error();
  if (!config_.sync) {
    return make_error(ErrorKind::config, "sync",
                      "this store's configuration has no \"sync\" section (docs/sync.md)");
  }
  return config_;
}

Answer Checkout::finish_sync(const Result<std::string>& report_json) {
  // Whatever the sync got to (an acknowledged batch, a pull applied before
  // a later failure) is in the file: take installed rules and keys in even
  // when the sync as a whole failed.
  if (auto st = reload_installed(); !st) return fail(st.error());
  if (!report_json) return fail(report_json.error());
  json answer = base_answer();
  answer.update(json::parse(*report_json));
  return succeed(answer);
}

}  // namespace refpos::checkout
