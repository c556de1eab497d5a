// The report as JSON (schema "refpos.report/1", docs/reports.md "JSON"):
// every count and minor-unit amount an integer, every ratio a number or
// null when its denominator is zero.
#include <nlohmann/json.hpp>

#include "report.hpp"

namespace refpos::report {
namespace {

using nlohmann::json;

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json optional_json(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }

json group_json(const CustomerGroup& g) {
  return {{"customers", g.customers},
          {"transactions", g.transactions},
          {"revenue_minor", g.revenue_minor},
          {"average_basket_minor", optional_json(g.average_basket_minor)},
          {"repeat_customers", g.repeat_customers},
          {"repeat_rate", optional_json(g.repeat_rate)}};
}

json nullable_text(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

}  // namespace

std::string ratio_text(const std::optional<double>& ratio) { return optional_json(ratio).dump(); }

std::string render_json(const Report& r) {
  json out = {{"schema", "refpos.report/1"},
              {"source", r.source == SourceKind::head_office ? "head_office" : "store"},
              {"store_id", nullable_text(r.scope)},
              {"stores", r.stores},
              {"period",
               {{"from", r.period.from_date},
                {"to", r.period.to_date},
                {"time_zone", r.period.time_zone},
                {"from_ms", r.period.from_ms},
                {"to_ms", r.period.to_ms}}},
              {"empty", r.empty},
              {"events_in_period", r.events_in_period}};
  out["codes"] = {{"issued", r.codes.issued},
                  {"issued_partner", r.codes.issued_partner},
                  {"redemptions", r.codes.redemptions},
                  {"codes_redeemed", r.codes.codes_redeemed},
                  {"redemptions_reversed", r.codes.redemptions_reversed},
                  {"redemptions_unattributed", r.redemptions_unattributed},
                  {"conversion_rate", optional_json(r.codes.conversion_rate)}};
  out["revenue"] = json::array();
  for (const auto& row : r.revenue) {
    out["revenue"].push_back({{"currency", row.currency},
                              {"referred", group_json(row.referred)},
                              {"not_referred", group_json(row.not_referred)},
                              {"anonymous_transactions", row.anonymous_transactions},
                              {"anonymous_revenue_minor", row.anonymous_revenue_minor}});
  }
  out["rewards"] = json::array();
  for (const auto& w : r.rewards) {
    out["rewards"].push_back(
        {{"side", w.side},
         {"unit", w.unit},
         {"currency", nullable_text(w.currency)},
         {"granted", {{"count", w.granted_count}, {"amount", w.granted_amount}}},
         {"pending", {{"count", w.pending_count}, {"amount", w.pending_amount}}},
         {"held", {{"count", w.held_count}, {"amount", w.held_amount}}},
         {"clawed_back", {{"count", w.clawed_back_count}, {"amount", w.clawed_back_amount}}}});
  }
  out["referral_chain"] = {{"referred_customers", r.chain.referred_customers},
                           {"referred_who_referred", r.chain.referred_who_referred},
                           {"rate", optional_json(r.chain.rate)}};
  out["top_referrers"] = json::array();
  for (const auto& t : r.top_referrers) {
    out["top_referrers"].push_back(
        {{"customer_id", t.customer_id}, {"redemptions", t.redemptions}, {"referees", t.referees}});
  }
  out["partners"] = json::array();
  for (const auto& p : r.partners) {
    out["partners"].push_back({{"partner_id", p.partner_id},
                               {"codes_issued", p.codes_issued},
                               {"redemptions", p.redemptions},
                               {"referees", p.referees}});
  }
  out["ask_rate"] = json::array();
  for (const auto& c : r.cashiers) {
    out["ask_rate"].push_back({{"store_id", c.store_id},
                               {"cashier_id", nullable_text(c.cashier_id)},
                               {"eligible", c.eligible},
                               {"asked", c.asked},
                               {"declined", c.declined},
                               {"code_issued", c.code_issued},
                               {"not_asked", c.not_asked},
                               {"ask_rate", optional_json(c.ask_rate)}});
  }
  json histogram = json::array();
  for (const auto n : r.nps.histogram) histogram.push_back(n);
  out["nps"] = {{"histogram", histogram},         {"answers", r.nps.answers},
                {"promoters", r.nps.promoters},   {"passives", r.nps.passives},
                {"detractors", r.nps.detractors}, {"score", optional_json(r.nps.score)}};
  out["conflicts"] = json::array();
  for (const auto& c : r.conflicts) {
    json txns = json::array();
    for (const auto& t : c.txns) {
      txns.push_back({{"store_id", nullable_text(t.store_id)}, {"txn_id", t.txn_id}});
    }
    out["conflicts"].push_back({{"conflict_id", c.conflict_id},
                                {"code", c.code},
                                {"kind", c.kind},
                                {"settlement", c.settlement},
                                {"txns", txns}});
  }
  return out.dump(2) + "\n";
}

}  // namespace refpos::report
