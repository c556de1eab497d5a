// The report as one self-contained HTML page (docs/reports.md "HTML"): inline
// CSS and inline SVG charts, no script, no external font, style sheet or
// image, so it renders the same offline and in a mail client.
//
// Every figure sits in an element with data-figure="<stable name>" and
// data-value="<exact value>" (integers as integers, ratios as JSON writes
// them, "" when undefined); the visible text may be rounded or formatted.
// Browser tests read data-value, people read the text.
#include <algorithm>
#include <cstdio>
#include <string>

#include "money/money.hpp"
#include "report.hpp"

namespace refpos::report {
namespace {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string money_text(std::int64_t minor, const std::string& currency) {
  if (const auto c = money::find_currency(currency)) {
    if (auto m = money::Money::of(minor, *c)) return currency + " " + m->to_decimal_string();
  }
  return std::to_string(minor) + (currency.empty() ? "" : " " + currency + " minor units");
}

std::string percent_text(const std::optional<double>& ratio) {
  if (!ratio) return "n/a";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f %%", *ratio * 100.0);
  return buffer;
}

std::string one_decimal(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

// <tag data-figure=name data-value=value>text</tag>
std::string figure(std::string_view tag, const std::string& name, const std::string& value,
                   const std::string& text) {
  return "<" + std::string(tag) + " data-figure=\"" + escape(name) + "\" data-value=\"" +
         escape(value) + "\">" + escape(text) + "</" + std::string(tag) + ">";
}
std::string cell(const std::string& name, std::int64_t v) {
  return figure("td", name, std::to_string(v), std::to_string(v));
}
std::string money_cell(const std::string& name, std::int64_t v, const std::string& currency) {
  return figure("td", name, std::to_string(v), money_text(v, currency));
}
std::string money_cell(const std::string& name, const std::optional<std::int64_t>& v,
                       const std::string& currency) {
  return v ? money_cell(name, *v, currency) : figure("td", name, "", "n/a");
}
std::string ratio_cell(const std::string& name, const std::optional<double>& v) {
  return figure("td", name, v ? ratio_text(v) : "", percent_text(v));
}
std::string text_cell(const std::string& text) { return "<td>" + escape(text) + "</td>"; }

// ---- charts -----------------------------------------------------------------

constexpr int kChartWidth = 640;

// SVG elements; attribute values in single quotes, text escaped.
std::string svg_open(const std::string& chart, int height, const std::string& title) {
  const auto w = std::to_string(kChartWidth);
  const auto h = std::to_string(height);
  return "<svg role='img' data-chart='" + escape(chart) + "' width='" + w + "' height='" + h +
         "' viewBox='0 0 " + w + " " + h + "' xmlns='http://www.w3.org/2000/svg'><title>" +
         escape(title) + "</title>";
}
std::string svg_rect(int x, int y, int width, int height, const char* fill) {
  return "<rect x='" + std::to_string(x) + "' y='" + std::to_string(y) + "' width='" +
         std::to_string(width) + "' height='" + std::to_string(height) + "' fill='" + fill + "'/>";
}
std::string svg_text(int x, int y, const char* anchor, const std::string& text) {
  return "<text x='" + std::to_string(x) + "' y='" + std::to_string(y) + "' text-anchor='" +
         anchor + "'>" + escape(text) + "</text>";
}

// Horizontal bars, one per label; values are non-negative counts.
std::string bar_chart(const std::string& name, const std::string& title,
                      const std::vector<std::pair<std::string, std::int64_t>>& bars) {
  constexpr int kRow = 26;
  constexpr int kLabel = 200;
  constexpr int kBarMax = kChartWidth - kLabel - 60;
  std::int64_t max = 1;
  for (const auto& [_, v] : bars) max = std::max(max, v);
  std::string svg = svg_open(name, kRow * static_cast<int>(bars.size()) + 30, title);
  int y = 20;
  for (const auto& [label, v] : bars) {
    const auto w = static_cast<int>(v * kBarMax / max);
    svg += svg_text(kLabel - 8, y + 14, "end", label);
    svg += svg_rect(kLabel, y, std::max(w, 1), 18, "#3b6ea8");
    svg += svg_text(kLabel + w + 6, y + 14, "start", std::to_string(v));
    y += kRow;
  }
  return svg + "</svg>";
}

std::string nps_chart(const NpsFigures& nps) {
  constexpr int kPlot = 160;
  constexpr int kStep = (kChartWidth - 40) / 11;
  std::int64_t max = 1;
  for (const auto v : nps.histogram) max = std::max(max, v);
  std::string svg = svg_open("nps", 220, "NPS answers per score");
  for (int s = 0; s <= 10; ++s) {
    const auto v = nps.histogram[s];
    const auto h = static_cast<int>(v * kPlot / max);
    const int x = 20 + s * kStep;
    const char* colour = s >= 9 ? "#2e8b57" : s >= 7 ? "#c9a227" : "#c0392b";
    svg += svg_rect(x + 4, 20 + kPlot - h, kStep - 8, h, colour);
    svg += svg_text(x + kStep / 2, 16 + kPlot - h, "middle", std::to_string(v));
    svg += svg_text(x + kStep / 2, kPlot + 40, "middle", std::to_string(s));
  }
  return svg + "</svg>";
}

// Two bars (referred, not referred) under a title, scaled to the larger.
std::string bar_pair(int x0, const std::string& title, const double (&values)[2],
                     const std::string (&texts)[2]) {
  constexpr int kPlot = 130;
  constexpr int kTop = 44;  // room for the title and the value above a full bar
  const double max = std::max({values[0], values[1], 1e-9});
  const char* names[2] = {"referred", "not referred"};
  const char* colours[2] = {"#3b6ea8", "#9aa5b1"};
  std::string s = svg_text(x0 + 130, 16, "middle", title);
  for (int i = 0; i < 2; ++i) {
    const int h = static_cast<int>(values[i] / max * kPlot);
    const int x = x0 + 40 + i * 110;
    s += svg_rect(x, kTop + kPlot - h, 80, h, colours[i]);
    s += svg_text(x + 40, kTop - 4 + kPlot - h, "middle", texts[i]);
    s += svg_text(x + 40, kTop + kPlot + 18, "middle", names[i]);
  }
  return s;
}

// Referred against not referred, per currency: average basket and repeat rate
// side by side.
std::string comparison_chart(const RevenueRow& row) {
  const auto basket = [](const CustomerGroup& g) {
    return g.average_basket_minor ? static_cast<double>(*g.average_basket_minor) : 0.0;
  };
  const auto basket_text = [&](const CustomerGroup& g) {
    return g.average_basket_minor ? money_text(*g.average_basket_minor, row.currency)
                                  : std::string("n/a");
  };
  std::string svg = svg_open("comparison." + row.currency, 214,
                             "Referred against not referred customers (" + row.currency + ")");
  svg += bar_pair(0, "Average basket", {basket(row.referred), basket(row.not_referred)},
                  {basket_text(row.referred), basket_text(row.not_referred)});
  svg += bar_pair(
      320, "Repeat rate",
      {row.referred.repeat_rate.value_or(0.0), row.not_referred.repeat_rate.value_or(0.0)},
      {percent_text(row.referred.repeat_rate), percent_text(row.not_referred.repeat_rate)});
  return svg + "</svg>";
}

// ---- sections ---------------------------------------------------------------

constexpr const char* kStyle = R"css(
body{font-family:sans-serif;margin:2em;color:#222;max-width:60em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}
.empty{padding:1em;background:#fff4d6;border:1px solid #e0c060}
svg text{font-size:12px;fill:#222}
.note{color:#555;font-size:.9em}
)css";

std::string group_rows(const RevenueRow& row, const char* key, const char* label,
                       const CustomerGroup& g) {
  const std::string p = "revenue." + row.currency + "." + key + ".";
  return "<tr>" + text_cell(label) + cell(p + "customers", g.customers) +
         cell(p + "transactions", g.transactions) +
         money_cell(p + "revenue_minor", g.revenue_minor, row.currency) +
         money_cell(p + "average_basket_minor", g.average_basket_minor, row.currency) +
         cell(p + "repeat_customers", g.repeat_customers) +
         ratio_cell(p + "repeat_rate", g.repeat_rate) + "</tr>";
}

std::string revenue_section(const Report& r) {
  std::string s = "<h2>Referred against not referred customers</h2>";
  if (r.revenue.empty()) return s + "<p>No transactions in this period.</p>";
  for (const auto& row : r.revenue) {
    s += "<table><tr><th>" + escape(row.currency) +
         "</th><th>customers</th><th>transactions</th><th>revenue</th><th>average basket</th>"
         "<th>repeat customers</th><th>repeat rate</th></tr>";
    s += group_rows(row, "referred", "referred", row.referred);
    s += group_rows(row, "not_referred", "not referred", row.not_referred);
    const std::string p = "revenue." + row.currency + ".anonymous.";
    s += "<tr><td>anonymous</td><td></td>" + cell(p + "transactions", row.anonymous_transactions) +
         money_cell(p + "revenue_minor", row.anonymous_revenue_minor, row.currency) +
         "<td></td><td></td><td></td></tr></table>";
    s += comparison_chart(row);
  }
  return s;
}

std::string amount_cell(const std::string& name, std::int64_t v, const RewardRow& w) {
  if (w.unit == "points")
    return figure("td", name, std::to_string(v), std::to_string(v) + " points");
  if (w.unit == "recognition") return cell(name, v);
  return money_cell(name, v, w.currency);
}

std::string rewards_section(const Report& r) {
  std::string s = "<h2>Rewards</h2>";
  if (r.rewards.empty()) return s + "<p>No rewards granted or clawed back in this period.</p>";
  s += "<table><tr><th>side</th><th>unit</th><th>granted</th><th>amount</th><th>pending</th>"
       "<th>amount</th><th>held</th><th>amount</th><th>clawed back</th><th>amount</th></tr>";
  for (const auto& w : r.rewards) {
    std::string p = "rewards." + w.side + "." + w.unit + ".";
    if (!w.currency.empty()) p += w.currency + ".";
    s += "<tr>" + text_cell(w.side) +
         text_cell(w.unit + (w.currency.empty() ? "" : " " + w.currency)) +
         cell(p + "granted_count", w.granted_count) +
         amount_cell(p + "granted_amount", w.granted_amount, w) +
         cell(p + "pending_count", w.pending_count) +
         amount_cell(p + "pending_amount", w.pending_amount, w) +
         cell(p + "held_count", w.held_count) + amount_cell(p + "held_amount", w.held_amount, w) +
         cell(p + "clawed_back_count", w.clawed_back_count) +
         amount_cell(p + "clawed_back_amount", w.clawed_back_amount, w) + "</tr>";
  }
  return s + "</table>";
}

std::string referrers_section(const Report& r) {
  std::string s = "<h2>Top referrers</h2>";
  if (r.top_referrers.empty()) {
    s += "<p>No redemption of a customer's code in this period.</p>";
  } else {
    s += "<table><tr><th>rank</th><th>customer</th><th>redemptions</th><th>referees</th></tr>";
    std::vector<std::pair<std::string, std::int64_t>> bars;
    for (std::size_t i = 0; i < r.top_referrers.size(); ++i) {
      const auto& t = r.top_referrers[i];
      const std::string p = "top_referrers." + std::to_string(i + 1) + ".";
      s += "<tr>" + text_cell(std::to_string(i + 1)) +
           figure("td", p + "customer_id", t.customer_id, t.customer_id) +
           cell(p + "redemptions", t.redemptions) + cell(p + "referees", t.referees) + "</tr>";
      bars.emplace_back(t.customer_id, t.redemptions);
    }
    s += "</table>" + bar_chart("top_referrers", "Redemptions of each top referrer's codes", bars);
  }
  s += "<h2>Partners</h2>";
  if (r.partners.empty()) return s + "<p>No partner code issued or redeemed in this period.</p>";
  s += "<table><tr><th>partner</th><th>codes issued</th><th>redemptions</th><th>referees</th></tr>";
  for (const auto& pr : r.partners) {
    const std::string p = "partners." + pr.partner_id + ".";
    s += "<tr>" + text_cell(pr.partner_id) + cell(p + "codes_issued", pr.codes_issued) +
         cell(p + "redemptions", pr.redemptions) + cell(p + "referees", pr.referees) + "</tr>";
  }
  return s + "</table>";
}

std::string cashiers_section(const Report& r) {
  std::string s = "<h2>Ask rate per cashier</h2>";
  if (r.cashiers.empty()) return s + "<p>No ask recorded in this period.</p>";
  s += "<table><tr><th>store</th><th>cashier</th><th>eligible</th><th>asked</th><th>declined</th>"
       "<th>code issued</th><th>not asked</th><th>ask rate</th></tr>";
  for (const auto& c : r.cashiers) {
    const std::string p = "ask_rate." + c.store_id + "." + c.cashier_id + ".";
    s += "<tr>" + text_cell(c.store_id) +
         text_cell(c.cashier_id.empty() ? "(none)" : c.cashier_id) +
         cell(p + "eligible", c.eligible) + cell(p + "asked", c.asked) +
         cell(p + "declined", c.declined) + cell(p + "code_issued", c.code_issued) +
         cell(p + "not_asked", c.not_asked) + ratio_cell(p + "ask_rate", c.ask_rate) + "</tr>";
  }
  return s + "</table>";
}

std::string nps_section(const Report& r) {
  const auto& n = r.nps;
  std::string s =
      "<h2>NPS</h2><table><tr><th>answers</th><th>promoters (9-10)</th>"
      "<th>passives (7-8)</th><th>detractors (0-6)</th><th>score</th></tr><tr>";
  s += cell("nps.answers", n.answers) + cell("nps.promoters", n.promoters) +
       cell("nps.passives", n.passives) + cell("nps.detractors", n.detractors) +
       figure("td", "nps.score", n.score ? ratio_text(n.score) : "",
              n.score ? one_decimal(*n.score) : "n/a") +
       "</tr></table><table><tr><th>score</th>";
  for (int i = 0; i <= 10; ++i) s += "<th>" + std::to_string(i) + "</th>";
  s += "</tr><tr><td>answers</td>";
  for (int i = 0; i <= 10; ++i) s += cell("nps.histogram." + std::to_string(i), n.histogram[i]);
  // No chart of eleven empty bars: say so instead.
  return s + "</tr></table>" +
         (n.answers > 0 ? nps_chart(n) : std::string("<p>No NPS answer in this period.</p>"));
}

std::string conflicts_section(const Report& r) {
  std::string s = "<h2>Conflicts</h2><p>" +
                  figure("span", "conflicts.count", std::to_string(r.conflicts.size()),
                         std::to_string(r.conflicts.size())) +
                  " conflict(s) touch redemptions of this period.</p>";
  if (r.conflicts.empty()) return s;
  s += "<table><tr><th>conflict</th><th>code</th><th>kind</th><th>settlement</th>"
       "<th>transactions</th></tr>";
  for (const auto& c : r.conflicts) {
    std::string txns;
    for (const auto& t : c.txns) {
      if (!txns.empty()) txns += ", ";
      txns += t.store_id.empty() ? t.txn_id : t.store_id + "/" + t.txn_id;
    }
    const std::string p = "conflicts." + std::to_string(c.conflict_id) + ".";
    s += "<tr>" + text_cell(std::to_string(c.conflict_id)) +
         figure("td", p + "code", c.code, c.code) + figure("td", p + "kind", c.kind, c.kind) +
         figure("td", p + "settlement", c.settlement, c.settlement) + text_cell(txns) + "</tr>";
  }
  return s + "</table>";
}

}  // namespace

std::string render_html(const Report& r) {
  const std::string where = !r.scope.empty() ? "store " + r.scope
                            : r.source == SourceKind::store && r.stores.size() == 1
                                ? "store " + r.stores.front()
                                : "the whole chain";
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>";
  s += escape("Referral report, " + where + ", " + r.period.from_date + " to " + r.period.to_date);
  s += "</title><style>" + std::string(kStyle) + "</style></head><body>";
  s += "<h1>Referral report: " + escape(where) + "</h1>";
  s += "<p>From " + figure("span", "period.from", r.period.from_date, r.period.from_date) +
       " up to (not including) " + figure("span", "period.to", r.period.to_date, r.period.to_date) +
       ", time zone " + figure("span", "period.time_zone", r.period.time_zone, r.period.time_zone) +
       ". Source: " + (r.source == SourceKind::head_office ? "head office" : "store file") + "; " +
       figure("span", "events_in_period", std::to_string(r.events_in_period),
              std::to_string(r.events_in_period)) +
       " events in the period.</p>";
  if (r.empty) {
    s += R"(<p class="empty" data-figure="empty" data-value="true">No events in this )"
         "period: nothing was issued, redeemed, bought or answered.</p>";
  } else {
    s += R"(<p hidden data-figure="empty" data-value="false"></p>)";
  }

  const auto& c = r.codes;
  s += "<h2>Codes</h2><table><tr><th>issued</th><th>of which partner</th><th>redemptions</th>"
       "<th>distinct codes redeemed</th><th>later refunded whole</th><th>referrer unknown here</th>"
       "<th>conversion</th></tr><tr>";
  s += cell("codes.issued", c.issued) + cell("codes.issued_partner", c.issued_partner) +
       cell("codes.redemptions", c.redemptions) + cell("codes.codes_redeemed", c.codes_redeemed) +
       cell("codes.redemptions_reversed", c.redemptions_reversed) +
       cell("codes.redemptions_unattributed", r.redemptions_unattributed) +
       figure("td", "codes.conversion_rate", c.conversion_rate ? ratio_text(c.conversion_rate) : "",
              percent_text(c.conversion_rate) + " (" + std::to_string(c.redemptions) + " / " +
                  std::to_string(c.issued) + ")") +
       "</tr></table>";

  s += revenue_section(r);
  s += rewards_section(r);
  s += "<h2>Referral chain</h2><table><tr><th>customers referred in the period</th>"
       "<th>of whom referred someone who redeemed</th><th>rate</th></tr><tr>";
  s += cell("chain.referred_customers", r.chain.referred_customers) +
       cell("chain.referred_who_referred", r.chain.referred_who_referred) +
       ratio_cell("chain.rate", r.chain.rate) + "</tr></table>";
  s += referrers_section(r);
  s += cashiers_section(r);
  s += nps_section(r);
  s += conflicts_section(r);
  s += "<p class=\"note\">Amounts are exact (integer minor units); percentages are rounded for "
       "display. Definitions: docs/reports.md.</p></body></html>\n";
  return s;
}

}  // namespace refpos::report
