// TimeZone: the POSIX TZ parser and the local-time arithmetic behind it. The
// grammar and the contract (signs, daylight time across the new year, where
// a day starts when clocks skip or repeat midnight) are in time_zone.hpp.
//
// How an instant's offset is found: each year's rule gives two transitions
// (to daylight time and back), computed from that year's calendar in the
// local time in force just before each. The last transition at or before the
// instant, among those of the years around it, decides. There is no cache:
// a question costs a few dozen civil-date conversions.
#include "base/time_zone.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "base/clock.hpp"

namespace refpos {
namespace {

namespace chr = std::chrono;

constexpr std::int64_t kMsPerSecond = 1'000;
constexpr std::int64_t kMsPerMinute = 60'000;
constexpr std::int64_t kMsPerHour = 3'600'000;
// POSIX: a UTC offset's hours are 0..24; refpos also caps the whole offset.
constexpr int kMaxOffsetHours = 24;
constexpr std::int64_t kMaxOffsetMs = kMaxOffsetHours * kMsPerHour;
// RFC 8536: a transition time's hours are -167..167 (a week, less an hour).
constexpr int kMaxRuleTimeHours = 167;
// Largest offset in force: 24 h, or 25 h for a daylight time left at its
// default of one hour ahead of a standard time 24 h ahead.
constexpr std::int64_t kMaxOffsetInForceMs = kMaxOffsetMs + kMsPerHour;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

chr::sys_days to_sys_days(std::int64_t days) {
  return chr::sys_days{chr::days{static_cast<chr::days::rep>(days)}};
}

std::int64_t days_of(chr::sys_days day) {
  return static_cast<std::int64_t>(day.time_since_epoch().count());
}

std::int64_t days_from_civil(int year, int month, int day) {
  return days_of(chr::sys_days{chr::year{year} / chr::month{static_cast<unsigned>(month)} /
                               chr::day{static_cast<unsigned>(day)}});
}

chr::year_month_day civil_from_days(std::int64_t days) {
  return chr::year_month_day{to_sys_days(days)};
}

int year_of_days(std::int64_t days) { return static_cast<int>(civil_from_days(days).year()); }

std::int64_t clamp_instant(std::int64_t utc_ms) {
  assert(utc_ms >= kMinTimeZoneUtcMs && utc_ms <= kMaxTimeZoneUtcMs);
  return std::clamp(utc_ms, kMinTimeZoneUtcMs, kMaxTimeZoneUtcMs);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

}  // namespace

// A change of offset: from the instant utc_ms on, daylight time (to_dst) or
// standard time is in force.
struct TimeZone::Transition {
  std::int64_t utc_ms;
  int year;  // of the rule that made it
  bool to_dst;

  // Among transitions at the same instant the later year's wins (a rule with
  // daylight time all year ends it in one year where the next year starts
  // it), and within one year the end wins (start == end: no daylight time).
  [[nodiscard]] bool comes_before(const Transition& other) const {
    return std::tuple(utc_ms, year, !to_dst) < std::tuple(other.utc_ms, other.year, !other.to_dst);
  }
};

// ---------------------------------------------------------------------------
// Parsing

class TimeZone::Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<TimeZone> parse() {
    if (text_.empty()) {
      return fail(
          "must not be empty; give a POSIX TZ string such as \"UTC0\" or "
          "\"EST5EDT,M3.2.0,M11.1.0\"");
    }
    if (text_.size() > kMaxTimeZoneBytes) {
      return fail("is " + std::to_string(text_.size()) + " bytes long; at most " +
                  std::to_string(kMaxTimeZoneBytes) + " are allowed");
    }
    if (text_.front() == ':') {
      return fail_at(0,
                     "\":\" names a tz database file, which a terminal may not have; give the "
                     "rule itself, such as \"EST5EDT,M3.2.0,M11.1.0\"");
    }
    TimeZone zone;
    zone.text_ = std::string(text_);
    const auto std_name = zone_name("standard-time");
    if (!std_name) return std_name.error();
    const auto std_offset = offset(*std_name);
    if (!std_offset) return std_offset.error();
    zone.std_offset_ms_ = *std_offset;
    zone.dst_offset_ms_ = *std_offset;
    if (at_end()) return zone;

