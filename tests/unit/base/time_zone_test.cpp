// Tests of base/time_zone.cpp: POSIX TZ strings against facts known without
// the code under test (published daylight-time dates for 2026, calendar
// facts), the day/month/year boundaries where clocks skip or repeat
// midnight, the grammar's edges and its refusals.
//
// Expected instants are literals in UTC ("2026-03-08 07:00"), turned into
// Unix milliseconds by std::chrono's calendar, not by TimeZone. They were
// also checked against glibc (TZ=... with localtime_r) where glibc applies
// the rule (1970 on, and not where a year's changes cross the new year in
// UTC, which glibc computes from the wrong year's rule).
#include "base/time_zone.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

using refpos::ErrorKind;
using refpos::kMaxTimeZoneBytes;
using refpos::Period;
using refpos::TimeZone;

constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kMinute = 60'000;

// The example zones of the brief, plus two real ones whose changes happen at
// midnight: Chile (skips 00:00 in September) and Cuba (repeats 00:00-01:00
// on the first of November).
constexpr std::string_view kNewYork = "EST5EDT,M3.2.0,M11.1.0";
constexpr std::string_view kBerlin = "CET-1CEST,M3.5.0,M10.5.0/3";
constexpr std::string_view kSydney = "AEST-10AEDT,M10.1.0,M4.1.0/3";
constexpr std::string_view kAuckland = "NZST-12NZDT,M9.5.0,M4.1.0/3";
constexpr std::string_view kIndia = "IST-5:30";
constexpr std::string_view kNuuk = "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1";
constexpr std::string_view kSantiago = "<-04>4<-03>,M9.1.6/24,M4.1.6/24";
constexpr std::string_view kHavana = "CST5CDT,M3.2.0/0,M11.1.0/1";

// Unix ms of "YYYY-MM-DD HH:MM" in UTC.
std::int64_t utc(std::string_view text) {
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  REQUIRE(std::sscanf(std::string(text).c_str(), "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi) == 5);
  using namespace std::chrono;
  const sys_days date{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}};
  return static_cast<std::int64_t>(date.time_since_epoch().count()) * 24 * kHour + h * kHour +
         mi * kMinute;
}

std::string text(const TimeZone::LocalTime& t) {
  char out[32];
  std::snprintf(out, sizeof out, "%04d-%02d-%02d %02d:%02d:%02d", t.year, t.month, t.day, t.hour,
                t.minute, t.second);
  return out;
}

TimeZone zone(std::string_view posix_tz) {
  auto parsed = TimeZone::parse(posix_tz);
  INFO(posix_tz);
  REQUIRE_MESSAGE(parsed.ok(), parsed.error().describe());
  return *parsed;
}

}  // namespace

