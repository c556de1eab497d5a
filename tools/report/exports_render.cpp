// Follow-up exports as files (docs/reports.md, "Follow-up exports"):
// CSV, one RFC 4180 record per message (CRLF record ends; a field holding a
// comma, quote, CR or LF is quoted, its quotes doubled), or one JSON
// document with the messages, what was skipped and why.
#include <initializer_list>

#include <nlohmann/json.hpp>

#include "exports.hpp"

namespace refpos::report {
namespace {

using ordered = nlohmann::ordered_json;

void csv_record(std::string& out, std::initializer_list<std::string_view> fields) {
  bool first = true;
  for (const auto f : fields) {
    if (!first) out += ',';
    first = false;
    out += csv_field(f);
  }
  out += "\r\n";
}

}  // namespace

std::string render_export_csv(const Export& e) {
  std::string out;
  csv_record(out, {"kind", "channel", "store_id", "recipient_id", "to", "subject", "body"});
  for (const auto& m : e.messages) {
    csv_record(out, {name_of(e.kind), name_of(m.channel), m.store_id, m.recipient_id, m.to,
                     m.subject, m.body});
  }
  return out;
}

std::string render_export_json(const Export& e) {
  ordered channels = ordered::array();
  for (const auto c : e.channels) channels.push_back(name_of(c));
  ordered messages = ordered::array();
  for (const auto& m : e.messages) {
    messages.push_back({{"channel", name_of(m.channel)},
                        {"store_id", m.store_id},
                        {"recipient_id", m.recipient_id},
                        {"to", m.to},
                        {"subject", m.channel == Channel::email ? ordered(m.subject) : ordered()},
                        {"body", m.body}});
  }
  const ordered out = {{"schema", "refpos/1"},
                       {"kind", name_of(e.kind)},
                       {"source", e.source == SourceKind::head_office ? "head_office" : "store"},
                       {"scope", e.scope.empty() ? ordered() : ordered(e.scope)},
                       {"period",
                        {{"from", e.period.from_date},
                         {"to", e.period.to_date},
                         {"time_zone", e.period.time_zone},
                         {"from_ms", e.period.from_ms},
                         {"to_ms", e.period.to_ms}}},
                       {"channels", channels},
                       {"empty", e.messages.empty()},
                       {"count", e.messages.size()},
                       {"messages", messages},
                       {"skipped",
                        {{"no_consent", e.skipped.no_consent},
                         {"withdrawn", e.skipped.withdrawn},
                         {"forgotten", e.skipped.forgotten},
                         {"unreadable", e.skipped.unreadable},
                         {"other_channel", e.skipped.other_channel}}}};
  // Contact data is whatever the till typed: never let a stray byte make
  // the whole export fail; it shows as U+FFFD instead.
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace refpos::report
