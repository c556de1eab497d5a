#include "checkout/checkout.hpp"

#include <algorithm>
#include <cassert>

#include "codes/code.hpp"
#include "receipt/printout.hpp"
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

json totals(const Cart& cart, const rules::RedemptionDecision* decision) {
  const std::int64_t discount = decision != nullptr ? decision->discount_minor : 0;
  return {{"currency", cart.currency.code},
          {"subtotal_minor", cart.subtotal_minor},
          {"discount_minor", discount},
          {"total_minor", cart.subtotal_minor - discount},
          {"discount_lines", decision != nullptr
                                 ? wire::discount_lines(decision->line_discounts_minor, "referral")
                                 : json::array()}};
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

  // Format, check symbol, key, MAC, then the rules: the first failure wins.
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

  static Result<CodeCheck> check_code(Checkout& c, const CheckoutRequest& req, std::int64_t now) {
    auto normalized = codes::normalize(*req.code);
    if (!normalized) return normalized.error();
    auto fields = codes::parse(*normalized);
    if (!fields) return fields.error();
    const codes::CodeKey* key = c.config_.key(fields->key_id);
    if (key == nullptr) return code_rejected("unknown_key", "This code cannot be used.");
    if (!codes::mac_matches(*normalized, *key)) {
      return code_rejected("not_authentic", "This code cannot be used.");
    }
    auto facts = c.store_->code_facts(*normalized);
    if (!facts) return facts.error();
    rules::CustomerFacts customer;
    if (req.cart.customer_id) {
      auto found = c.store_->customer_facts(*req.cart.customer_id);
      if (!found) return found.error();
      customer = *found;
    }
    auto decision =
        rules::evaluate_redemption(c.config_.rules, req.cart, *fields, customer, *facts, now);
    if (!decision.accepted) return code_rejected(decision.reason, decision.message);
    return CodeCheck{std::move(*normalized), *fields, std::move(*facts), std::move(decision)};
  }

  static Result<IssuedCode> issue_or_reuse_code(Checkout& c, const std::string& customer_id,
                                                std::int64_t now,
                                                const std::optional<std::string>& txn_id,
                                                EventBatch& events) {
    auto existing = c.store_->valid_code_of(customer_id, now);
    if (!existing) return existing.error();
    if (*existing) return IssuedCode{(*existing)->code, false, (*existing)->expires_at_ms};
    auto day = codes::issue_day_of(now);
    if (!day) return day.error();
    std::string code;
    for (int attempt = 0; attempt < kIssueAttempts && code.empty(); ++attempt) {
      auto fresh = codes::issue(c.config_.active_key(), *day);
      if (!fresh) return fresh.error();
      auto facts = c.store_->code_facts(*fresh);
      if (!facts) return facts.error();
      if (!facts->issued_here) code = std::move(*fresh);
    }
    if (code.empty()) return make_error(ErrorKind::internal, "", "could not draw a fresh code");
    const std::int64_t expires = rules::code_expires_at_ms(c.config_.rules, *day);
    if (auto st = c.store_->insert_code(code, customer_id, now, expires); !st) return st.error();
    auto st = events.add("code_issued", {{"code", code},
                                         {"customer_id", customer_id},
                                         {"key_id", c.config_.active_key_id},
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

  // The redemption, and the referrer's reward when the referrer is known
  // here. Returns the "redemption" member of the answer.
  static Result<json> record_redemption(Checkout& c, const CheckoutRequest& req,
                                        const CodeCheck& code, EventBatch& events) {
    const auto& currency = c.config_.currency.code;
    const auto& txn_id = *req.txn_id;
    const auto& customer_id = *req.cart.customer_id;  // evaluate() requires one
    const auto reward = code.decision.referrer_reward_minor;
    store::RedemptionRecord record{code.normalized, code.decision.discount_minor, std::nullopt,
                                   reward};
    if (code.facts.issued_here && reward > 0) {
      record.referrer_customer_id = code.facts.referrer_customer_id;
    }
    if (auto st = c.store_->insert_redemption(txn_id, customer_id, record); !st) return st.error();
    auto st = events.add("code_redeemed", {{"txn_id", txn_id},
                                           {"code", code.normalized},
                                           {"customer_id", customer_id},
                                           {"discount_minor", record.discount_minor},
                                           {"currency", currency},
                                           {"referrer_customer_id", nullable(record.referrer_customer_id)}});
    if (!st) return st.error();
    if (record.referrer_customer_id) {
      const auto& referrer = *record.referrer_customer_id;
      if (auto w = c.store_->add_to_wallet(referrer, reward); !w) return w.error();
      st = events.add("reward_accrued", {{"customer_id", referrer},
                                         {"kind", "store_credit"},
                                         {"amount_minor", reward},
                                         {"currency", currency},
                                         {"code", code.normalized},
                                         {"txn_id", txn_id}});
      if (!st) return st.error();
    }
    return json{{"code", codes::display(code.normalized)},
                {"discount_minor", record.discount_minor},
                {"referrer_reward",
                 {{"kind", "store_credit"},
                  {"amount_minor", reward},
                  {"settled", code.facts.issued_here ? "store" : "head_office"}}}};
  }

  static Answer commit_in_transaction(Checkout& c, const CheckoutRequest& req,
                                      const std::optional<CodeCheck>& code, std::int64_t now) {
    auto tx = store::WriteTransaction::begin(c.store_->db());
    if (!tx) return fail(tx.error());
    EventBatch events(*c.store_, now, c.config_.rules.version);
    const Cart& cart = req.cart;
    const auto* decision = code ? &code->decision : nullptr;
    const std::int64_t discount = decision != nullptr ? decision->discount_minor : 0;
    const std::int64_t paid = cart.subtotal_minor - discount;

    if (cart.customer_id) {
      const auto referred_by = code ? std::optional<std::string>(code->normalized) : std::nullopt;
      if (auto st = register_customer(c, *cart.customer_id, now, referred_by, events); !st) {
        return fail(st.error());
      }
      if (auto st = c.store_->count_purchase(*cart.customer_id, 1); !st) return fail(st.error());
    }
    auto st = events.add("txn_committed", {{"txn_id", *req.txn_id},
                                           {"terminal_id", cart.terminal_id},
                                           {"cashier_id", nullable(cart.cashier_id)},
                                           {"customer_id", nullable(cart.customer_id)},
                                           {"currency", cart.currency.code},
                                           {"lines", cart.lines.size()},
                                           {"subtotal_minor", cart.subtotal_minor},
                                           {"discount_minor", discount},
                                           {"total_minor", paid}});
    if (!st) return fail(st.error());

    json redemption = nullptr;
    if (code) {
      auto r = record_redemption(c, req, *code, events);
      if (!r) return fail(r.error());
      redemption = std::move(*r);
    }
    std::optional<IssuedCode> issued;
    if (rules::should_issue_code(c.config_.rules, cart, paid)) {
      auto i = issue_or_reuse_code(c, *cart.customer_id, now, req.txn_id, events);
      if (!i) return fail(i.error());
      issued = std::move(*i);
    }

    const auto money = [&](std::int64_t minor) { return wire::money_text(c.config_, minor); };
    receipt::ReceiptFacts facts{c.config_.printer.columns(), money(-discount), std::nullopt,
                                std::nullopt, rules::referral_offer_message(c.config_.rules, money),
                                "", 0};
    if (code) facts.redeemed_code = codes::display(code->normalized);
    if (issued) {
      facts.issued_code = codes::display(issued->normalized);
      facts.share_link = wire::share_link(c.config_, issued->normalized);
      facts.code_expires_at_ms = issued->expires_at_ms;
    }
    json answer = base_answer();
    answer["txn_id"] = *req.txn_id;
    answer["store_id"] = c.config_.store_id;
    answer["committed_at_ms"] = now;
    answer.update(totals(cart, decision));
    answer["redemption"] = std::move(redemption);
    answer["issued_code"] = issued ? issued_code_json(c.config_, *issued) : json(nullptr);
    answer["receipt_lines"] = receipt::receipt_lines(facts);
    answer["events"] = events.range();
    const std::string text = answer.dump();

    const auto new_code = issued && issued->is_new ? std::optional(issued->normalized) : std::nullopt;
    st = c.store_->save_transaction(*req.txn_id, {req.context.digest, text}, cart.customer_id,
                                    new_code, now);
    if (!st) return fail(st.error());
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

  static Answer reverse_in_transaction(Checkout& c, const wire::ReverseRequest& req,
                                       const store::TransactionRecord& record, std::int64_t now) {
    auto tx = store::WriteTransaction::begin(c.store_->db());
    if (!tx) return fail(tx.error());
    EventBatch events(*c.store_, now, c.config_.rules.version);
    const auto& currency = c.config_.currency.code;

    auto redemption = c.store_->redemption_of(req.txn_id);
    if (!redemption) return fail(redemption.error());
    const std::int64_t discount = *redemption ? (*redemption)->discount_minor : 0;
    std::int64_t reward = 0;
    auto st = events.add("txn_reversed", {{"reversal_id", req.reversal_id},
                                          {"txn_id", req.txn_id},
                                          {"kind", req.kind},
                                          {"terminal_id", req.terminal_id},
                                          {"cashier_id", nullable(req.cashier_id)},
                                          {"reversed_discount_minor", discount}});
    if (!st) return fail(st.error());
    if (*redemption) {
      if (st = c.store_->mark_redemption_reversed(req.txn_id); !st) return fail(st.error());
      if (const auto& referrer = (*redemption)->referrer_customer_id) {
        reward = (*redemption)->referrer_reward_minor;
        // Already spent or not, the credit goes: a negative balance is a
        // visible debt, never a silent loss.
        if (st = c.store_->add_to_wallet(*referrer, -reward); !st) return fail(st.error());
        st = events.add("reward_reversed", {{"customer_id", *referrer},
                                            {"kind", "store_credit"},
                                            {"amount_minor", reward},
                                            {"currency", currency},
                                            {"txn_id", req.txn_id},
                                            {"reversal_id", req.reversal_id}});
        if (!st) return fail(st.error());
      }
    }
    if (record.customer_id) {
      if (st = c.store_->count_purchase(*record.customer_id, -1); !st) return fail(st.error());
    }
    json revoked = nullptr;
    if (record.issued_code) {
      if (st = c.store_->revoke_code(*record.issued_code); !st) return fail(st.error());
      st = events.add("code_revoked", {{"code", *record.issued_code},
                                       {"reason", "txn_reversed"},
                                       {"reversal_id", req.reversal_id}});
      if (!st) return fail(st.error());
      revoked = codes::display(*record.issued_code);
    }
    json answer = base_answer();
    answer["reversal_id"] = req.reversal_id;
    answer["txn_id"] = req.txn_id;
    answer["kind"] = req.kind;
    answer["reversed_discount_minor"] = discount;
    answer["reversed_referrer_reward_minor"] = reward;
    answer["revoked_code"] = std::move(revoked);
    answer["events"] = events.range();
    const std::string text = answer.dump();
    if (st = c.store_->mark_transaction_reversed(req.txn_id, req.reversal_id); !st) {
      return fail(st.error());
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

Result<std::unique_ptr<Checkout>> Checkout::open(wire::StoreConfig config,
                                                 std::unique_ptr<Clock> clock) {
  auto store = store::Store::open(config.data_dir, config.store_id, std::string(config.currency.code));
  if (!store) return store.error();
  return std::unique_ptr<Checkout>(
      new Checkout(std::move(config), std::move(*store), std::move(clock)));
}

Answer Checkout::preview(std::string_view request) {
  auto req = wire::parse_checkout_request(request, config_.currency, false);
  if (!req) return fail(req.error());
  if (auto st = Impl::apply_clock(*this, req->context); !st) return fail(st.error());
  json answer = base_answer();
  if (!req->code) {
    answer.update(totals(req->cart, nullptr));
    answer["code"] = nullptr;
    answer["referrer_reward"] = nullptr;
    return succeed(answer);
  }
  auto snapshot = store::ReadTransaction::begin(store_->db());
  if (!snapshot) return fail(snapshot.error());
  auto check = Impl::check_code_limited(*this, *req, clock_->now_ms());
  if (!check) {
    if (check.error().kind != ErrorKind::code_rejected) return fail(check.error());
    const auto normalized = codes::normalize(*req->code);
    answer.update(totals(req->cart, nullptr));
    answer["code"] = {{"code", normalized ? codes::display(*normalized) : *req->code},
                      {"status", "rejected"},
                      {"reason", check.error().reason},
                      {"message", check.error().message}};
    answer["referrer_reward"] = nullptr;
    answer["error"] = wire::error_document(check.error())["error"];
    return Answer{check.error(), answer.dump()};
  }
  answer.update(totals(req->cart, &check->decision));
  answer["code"] = {{"code", codes::display(check->normalized)},
                    {"status", "accepted"},
                    {"reason", ""},
                    {"message", check->decision.message}};
  answer["referrer_reward"] = {{"kind", "store_credit"},
                               {"amount_minor", check->decision.referrer_reward_minor}};
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
    if (!check) return fail(check.error());
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
    return fail(make_error(ErrorKind::not_found, "txn_id",
                           "no committed transaction \"" + req->txn_id + "\" in this store"));
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
  const std::int64_t now = clock_->now_ms();
  auto tx = store::WriteTransaction::begin(store_->db());
  if (!tx) return fail(tx.error());
  EventBatch events(*store_, now, config_.rules.version);
  if (auto st = Impl::register_customer(*this, req->customer_id, now, std::nullopt, events); !st) {
    return fail(st.error());
  }
  auto issued = Impl::issue_or_reuse_code(*this, req->customer_id, now, std::nullopt, events);
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
  json answer = base_answer();
  answer["customer_id"] = req->customer_id;
  answer["known"] = view->known;
  answer["first_seen_ms"] = view->first_seen_ms;
  answer["purchases"] = view->purchases;
  answer["wallet"] = {{"currency", config_.currency.code}, {"balance_minor", view->balance_minor}};
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
    return fail(make_error(ErrorKind::not_found, "txn_id",
                           "no committed transaction \"" + req->txn_id + "\" in this store"));
  }
  const json answer = json::parse((*saved)->answer, nullptr, false);
  if (!answer.is_object()) {
    return fail(make_error(ErrorKind::internal, "txn_id", "the stored answer does not parse"));
  }
  auto bytes = receipt::render(config_, answer, req->what, req->format, std::move(req->host_lines));
  if (!bytes) return fail(bytes.error());
  return Answer{std::nullopt, std::move(*bytes)};
}

}  // namespace refpos::checkout
