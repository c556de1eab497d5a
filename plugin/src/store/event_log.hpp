// The event log: every fact the store learns, append-only, in a gap-free
// per-store sequence, each event chained to the one before by SHA-256 so the
// head office detects tampering and forks. Appended inside the caller's
// write transaction, together with the state the event changes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "store/database.hpp"

namespace refpos::store {

using Hash = std::array<std::uint8_t, 32>;

struct EventDraft {
  std::string_view type;       // e.g. "code_redeemed"
  nlohmann::json body;         // the facts; stored as canonical JSON
};

struct AppendedEvent {
  std::int64_t seq = 0;
  Hash hash{};
};

// The schema of the events table (with the triggers that refuse UPDATE,
// DELETE and any INSERT that is not the next sequence number).
extern const char* const kEventLogSchema;

// Appends one event after the current last one. Must run inside a
// WriteTransaction; a rollback takes the sequence number back with it.
Result<AppendedEvent> append_event(Database& db, std::string_view store_id,
                                   std::int64_t at_ms, std::int64_t ruleset_version,
                                   const EventDraft& event);

// Recomputes the chain from the genesis: "" if every hash and every seq is
// right, else a description of the first break.
Result<std::string> verify_event_chain(Database& db, std::string_view store_id);

// The chain hash of one event (exposed for tests and for the head office).
Hash event_hash(const Hash& prev, std::int64_t seq, std::string_view store_id,
                std::string_view type, std::int64_t at_ms, std::int64_t ruleset_version,
                std::string_view body);

// Number of events and the last sequence number (0 when empty).
Result<std::int64_t> last_event_seq(Database& db);

}  // namespace refpos::store
