#include <doctest/doctest.h>

#include <array>
#include <string>

#include "sync/sync.hpp"

using namespace refpos;

namespace {

wire::StoreConfig store(const std::string& id, const char* tz, int start_minute, int minutes) {
  wire::StoreConfig c;
  c.store_id = id;
  c.time_zone = *TimeZone::parse(tz);
  c.sync = wire::SyncConfig{};
  c.sync->window_start_minute = start_minute;
  c.sync->window_minutes = minutes;
  return c;
}

constexpr std::int64_t kMinute = 60'000;
// 2026-03-07T12:00:00Z, a Saturday; New York moves to daylight time on
// Sunday 2026-03-08 at 02:00 local.
constexpr std::int64_t kSaturdayNoonUtc = 1'772'884'800'000;

}  // namespace

TEST_CASE("sync schedule: a store's offset is fixed and inside its window") {
  CHECK(sync::window_offset_ms("store-001", 120) == sync::window_offset_ms("store-001", 120));
  CHECK(sync::window_offset_ms("store-001", 120) != sync::window_offset_ms("store-002", 120));
  for (int i = 0; i < 200; ++i) {
    const auto off = sync::window_offset_ms("store-" + std::to_string(i), 90);
    CHECK(off >= 0);
    CHECK(off < 90 * kMinute);
  }
}

TEST_CASE("sync schedule: a thousand stores spread over the whole window") {
  std::array<int, 12> buckets{};  // 10-minute slices of a 120-minute window
  for (int i = 0; i < 1000; ++i) {
    const auto off = sync::window_offset_ms("store-" + std::to_string(i), 120);
    buckets[static_cast<std::size_t>(off / (10 * kMinute))] += 1;
  }
  for (int n : buckets) {  // 83 expected per slice; far from all at once
    CHECK(n > 40);
    CHECK(n < 130);
  }
}

TEST_CASE("sync schedule: the next slot is after now, in the local window, also across DST") {
  const auto c = store("store-007", "EST5EDT,M3.2.0,M11.1.0", 2 * 60, 120);
  const std::int64_t offset = sync::window_offset_ms("store-007", 120);
  // Saturday noon New York time (17:00Z): next slot is Sunday 02:00 EST + offset,
  // local day start of Sunday = 05:00Z (still EST at midnight).
  const std::int64_t saturday_noon_ny = kSaturdayNoonUtc + 5 * 60 * kMinute;
  const std::int64_t sunday_midnight_utc = kSaturdayNoonUtc + 17 * 60 * kMinute;  // 2026-03-08T05:00Z
  const std::int64_t next = sync::next_sync_at_ms(c, saturday_noon_ny);
  CHECK(next == sunday_midnight_utc + 2 * 60 * kMinute + offset);
  // Asked again at that instant: the next night's slot, one local day later
  // (23 hours of UTC, the night clocks spring forward).
  const std::int64_t after = sync::next_sync_at_ms(c, next);
  CHECK(after == sunday_midnight_utc + 23 * 60 * kMinute + 2 * 60 * kMinute + offset);
  // Just before the slot, the slot itself.
  CHECK(sync::next_sync_at_ms(c, next - 1) == next);
}
