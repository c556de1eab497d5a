#include "workload.hpp"

#include <nlohmann/json.hpp>

#include "bench_error.hpp"

namespace refpos::bench {
namespace {

using nlohmann::json;

constexpr const char* kCodeKeyHex = "000102030405060708090a0b0c0d0e0f";
constexpr const char* kPreviewCustomerId = "bench-preview-customer";

json bench_rules() {
  return {{"schema", "refpos.rules/1"},
          {"version", 1},
          {"program", "friends"},
          {"referee",
           {{"percent_off_bp", 2000},
            {"cap_minor", 5000},
            {"min_spend_minor", 2000},
            {"new_customers_only", true}}},
          {"referrer", {{"store_credit_minor", 1000}}},
          {"code", {{"valid_days", 30}, {"max_redemptions", kBenchMaxRedemptions}}},
          {"issue", {{"on_commit", true}, {"min_spend_minor", 0}}}};
}

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
  return json{{"store_id", "bench-store"},
              {"data_dir", data_dir},
              {"currency", "USD"},
              {"code_keys", {{{"id", 1}, {"secret_hex", kCodeKeyHex}, {"active", true}}}},
              {"rules", bench_rules()},
              {"share_link_template", "https://example.com/r/{code}"},
              {"clock", {{"fixed_ms", kBenchClockMs}}}}
      .dump();
}

std::string commit_request_json(std::size_t index, const std::optional<std::string>& code) {
  json request = cart_for("bench-customer-" + std::to_string(index));
  request["txn_id"] = "bench-txn-" + std::to_string(index);
  if (code) request["code"] = *code;
  return request.dump();
}

std::string preview_request_json(const std::string& code) {
  json request = cart_for(kPreviewCustomerId);
  request["code"] = code;
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
