#include "hq/storage_reports.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace refpos::hq {
namespace {

// The stores of the snapshot, and a not_found for a store it does not hold.
Result<std::vector<std::string>> stores_in_scope(Storage& s,
                                                 const std::optional<std::string>& store_id) {
  auto stores = s.store_ids();
  if (!stores) return stores.error();
  if (!store_id) return stores;
  if (std::find(stores->begin(), stores->end(), *store_id) == stores->end()) {
    return make_error(ErrorKind::not_found, "store",
                      "head office holds no store \"" + *store_id + "\"; it holds " +
                          std::to_string(stores->size()) + " stores");
  }
  return std::vector<std::string>{*store_id};
}

// Every event before `before_ms` to `visit`, with build_report's progress:
// (done, total) every kProgressEveryEvents events and once at the end.
Status scan(Storage& s, std::int64_t before_ms, const report::ProgressFn& progress,
            const std::function<Status(const report::EventRow&)>& visit) {
  std::int64_t total = 0;
  std::int64_t done = 0;
  const auto counted = [&](std::int64_t n) { total = n; };
  auto st = s.scan_events(
      before_ms, progress ? std::function<void(std::int64_t)>(counted) : nullptr,
      [&](const EventView& e) -> Status {
        if (auto visited = visit({e.store_id, e.seq, e.type, e.at_ms, e.body}); !visited) {
          return visited;
        }
        if (++done % report::kProgressEveryEvents == 0 && progress) progress(done, total);
        return ok_status();
      });
  if (!st) return st;
  if (progress) progress(done, total);
  return ok_status();
}

}  // namespace

Result<report::Report> build_report_from(Storage& s, const report::ReportRequest& request) {
  std::optional<report::Report> built;
  const auto st = s.read_snapshot([&]() -> Status {
    auto stores = stores_in_scope(s, request.store_id);
    if (!stores) return stores.error();
    report::ReportFold fold(report::SourceKind::head_office, request.period, request.store_id,
                            std::move(*stores));
    if (auto scanned = scan(s, request.period.to_ms, request.progress,
                            [&](const report::EventRow& e) { return fold.add(e); });
        !scanned) {
      return scanned;
    }
    auto conflicts = s.all_conflicts();
    if (!conflicts) return conflicts.error();
    for (auto& c : *conflicts) {
      report::ConflictRow row{c.conflict_id, std::move(c.code), std::move(c.kind),
                              std::move(c.settlement), {}};
      for (auto& t : c.txns) row.txns.push_back({std::move(t.store_id), std::move(t.txn_id)});
      fold.add_conflict(std::move(row));
    }
    built = fold.finish();
    return ok_status();
  });
  if (!st) return st.error();
  return std::move(*built);
}

Result<report::Export> build_export_from(Storage& s, const report::ExportRequest& given) {
  auto request = report::checked_export_request(given);
  if (!request) return request.error();
  report::Export out;
  const auto st = s.read_snapshot([&]() -> Status {
    if (auto stores = stores_in_scope(s, request->store_id); !stores) return stores.error();
    report::ExportFold fold(*request);
    if (auto scanned = scan(s, std::numeric_limits<std::int64_t>::max(), request->progress,
                            [&](const report::EventRow& e) { return fold.add(e); });
        !scanned) {
      return scanned;
    }
    out.kind = request->kind;
    out.source = report::SourceKind::head_office;
    out.scope = request->store_id.value_or("");
    out.period = request->period;
    out.channels = request->channels;
    return fold.finish([&s](const std::string& store_id, const std::string& subject) {
      return s.find_pii_key(store_id, subject);
    }, out);
  });
  if (!st) return st.error();
  return out;
}

}  // namespace refpos::hq
