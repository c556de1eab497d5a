#include "rules/ruleset.hpp"

#include <algorithm>

#include "codes/code.hpp"
#include "money/money.hpp"
#include "wire/json_input.hpp"

namespace refpos::rules {
namespace {

using wire::FieldReader;
using wire::Json;
using Errors = std::vector<Error>;
constexpr std::int64_t kMaxMinor = money::kMaxAmountMinor;

// An optional list of identifiers, each checked like any identifier.
void read_id_set(FieldReader& r, std::string_view key, IdSet& out, std::size_t min_items = 0) {
  const Json* list = r.array(key, false, min_items, kMaxExclusions);
  if (list == nullptr) return;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    if (!item.is_string() || !wire::is_clean_text(item.get_ref<const std::string&>(), wire::kMaxIdBytes)) {
      r.fail(std::string(key) + "[" + std::to_string(i) + "]",
             "must be an identifier (1 to 64 bytes, no control characters), got " +
                 wire::describe_value(item));
      return;
    }
    out.insert(item.get<std::string>());
  }
}

// One of a fixed list of words; `fallback` when absent.
template <typename E, std::size_t N>
E read_choice(FieldReader& r, std::string_view key, const std::pair<std::string_view, E> (&choices)[N],
              E fallback) {
  const auto word = r.optional_id(key);
  if (!word) return fallback;
  std::string expected;
  for (const auto& [name, value] : choices) {
    if (name == *word) return value;
    expected += (expected.empty() ? "\"" : ", \"") + std::string(name) + "\"";
  }
  r.fail(key, "must be one of " + expected + ", got \"" + *word + "\"");
  return fallback;
}

constexpr std::pair<std::string_view, Per> kPers[] = {{"month", Per::month}, {"year", Per::year}};
constexpr std::pair<std::string_view, Stacking> kStackings[] = {
    {"combine", Stacking::combine},
    {"skip_discounted_lines", Stacking::skip_discounted_lines},
    {"exclusive", Stacking::exclusive}};
constexpr std::pair<std::string_view, AskWhen> kAskWhens[] = {
    {"every_customer", AskWhen::every_customer},
    {"promoters", AskWhen::promoters},
    {"min_spend", AskWhen::min_spend},
    {"never", AskWhen::never}};
constexpr std::pair<std::string_view, FraudAction> kActions[] = {
    {"off", FraudAction::off}, {"flag", FraudAction::flag},
    {"hold", FraudAction::hold}, {"refuse", FraudAction::refuse}};
constexpr std::pair<std::string_view, VelocityScope> kScopes[] = {
    {"code", VelocityScope::code},
    {"terminal", VelocityScope::terminal},
    {"cashier", VelocityScope::cashier}};

void read_period_limit(FieldReader& parent, std::string_view key, PeriodLimit& out,
                       Errors& errors) {
  const Json* j = parent.object(key, false);
  if (j == nullptr) return;
  FieldReader r(*j, parent.path_of(key), &errors);
  out.count = r.integer("count", 1, kMaxRedemptionsPerCode);
  out.per = read_choice(r, "per", kPers, Per::month);
  if (!r.failed() && j->find("per") == j->end()) r.fail("per", "is required (\"month\" or \"year\")");
  (void)r.finish();
}

void read_referee(const Json& j, const std::string& path, RefereeReward& out, Errors& errors) {
  FieldReader r(j, path, &errors);
  const auto percent = r.optional_integer("percent_off_bp", 0, money::kBasisPointsWhole);
  const auto amount = r.optional_integer("amount_off_minor", 1, kMaxMinor);
  const auto credit = r.optional_integer("store_credit_minor", 1, kMaxMinor);
  const Json* free_item = r.object("free_item", false);
  const int kinds = int{percent.has_value()} + int{amount.has_value()} +
                    int{credit.has_value()} + int{free_item != nullptr};
  if (!r.failed() && kinds != 1) {
    r.fail("percent_off_bp", "give exactly one reward for the friend: percent_off_bp, "
                             "amount_off_minor, free_item or store_credit_minor");
  }
  if (percent) out.kind = RefereeKind::percent_off;
  if (amount) out.kind = RefereeKind::amount_off;
  if (credit) out.kind = RefereeKind::store_credit;
  if (free_item != nullptr) {
    out.kind = RefereeKind::free_item;
    FieldReader f(*free_item, r.path_of("free_item"), &errors);
    read_id_set(f, "skus", out.free_item_skus, 1);
    if (!f.failed() && out.free_item_skus.empty()) f.fail("skus", "is required");
    (void)f.finish();
  }
  out.percent_off_bp = static_cast<std::int32_t>(percent.value_or(0));
  out.amount_off_minor = amount.value_or(0);
  out.store_credit_minor = credit.value_or(0);
  out.cap_minor = r.optional_integer("cap_minor", 0, kMaxMinor).value_or(0);
  if (out.cap_minor > 0 && (amount || credit)) {
    r.fail("cap_minor", "caps a percentage or a free item; a fixed amount is its own cap");
  }
  out.min_spend_minor = r.optional_integer("min_spend_minor", 0, kMaxMinor).value_or(0);
  out.new_customers_only = r.boolean("new_customers_only", true);
  out.stacking = read_choice(r, "stacking", kStackings, Stacking::combine);
  read_id_set(r, "excluded_categories", out.excluded_categories);
  read_id_set(r, "excluded_skus", out.excluded_skus);
  for (const auto& sku : out.free_item_skus) {
    if (out.excluded_skus.count(sku) != 0) {
      r.fail("excluded_skus", "excludes \"" + sku + "\", the free item itself");
    }
  }
  (void)r.finish();
}

void read_referrer(const Json& j, const std::string& path, bool partner, ReferrerReward& out,
                   Errors& errors) {
  FieldReader r(j, path, &errors);
  const auto credit = r.optional_integer("store_credit_minor", 0, kMaxMinor);
  const auto gift = r.optional_integer("gift_card_minor", 1, kMaxMinor);
  const auto points = r.optional_integer("points", 1, kMaxPoints);
  const bool thanks = r.boolean("recognition_only", false);
  const int kinds = int{credit.has_value()} + int{gift.has_value()} + int{points.has_value()} + int{thanks};
  if (!r.failed() && kinds != 1) {
    r.fail("store_credit_minor", "give exactly one reward for the referrer: store_credit_minor, "
                                 "gift_card_minor, points or recognition_only");
  }
  if (credit) out.kind = *credit > 0 ? ReferrerKind::store_credit : ReferrerKind::recognition;
  if (gift) out.kind = ReferrerKind::gift_card;
  if (points) out.kind = ReferrerKind::points;
  if (thanks) out.kind = ReferrerKind::recognition;
  out.amount_minor = credit.value_or(gift.value_or(0));
  out.points = points.value_or(0);
  if (partner && !r.failed() && (out.kind == ReferrerKind::store_credit || out.kind == ReferrerKind::gift_card)) {
    r.fail(credit ? "store_credit_minor" : "gift_card_minor",
           "partners earn points or recognition, never cash or its equivalent");
  }
  out.pending_days = r.optional_integer("pending_days", 0, kMaxPendingDays).value_or(0);
  read_period_limit(r, "max_rewards", out.max_rewards, errors);
  (void)r.finish();
}

void read_code(const Json& j, const std::string& path, CodePolicy& out, Errors& errors) {
  FieldReader r(j, path, &errors);
  out.valid_days = r.integer("valid_days", 1, kMaxValidDays);
  out.max_redemptions = r.integer("max_redemptions", 1, kMaxRedemptionsPerCode);
  read_period_limit(r, "max_redemptions_per", out.max_redemptions_per, errors);
  if (!r.failed() && out.max_redemptions_per.count > out.max_redemptions) {
    r.fail("max_redemptions_per", "allows more per period (" +
                                      std::to_string(out.max_redemptions_per.count) +
                                      ") than max_redemptions in all (" +
                                      std::to_string(out.max_redemptions) + ")");
  }
  (void)r.finish();
}

// The members a program has, whether the customer program (at the top of the
// rule set) or a partner's.
void read_program_body(FieldReader& r, Program& program, Errors& errors) {
  const Json* referee = r.object("referee", true);
  const Json* referrer = r.object("referrer", true);
  const Json* code = r.object("code", true);
  program.online_only = r.boolean("online_only", false);
  if (referee != nullptr) read_referee(*referee, r.path_of("referee"), program.referee, errors);
  if (referrer != nullptr) {
    read_referrer(*referrer, r.path_of("referrer"), program.partner, program.referrer, errors);
  }
  if (code != nullptr) read_code(*code, r.path_of("code"), program.code, errors);
}

void read_partner(const Json& j, const std::string& path, Program& out, Errors& errors) {
  if (!j.is_object()) {
    errors.push_back(make_error(ErrorKind::bad_request, path,
                                "must be a partner program object, got " + wire::describe_value(j)));
    return;
  }
  FieldReader r(j, path, &errors);
  out.partner = true;
  out.id = r.id("id");
  out.name = r.text("name", wire::kMaxIdBytes);
  out.key_id = static_cast<std::uint8_t>(r.integer("key_id", 1, codes::kMaxKeyId));
  read_program_body(r, out, errors);
  (void)r.finish();
}

void read_issue(const Json& j, const std::string& path, AskPolicy& out, Errors& errors) {
  FieldReader r(j, path, &errors);
  const bool on_commit = r.boolean("on_commit", true);
  out.when = read_choice(r, "when", kAskWhens, AskWhen::every_customer);
  out.min_spend_minor = r.optional_integer("min_spend_minor", 0, kMaxMinor).value_or(0);
  if (!on_commit) out.when = AskWhen::never;
  if (!r.failed() && out.when == AskWhen::min_spend && out.min_spend_minor == 0) {
    r.fail("min_spend_minor", "is required (above 0) when \"when\" is \"min_spend\"");
  }
  (void)r.finish();
}

void read_limits(const Json& j, const std::string& path, Limits& out, Errors& errors) {
  FieldReader r(j, path, &errors);
  out.failed_code_attempts = r.optional_integer("failed_code_attempts", 0, 1000).value_or(0);
  out.window_minutes = r.optional_integer("window_minutes", 1, 24 * 60).value_or(15);
  (void)r.finish();
}

void read_fraud(const Json& j, const std::string& path, FraudRules& out, Errors& errors) {
  FieldReader r(j, path, &errors);
  out.referrer_in_basket = read_choice(r, "referrer_in_basket", kActions, FraudAction::refuse);
  const Json* velocity = r.array("velocity", false, 0, 10);
  if (velocity != nullptr) {
    for (std::size_t i = 0; i < velocity->size(); ++i) {
      const std::string at = r.path_of("velocity") + "[" + std::to_string(i) + "]";
      if (!(*velocity)[i].is_object()) {
        errors.push_back(make_error(ErrorKind::bad_request, at, "must be an object"));
        continue;
      }
      FieldReader v((*velocity)[i], at, &errors);
      VelocityRule rule;
      rule.scope = read_choice(v, "scope", kScopes, VelocityScope::code);
      rule.max = v.integer("max", 1, 100'000);
      rule.window_minutes = v.integer("window_minutes", 1, 31 * 24 * 60);
      rule.action = read_choice(v, "action", kActions, FraudAction::flag);
      (void)v.finish();
      out.velocity.push_back(rule);
    }
  }
  (void)r.finish();
}

void read_offline(const Json& j, const std::string& path, OfflineLimits& out, Errors& errors) {
  FieldReader r(j, path, &errors);
  out.max_discount_per_redemption_minor =
      r.optional_integer("max_discount_per_redemption_minor", 0, kMaxMinor).value_or(0);
  out.max_granted_since_sync_minor =
      r.optional_integer("max_granted_since_sync_minor", 0, kMaxMinor).value_or(0);
  out.max_offline_hours = r.optional_integer("max_offline_hours", 0, 24 * 366).value_or(0);
  (void)r.finish();
}

}  // namespace

const Program& RuleSet::program_for_key(std::uint8_t key_id) const {
  for (const auto& p : partners) {
    if (p.key_id == key_id) return p;
  }
  return program;
}

const Program* RuleSet::partner(std::string_view id) const {
  for (const auto& p : partners) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

Result<RuleSet> parse_ruleset(const Json& doc, const std::string& path) {
  if (!doc.is_object()) {
    return make_error(ErrorKind::bad_request, path,
                      "must be a rule set object, got " + wire::describe_value(doc));
  }
  Errors errors;
  FieldReader r(doc, path, &errors);
  RuleSet rules;
  const auto schema = r.text("schema", wire::kMaxIdBytes);
  if (!r.failed() && schema != "refpos.rules/1") {
    r.fail("schema", "must be \"refpos.rules/1\", got \"" + schema + "\"");
  }
  rules.version = r.integer("version", 1, INT32_MAX);
  rules.program.id = r.id("program");
  rules.program.name = rules.program.id;
  read_program_body(r, rules.program, errors);
  rules.point_value_minor = r.optional_integer("point_value_minor", 0, 1'000'000).value_or(0);
  if (const Json* issue = r.object("issue", false)) {
    read_issue(*issue, r.path_of("issue"), rules.ask, errors);
  }
  if (const Json* limits = r.object("limits", false)) {
    read_limits(*limits, r.path_of("limits"), rules.limits, errors);
  }
  if (const Json* fraud = r.object("fraud", false)) {
    read_fraud(*fraud, r.path_of("fraud"), rules.fraud, errors);
  }
  if (const Json* offline = r.object("offline", false)) {
    read_offline(*offline, r.path_of("offline"), rules.offline, errors);
  }
  if (const Json* partners = r.array("partners", false, 0, kMaxPartners)) {
    rules.partners.resize(partners->size());
    std::set<std::string> ids;
    std::set<std::uint8_t> keys;
    for (std::size_t i = 0; i < partners->size(); ++i) {
      const std::string at = r.path_of("partners") + "[" + std::to_string(i) + "]";
      const auto before = errors.size();
      read_partner((*partners)[i], at, rules.partners[i], errors);
      if (errors.size() != before) continue;
      const auto& p = rules.partners[i];
      if (p.id == rules.program.id || !ids.insert(p.id).second) {
        errors.push_back(make_error(ErrorKind::bad_request, at + ".id",
                                    "\"" + p.id + "\" names another program too"));
      }
      if (!keys.insert(p.key_id).second) {
        errors.push_back(make_error(ErrorKind::bad_request, at + ".key_id",
                                    "key " + std::to_string(p.key_id) +
                                        " already belongs to another partner"));
      }
    }
  }
  (void)r.finish();
  if (!errors.empty()) return wire::join_errors(errors, ErrorKind::bad_request, path);
  return rules;
}

std::string_view name_of(Per per) { return per == Per::month ? "month" : "year"; }

std::string_view name_of(ReferrerKind kind) {
  switch (kind) {
    case ReferrerKind::store_credit: return "store_credit";
    case ReferrerKind::points: return "points";
    case ReferrerKind::gift_card: return "gift_card";
    case ReferrerKind::recognition: return "recognition";
  }
  return "recognition";
}

std::string_view name_of(FraudAction action) {
  for (const auto& [name, value] : kActions) {
    if (value == action) return name;
  }
  return "off";
}

}  // namespace refpos::rules
