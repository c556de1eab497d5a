// TimeZone: a store's local time from a POSIX TZ string, without a tz
// database.
//
// Referral limits count "per month" or "per year" in the store's own time
// zone. POS terminals often carry no tz database (and GCC 12 has no
// std::chrono::tzdb), so a store configures its zone as the rule itself, the
// way glibc's TZ variable does (IEEE 1003.1, section 8.3, with the RFC 8536
// extensions):
//
//   std offset [dst [offset] ,start[/time],end[/time]]
//
//   std, dst  3 or more ASCII letters ("EST"), or <...> holding 3 or more
//             letters, digits, '+' or '-' ("<+0530>").
//   offset    [+|-]hh[:mm[:ss]], hh 0..24, at most 24:00:00 in all. The time
//             to ADD to local time to get UTC: "EST5" is UTC-5, "CET-1" is
//             UTC+1. Without it, dst is one hour ahead of std.
//   start,end Jn (1..365, February 29 never counted: J60 is always March 1),
//             n (0..365, February 29 counted), or Mm.w.d (month 1..12, week
//             1..5 where 5 is the last, weekday 0..6 with 0 Sunday).
//   time      [+|-]hh[:mm[:ss]], hh 0..167, local time as it is just before
//             the change (std for start, dst for end); 02:00:00 if omitted.
//
// Examples: "UTC0", "IST-5:30", "<+0530>-5:30", "EST5EDT,M3.2.0,M11.1.0",
// "CET-1CEST,M3.5.0,M10.5.0/3", "AEST-10AEDT,M10.1.0,M4.1.0/3" (daylight
// time across the new year), "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1".
//
// Refused, with the character at fault: anything outside that grammar
// (spaces, digits in unquoted names, mm or ss other than two digits,
// ":America/New_York"), text over kMaxTimeZoneBytes, and a dst name without
// its rule. glibc would apply United States rules to "EST5EDT"; a guessed
// rule would be silently wrong for most stores, so refpos asks for it.
//
// Daylight time is in effect from the start instant (inclusive) to the end
// instant (exclusive) of each year's rule; when the end comes before the
// start in the year, daylight time spans the new year. A year whose rule
// starts on January 1 at 00:00 and ends when the next year's begins has
// daylight time all year (RFC 8536: "EST5EDT4,0/0,J365/25").
//
// Day, month and year boundaries: a local day starts at the first instant
// whose local date is that day or later. Where clocks skip over midnight the
// day starts when the skip ends ("<-04>4<-03>,M9.1.6/24,M4.1.6/24": Chile's
// September change day starts at 01:00); where midnight repeats it starts at
// the first midnight. An instant belongs to the last period whose start it
// has reached, so periods never overlap and never leave a gap: where clocks
// fall back across midnight, the repeated time before midnight counts in the
// new day, though its local() date still shows the old one.
//
// All arithmetic is on integers (std::chrono's civil calendar); nothing
// reads the machine's time zone, the TZ variable or libc's localtime.
// Instants are Unix milliseconds, from kMinTimeZoneUtcMs to kMaxTimeZoneUtcMs
// (years 1 to 9999); outside that range is a broken precondition (asserted,
// then clamped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace refpos {

// Longest POSIX TZ string accepted. Real ones are under 40 bytes.
inline constexpr std::size_t kMaxTimeZoneBytes = 64;
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.
inline constexpr std::int64_t kMinTimeZoneUtcMs = -62'135'596'800'000;
inline constexpr std::int64_t kMaxTimeZoneUtcMs = 253'402'300'799'999;

enum class Period { month, year };

class TimeZone {
 public:
  // Parses a POSIX TZ string (grammar above). Fails with ErrorKind::config,
  // field "time_zone", and a message naming the character at fault (counting
  // from 1) and what was expected there.
  static Result<TimeZone> parse(std::string_view posix_tz);
  // UTC itself ("UTC0").
  static TimeZone utc();

  // Milliseconds to add to UTC to get local time at that instant; east of
  // Greenwich is positive (New York in winter: -18'000'000).
  [[nodiscard]] std::int64_t offset_ms(std::int64_t utc_ms) const;

  struct LocalTime {
    int year;
    int month;  // 1..12
    int day;    // 1..31
    int hour;
    int minute;
    int second;
  };
  // The wall clock at that instant (milliseconds dropped).
  [[nodiscard]] LocalTime local(std::int64_t utc_ms) const;

  // The instant the local month or year holding utc_ms starts (see "Day,
  // month and year boundaries" above), and the instant the next one starts.
  // Always period_start_ms(t) <= t < period_end_ms(t), and
  // period_end_ms(t) == period_start_ms(period_end_ms(t)).
  [[nodiscard]] std::int64_t period_start_ms(std::int64_t utc_ms, Period period) const;
  [[nodiscard]] std::int64_t period_end_ms(std::int64_t utc_ms, Period period) const;
  // The instant the local day holding utc_ms starts.
  [[nodiscard]] std::int64_t local_day_start_ms(std::int64_t utc_ms) const;

  // The POSIX TZ string this zone was parsed from.
  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  // One end of daylight time in a year's rule: a day of the year and the
  // local time of day the change happens at.
  struct Rule {
    enum class Form { julian_no_leap, zero_based, month_week_day };
    Form form = Form::month_week_day;
    int day = 0;      // Jn: 1..365; n: 0..365
    int month = 0;    // Mm.w.d: 1..12
    int week = 0;     // 1..5, 5 = last
    int weekday = 0;  // 0..6, 0 = Sunday
    std::int64_t time_ms = 2 * 3'600'000;
  };
  enum class Unit { day, month, year };
  class Parser;
  struct Transition;
  struct Bounds {
    std::int64_t start_ms;
    std::int64_t end_ms;
  };

  TimeZone() = default;
  [[nodiscard]] Transition transition(int year, bool to_dst) const;
  [[nodiscard]] std::int64_t offset_at(std::int64_t utc_ms) const;
  [[nodiscard]] std::int64_t first_instant_of_local_day(std::int64_t local_day) const;
  [[nodiscard]] Bounds bounds(std::int64_t utc_ms, Unit unit) const;

  std::string text_ = "UTC0";
  std::int64_t std_offset_ms_ = 0;  // east positive, unlike the TZ string
  std::int64_t dst_offset_ms_ = 0;
  bool has_dst_ = false;
  Rule start_;  // std -> dst
  Rule end_;    // dst -> std
};

}  // namespace refpos
