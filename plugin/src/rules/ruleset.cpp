#include "rules/ruleset.hpp"

#include "money/money.hpp"
#include "wire/json_input.hpp"

namespace refpos::rules {
namespace {

using wire::FieldReader;
using wire::Json;
constexpr std::int64_t kMaxMinor = money::kMaxAmountMinor;

// An optional list of identifiers, each checked like any identifier.
void read_id_set(FieldReader& r, std::string_view key, std::set<std::string, std::less<>>& out) {
  const Json* list = r.array(key, false, 0, kMaxExclusions);
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

Status read_referee(const Json& j, const std::string& path, RefereeReward& out) {
  FieldReader r(j, path);
  const auto percent = r.optional_integer("percent_off_bp", 0, money::kBasisPointsWhole);
  const auto amount = r.optional_integer("amount_off_minor", 1, kMaxMinor);
  if (!r.failed() && percent.has_value() == amount.has_value()) {
    r.fail("percent_off_bp", "give exactly one of percent_off_bp (a percentage) and "
                             "amount_off_minor (a fixed amount off)");
  }
  out.percent_off_bp = static_cast<std::int32_t>(percent.value_or(0));
  out.amount_off_minor = amount.value_or(0);
  out.cap_minor = r.optional_integer("cap_minor", 0, kMaxMinor).value_or(0);
  out.min_spend_minor = r.optional_integer("min_spend_minor", 0, kMaxMinor).value_or(0);
  out.new_customers_only = r.boolean("new_customers_only", true);
  read_id_set(r, "excluded_categories", out.excluded_categories);
  read_id_set(r, "excluded_skus", out.excluded_skus);
  return r.finish();
}

Status read_referrer(const Json& j, const std::string& path, ReferrerReward& out) {
  FieldReader r(j, path);
  out.store_credit_minor = r.integer("store_credit_minor", 0, kMaxMinor);
  return r.finish();
}

Status read_code(const Json& j, const std::string& path, CodePolicy& out) {
  FieldReader r(j, path);
  out.valid_days = r.integer("valid_days", 1, kMaxValidDays);
  out.max_redemptions = r.integer("max_redemptions", 1, kMaxRedemptionsPerCode);
  return r.finish();
}

Status read_issue(const Json& j, const std::string& path, IssuePolicy& out) {
  FieldReader r(j, path);
  out.on_commit = r.boolean("on_commit", true);
  out.min_spend_minor = r.optional_integer("min_spend_minor", 0, kMaxMinor).value_or(0);
  return r.finish();
}

Status read_limits(const Json& j, const std::string& path, Limits& out) {
  FieldReader r(j, path);
  out.failed_code_attempts = r.optional_integer("failed_code_attempts", 0, 1000).value_or(0);
  out.window_minutes = r.optional_integer("window_minutes", 1, 24 * 60).value_or(15);
  return r.finish();
}

}  // namespace

Result<RuleSet> parse_ruleset(const Json& doc, const std::string& path) {
  if (!doc.is_object()) {
    return make_error(ErrorKind::bad_request, path,
                      "must be a rule set object, got " + wire::describe_value(doc));
  }
  FieldReader r(doc, path);
  RuleSet rules;
  const auto schema = r.text("schema", wire::kMaxIdBytes);
  if (!r.failed() && schema != "refpos.rules/1") {
    r.fail("schema", "must be \"refpos.rules/1\", got \"" + schema + "\"");
  }
  rules.version = r.integer("version", 1, INT32_MAX);
  rules.program = r.id("program");
  const Json* referee = r.object("referee", true);
  const Json* referrer = r.object("referrer", true);
  const Json* code = r.object("code", true);
  const Json* issue = r.object("issue", false);
  const Json* limits = r.object("limits", false);
  if (auto st = r.finish(); !st) return st.error();

  const auto sub = [&](std::string_view k) { return r.path_of(k); };
  if (auto st = read_referee(*referee, sub("referee"), rules.referee); !st) return st.error();
  if (auto st = read_referrer(*referrer, sub("referrer"), rules.referrer); !st) return st.error();
  if (auto st = read_code(*code, sub("code"), rules.code); !st) return st.error();
  if (issue != nullptr) {
    if (auto st = read_issue(*issue, sub("issue"), rules.issue); !st) return st.error();
  }
  if (limits != nullptr) {
    if (auto st = read_limits(*limits, sub("limits"), rules.limits); !st) return st.error();
  }
  return rules;
}

}  // namespace refpos::rules
