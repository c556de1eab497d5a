// The report engine on real store files: the seeded story (scenario.hpp) run
// through the real librefpos.so, then every figure checked against the value
// the story constructed. Also the edges: empty, reversed and data-less
// periods, unknown stores, time zones, a head-office file, CSV quoting and
// the JSON shape, and that a report never changes the file it reads.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "report.hpp"
#include "scenario.hpp"
#include "temp_dir.hpp"

using namespace refpos;
using namespace refpos::test;
using nlohmann::json;

namespace {

constexpr std::int64_t kJan1 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

// The story is run once per test process (it takes a few hundred commits'
// worth of fsyncs); tests only read its file.
struct Fixture {
  TempDir dir;
  std::string db;
  json expected;
  Fixture() {
    std::filesystem::create_directories(dir.path() / "store");
    expected = run_main_scenario((dir.path() / "store").string());
    db = (dir.path() / "store" / "refpos.db").string();
  }
};
Fixture& story() {
  static Fixture f;
  return f;
}

report::Report build(const std::string& path, const char* from, const char* to,
                     std::optional<std::string> store = std::nullopt, const char* tz = "") {
  auto period = report::parse_period(from, to, tz);
  REQUIRE(period.ok());
  report::ReportRequest request{path, *period, std::move(store), {}};
  auto r = report::build_report(request);
  if (!r) FAIL(r.error().describe());
  return std::move(r).value();
}

std::int64_t e(const char* name) { return story().expected.at(name).get<std::int64_t>(); }
double d(const char* name) { return story().expected.at(name).get<double>(); }

const report::RewardRow* reward(const report::Report& r, const char* side, const char* unit) {
  for (const auto& w : r.rewards) {
    if (w.side == side && w.unit == unit) return &w;
  }
  return nullptr;
}

const report::CashierRow* cashier(const report::Report& r, const char* id) {
  for (const auto& c : r.cashiers) {
    if (c.cashier_id == id) return &c;
  }
  return nullptr;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("engine: every figure of the seeded story equals its constructed value") {
  const auto r = build(story().db, kScenarioFrom, kScenarioTo);
  CHECK(r.source == report::SourceKind::store);
  CHECK(r.stores == std::vector<std::string>{"store-001"});
  CHECK_FALSE(r.empty);
  CHECK(r.events_in_period > 0);

  CHECK(r.codes.issued == e("codes.issued"));
  CHECK(r.codes.issued_partner == e("codes.issued_partner"));
  CHECK(r.codes.redemptions == e("codes.redemptions"));
  CHECK(r.codes.codes_redeemed == e("codes.codes_redeemed"));
  CHECK(r.codes.redemptions_reversed == e("codes.redemptions_reversed"));
  CHECK(r.redemptions_unattributed == e("codes.redemptions_unattributed"));
  REQUIRE(r.codes.conversion_rate.has_value());
  CHECK(*r.codes.conversion_rate == d("codes.conversion_rate"));

  REQUIRE(r.revenue.size() == 1);
  const auto& usd = r.revenue[0];
  CHECK(usd.currency == "USD");
  CHECK(usd.referred.customers == e("revenue.USD.referred.customers"));
  CHECK(usd.referred.transactions == e("revenue.USD.referred.transactions"));
  CHECK(usd.referred.revenue_minor == e("revenue.USD.referred.revenue_minor"));
  CHECK(usd.referred.average_basket_minor == e("revenue.USD.referred.average_basket_minor"));
  CHECK(usd.referred.repeat_customers == e("revenue.USD.referred.repeat_customers"));
  CHECK(usd.referred.repeat_rate == d("revenue.USD.referred.repeat_rate"));
  CHECK(usd.not_referred.customers == e("revenue.USD.not_referred.customers"));
  CHECK(usd.not_referred.transactions == e("revenue.USD.not_referred.transactions"));
  CHECK(usd.not_referred.revenue_minor == e("revenue.USD.not_referred.revenue_minor"));
  CHECK(usd.not_referred.average_basket_minor ==
        e("revenue.USD.not_referred.average_basket_minor"));
  CHECK(usd.not_referred.repeat_customers == e("revenue.USD.not_referred.repeat_customers"));
  CHECK(usd.not_referred.repeat_rate == d("revenue.USD.not_referred.repeat_rate"));
  CHECK(usd.anonymous_transactions == e("revenue.USD.anonymous.transactions"));
  CHECK(usd.anonymous_revenue_minor == e("revenue.USD.anonymous.revenue_minor"));

  const auto* credit = reward(r, "referrer", "store_credit");
  REQUIRE(credit != nullptr);
  CHECK(credit->currency == "USD");
  CHECK(credit->granted_count == e("rewards.referrer.store_credit.USD.granted_count"));
  CHECK(credit->granted_amount == e("rewards.referrer.store_credit.USD.granted_amount"));
  CHECK(credit->pending_count == e("rewards.referrer.store_credit.USD.pending_count"));
  CHECK(credit->pending_amount == e("rewards.referrer.store_credit.USD.pending_amount"));
  CHECK(credit->held_count == e("rewards.referrer.store_credit.USD.held_count"));
  CHECK(credit->clawed_back_count == e("rewards.referrer.store_credit.USD.clawed_back_count"));
  CHECK(credit->clawed_back_amount == e("rewards.referrer.store_credit.USD.clawed_back_amount"));
  const auto* points = reward(r, "referrer", "points");
  REQUIRE(points != nullptr);
  CHECK(points->currency.empty());
  CHECK(points->granted_count == e("rewards.referrer.points.granted_count"));
  CHECK(points->granted_amount == e("rewards.referrer.points.granted_amount"));
  CHECK(points->pending_amount == e("rewards.referrer.points.pending_amount"));
  CHECK(points->clawed_back_amount == e("rewards.referrer.points.clawed_back_amount"));
  CHECK(r.rewards.size() == 2);  // no referee rewards: percent off gives none

  CHECK(r.chain.referred_customers == e("chain.referred_customers"));
  CHECK(r.chain.referred_who_referred == e("chain.referred_who_referred"));
  CHECK(r.chain.rate == d("chain.rate"));

  REQUIRE(r.top_referrers.size() == 6);
  for (std::size_t i = 0; i < r.top_referrers.size(); ++i) {
    const std::string p = "top_referrers." + std::to_string(i + 1) + ".";
    CAPTURE(i);
    CHECK(r.top_referrers[i].customer_id ==
          story().expected.at(p + "customer_id").get<std::string>());
    CHECK(r.top_referrers[i].redemptions ==
          story().expected.at(p + "redemptions").get<std::int64_t>());
  }
  CHECK(r.top_referrers[0].referees == 3);
  REQUIRE(r.partners.size() == 1);
  CHECK(r.partners[0].partner_id == "gym");
  CHECK(r.partners[0].codes_issued == e("partners.gym.codes_issued"));
  CHECK(r.partners[0].redemptions == e("partners.gym.redemptions"));
  CHECK(r.partners[0].referees == e("partners.gym.referees"));

  REQUIRE(r.cashiers.size() == 2);
  const auto* c1 = cashier(r, "cashier-1");
  const auto* c2 = cashier(r, "cashier-2");
  REQUIRE(c1 != nullptr);
  REQUIRE(c2 != nullptr);
  CHECK(c1->store_id == "store-001");
  CHECK(c1->eligible == e("ask_rate.store-001.cashier-1.eligible"));
  CHECK(c1->asked == e("ask_rate.store-001.cashier-1.asked"));
  CHECK(c1->declined == e("ask_rate.store-001.cashier-1.declined"));
  CHECK(c1->code_issued == e("ask_rate.store-001.cashier-1.code_issued"));
  CHECK(c1->not_asked == e("ask_rate.store-001.cashier-1.not_asked"));
  CHECK(c1->ask_rate == d("ask_rate.store-001.cashier-1.ask_rate"));
  CHECK(c2->eligible == e("ask_rate.store-001.cashier-2.eligible"));
  CHECK(c2->asked == e("ask_rate.store-001.cashier-2.asked"));
  CHECK(c2->not_asked == e("ask_rate.store-001.cashier-2.not_asked"));
  CHECK(c2->ask_rate == d("ask_rate.store-001.cashier-2.ask_rate"));

  for (int i = 0; i <= 10; ++i) {
    CAPTURE(i);
    CHECK(r.nps.histogram[i] ==
          story().expected.at("nps.histogram." + std::to_string(i)).get<std::int64_t>());
  }
  CHECK(r.nps.answers == e("nps.answers"));
  CHECK(r.nps.promoters == e("nps.promoters"));
  CHECK(r.nps.passives == e("nps.passives"));
  CHECK(r.nps.detractors == e("nps.detractors"));
  CHECK(r.nps.score == d("nps.score"));
  CHECK(r.conflicts.empty());
}

TEST_CASE("engine: the store's own id as --store gives the same report; another id is refused") {
  const auto all = build(story().db, kScenarioFrom, kScenarioTo);
  const auto one = build(story().db, kScenarioFrom, kScenarioTo, "store-001");
  CHECK(report::render_json(one).find("\"store_id\": \"store-001\"") != std::string::npos);
  CHECK(one.codes.redemptions == all.codes.redemptions);
  CHECK(one.revenue[0].referred.revenue_minor == all.revenue[0].referred.revenue_minor);

  auto period = report::parse_period(kScenarioFrom, kScenarioTo, "");
  REQUIRE(period.ok());
  auto unknown = report::build_report({story().db, *period, std::string("store-999"), {}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::not_found);
  CHECK(unknown.error().message.find("store-999") != std::string::npos);
}

TEST_CASE("engine: empty, reversed and malformed periods are refused with a clear error") {
  auto empty = report::parse_period("2026-01-01", "2026-01-01", "");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().kind == ErrorKind::bad_request);
  CHECK(empty.error().message.find("empty") != std::string::npos);

  auto reversed = report::parse_period("2026-02-01", "2026-01-01", "");
  REQUIRE_FALSE(reversed.ok());
  CHECK(reversed.error().message.find("reversed") != std::string::npos);

  for (const char* bad : {"2026-1-01", "2026-02-30", "yesterday", "2026-01-01T00", ""}) {
    CAPTURE(bad);
    auto p = report::parse_period(bad, "2026-03-01", "");
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().field == "from");
  }
  auto tz = report::parse_period("2026-01-01", "2026-02-01", "America/New_York");
  REQUIRE_FALSE(tz.ok());
  CHECK(tz.error().field == "tz");
}

TEST_CASE("engine: a period's bounds follow the time zone") {
  auto utc = report::parse_period("2026-01-01", "2026-02-01", "");
  REQUIRE(utc.ok());
  CHECK(utc->from_ms == kJan1);
  CHECK(utc->to_ms == kJan1 + 31 * 86'400'000LL);
  CHECK(utc->time_zone == "UTC0");
  auto cet = report::parse_period("2026-01-01", "2026-07-01", "CET-1CEST,M3.5.0,M10.5.0/3");
  REQUIRE(cet.ok());
  CHECK(cet->from_ms == kJan1 - 3'600'000);  // UTC+1 in winter
  CHECK(cet->to_ms == 1'782'856'800'000);    // 2026-06-30T22:00Z, UTC+2
  auto ny = report::parse_period("2026-01-01", "2026-01-02", "EST5EDT,M3.2.0,M11.1.0");
  REQUIRE(ny.ok());
  CHECK(ny->from_ms == kJan1 + 5 * 3'600'000LL);

  // The four referrers buy on January 2 at 09:00, 10:00, 11:00 and 12:00 UTC.
  // In UTC+14, January 3 starts at January 2 10:00 UTC: only the first
  // purchase is in [January 1, January 3) there, all four are in UTC.
  const auto utc_days = build(story().db, "2026-01-01", "2026-01-03");
  const auto east_days = build(story().db, "2026-01-01", "2026-01-03", std::nullopt, "<+14>-14");
  CHECK(utc_days.revenue[0].not_referred.transactions == 4);
  CHECK(east_days.revenue[0].not_referred.transactions == 1);
}

TEST_CASE("engine: a period with no data is an empty report, with no division by zero") {
  const auto r = build(story().db, "2030-01-01", "2030-02-01");
  CHECK(r.empty);
  CHECK(r.events_in_period == 0);
  CHECK(r.codes.issued == 0);
  CHECK_FALSE(r.codes.conversion_rate.has_value());
  CHECK_FALSE(r.chain.rate.has_value());
  CHECK_FALSE(r.nps.score.has_value());
  CHECK(r.revenue.empty());
  CHECK(r.top_referrers.empty());
  const auto text_json = report::render_json(r);
  const auto text_csv = report::render_csv(r);
  const auto text_html = report::render_html(r);
  for (const auto* text : {&text_json, &text_csv, &text_html}) {
    CHECK(text->find("nan") == std::string::npos);
    CHECK(text->find("inf") == std::string::npos);
  }
  const json j = json::parse(text_json);
  CHECK(j["empty"] == true);
  CHECK(j["codes"]["conversion_rate"].is_null());
  CHECK(j["nps"]["score"].is_null());
  CHECK(text_html.find("No events in this period") != std::string::npos);
  CHECK(text_html.find("No NPS answer in this period") != std::string::npos);
  CHECK(text_html.find("data-chart='nps'") == std::string::npos);

  // And a store that has done nothing at all.
  TempDir fresh;
  run_small_store(fresh.str(), "store-009", 0, 0);
  const auto none = build(fresh.str() + "/refpos.db", kScenarioFrom, kScenarioTo);
  CHECK(none.empty);
}

TEST_CASE("engine: the JSON has the documented shape") {
  const auto r = build(story().db, kScenarioFrom, kScenarioTo);
  const json j = json::parse(report::render_json(r));
  CHECK(j["schema"] == "refpos.report/1");
  CHECK(j["source"] == "store");
  CHECK(j["store_id"].is_null());
  CHECK(j["stores"] == json::array({"store-001"}));
  CHECK(j["period"]["from"] == kScenarioFrom);
  CHECK(j["period"]["to"] == kScenarioTo);
  CHECK(j["period"]["from_ms"] == kJan1);
  for (const char* key : {"codes", "referral_chain", "nps"}) CHECK(j[key].is_object());
  for (const char* key :
       {"revenue", "rewards", "top_referrers", "partners", "ask_rate", "conflicts"}) {
    CHECK(j[key].is_array());
  }
  CHECK(j["codes"]["issued"].is_number_integer());
  CHECK(j["codes"]["conversion_rate"].is_number_float());
  CHECK(j["revenue"][0]["currency"] == "USD");
  CHECK(j["revenue"][0]["referred"]["revenue_minor"].is_number_integer());
  CHECK(j["revenue"][0]["referred"]["average_basket_minor"].is_number_integer());
  CHECK(j["rewards"][0]["granted"]["amount"].is_number_integer());
  CHECK(j["nps"]["histogram"].size() == 11);
  CHECK(j["ask_rate"][0].contains("cashier_id"));
  CHECK(j["top_referrers"][0]["customer_id"] == "ref-a1");
}

TEST_CASE("engine: CSV fields are quoted as RFC 4180 says, one section per table") {
  CHECK(report::csv_field("plain") == "plain");
  CHECK(report::csv_field("a,b") == "\"a,b\"");
  CHECK(report::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(report::csv_field("two\nlines") == "\"two\nlines\"");
  CHECK(report::csv_field("cr\rhere") == "\"cr\rhere\"");
  CHECK(report::csv_field("") == "");
  // Formulas are shown as text; numbers and phone numbers stay as they are.
  CHECK(report::csv_field("=1+2") == "'=1+2");
  CHECK(report::csv_field("@SUM(A1:A9)") == "'@SUM(A1:A9)");
  CHECK(report::csv_field("-2+3+cmd|' /C calc'!A0") == "'-2+3+cmd|' /C calc'!A0");
  CHECK(report::csv_field("+HYPERLINK(\"http://x\")") == "\"'+HYPERLINK(\"\"http://x\"\")\"");
  CHECK(report::csv_field("=a,b") == "\"'=a,b\"");
  CHECK(report::csv_field("\t=1") == "'\t=1");
  CHECK(report::csv_field("-500") == "-500");
  CHECK(report::csv_field("+1 (212) 555-0100") == "+1 (212) 555-0100");
  CHECK(report::csv_field("0.25") == "0.25");

  report::Report r;
  r.period = *report::parse_period(kScenarioFrom, kScenarioTo, "");
  r.cashiers.push_back({"store-001", "Smith, \"Jo\"", 2, 1, 0, 0, 1, 0.5});
  const auto csv = report::render_csv(r);
  CHECK(csv.find("store-001,\"Smith, \"\"Jo\"\"\",2,1,0,0,1,0.5\r\n") != std::string::npos);
  CHECK(csv.find("# codes\r\nfigure,value\r\n") != std::string::npos);
  CHECK(csv.find("\r\n\r\n# nps\r\n") != std::string::npos);
  for (std::size_t at = csv.find('\n'); at != std::string::npos; at = csv.find('\n', at + 1)) {
    REQUIRE(at > 0);
    CHECK(csv[at - 1] == '\r');  // every record ends CRLF
  }

  const auto story_csv = report::render_csv(build(story().db, kScenarioFrom, kScenarioTo));
  CHECK(story_csv.find("USD,referred,13,16,60000,3750,3,") != std::string::npos);
  CHECK(story_csv.find("referrer,store_credit,USD,10,10000,2,2000,0,0,2,2000\r\n") !=
        std::string::npos);
}

TEST_CASE("engine: the HTML is self-contained and labels every figure") {
  const auto html = report::render_html(build(story().db, kScenarioFrom, kScenarioTo));
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
  for (const char* chart :
       {"data-chart='top_referrers'", "data-chart='nps'", "data-chart='comparison.USD'"}) {
    CHECK(html.find(chart) != std::string::npos);
  }
  for (const auto& item : story().expected.items()) {
    const std::string& name = item.key();  // clang 14 cannot capture a structured binding
    CAPTURE(name);
    CHECK(html.find("data-figure=\"" + name + "\"") != std::string::npos);
  }
  CHECK(html.find("data-figure=\"codes.issued\" data-value=\"7\"") != std::string::npos);
}

TEST_CASE("engine: a report never changes the file it reads") {
  const auto before = file_bytes(story().db);
  (void)build(story().db, kScenarioFrom, kScenarioTo);
  CHECK(file_bytes(story().db) == before);
  CHECK_FALSE(std::filesystem::exists(story().db + "-journal"));
}

TEST_CASE("engine: a file that is not a refpos file, or not there, is refused") {
  TempDir dir;
  auto period = report::parse_period(kScenarioFrom, kScenarioTo, "");
  REQUIRE(period.ok());
  auto missing = report::build_report({dir.str() + "/nope.db", *period, std::nullopt, {}});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::storage);
  CHECK_FALSE(std::filesystem::exists(dir.str() + "/nope.db"));  // read-only: not created

  const std::string junk = dir.str() + "/junk.db";
  std::ofstream(junk) << "not a database at all";
  auto not_sqlite = report::build_report({junk, *period, std::nullopt, {}});
  REQUIRE_FALSE(not_sqlite.ok());
  CHECK(not_sqlite.error().kind == ErrorKind::storage);
}

TEST_CASE("engine: a head-office file reports per store and for the whole chain") {
  TempDir dir;
  const std::string other_dir = dir.str() + "/other";
  std::filesystem::create_directories(other_dir);
  run_small_store(other_dir, "store-002", 3, 2000);  // 3 customers, 2000 each, NPS 10
  const std::string hq = dir.str() + "/hq.db";
  build_head_office_file(hq, {{"store-001", story().db}, {"store-002", other_dir + "/refpos.db"}},
                         "SOMECODE", "J-B1");
  CHECK(report::detect_source(hq).value() == report::SourceKind::head_office);
  CHECK(report::detect_source(story().db).value() == report::SourceKind::store);

  const auto chain = build(hq, kScenarioFrom, kScenarioTo);
  CHECK(chain.source == report::SourceKind::head_office);
  CHECK(chain.stores == std::vector<std::string>{"store-001", "store-002"});
  CHECK(chain.codes.redemptions == e("codes.redemptions"));
  CHECK(chain.revenue[0].not_referred.customers == e("revenue.USD.not_referred.customers") + 3);
  CHECK(chain.revenue[0].not_referred.revenue_minor ==
        e("revenue.USD.not_referred.revenue_minor") + 3 * 2000LL);
  CHECK(chain.nps.answers == e("nps.answers") + 3);
  CHECK(chain.nps.histogram[10] == story().expected.at("nps.histogram.10").get<std::int64_t>() + 3);
  REQUIRE(chain.conflicts.size() == 1);
  CHECK(chain.conflicts[0].code == "SOMECODE");
  REQUIRE(chain.conflicts[0].txns.size() == 2);
  CHECK(chain.conflicts[0].txns[0].store_id == "store-001");
  CHECK(chain.conflicts[0].txns[0].txn_id == "J-B1");

  const auto one = build(hq, kScenarioFrom, kScenarioTo, "store-001");
  const auto from_store = build(story().db, kScenarioFrom, kScenarioTo);
  // Every table but the conflicts (only head office knows them) is the same
  // as the store's own file gives.
  const auto tables = [](const report::Report& rep) {
    const auto text = report::render_csv(rep);
    const auto from = text.find("# codes");
    return text.substr(from, text.find("# conflicts") - from);
  };
  CHECK(tables(one) == tables(from_store));
  CHECK(one.codes.issued == from_store.codes.issued);
  CHECK(one.revenue[0].referred.revenue_minor == from_store.revenue[0].referred.revenue_minor);
  CHECK(one.nps.answers == from_store.nps.answers);
  CHECK(one.chain.referred_who_referred == from_store.chain.referred_who_referred);
  CHECK(one.conflicts.size() == 1);

  const auto two = build(hq, kScenarioFrom, kScenarioTo, "store-002");
  CHECK(two.conflicts.empty());  // the conflict touches no redemption of store-002
  CHECK(two.nps.answers == 3);
  CHECK(two.codes.redemptions == 0);
  CHECK_FALSE(two.codes.conversion_rate.has_value());

  auto period = report::parse_period(kScenarioFrom, kScenarioTo, "");
  auto unknown = report::build_report({hq, *period, std::string("store-404"), {}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::not_found);
}

TEST_CASE("engine: progress is reported, ending with every event read") {
  auto period = report::parse_period(kScenarioFrom, kScenarioTo, "");
  std::vector<std::pair<std::int64_t, std::int64_t>> calls;
  auto r = report::build_report(
      {story().db, *period, std::nullopt,
       [&](std::int64_t done, std::int64_t total) { calls.emplace_back(done, total); }});
  REQUIRE(r.ok());
  REQUIRE_FALSE(calls.empty());
  CHECK(calls.back().first == calls.back().second);
  CHECK(calls.back().second == sql_int(story().db, "SELECT count(*) FROM events WHERE at_ms < " +
                                                       std::to_string(period->to_ms)));
}

TEST_CASE("engine: ReportFold fed by the caller gives what build_report gives") {
  // What head office does when it reads events on its own connection.
  auto period = report::parse_period(kScenarioFrom, kScenarioTo, "");
  REQUIRE(period.ok());
  report::ReportFold fold(report::SourceKind::store, *period, std::nullopt, {"store-001"});
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(story().db.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT store_id, seq, type, at_ms, body FROM events WHERE at_ms < ?1 "
                             "ORDER BY seq",
                             -1, &q, nullptr) == SQLITE_OK);
  sqlite3_bind_int64(q, 1, period->to_ms);
  const auto text = [&](int column) {
    return std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(q, column)),
                            static_cast<std::size_t>(sqlite3_column_bytes(q, column)));
  };
  while (sqlite3_step(q) == SQLITE_ROW) {
    const report::EventRow event{text(0), sqlite3_column_int64(q, 1), text(2),
                                 sqlite3_column_int64(q, 3), text(4)};
    REQUIRE(fold.add(event).ok());
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  CHECK(report::render_json(fold.finish()) ==
        report::render_json(build(story().db, kScenarioFrom, kScenarioTo)));

  report::ReportFold broken(report::SourceKind::store, *period, std::nullopt, {"store-001"});
  auto st = broken.add({"store-001", 1, "txn_committed", kJan1, "not json"});
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind == ErrorKind::storage);
}

