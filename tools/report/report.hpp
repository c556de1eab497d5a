// The referral report (docs/reports.md): whether referrals pay, for one
// period and one store or the whole chain.
//
// One engine reads either kind of file, read-only (a report never changes a
// store): a store's refpos.db (table `events` keyed by seq, one store) or a
// head office's SQLite file (tables `stores` and `events` keyed by
// (store_id, seq)). It folds the event log into a plain Report; the
// renderers turn a Report into JSON, CSV or a self-contained HTML page.
// Every figure's exact definition is in docs/reports.md; this header only
// says what each member holds.
//
// Money is integer minor units next to its ISO 4217 currency; ratios are
// doubles and are std::nullopt when their denominator is zero (never NaN).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace refpos::report {

// Longest top-referrer list a report carries.
inline constexpr std::size_t kTopReferrersMax = 10;
// Longest period a report covers: 100 years of days.
inline constexpr std::int64_t kPeriodDaysMax = 36'600;
// Progress is reported after every this many events (and at the end).
inline constexpr std::int64_t kProgressEveryEvents = 10'000;

// [from, to) as dates in a time zone, and the instants they stand for.
struct Period {
  std::string from_date;     // "2026-01-01", first day included
  std::string to_date;       // "2026-02-01", first day NOT included
  std::string time_zone;     // POSIX TZ, "UTC0" by default
  std::int64_t from_ms = 0;  // Unix ms of from_date's local midnight
  std::int64_t to_ms = 0;    // Unix ms of to_date's local midnight
};

// Dates are YYYY-MM-DD; `time_zone` is a POSIX TZ ("" means UTC). A date
// that does not parse, a period that is empty or reversed, or one longer
// than kPeriodDaysMax fails with ErrorKind::bad_request.
Result<Period> parse_period(std::string_view from_date, std::string_view to_date,
                            std::string_view time_zone);

enum class SourceKind { store, head_office };

// ---- the report ------------------------------------------------------------

struct CodeFigures {
  std::int64_t issued = 0;                // code_issued events
  std::int64_t issued_partner = 0;        // of which partner codes
  std::int64_t redemptions = 0;           // code_redeemed events
  std::int64_t codes_redeemed = 0;        // distinct codes among them
  std::int64_t redemptions_reversed = 0;  // redemptions in the period later refunded whole
  std::optional<double> conversion_rate;  // redemptions / issued
};

// One group of customers (referred or not) in one currency.
struct CustomerGroup {
  std::int64_t customers = 0;  // with at least one transaction
  std::int64_t transactions = 0;
  std::int64_t revenue_minor = 0;                    // sum of txn_committed total_minor
  std::optional<std::int64_t> average_basket_minor;  // revenue / transactions, half up
  std::int64_t repeat_customers = 0;                 // with 2 or more transactions
  std::optional<double> repeat_rate;                 // repeat_customers / customers
};

struct RevenueRow {
  std::string currency;
  CustomerGroup referred;
  CustomerGroup not_referred;
  std::int64_t anonymous_transactions = 0;  // no customer_id
  std::int64_t anonymous_revenue_minor = 0;
};

// Rewards of one side and unit. `currency` is "" for points and recognition.
struct RewardRow {
  std::string side;  // "referrer" or "referee"
  std::string unit;  // "store_credit", "points", "gift_card", "recognition"
  std::string currency;
  std::int64_t granted_count = 0;
  std::int64_t granted_amount = 0;
  std::int64_t pending_count = 0;
  std::int64_t pending_amount = 0;
  std::int64_t held_count = 0;
  std::int64_t held_amount = 0;
  std::int64_t clawed_back_count = 0;
  std::int64_t clawed_back_amount = 0;
};

struct ChainFigures {
  std::int64_t referred_customers = 0;     // distinct referees who redeemed in the period
  std::int64_t referred_who_referred = 0;  // of them, referrers of a later redemption
  std::optional<double> rate;
};

struct ReferrerRow {
  std::string customer_id;
  std::int64_t redemptions = 0;
  std::int64_t referees = 0;  // distinct customers who redeemed their codes
};

struct PartnerRow {
  std::string partner_id;  // "gym" for the account "partner:gym"
  std::int64_t codes_issued = 0;
  std::int64_t redemptions = 0;
  std::int64_t referees = 0;
};

struct CashierRow {
  std::string store_id;
  std::string cashier_id;     // "" when the till sent none
  std::int64_t eligible = 0;  // ask_recorded events (the till prompted)
  std::int64_t asked = 0;     // outcome asked, declined or code_issued
  std::int64_t declined = 0;
  std::int64_t code_issued = 0;
  std::int64_t not_asked = 0;
  std::optional<double> ask_rate;  // asked / eligible
};

