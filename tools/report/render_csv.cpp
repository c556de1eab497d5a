// The report as CSV (docs/reports.md "CSV"): RFC 4180 records (CRLF, fields
// quoted when they hold a comma, a quote, CR or LF, quotes doubled), one
// section per table. A section is a one-field record "# <name>", a header
// record, its rows, and an empty line. Amounts are integer minor units; an
// undefined ratio is an empty field.
#include <initializer_list>
#include <string>

#include "report.hpp"

namespace refpos::report {
namespace {

class CsvWriter {
 public:
  void section(std::string_view name, std::initializer_list<std::string_view> header) {
    if (!out_.empty()) out_ += "\r\n";
    out_ += csv_field("# " + std::string(name));
    out_ += "\r\n";
    record(header);
  }
  void record(std::initializer_list<std::string_view> fields) {
    bool first = true;
    for (const auto f : fields) {
      if (!first) out_ += ',';
      first = false;
      out_ += csv_field(f);
    }
    out_ += "\r\n";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string n(std::int64_t v) { return std::to_string(v); }
std::string n(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : std::string();
}
std::string ratio(const std::optional<double>& v) { return v ? ratio_text(v) : std::string(); }

void group_record(CsvWriter& w, const std::string& currency, std::string_view group,
                  const CustomerGroup& g) {
  w.record({currency, group, n(g.customers), n(g.transactions), n(g.revenue_minor),
            n(g.average_basket_minor), n(g.repeat_customers), ratio(g.repeat_rate)});
}

}  // namespace

bool looks_like_formula(std::string_view text) {
  if (text.empty()) return false;
  const char first = text.front();
  if (first == '=' || first == '@' || first == '\t' || first == '\r') return true;
  // A number or a phone number holds nothing a formula could call.
  if (first == '+' || first == '-') return text.find_first_not_of("0123456789 +-().") != std::string_view::npos;
  return false;
}

std::string csv_field(std::string_view raw) {
  std::string guarded;
  if (looks_like_formula(raw)) guarded = "'" + std::string(raw);
  const std::string_view text = guarded.empty() ? raw : std::string_view(guarded);
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string render_csv(const Report& r) {
  CsvWriter w;
  w.section("report", {"key", "value"});
  w.record({"source", r.source == SourceKind::head_office ? "head_office" : "store"});
  w.record({"store_id", r.scope});
  w.record({"from", r.period.from_date});
  w.record({"to", r.period.to_date});
  w.record({"time_zone", r.period.time_zone});
  w.record({"empty", r.empty ? "true" : "false"});
  w.record({"events_in_period", n(r.events_in_period)});

  w.section("codes", {"figure", "value"});
  w.record({"issued", n(r.codes.issued)});
  w.record({"issued_partner", n(r.codes.issued_partner)});
  w.record({"redemptions", n(r.codes.redemptions)});
  w.record({"codes_redeemed", n(r.codes.codes_redeemed)});
  w.record({"redemptions_reversed", n(r.codes.redemptions_reversed)});
  w.record({"redemptions_unattributed", n(r.redemptions_unattributed)});
  w.record({"conversion_rate", ratio(r.codes.conversion_rate)});

  w.section("revenue", {"currency", "group", "customers", "transactions", "revenue_minor",
                        "average_basket_minor", "repeat_customers", "repeat_rate"});
  for (const auto& row : r.revenue) {
    group_record(w, row.currency, "referred", row.referred);
    group_record(w, row.currency, "not_referred", row.not_referred);
    w.record({row.currency, "anonymous", "", n(row.anonymous_transactions),
              n(row.anonymous_revenue_minor), "", "", ""});
  }

  w.section("rewards", {"side", "unit", "currency", "granted_count", "granted_amount",
                        "pending_count", "pending_amount", "held_count", "held_amount",
                        "clawed_back_count", "clawed_back_amount"});
  for (const auto& x : r.rewards) {
    w.record({x.side, x.unit, x.currency, n(x.granted_count), n(x.granted_amount),
              n(x.pending_count), n(x.pending_amount), n(x.held_count), n(x.held_amount),
              n(x.clawed_back_count), n(x.clawed_back_amount)});
  }

  w.section("referral_chain", {"referred_customers", "referred_who_referred", "rate"});
  w.record({n(r.chain.referred_customers), n(r.chain.referred_who_referred), ratio(r.chain.rate)});

  w.section("top_referrers", {"rank", "customer_id", "redemptions", "referees"});
  for (std::size_t i = 0; i < r.top_referrers.size(); ++i) {
    const auto& t = r.top_referrers[i];
    w.record({std::to_string(i + 1), t.customer_id, n(t.redemptions), n(t.referees)});
  }

  w.section("partners", {"partner_id", "codes_issued", "redemptions", "referees"});
  for (const auto& p : r.partners) {
    w.record({p.partner_id, n(p.codes_issued), n(p.redemptions), n(p.referees)});
  }

  w.section("ask_rate", {"store_id", "cashier_id", "eligible", "asked", "declined", "code_issued",
                         "not_asked", "ask_rate"});
  for (const auto& c : r.cashiers) {
    w.record({c.store_id, c.cashier_id, n(c.eligible), n(c.asked), n(c.declined), n(c.code_issued),
              n(c.not_asked), ratio(c.ask_rate)});
  }

  w.section("nps_histogram", {"score", "answers"});
  for (int s = 0; s <= 10; ++s) w.record({std::to_string(s), n(r.nps.histogram[s])});
  w.section("nps", {"answers", "promoters", "passives", "detractors", "score"});
  w.record({n(r.nps.answers), n(r.nps.promoters), n(r.nps.passives), n(r.nps.detractors),
            ratio(r.nps.score)});

  w.section("conflicts", {"conflict_id", "code", "kind", "settlement", "store_id", "txn_id"});
  for (const auto& c : r.conflicts) {
    for (const auto& t : c.txns) {
      w.record({n(c.conflict_id), c.code, c.kind, c.settlement, t.store_id, t.txn_id});
    }
  }
  return w.take();
}

}  // namespace refpos::report