TEST_CASE("engine: money stays per currency, and an average basket rounds half up") {
  auto period = report::parse_period(kScenarioFrom, kScenarioTo, "");
  REQUIRE(period.ok());
  report::ReportFold fold(report::SourceKind::head_office, *period, std::nullopt, {"eu", "us"});
  std::int64_t seq = 0;
  const auto add = [&](const char* store, const char* type, const json& body) {
    const auto text = body.dump();
    REQUIRE(fold.add({store, ++seq, type, kJan1 + seq, text}).ok());
  };
  add("eu", "txn_committed", {{"customer_id", "x"}, {"currency", "EUR"}, {"total_minor", 1000}});
  add("eu", "txn_committed", {{"customer_id", "x"}, {"currency", "EUR"}, {"total_minor", 1001}});
  add("us", "txn_committed", {{"customer_id", "y"}, {"currency", "USD"}, {"total_minor", 999}});
  add("eu", "reward_accrued",
      {{"side", "referrer"},
       {"kind", "store_credit"},
       {"amount", 500},
       {"currency", "EUR"},
       {"txn_id", "t1"},
       {"spendable_at_ms", 0},
       {"held", false}});
  add("us", "reward_accrued",
      {{"side", "referrer"},
       {"kind", "store_credit"},
       {"amount", 700},
       {"currency", "USD"},
       {"txn_id", "t2"},
       {"spendable_at_ms", 0},
       {"held", true}});
  const auto r = fold.finish();
  REQUIRE(r.revenue.size() == 2);
  CHECK(r.revenue[0].currency == "EUR");
  CHECK(r.revenue[0].not_referred.revenue_minor == 2001);
  CHECK(r.revenue[0].not_referred.average_basket_minor == 1001);  // 1000.5 rounds up
  CHECK(r.revenue[0].not_referred.repeat_rate == 1.0);
  CHECK(r.revenue[1].currency == "USD");
  CHECK(r.revenue[1].not_referred.revenue_minor == 999);
  REQUIRE(r.rewards.size() == 2);
  CHECK(r.rewards[0].currency == "EUR");
  CHECK(r.rewards[0].granted_amount == 500);
  CHECK(r.rewards[0].held_count == 0);
  CHECK(r.rewards[1].currency == "USD");
  CHECK(r.rewards[1].granted_amount == 700);
  CHECK(r.rewards[1].held_amount == 700);
  CHECK(r.rewards[1].pending_count == 0);  // spendable before the period ends
}