struct NpsFigures {
  std::int64_t histogram[11] = {};  // answers per score 0..10
  std::int64_t answers = 0;
  std::int64_t promoters = 0;   // 9-10
  std::int64_t passives = 0;    // 7-8
  std::int64_t detractors = 0;  // 0-6
  std::optional<double> score;  // 100 * (promoters - detractors) / answers
};

struct ConflictTxn {
  std::string store_id;  // "" in a store's file (unknown there)
  std::string txn_id;
};

struct ConflictRow {
  std::int64_t conflict_id = 0;
  std::string code;
  std::string kind;
  std::string settlement;
  std::vector<ConflictTxn> txns;
};

struct Report {
  SourceKind source = SourceKind::store;
  std::string scope;                // the store id, or "" for the whole chain
  std::vector<std::string> stores;  // stores whose events the report counts
  Period period;
  std::int64_t events_in_period = 0;  // in scope
  bool empty = true;                  // no event in scope in the period

  CodeFigures codes;
  std::vector<RevenueRow> revenue;  // by currency
  std::vector<RewardRow> rewards;   // by side, unit, currency
  ChainFigures chain;
  std::int64_t redemptions_unattributed = 0;  // referrer unknown to this file
  std::vector<ReferrerRow> top_referrers;     // at most kTopReferrersMax
  std::vector<PartnerRow> partners;
  std::vector<CashierRow> cashiers;
  NpsFigures nps;
  std::vector<ConflictRow> conflicts;
};

// ---- building it -----------------------------------------------------------

// Called with (events read, events to read) after every kProgressEveryEvents
// events and once at the end.
using ProgressFn = std::function<void(std::int64_t done, std::int64_t total)>;

struct ReportRequest {
  std::string path;  // a store's refpos.db or a head office file
  Period period;
  std::optional<std::string> store_id;  // nullopt: every store in the file
  ProgressFn progress;                  // may be empty
};

// The file's kind, from its schema. ErrorKind::storage if it cannot be
// opened; ErrorKind::bad_request if it is neither kind.
Result<SourceKind> detect_source(const std::string& path);

// Errors: ErrorKind::storage (cannot open or read the file),
// ErrorKind::bad_request (not a refpos file), ErrorKind::not_found (a store
// id the file does not hold).
Result<Report> build_report(const ReportRequest& request);

// ---- folding events read elsewhere ---------------------------------------------

// One event as both kinds of file store it (plugin/src/store/event_log.cpp).
struct EventRow {
  std::string_view store_id;
  std::int64_t seq = 0;
  std::string_view type;
  std::int64_t at_ms = 0;
  std::string_view body;  // canonical JSON
};

// The fold build_report runs, for a caller that reads the events itself
// (head office on its own connection, or another storage back end).
class ReportFold {
 public:
  // `store_id`: the scope (nullopt: every store); `stores`: Report::stores.
  // The caller has checked that store_id is a store it holds.
  ReportFold(SourceKind source, Period period, std::optional<std::string> store_id,
             std::vector<std::string> stores);
  ~ReportFold();
  ReportFold(const ReportFold&) = delete;
  ReportFold& operator=(const ReportFold&) = delete;

  // Every event with at_ms < period.to_ms of EVERY store (facts about
  // people are chain-wide, docs/reports.md), each store's in seq order.
  // Fails (ErrorKind::storage) on a body that is not a JSON object.
  Status add(const EventRow& event);
  // Every conflict the source knows; the report keeps those that touch a
  // counted redemption. A transaction with store_id "" is the store file's.
  void add_conflict(ConflictRow conflict);
  // The report; call once, after the last add.
  Report finish();

 private:
  class State;
  SourceKind source_;
  std::string scope_;
  std::vector<std::string> stores_;
  std::string store_;  // add()'s store id, kept to spare an allocation per event
  std::unique_ptr<State> state_;
};

// ---- renderers ---------------------------------------------------------------

std::string render_json(const Report& report);  // docs/reports.md, "JSON"
std::string render_csv(const Report& report);   // one section per table, RFC 4180
std::string render_html(const Report& report);  // one page, inline SVG, no script

// RFC 4180 field: quoted when it holds a comma, quote, CR or LF. A field a
// spreadsheet would run as a formula (CSV injection: it starts with = @ tab
// CR, or with + - and holds more than a number or a phone number's
// characters) gets a leading apostrophe, which spreadsheets show as text:
// names and ids come from tills and customers.
bool looks_like_formula(std::string_view text);
std::string csv_field(std::string_view text);
// A ratio as JSON writes it (shortest round trip), or "null".
std::string ratio_text(const std::optional<double>& ratio);

}  // namespace refpos::report
