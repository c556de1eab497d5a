// Reading the event log of either kind of refpos file, shared by the report
// (engine.cpp) and the follow-up exports (exports.cpp): open read-only in
// one read transaction, tell the kind, list the stores, check a store id,
// then hand every event row to a visitor, each store's in seq order.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "report.hpp"
#include "sqlite_reader.hpp"

namespace refpos::report {

struct EventSource {
  std::unique_ptr<ReadOnlyDatabase> db;  // inside one read transaction
  SourceKind kind = SourceKind::store;
  std::vector<std::string> stores;  // head office: every store; a store file: its own id
};

// The file's kind from its schema; bad_request if it is neither.
Result<SourceKind> detect_kind(ReadOnlyDatabase& db);

// Opens `path` read-only and starts one read transaction, so that every
// later query sees one snapshot. Errors: storage (cannot open or read),
// bad_request (not a refpos file), not_found (`store_id` is not in the file).
Result<EventSource> open_event_source(const std::string& path,
                                      const std::optional<std::string>& store_id);

using EventVisitor = std::function<Status(const EventRow&)>;

// Every event with at_ms < before_ms (head office: ordered by store_id, seq;
// a store: by seq) to `visit`, stopping at its first error. `progress` (may
// be empty) gets (done, total) every kProgressEveryEvents events and at the end.
Status for_each_event(EventSource& source, const ProgressFn& progress, const EventVisitor& visit,
                      std::int64_t before_ms = std::numeric_limits<std::int64_t>::max());

}  // namespace refpos::report
