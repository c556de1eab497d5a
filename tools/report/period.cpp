// A report's period: two local dates, [from, to), turned into Unix ms with
// the store's POSIX TZ (plugin/src/base/time_zone.hpp: no tz database).
#include <charconv>
#include <chrono>

#include "base/time_zone.hpp"
#include "report.hpp"

namespace refpos::report {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kHalfDayMs = kDayMs / 2;

Result<std::chrono::sys_days> parse_date(std::string_view text, const char* field) {
  const auto bad = [&] {
    return make_error(
        ErrorKind::bad_request, field,
        "must be a date YYYY-MM-DD, 1970 or later, got \"" + std::string(text) + "\"");
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  const auto number = [&](std::size_t at, std::size_t len, auto& out) {
    for (std::size_t i = at; i < at + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
    }
    const auto r = std::from_chars(text.data() + at, text.data() + at + len, out);
    return r.ec == std::errc();
  };
  if (!number(0, 4, y) || !number(5, 2, m) || !number(8, 2, d)) return bad();
  const std::chrono::year_month_day date{std::chrono::year{y}, std::chrono::month{m},
                                         std::chrono::day{d}};
  if (!date.ok() || y < 1970) return bad();
  return std::chrono::sys_days(date);
}

// The instant `date`'s local day starts: from local noon of that date (well
// inside the day whatever the offset), back to where the day begins.
std::int64_t local_midnight_ms(const TimeZone& zone, std::chrono::sys_days date) {
  const std::int64_t utc_noon = std::int64_t{date.time_since_epoch().count()} * kDayMs + kHalfDayMs;
  const std::int64_t local_noon = utc_noon - zone.offset_ms(utc_noon);
  return zone.local_day_start_ms(local_noon);
}

}  // namespace

Result<Period> parse_period(std::string_view from_date, std::string_view to_date,
                            std::string_view time_zone) {
  auto from = parse_date(from_date, "from");
  if (!from) return from.error();
  auto to = parse_date(to_date, "to");
  if (!to) return to.error();
  if (*to < *from) {
    return make_error(
        ErrorKind::bad_request, "to",
        "the period is reversed: " + std::string(to_date) + " is before " + std::string(from_date));
  }
  if (*to == *from) {
    return make_error(ErrorKind::bad_request, "to",
                      "the period is empty: it runs from " + std::string(from_date) +
                          " up to (not including) the same day; use the next day as --to");
  }
  if ((*to - *from).count() > kPeriodDaysMax) {
    return make_error(ErrorKind::bad_request, "to",
                      "the period is longer than " + std::to_string(kPeriodDaysMax) + " days");
  }
  auto zone = time_zone.empty() ? Result<TimeZone>(TimeZone::utc()) : TimeZone::parse(time_zone);
  if (!zone) return make_error(ErrorKind::bad_request, "tz", zone.error().message);
  Period p;
  p.from_date = std::string(from_date);
  p.to_date = std::string(to_date);
  p.time_zone = zone->text();
  p.from_ms = local_midnight_ms(*zone, *from);
  p.to_ms = local_midnight_ms(*zone, *to);
  return p;
}

}  // namespace refpos::report
