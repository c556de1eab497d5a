#include "workload.hpp"

#include <nlohmann/json.hpp>

#include "bench_error.hpp"

namespace refpos::bench {
namespace {

using nlohmann::json;

constexpr const char* kCodeKeyHex = "000102030405060708090a0b0c0d0e0f";
constexpr const char* kPreviewCustomerId = "bench-preview-customer";

// A partner's code key secret (32 hex digits, distinct per key id).
std::string key_hex(int id) {
  std::string hex = kCodeKeyHex;
  const char* digits = "0123456789abcdef";
  hex[0] = digits[(id >> 4) & 0xf];
  hex[1] = digits[id & 0xf];
  return hex;
}

// The rule set a large store runs (kBenchRuleCount rules, counted in
// workload.hpp): the customer program with its conditions and exclusions,
// limits per period, fraud and offline rules, and partner programs. None of
// them refuses the workload's carts, but every one is evaluated.
json bench_rules() {
  json excluded_categories = json::array();
  for (int i = 0; i < 10; ++i) excluded_categories.push_back("gift-cards-" + std::to_string(i));
  json excluded_skus = json::array();
  for (int i = 0; i < 5; ++i) excluded_skus.push_back("SKU-AT-COST-" + std::to_string(i));
  json partners = json::array();
  for (int i = 0; i < kBenchPartners; ++i) {
    partners.push_back({{"id", "partner-" + std::to_string(i)},
                        {"name", "Partner " + std::to_string(i)},
                        {"key_id", i + 2},
                        {"referee", {{"amount_off_minor", 500}, {"min_spend_minor", 1000}}},
                        {"referrer", {{"points", 100}}},
                        {"code", {{"valid_days", 365}, {"max_redemptions", 100000}}}});
  }
  return {{"schema", "refpos.rules/1"},
          {"version", 1},
          {"program", "friends"},
          {"referee",
           {{"percent_off_bp", 2000},
            {"cap_minor", 5000},
            {"min_spend_minor", 2000},
            {"new_customers_only", true},
            {"stacking", "combine"},
            {"excluded_categories", excluded_categories},
            {"excluded_skus", excluded_skus}}},
          {"referrer",
           {{"store_credit_minor", 1000},
            {"pending_days", 14},
            {"max_rewards", {{"count", 1000}, {"per", "month"}}}}},
          {"code",
           {{"valid_days", 30},
            {"max_redemptions", kBenchMaxRedemptions},
            {"max_redemptions_per", {{"count", kBenchMaxRedemptions}, {"per", "year"}}}}},
          {"issue", {{"when", "every_customer"}, {"min_spend_minor", 0}}},
          {"limits", {{"failed_code_attempts", 5}, {"window_minutes", 15}}},
          {"fraud",
           {{"referrer_in_basket", "refuse"},
            {"velocity",
             {{{"scope", "code"}, {"max", 100000}, {"window_minutes", 60}, {"action", "flag"}},
              {{"scope", "terminal"}, {"max", 100000}, {"window_minutes", 60}, {"action", "hold"}},
              {{"scope", "cashier"}, {"max", 100000}, {"window_minutes", 60}, {"action", "flag"}}}}}},
          {"offline",
           {{"max_discount_per_redemption_minor", 100000},
            {"max_granted_since_sync_minor", 1'000'000'000'000},
            {"max_offline_hours", 24 * 90}}},
          {"point_value_minor", 1},
          {"partners", partners}};
}

// The store's clock moves 20 s per commit (a busy till), so that the fraud
// rules' windows hold a realistic number of redemptions, not the whole run.
std::int64_t g_clock_ms = kBenchClockMs;
std::int64_t next_clock_ms() { return g_clock_ms += 20'000; }

json cart_for(const std::string& customer_id) {
  json lines = json::array({
      {{"sku", "SKU-SHOES-42"}, {"category", "shoes"}, {"quantity", 1}, {"unit_price_minor", 4500}},
      {{"sku", "SKU-SOCKS"}, {"category", "socks"}, {"quantity", 2}, {"unit_price_minor", 750}},
      {{"sku", "SKU-LACES"}, {"category", "care"}, {"quantity", 1}, {"unit_price_minor", 300}},
  });
  return {{"terminal_id", "till-1"},
          {"cashier_id", "cashier-7"},
          {"customer_id", customer_id},
          {"currency", "USD"},
          {"lines", std::move(lines)}};
}

json parse_answer(const std::string& answer, const char* what) {
  json doc = json::parse(answer, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    throw BenchError(std::string(what) + " answer is not a JSON object: " + answer);
  }
  return doc;
}

}  // namespace

std::string store_config_json(const std::string& data_dir) {
  json keys = json::array({{{"id", 1}, {"secret_hex", kCodeKeyHex}, {"active", true}}});
  for (int i = 0; i < kBenchPartners; ++i) keys.push_back({{"id", i + 2}, {"secret_hex", key_hex(i + 2)}});
  return json{{"store_id", "bench-store"},
              {"data_dir", data_dir},
              {"currency", "USD"},
              {"code_keys", keys},
              {"rules", bench_rules()},
              {"share_link_template", "https://example.com/r/{code}"},
              {"time_zone", "EST5EDT,M3.2.0,M11.1.0"},
              {"clock", {{"fixed_ms", kBenchClockMs}}}}
      .dump();
}

std::string commit_request_json(std::size_t index, const std::optional<std::string>& code) {
  json request = cart_for("bench-customer-" + std::to_string(index));
  request["txn_id"] = "bench-txn-" + std::to_string(index);
  request["clock_ms"] = next_clock_ms();
  if (code) request["code"] = *code;
  return request.dump();
}

std::string prefill_request_json(std::size_t index, std::size_t visit,
                                 const std::optional<std::string>& code) {
  json request = cart_for("prefill-customer-" + std::to_string(index));
  request["txn_id"] = "prefill-" + std::to_string(index) + "-" + std::to_string(visit);
  request["identity_hashes"] = json::array({std::string(64, "0123456789abcdef"[index % 16])});
  request["clock_ms"] = next_clock_ms();
  if (code) request["code"] = *code;
  return request.dump();
}

std::int64_t last_seq_of(const std::string& commit_answer) {
  const json doc = parse_answer(commit_answer, "commit");
  const json events = doc.value("events", json());
  if (!events.is_object()) throw BenchError("the commit wrote no events: " + commit_answer);
  return events["last_seq"].get<std::int64_t>();
}

std::string preview_request_json(const std::string& code) {
  json request = cart_for(kPreviewCustomerId);
  request["code"] = code;
  request["clock_ms"] = g_clock_ms;
  return request.dump();
}

std::string issued_code_of(const std::string& commit_answer, bool expect_redemption) {
  const json doc = parse_answer(commit_answer, "commit");
  if (expect_redemption && !doc.value("redemption", json()).is_object()) {
    throw BenchError("the commit redeemed no code: " + commit_answer);
  }
  const json issued = doc.value("issued_code", json());
  if (!issued.is_object() || !issued.value("new", false) ||
      !issued.value("normalized", json()).is_string()) {
    throw BenchError("the commit issued no new code: " + commit_answer);
  }
  return issued["normalized"].get<std::string>();
}

void require_accepted_preview(const std::string& preview_answer) {
  const json doc = parse_answer(preview_answer, "preview");
  const json code = doc.value("code", json());
  if (!code.is_object() || code.value("status", "") != "accepted") {
    throw BenchError("the preview did not accept the code: " + preview_answer);
  }
}

}  // namespace refpos::bench