    if (peek() != '<' && !is_letter(peek())) {
      return expected("a daylight-time name or the end of the text");
    }
    const auto dst_name = zone_name("daylight-time");
    if (!dst_name) return dst_name.error();
    zone.dst_offset_ms_ = zone.std_offset_ms_ + kMsPerHour;
    if (is_digit(peek()) || peek() == '+' || peek() == '-') {
      const auto dst_offset = offset(*dst_name);
      if (!dst_offset) return dst_offset.error();
      zone.dst_offset_ms_ = *dst_offset;
    }
    if (at_end()) {
      return fail_at(pos_, "daylight time \"" + std::string(*dst_name) +
                               "\" needs its rule, such as \",M3.2.0,M11.1.0\" (when it starts "
                               "and ends); refpos does not guess one");
    }
    if (!accept(',')) return expected("\",\" and the start of daylight time");
    const auto start = rule("start");
    if (!start) return start.error();
    if (!accept(',')) return expected("\",\" and the end of daylight time");
    const auto end = rule("end");
    if (!end) return end.error();
    if (!at_end()) return expected("the end of the text");
    zone.has_dst_ = true;
    zone.start_ = *start;
    zone.end_ = *end;
    return zone;
  }

 private:
  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return at_end() ? '\0' : text_[pos_]; }
  bool accept(char c) {
    if (at_end() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  // What stands at the current position, for "got ..." in messages.
  [[nodiscard]] std::string found() const {
    if (at_end()) return "the end of the text";
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c == ' ') return "a space";
    // Built by appending: GCC 12 at -O3 warns (-Wrestrict, a known false
    // positive) on operator+ of a literal and a one-character string.
    std::string out;
    if (c > ' ' && c < 0x7f) {
      out.push_back('"');
      out.push_back(static_cast<char>(c));
      out.push_back('"');
      return out;
    }
    constexpr std::string_view kHex = "0123456789ABCDEF";
    out = "byte 0x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
    return out;
  }

  static Error fail(std::string message) {
    return make_error(ErrorKind::config, "time_zone", std::move(message));
  }
  [[nodiscard]] Error fail_at(std::size_t at, const std::string& message) const {
    return fail("at character " + std::to_string(at + 1) + ": " + message);
  }
  // "expected <what>, got <found>", then an optional hint.
  [[nodiscard]] Error expected(const std::string& what, const std::string& hint = {}) const {
    return fail_at(pos_, "expected " + what + ", got " + found() + hint);
  }

  // A decimal number of min_digits..max_digits digits in [min, max].
  Result<int> number(const std::string& what, int min_digits, int max_digits, int min, int max) {
    const std::size_t start = pos_;
    int value = 0;
    int digits = 0;
    while (is_digit(peek())) {
      if (digits == max_digits) {
        return fail_at(start, what + " has more than " + std::to_string(max_digits) +
                                  (max_digits == 1 ? " digit" : " digits"));
      }
      value = value * 10 + (peek() - '0');
      ++digits;
      ++pos_;
    }
    if (digits == 0) return expected(what);
    if (digits < min_digits) {
      return fail_at(start, what + " needs " + std::to_string(min_digits) + " digits, got " +
                                std::to_string(digits));
    }
    if (value < min || value > max) {
      return fail_at(start, what + " must be " + std::to_string(min) + " to " +
                                std::to_string(max) + ", got " + std::to_string(value));
    }
    return value;
  }

  // [+|-]h[h..][:mm[:ss]] as signed milliseconds.
  Result<std::int64_t> clock_time(const std::string& what, int max_hour_digits, int max_hours) {
    const bool negative = peek() == '-';
    if (peek() == '+' || peek() == '-') ++pos_;
    const auto hours = number(what, 1, max_hour_digits, 0, max_hours);
    if (!hours) return hours.error();
    int minutes = 0;
    int seconds = 0;
    if (accept(':')) {
      const auto mm = number("the minutes of " + what, 2, 2, 0, 59);
      if (!mm) return mm.error();
      minutes = *mm;
      if (accept(':')) {
        const auto ss = number("the seconds of " + what, 2, 2, 0, 59);
        if (!ss) return ss.error();
        seconds = *ss;
      }
    }
    const std::int64_t ms = *hours * kMsPerHour + minutes * kMsPerMinute + seconds * kMsPerSecond;
    return negative ? -ms : ms;
  }

  // std or dst: 3 or more ASCII letters, or <...> of letters, digits, + and -.
  Result<std::string_view> zone_name(const std::string& which) {
    const std::size_t start = pos_;
    std::string_view name;
    if (accept('<')) {
      if (text_.find('>', start) == std::string_view::npos) {
        return fail_at(start, "\"<\" opens a quoted " + which + " name that no \">\" closes");
      }
      while (is_letter(peek()) || is_digit(peek()) || peek() == '+' || peek() == '-') ++pos_;
      if (!accept('>')) {
        return expected("a letter, digit, \"+\", \"-\" or the closing \">\" of the quoted " +
                        which + " name");
      }
      name = text_.substr(start + 1, pos_ - start - 2);
    } else {
      while (is_letter(peek())) ++pos_;
      name = text_.substr(start, pos_ - start);
      if (name.empty()) return expected("a " + which + " name (3 or more letters, or <...>)");
    }
    if (name.size() < 3) {
      return fail_at(start, "a " + which + " name needs at least 3 characters, got \"" +
                                std::string(name) + "\"");
    }
    return name;
  }

  // A UTC offset as POSIX writes it (hours west), returned east positive.
  Result<std::int64_t> offset(std::string_view name) {
    const std::size_t start = pos_;
    const std::string what = "the UTC offset of \"" + std::string(name) + "\"";
    if (!is_digit(peek()) && peek() != '+' && peek() != '-') {
      const std::string hint = peek() == '/' ? " (a tz database name such as America/New_York "
                                               "needs a database; give the rule itself, such as "
                                               "\"EST5EDT,M3.2.0,M11.1.0\")"
                                             : "";
      return expected(what + " (such as 5, -1 or -5:30)", hint);
    }
    const auto ms = clock_time(what, 2, kMaxOffsetHours);
    if (!ms) return ms.error();
    if (*ms > kMaxOffsetMs || *ms < -kMaxOffsetMs) {
      return fail_at(start, what + " must be at most 24 hours either way");
    }
    return -*ms;
  }

  // Jn, n or Mm.w.d, then an optional /time.
  Result<Rule> rule(const std::string& which) {
    const std::string of = " of the " + which + " of daylight time";
    Rule r;
    if (accept('J')) {
      r.form = Rule::Form::julian_no_leap;
      const auto day = number("the day (Jn)" + of, 1, 3, 1, 365);
      if (!day) return day.error();
      r.day = *day;
    } else if (accept('M')) {
      r.form = Rule::Form::month_week_day;
      const auto month = number("the month (Mm.w.d)" + of, 1, 2, 1, 12);
      if (!month) return month.error();
      if (!accept('.')) return expected("\".\" and the week (Mm.w.d)" + of);
      const auto week = number("the week (Mm.w.d, 5 = last)" + of, 1, 1, 1, 5);
      if (!week) return week.error();
      if (!accept('.')) return expected("\".\" and the weekday (Mm.w.d)" + of);
      const auto weekday = number("the weekday (Mm.w.d, 0 = Sunday)" + of, 1, 1, 0, 6);
      if (!weekday) return weekday.error();
      r.month = *month;
      r.week = *week;
      r.weekday = *weekday;
    } else if (is_digit(peek())) {
      r.form = Rule::Form::zero_based;
      const auto day = number("the day (n)" + of, 1, 3, 0, 365);
      if (!day) return day.error();
      r.day = *day;
    } else {
      return expected("the " + which + " of daylight time (Mm.w.d, Jn or n)");
    }
    if (accept('/')) {
      const auto time = clock_time("the time" + of, 3, kMaxRuleTimeHours);
      if (!time) return time.error();
      r.time_ms = *time;
    }
    return r;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

Result<TimeZone> TimeZone::parse(std::string_view posix_tz) { return Parser(posix_tz).parse(); }

TimeZone TimeZone::utc() { return TimeZone(); }

// ---------------------------------------------------------------------------
// Offsets

TimeZone::Transition TimeZone::transition(int year, bool to_dst) const {
  const Rule& r = to_dst ? start_ : end_;
  const std::int64_t jan1 = days_from_civil(year, 1, 1);
  std::int64_t day = 0;
  switch (r.form) {
    case Rule::Form::julian_no_leap:
      day = jan1 + r.day - 1 + (chr::year{year}.is_leap() && r.day >= 60 ? 1 : 0);
      break;
    case Rule::Form::zero_based:
      day = jan1 + r.day;
      break;
    case Rule::Form::month_week_day: {
      const std::int64_t first = days_from_civil(year, r.month, 1);
      const auto first_weekday =
          static_cast<int>(chr::weekday{to_sys_days(first)}.c_encoding());  // 0 = Sunday
      day = first + (r.weekday - first_weekday + 7) % 7 + 7 * (r.week - 1);
      const auto last = static_cast<unsigned>(chr::year_month_day_last{
          chr::year{year} / chr::month{static_cast<unsigned>(r.month)} / chr::last}
                                                  .day());
      if (day >= first + last) day -= 7;  // week 5 = the last, in a month with four
      break;
    }
  }
  // The rule's time is on the clock in force before the change.
  const std::int64_t offset_before_ms = to_dst ? std_offset_ms_ : dst_offset_ms_;
  return {day * kMsPerDay + r.time_ms - offset_before_ms, year, to_dst};
}

std::int64_t TimeZone::offset_at(std::int64_t utc_ms) const {
  if (!has_dst_) return std_offset_ms_;
  // A year's transitions fall within ten days of it (day 0..365, a time up to
  // 167 h, an offset up to 25 h), so those of the years around decide, and
  // the two of two years back are always in the past.
  const int year = year_of_days(floor_div(utc_ms, kMsPerDay));
  std::optional<Transition> last;
  for (int y = year - 2; y <= year + 1; ++y) {
    for (const bool to_dst : {true, false}) {
      const Transition t = transition(y, to_dst);
      if (t.utc_ms <= utc_ms && (!last || last->comes_before(t))) last = t;
    }
  }
  assert(last.has_value());
  return last->to_dst ? dst_offset_ms_ : std_offset_ms_;
}

std::int64_t TimeZone::offset_ms(std::int64_t utc_ms) const {
  return offset_at(clamp_instant(utc_ms));
}

TimeZone::LocalTime TimeZone::local(std::int64_t utc_ms) const {
  const std::int64_t utc = clamp_instant(utc_ms);
  const std::int64_t local_ms = utc + offset_at(utc);
  const std::int64_t day = floor_div(local_ms, kMsPerDay);
  const std::int64_t second_of_day = (local_ms - day * kMsPerDay) / kMsPerSecond;
  const chr::year_month_day date = civil_from_days(day);
  return {static_cast<int>(date.year()),
          static_cast<int>(static_cast<unsigned>(date.month())),
          static_cast<int>(static_cast<unsigned>(date.day())),
          static_cast<int>(second_of_day / 3600),
          static_cast<int>(second_of_day / 60 % 60),
          static_cast<int>(second_of_day % 60)};
}

// ---------------------------------------------------------------------------
// Days, months and years

// The first instant t whose local time t + offset_at(t) reaches 00:00 of
// local_day. At that instant either the clock passes midnight (so t is
// midnight less one of the two offsets) or a change moves it past midnight
// (t is a transition): the earliest of those candidates that qualifies.
std::int64_t TimeZone::first_instant_of_local_day(std::int64_t local_day) const {
  const std::int64_t midnight_ms = local_day * kMsPerDay;
  if (!has_dst_) return midnight_ms - std_offset_ms_;
  const auto reaches_midnight = [&](std::int64_t t) { return t + offset_at(t) >= midnight_ms; };
  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  for (const std::int64_t offset : {std_offset_ms_, dst_offset_ms_}) {
    const std::int64_t t = midnight_ms - offset;
    if (t < first && reaches_midnight(t)) first = t;
  }
  // The answer lies within a day of midnight, so only transitions of the
  // rule years around it can be it.
  const int year = year_of_days(local_day);
  for (int y = year - 2; y <= year + 2; ++y) {
    for (const bool to_dst : {true, false}) {
      const std::int64_t t = transition(y, to_dst).utc_ms;
      if (t < first && t >= midnight_ms - kMaxOffsetInForceMs && reaches_midnight(t)) first = t;
    }
  }
  assert(first != std::numeric_limits<std::int64_t>::max());
  return first;
}

TimeZone::Bounds TimeZone::bounds(std::int64_t utc_ms, Unit unit) const {
  const std::int64_t utc = clamp_instant(utc_ms);
  const std::int64_t local_day = floor_div(utc + offset_at(utc), kMsPerDay);
  const chr::year_month_day date = civil_from_days(local_day);
  const auto first_day_of_next = [unit](std::int64_t first_day) -> std::int64_t {
    const chr::year_month_day d = civil_from_days(first_day);
    switch (unit) {
      case Unit::day:
        return first_day + 1;
      case Unit::month:
        return days_of(chr::sys_days{d + chr::months{1}});
      case Unit::year:
        return days_of(chr::sys_days{d + chr::years{1}});
    }
    return first_day + 1;
  };
  std::int64_t first_day = local_day;
  if (unit == Unit::month) first_day = days_of(chr::sys_days{date.year() / date.month() / 1});
  if (unit == Unit::year) first_day = days_of(chr::sys_days{date.year() / 1 / 1});

  Bounds b{first_instant_of_local_day(first_day),
           first_instant_of_local_day(first_day_of_next(first_day))};
  // Where midnight repeats, the instants after the first midnight whose local
  // date is still the old day belong to the new period (see the header).
  while (utc >= b.end_ms) {
    first_day = first_day_of_next(first_day);
    b = {b.end_ms, first_instant_of_local_day(first_day_of_next(first_day))};
  }
  assert(b.start_ms <= utc && utc < b.end_ms);
  return b;
}

std::int64_t TimeZone::period_start_ms(std::int64_t utc_ms, Period period) const {
  return bounds(utc_ms, period == Period::month ? Unit::month : Unit::year).start_ms;
}

std::int64_t TimeZone::period_end_ms(std::int64_t utc_ms, Period period) const {
  return bounds(utc_ms, period == Period::month ? Unit::month : Unit::year).end_ms;
}

std::int64_t TimeZone::local_day_start_ms(std::int64_t utc_ms) const {
  return bounds(utc_ms, Unit::day).start_ms;
}

}  // namespace refpos