TEST_CASE("engine: a store's conflicts, as its sync wrote them, when they touch the period") {
  TempDir dir;
  const std::string copy = dir.str() + "/refpos.db";
  std::filesystem::copy_file(story().db, copy);
  if (std::filesystem::exists(story().db + "-wal")) {
    std::filesystem::copy_file(story().db + "-wal", copy + "-wal");
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(copy.c_str(), &db) == SQLITE_OK);
  // The rows plugin/src/sync/sync.cpp writes when head office settles one:
  // one over a January redemption (J-B1) and another store's transaction,
  // one over December's redemption only (D-2), outside the period.
  REQUIRE(sqlite3_exec(db,
                       "INSERT INTO conflicts (conflict_id, code, kind, settlement, txn_ids) VALUES"
                       " (7, 'CODE-A', 'double_redemption', 'kept', '[\"J-B1\",\"T-9\"]'),"
                       " (8, 'CODE-B', 'double_redemption', 'kept', '[\"D-2\"]')",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  const auto r = build(copy, kScenarioFrom, kScenarioTo);
  REQUIRE(r.conflicts.size() == 1);
  CHECK(r.conflicts[0].conflict_id == 7);
  CHECK(r.conflicts[0].code == "CODE-A");
  REQUIRE(r.conflicts[0].txns.size() == 2);
  CHECK(r.conflicts[0].txns[0].txn_id == "J-B1");
  CHECK(r.conflicts[0].txns[1].txn_id == "T-9");
  CHECK(r.conflicts[0].txns[0].store_id.empty());
  const auto december = build(copy, "2025-12-01", kScenarioFrom);
  REQUIRE(december.conflicts.size() == 1);
  CHECK(december.conflicts[0].conflict_id == 8);
  const auto html = report::render_html(r);
  CHECK(html.find("data-figure=\"conflicts.count\" data-value=\"1\"") != std::string::npos);
  CHECK(html.find("data-figure=\"conflicts.7.code\" data-value=\"CODE-A\"") != std::string::npos);
}
