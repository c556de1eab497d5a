#include "event_source.hpp"

#include <algorithm>

namespace refpos::report {
namespace {

Result<std::vector<std::string>> stores_of(ReadOnlyDatabase& db, SourceKind kind) {
  auto q =
      db.prepare(kind == SourceKind::head_office ? "SELECT store_id FROM stores ORDER BY store_id"
                                                 : "SELECT value FROM meta WHERE key = 'store_id'");
  if (!q) return q.error();
  std::vector<std::string> out;
  for (;;) {
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back((*q)->text(0));
  }
  return out;
}

}  // namespace

Result<SourceKind> detect_kind(ReadOnlyDatabase& db) {
  auto events = db.has_table("events");
  if (!events) return events.error();
  auto stores = db.has_table("stores");
  if (!stores) return stores.error();
  auto meta = db.has_table("meta");
  if (!meta) return meta.error();
  if (*events && *stores) return SourceKind::head_office;
  if (*events && *meta) return SourceKind::store;
  return make_error(
      ErrorKind::bad_request, "file",
      "\"" + db.path() + "\" is neither a refpos store (refpos.db) nor a head-office file");
}

Result<EventSource> open_event_source(const std::string& path,
                                      const std::optional<std::string>& store_id) {
  auto opened = ReadOnlyDatabase::open(path);
  if (!opened) return opened.error();
  EventSource source;
  source.db = std::move(*opened);
  ReadOnlyDatabase& db = *source.db;
  if (auto begin = db.prepare("BEGIN"); !begin || !(*begin)->step()) {
    return make_error(ErrorKind::storage, "file", "\"" + path + "\": cannot start a read");
  }
  auto kind = detect_kind(db);
  if (!kind) return kind.error();
  source.kind = *kind;
  auto stores = stores_of(db, *kind);
  if (!stores) return stores.error();
  source.stores = std::move(*stores);
  const auto& all = source.stores;
  if (store_id && std::find(all.begin(), all.end(), *store_id) == all.end()) {
    const std::string held =
        all.empty() ? std::string("none")
                    : (*kind == SourceKind::store ? "\"" + all.front() + "\""
                                                  : std::to_string(all.size()) + " stores");
    return make_error(ErrorKind::not_found, "store",
                      "\"" + path + "\" holds no store \"" + *store_id + "\"; it holds " + held);
  }
  return source;
}

Status for_each_event(EventSource& source, const ProgressFn& progress, const EventVisitor& visit,
                      std::int64_t before_ms) {
  ReadOnlyDatabase& db = *source.db;
  auto count = db.prepare("SELECT count(*) FROM events WHERE at_ms < ?1");
  if (!count) return count.error();
  (*count)->bind(1, before_ms);
  if (auto row = (*count)->step(); !row) return row.error();
  const std::int64_t total = (*count)->int64(0);

  auto q = db.prepare(source.kind == SourceKind::head_office
                          ? "SELECT store_id, seq, type, at_ms, body FROM events WHERE at_ms < ?1"
                            " ORDER BY store_id, seq"
                          : "SELECT store_id, seq, type, at_ms, body FROM events WHERE at_ms < ?1"
                            " ORDER BY seq");
  if (!q) return q.error();
  (*q)->bind(1, before_ms);
  std::int64_t done = 0;
  for (;;) {
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) break;
    const EventRow event{(*q)->text_view(0), (*q)->int64(1), (*q)->text_view(2), (*q)->int64(3),
                         (*q)->text_view(4)};
    if (auto st = visit(event); !st) return st;
    if (++done % kProgressEveryEvents == 0 && progress) progress(done, total);
  }
  if (progress) progress(done, total);
  return ok_status();
}

}  // namespace refpos::report