TEST_CASE("time zone: the test's own UTC helper agrees with a known instant") {
  CHECK(utc("2026-01-01 00:00") == 1'767'225'600'000);
  CHECK(utc("1970-01-01 00:00") == 0);
  CHECK(utc("0001-01-01 00:00") == refpos::kMinTimeZoneUtcMs);
  CHECK(utc("9999-12-31 23:59") + 59'999 == refpos::kMaxTimeZoneUtcMs);
}

TEST_CASE("time zone: the ends of the supported range, years 1 and 9999") {
  const TimeZone ny = zone(kNewYork);
  CHECK(text(ny.local(refpos::kMinTimeZoneUtcMs)) == "0000-12-31 19:00:00");
  CHECK(text(ny.local(refpos::kMaxTimeZoneUtcMs)) == "9999-12-31 18:59:59");
  CHECK(ny.period_end_ms(refpos::kMaxTimeZoneUtcMs, Period::year) == utc("10000-01-01 05:00"));
  CHECK(ny.period_start_ms(refpos::kMinTimeZoneUtcMs, Period::month) == utc("0000-12-01 05:00"));
}

TEST_CASE("time zone: fixed offsets, with POSIX's west-positive signs turned around") {
  struct Case {
    std::string_view tz;
    const char* at;
    std::int64_t offset_ms;
    const char* local;
  };
  const std::vector<Case> cases = {
      {"UTC0", "2026-07-01 12:00", 0, "2026-07-01 12:00:00"},
      {kIndia, "2026-01-15 20:00", 5 * kHour + 30 * kMinute, "2026-01-16 01:30:00"},
      {kIndia, "2026-07-15 20:00", 5 * kHour + 30 * kMinute, "2026-07-16 01:30:00"},
      {"<+0530>-5:30", "2026-01-15 20:00", 5 * kHour + 30 * kMinute, "2026-01-16 01:30:00"},
      {"<+0545>-5:45", "2026-01-15 00:00", 5 * kHour + 45 * kMinute, "2026-01-15 05:45:00"},
      {"EST5", "2026-07-01 12:00", -5 * kHour, "2026-07-01 07:00:00"},
      {"<-03>+3", "2026-07-01 02:00", -3 * kHour, "2026-06-30 23:00:00"},
      {"<+14>-14", "2026-12-31 10:00", 14 * kHour, "2027-01-01 00:00:00"},
      {"<-12>12", "2026-01-01 11:59", -12 * kHour, "2025-12-31 23:59:00"},
      {"AAA-1:02:03", "2026-01-01 00:00", kHour + 2 * kMinute + 3'000, "2026-01-01 01:02:03"},
  };
  for (const auto& c : cases) {
    INFO(c.tz, " at ", c.at);
    const TimeZone tz = zone(c.tz);
    CHECK(tz.offset_ms(utc(c.at)) == c.offset_ms);
    CHECK(text(tz.local(utc(c.at))) == c.local);
  }
  const TimeZone u = TimeZone::utc();
  CHECK(u.text() == "UTC0");
  CHECK(u.offset_ms(utc("2026-07-01 12:00")) == 0);
  CHECK(text(u.local(utc("2028-02-29 23:59") + 59'999)) == "2028-02-29 23:59:59");
}

TEST_CASE("time zone: each 2026 change, one ms before it and at it") {
  struct Case {
    std::string_view tz;
    const char* change;  // UTC
    std::int64_t before_ms;
    std::int64_t after_ms;
    const char* local_before;  // wall clock one ms before (ms dropped)
    const char* local_after;
  };
  const std::vector<Case> cases = {
      // United States: second Sunday of March, first Sunday of November, 02:00.
      {kNewYork, "2026-03-08 07:00", -5 * kHour, -4 * kHour, "2026-03-08 01:59:59",
       "2026-03-08 03:00:00"},
      {kNewYork, "2026-11-01 06:00", -4 * kHour, -5 * kHour, "2026-11-01 01:59:59",
       "2026-11-01 01:00:00"},
      // European Union: last Sunday of March and of October, 01:00 UTC.
      {kBerlin, "2026-03-29 01:00", 1 * kHour, 2 * kHour, "2026-03-29 01:59:59",
       "2026-03-29 03:00:00"},
      {kBerlin, "2026-10-25 01:00", 2 * kHour, 1 * kHour, "2026-10-25 02:59:59",
       "2026-10-25 02:00:00"},
      // New South Wales: ends first Sunday of April 03:00, starts first Sunday of October.
      {kSydney, "2026-04-04 16:00", 11 * kHour, 10 * kHour, "2026-04-05 02:59:59",
       "2026-04-05 02:00:00"},
      {kSydney, "2026-10-03 16:00", 10 * kHour, 11 * kHour, "2026-10-04 01:59:59",
       "2026-10-04 03:00:00"},
      // New Zealand: ends first Sunday of April 03:00, starts last Sunday of September.
      {kAuckland, "2026-04-04 14:00", 13 * kHour, 12 * kHour, "2026-04-05 02:59:59",
       "2026-04-05 02:00:00"},
      {kAuckland, "2026-09-26 14:00", 12 * kHour, 13 * kHour, "2026-09-27 01:59:59",
       "2026-09-27 03:00:00"},
      // Greenland keeps the EU's instants with negative local times (-2:00, -1:00).
      {kNuuk, "2026-03-29 01:00", -3 * kHour, -2 * kHour, "2026-03-28 21:59:59",
       "2026-03-28 23:00:00"},
      {kNuuk, "2026-10-25 01:00", -2 * kHour, -3 * kHour, "2026-10-24 22:59:59",
       "2026-10-24 22:00:00"},
      // Chile: at 24:00 on the first Saturday of April and of September.
      {kSantiago, "2026-04-05 03:00", -3 * kHour, -4 * kHour, "2026-04-04 23:59:59",
       "2026-04-04 23:00:00"},
      {kSantiago, "2026-09-06 04:00", -4 * kHour, -3 * kHour, "2026-09-05 23:59:59",
       "2026-09-06 01:00:00"},
      // Cuba: second Sunday of March at 00:00, first Sunday of November at 01:00.
      {kHavana, "2026-03-08 05:00", -5 * kHour, -4 * kHour, "2026-03-07 23:59:59",
       "2026-03-08 01:00:00"},
      {kHavana, "2026-11-01 05:00", -4 * kHour, -5 * kHour, "2026-11-01 00:59:59",
       "2026-11-01 00:00:00"},
      // Hours past 24 and below 0 (RFC 8536): 167 h after the last Sunday of
      // March 00:00 is Saturday April 4 23:00; 167 h before October 25 00:00
      // (on daylight time, UTC+1) is October 18 00:00 UTC.
      {"AAA0BBB,M3.5.0/167,M10.5.0/-167", "2026-04-04 23:00", 0, kHour, "2026-04-04 22:59:59",
       "2026-04-05 00:00:00"},
      {"AAA0BBB,M3.5.0/167,M10.5.0/-167", "2026-10-18 00:00", kHour, 0, "2026-10-18 00:59:59",
       "2026-10-18 00:00:00"},
      // 2200, the far end of the range this module promises: March 9 and November 2.
      {kNewYork, "2200-03-09 07:00", -5 * kHour, -4 * kHour, "2200-03-09 01:59:59",
       "2200-03-09 03:00:00"},
      {kNewYork, "2200-11-02 06:00", -4 * kHour, -5 * kHour, "2200-11-02 01:59:59",
       "2200-11-02 01:00:00"},
  };
  for (const auto& c : cases) {
    INFO(c.tz, " changing at ", c.change);
    const TimeZone tz = zone(c.tz);
    const std::int64_t at = utc(c.change);
    CHECK(tz.offset_ms(at - 1) == c.before_ms);
    CHECK(tz.offset_ms(at) == c.after_ms);
    CHECK(text(tz.local(at - 1)) == c.local_before);
    CHECK(text(tz.local(at)) == c.local_after);
  }
}

TEST_CASE("time zone: leap years and the Jn / n day forms") {
  struct Case {
    std::string_view tz;
    const char* change;  // the start of daylight time (UTC+0 -> UTC+1)
  };
  const std::vector<Case> starts = {
      // Jn never counts February 29: J60 is March 1 in every year, J59 February 28.
      {"AAA0BBB,J60/0,J365/0", "2027-03-01 00:00"},
      {"AAA0BBB,J60/0,J365/0", "2028-03-01 00:00"},
      {"AAA0BBB,J59/0,J365/0", "2028-02-28 00:00"},
      // n counts from 0 and counts February 29: 59 is March 1, or February 29 in a leap year.
      {"AAA0BBB,59/0,365/0", "2027-03-01 00:00"},
      {"AAA0BBB,59/0,365/0", "2028-02-29 00:00"},
      {"AAA0BBB,0/0,365/0", "2028-01-01 00:00"},
  };
  for (const auto& c : starts) {
    INFO(c.tz, " starting at ", c.change);
    const TimeZone tz = zone(c.tz);
    CHECK(tz.offset_ms(utc(c.change) - 1) == 0);
    CHECK(tz.offset_ms(utc(c.change)) == kHour);
  }
  // The end, at 00:00 daylight time (23:00 UTC the day before): J365 is
  // December 31; 365 is December 31 in a leap year and January 1 of the next
  // year otherwise.
  const std::vector<Case> ends = {
      {"AAA0BBB,J60/0,J365/0", "2027-12-30 23:00"},
      {"AAA0BBB,J60/0,J365/0", "2028-12-30 23:00"},
      {"AAA0BBB,59/0,365/0", "2027-12-31 23:00"},
      {"AAA0BBB,59/0,365/0", "2028-12-30 23:00"},
  };
  for (const auto& c : ends) {
    INFO(c.tz, " ending at ", c.change);
    const TimeZone tz = zone(c.tz);
    CHECK(tz.offset_ms(utc(c.change) - 1) == kHour);
    CHECK(tz.offset_ms(utc(c.change)) == 0);
  }
  // February 29, 2028 as a local day and as part of a local month.
  const TimeZone india = zone(kIndia);
  CHECK(text(india.local(utc("2028-02-28 20:00"))) == "2028-02-29 01:30:00");
  CHECK(india.local_day_start_ms(utc("2028-02-29 12:00")) == utc("2028-02-28 18:30"));
  CHECK(india.period_end_ms(utc("2028-02-29 12:00"), Period::month) == utc("2028-02-29 18:30"));
  CHECK(zone("UTC0").period_end_ms(utc("2028-02-10 00:00"), Period::month) ==
        utc("2028-03-01 00:00"));
  CHECK(zone("UTC0").period_end_ms(utc("2027-02-10 00:00"), Period::month) ==
        utc("2027-03-01 00:00"));
}

TEST_CASE("time zone: month and year periods start at local midnight of the first") {
  struct Case {
    std::string_view tz;
    const char* at;
    std::int64_t plus_ms;
    Period period;
    const char* start;
    const char* end;
  };
  const std::vector<Case> cases = {
      // March starts on standard time (UTC-5) and ends on daylight time (UTC-4).
      {kNewYork, "2026-03-15 12:00", 0, Period::month, "2026-03-01 05:00", "2026-04-01 04:00"},
      // November 1 starts at 00:00 EDT: the change comes two hours later.
      {kNewYork, "2026-11-15 12:00", 0, Period::month, "2026-11-01 04:00", "2026-12-01 05:00"},
      // Edges: the last ms of February, the first of March.
      {kNewYork, "2026-03-01 05:00", -1, Period::month, "2026-02-01 05:00", "2026-03-01 05:00"},
      {kNewYork, "2026-03-01 05:00", 0, Period::month, "2026-03-01 05:00", "2026-04-01 04:00"},
      {kNewYork, "2026-06-01 00:00", 0, Period::year, "2026-01-01 05:00", "2027-01-01 05:00"},
      // Sydney's new year is on daylight time: 2027-01-01 00:00 AEDT.
      {kSydney, "2027-06-01 00:00", 0, Period::year, "2026-12-31 13:00", "2027-12-31 13:00"},
      {kSydney, "2026-12-31 13:00", -1, Period::year, "2025-12-31 13:00", "2026-12-31 13:00"},
      {kSydney, "2026-12-31 13:00", 0, Period::year, "2026-12-31 13:00", "2027-12-31 13:00"},
      // April starts on AEDT (the change is April 5) and May on AEST.
      {kSydney, "2026-04-10 00:00", 0, Period::month, "2026-03-31 13:00", "2026-04-30 14:00"},
      {kAuckland, "2027-03-01 00:00", 0, Period::year, "2026-12-31 11:00", "2027-12-31 11:00"},
      {kBerlin, "2026-10-10 00:00", 0, Period::month, "2026-09-30 22:00", "2026-10-31 23:00"},
      {kIndia, "2026-02-10 00:00", 0, Period::month, "2026-01-31 18:30", "2026-02-28 18:30"},
      {kIndia, "2028-05-01 00:00", 0, Period::year, "2027-12-31 18:30", "2028-12-31 18:30"},
      {kSantiago, "2026-09-10 00:00", 0, Period::month, "2026-09-01 04:00", "2026-10-01 03:00"},
      // Cuba repeats 00:00-01:00 on November 1: the month starts at the first
      // midnight (CDT), and the repeated hour is inside it.
      {kHavana, "2026-10-31 12:00", 0, Period::month, "2026-10-01 04:00", "2026-11-01 04:00"},
      {kHavana, "2026-11-01 05:30", 0, Period::month, "2026-11-01 04:00", "2026-12-01 05:00"},
      {"UTC0", "2026-12-31 23:59", 59'999, Period::year, "2026-01-01 00:00", "2027-01-01 00:00"},
      {kNewYork, "2200-12-31 12:00", 0, Period::month, "2200-12-01 05:00", "2201-01-01 05:00"},
      {kNewYork, "1970-01-01 00:00", 0, Period::year, "1969-01-01 05:00", "1970-01-01 05:00"},
  };
  for (const auto& c : cases) {
    INFO(c.tz, " at ", c.at, " + ", c.plus_ms, " ms, ",
         c.period == Period::month ? "month" : "year");
    const TimeZone tz = zone(c.tz);
    const std::int64_t at = utc(c.at) + c.plus_ms;
    CHECK(tz.period_start_ms(at, c.period) == utc(c.start));
    CHECK(tz.period_end_ms(at, c.period) == utc(c.end));
  }
}

TEST_CASE(
    "time zone: a day starts at the first instant of its date where midnight is skipped "
    "or repeated") {
  // Chile skips from 2026-09-05 23:59:59 to 09-06 01:00: September 6 starts at 01:00 local.
  const TimeZone santiago = zone(kSantiago);
  CHECK(santiago.local_day_start_ms(utc("2026-09-06 12:00")) == utc("2026-09-06 04:00"));
  CHECK(santiago.local_day_start_ms(utc("2026-09-06 04:00") - 1) == utc("2026-09-05 04:00"));
  // In April it repeats 23:00-24:00 of the Saturday: the Sunday starts after both.
  CHECK(santiago.local_day_start_ms(utc("2026-04-05 03:30")) == utc("2026-04-04 03:00"));
  CHECK(santiago.local_day_start_ms(utc("2026-04-05 04:00")) == utc("2026-04-05 04:00"));

  // Cuba skips 00:00-01:00 on March 8 and repeats it on November 1.
  const TimeZone havana = zone(kHavana);
  CHECK(havana.local_day_start_ms(utc("2026-03-08 12:00")) == utc("2026-03-08 05:00"));
  CHECK(text(havana.local(utc("2026-03-08 05:00"))) == "2026-03-08 01:00:00");
  CHECK(havana.local_day_start_ms(utc("2026-11-01 05:30")) == utc("2026-11-01 04:00"));

  // A change that repeats the half hour before midnight at the end of a
  // month (ends April 1 00:30 at UTC-3, back to March 31 23:30 at UTC-4):
  // April starts at the first midnight, so periods never overlap, and the
  // repeated half hour counts in April although its wall clock says March 31.
  const TimeZone repeat = zone("<-04>4<-03>,J244/0,J91/0:30");
  const std::int64_t in_repeat = utc("2026-04-01 03:45");
  CHECK(text(repeat.local(in_repeat)) == "2026-03-31 23:45:00");
  CHECK(repeat.period_start_ms(in_repeat, Period::month) == utc("2026-04-01 03:00"));
  CHECK(repeat.local_day_start_ms(in_repeat) == utc("2026-04-01 03:00"));
  CHECK(repeat.period_end_ms(utc("2026-03-15 00:00"), Period::month) == utc("2026-04-01 03:00"));
  // ... and September 1 starts at 01:00, where the skip lands.
  CHECK(repeat.period_start_ms(utc("2026-09-15 00:00"), Period::month) == utc("2026-09-01 04:00"));
  CHECK(text(repeat.local(utc("2026-09-01 04:00"))) == "2026-09-01 01:00:00");
}

TEST_CASE("time zone: daylight time all year (RFC 8536) and history before 1970") {
  // Starts January 1 00:00 and ends December 31 25:00 daylight time, which is
  // when the next year's starts: UTC-4 throughout, new year's night included.
  const TimeZone always = zone("EST5EDT4,0/0,J365/25");
  for (const char* at : {"2026-01-01 00:00", "2026-01-01 04:59", "2026-01-01 05:00",
                         "2026-06-01 00:00", "2026-12-31 23:59", "2028-02-29 12:00"}) {
    INFO(at);
    CHECK(always.offset_ms(utc(at)) == -4 * kHour);
  }
  CHECK(always.period_start_ms(utc("2026-01-15 00:00"), Period::month) == utc("2026-01-01 04:00"));

  // Rules apply to every year: Apollo 11 landed 1969-07-20 20:17:40 UTC,
  // 16:17:40 EDT. (Ms before 1970 are negative: the division must floor.)
  const TimeZone ny = zone(kNewYork);
  CHECK(text(ny.local(utc("1969-07-20 20:17") + 40'000)) == "1969-07-20 16:17:40");
  CHECK(text(ny.local(-1)) == "1969-12-31 18:59:59");
  CHECK(ny.local_day_start_ms(-1) == utc("1969-12-31 05:00"));
}

TEST_CASE("time zone: periods tile time: start <= t < end, and end is the next start") {
  for (const std::string_view tz_text :
       {kNewYork, kBerlin, kSydney, kAuckland, kIndia, kNuuk, kSantiago, kHavana,
        std::string_view("<-04>4<-03>,J244/0,J91/0:30"), std::string_view("UTC0")}) {
    const TimeZone tz = zone(tz_text);
    int failures = 0;
    // Every 7 hours and 1 ms through 2026 and into 2027.
    for (std::int64_t t = utc("2026-01-01 00:00"); t < utc("2027-02-01 00:00");
         t += 7 * kHour + 1) {
      for (const Period p : {Period::month, Period::year}) {
        const std::int64_t start = tz.period_start_ms(t, p);
        const std::int64_t end = tz.period_end_ms(t, p);
        const bool ok = start <= t && t < end && tz.period_start_ms(end, p) == end &&
                        tz.period_end_ms(start, p) == end &&
                        tz.period_start_ms(end - 1, p) == start && tz.local(start).day == 1 &&
                        (p == Period::month || tz.local(start).month == 1);
        if (!ok && ++failures <= 3) FAIL_CHECK(tz_text, " at ", t);
      }
      const std::int64_t day = tz.local_day_start_ms(t);
      if ((day > t || t - day > 25 * kHour) && ++failures <= 3) FAIL_CHECK(tz_text, " day at ", t);
    }
    CHECK_MESSAGE(failures == 0, tz_text);
  }
}

TEST_CASE("time zone: strings outside the grammar are refused, naming the character") {
  struct Case {
    std::string input;
    const char* message;  // a part of the message
  };
  const std::vector<Case> cases = {
      {"", "must not be empty"},
      {"EST",
       "at character 4: expected the UTC offset of \"EST\" (such as 5, -1 or -5:30), got "
       "the end of the text"},
      {"EST5EDT,M13.1.0,M11.1.0",
       "at character 10: the month (Mm.w.d) of the start of daylight time must be 1 to 12, got 13"},
      {"EST5EDT,M3.6.0,M11.1.0",
       "at character 12: the week (Mm.w.d, 5 = last) of the start of daylight time must be 1 to 5, "
       "got 6"},
      {"EST5EDT,M3.2.7,M11.1.0", "at character 14: the weekday (Mm.w.d, 0 = Sunday)"},
      {"EST5EDT,M3.0.0,M11.1.0", "must be 1 to 5, got 0"},
      {"EST25", "at character 4: the UTC offset of \"EST\" must be 0 to 24, got 25"},
      {"EST24:01", "at character 4: the UTC offset of \"EST\" must be at most 24 hours"},
      {"EST5EDT-24:00:01,M3.2.0,M11.1.0",
       "at character 8: the UTC offset of \"EDT\" must be at "
       "most 24 hours"},
      {"EST5:60", "the minutes of the UTC offset of \"EST\" must be 0 to 59, got 60"},
      {"EST5:3", "at character 6: the minutes of the UTC offset of \"EST\" needs 2 digits, got 1"},
      {"EST5EDT,M3.2.0,M11.1.0x", "at character 23: expected the end of the text, got \"x\""},
      {"EST5EDT,M3.2.0,M11.1.0,", "at character 23: expected the end of the text, got \",\""},
      {"UTC0 ",
       "at character 5: expected a daylight-time name or the end of the text, got a space"},
      {"<+0530-5:30",
       "at character 1: \"<\" opens a quoted standard-time name that no \">\" closes"},
      {"<+05 30>-5:30", "at character 5: expected a letter, digit, \"+\", \"-\" or the closing"},
      {"<AB>5", "at character 1: a standard-time name needs at least 3 characters, got \"AB\""},
      {"ES5", "a standard-time name needs at least 3 characters, got \"ES\""},
      {"5EST", "at character 1: expected a standard-time name"},
      {"EST5EDT", "at character 8: daylight time \"EDT\" needs its rule"},
      {"EST5EDT,M3.2.0", "at character 15: expected \",\" and the end of daylight time"},
      {"EST5EDT;M3.2.0,M11.1.0", "at character 8: expected \",\" and the start of daylight time"},
      {"EST5EDT,J0,M11.1.0", "the day (Jn) of the start of daylight time must be 1 to 365, got 0"},
      {"EST5EDT,J366,M11.1.0", "must be 1 to 365, got 366"},
      {"EST5EDT,366,M11.1.0",
       "the day (n) of the start of daylight time must be 0 to 365, got 366"},
      {"EST5EDT,M3.2.0/168,M11.1.0",
       "the time of the start of daylight time must be 0 to 167, got "
       "168"},
      {"EST5EDT,M3.2.0,M11.1.0/2:00:60", "the seconds of the time of the end of daylight time"},
      {"EST5EDT,M3.2.0,M11.1.10", "has more than 1 digit"},
      {"EST5EDT,X3.2.0,M11.1.0",
       "expected the start of daylight time (Mm.w.d, Jn or n), got \"X\""},
      {"EST+-5", "at character 5: expected the UTC offset of \"EST\""},
      {"America/New_York", "a tz database name such as America/New_York needs a database"},
      {":America/New_York", "at character 1: \":\" names a tz database file"},
      {"\xC3\x89ST5",
       "at character 1: expected a standard-time name (3 or more letters, or <...>), "
       "got byte 0xC3"},
      {std::string(kMaxTimeZoneBytes + 1, 'A'), "is 65 bytes long; at most 64 are allowed"},
  };
  for (const auto& c : cases) {
    INFO(c.input);
    const auto parsed = TimeZone::parse(c.input);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind == ErrorKind::config);
    CHECK(parsed.error().field == "time_zone");
    const std::string& message = parsed.error().message;
    CHECK_MESSAGE(message.find(c.message) != std::string::npos, message);
  }
}

TEST_CASE("time zone: the length limit's edge, and text() returns the input") {
  // "<" + 61 letters + ">0" is 64 bytes.
  const std::string longest = "<" + std::string(61, 'A') + ">0";
  REQUIRE(longest.size() == kMaxTimeZoneBytes);
  CHECK(zone(longest).text() == longest);
  CHECK_FALSE(TimeZone::parse(longest + "0").ok());

  for (const std::string_view ok : {kNewYork, kBerlin, kSydney, kAuckland, kIndia, kNuuk, kSantiago,
                                    kHavana, std::string_view("<+0530>-5:30"),
                                    std::string_view("EST+5EDT+4:00:00,J1/+0:00:00,J365/-23:59:59"),
                                    std::string_view("AAA-24BBB+24,M1.1.0/0,M12.5.6/167:59:59")}) {
    CHECK(zone(ok).text() == ok);
  }
}
