// Event log format (table `events`), column by column:
//
//   seq              INTEGER PRIMARY KEY, 1, 2, 3, ... with no gaps. Assigned
//                    as last + 1 inside the write transaction, so a rolled
//                    back transaction (disk full, crash) uses up no number.
//   store_id         TEXT, the store that recorded the event.
//   type             TEXT, the kind of fact (docs/api.md, "Events").
//   at_ms            INTEGER, the store clock, Unix ms UTC.
//   ruleset_version  INTEGER, the rule set in force when it happened.
//   body             TEXT, the facts as canonical JSON: object keys sorted,
//                    no whitespace, UTF-8 (nlohmann::json::dump()).
//   prev_hash        BLOB(32), `hash` of event seq-1; 32 zero bytes for seq 1.
//   hash             BLOB(32), SHA-256 over
//                      prev_hash
//                      || u64be(seq)
//                      || u32be(len) || store_id
//                      || u32be(len) || type
//                      || i64be(at_ms) || i64be(ruleset_version)
//                      || u32be(len) || body
//
// Lengths prefix every variable field so that no two different events hash
// the same bytes. Triggers make the table append-only: UPDATE and DELETE
// abort, and an INSERT whose seq is not last + 1 aborts.
#include "store/event_log.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace refpos::store {

const char* const kEventLogSchema = R"sql(
CREATE TABLE events (
  seq INTEGER PRIMARY KEY CHECK (seq > 0),
  store_id TEXT NOT NULL,
  type TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  ruleset_version INTEGER NOT NULL,
  body TEXT NOT NULL,
  prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
  hash BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END;
CREATE TRIGGER events_gap_free BEFORE INSERT ON events
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM events)
BEGIN SELECT RAISE(ABORT, 'events: seq must be the last seq + 1'); END;
)sql";

namespace {

// The hashed bytes of one event, laid out in one buffer and hashed with one
// call: head office hashes 500 events per batch, and a context made,
// initialised and fed nine times per event cost as much as the hashing.
// (Not a thread_local buffer: LeakSanitizer's scan of a dlclose'd library's
// thread-local storage crashes, and the plugin is dlclose'd.)
class Sha256 {
 public:
  explicit Sha256(std::size_t expected_bytes) { buffer_.reserve(expected_bytes); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void add(const void* p, std::size_t n) { buffer_.append(static_cast<const char*>(p), n); }
  void add_be(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) {
      buffer_.push_back(static_cast<char>(static_cast<std::uint8_t>(v >> (8 * (bytes - 1 - i)))));
    }
  }
  void add_field(std::string_view s) {
    add_be(s.size(), 4);
    add(s.data(), s.size());
  }
  Hash finish() {
    Hash h{};
    unsigned int n = 0;
    if (EVP_Digest(buffer_.data(), buffer_.size(), h.data(), &n, sha256(), nullptr) != 1 ||
        n != h.size()) {
      throw std::runtime_error("SHA-256 unavailable");
    }
    return h;
  }

 private:
  // Fetched once (OpenSSL 3 looks EVP_sha256() up in its providers on every
  // use otherwise), freed when the library is unloaded.
  static const EVP_MD* sha256() {
    static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(
        EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free);
    return md != nullptr ? md.get() : EVP_sha256();
  }
  std::string buffer_;
};

}  // namespace

Hash event_hash(const Hash& prev, std::int64_t seq, std::string_view store_id,
                std::string_view type, std::int64_t at_ms, std::int64_t ruleset_version,
                std::string_view body) {
  Sha256 sha(prev.size() + 8 + 4 + store_id.size() + 4 + type.size() + 8 + 8 + 4 + body.size());
  sha.add(prev.data(), prev.size());
  sha.add_be(static_cast<std::uint64_t>(seq), 8);
  sha.add_field(store_id);
  sha.add_field(type);
  sha.add_be(static_cast<std::uint64_t>(at_ms), 8);
  sha.add_be(static_cast<std::uint64_t>(ruleset_version), 8);
  sha.add_field(body);
  return sha.finish();
}

Result<std::int64_t> last_event_seq(Database& db) {
  auto q = db.query("SELECT coalesce(max(seq), 0) FROM events");
  if (!q) return q.error();
  auto row = (*q)->step();
  if (!row) return row.error();
  return (*q)->int64(0);
}

Result<AppendedEvent> append_event(Database& db, std::string_view store_id, std::int64_t at_ms,
                                   std::int64_t ruleset_version, const EventDraft& event) {
  Hash prev{};
  std::int64_t last_seq = 0;
  {
    auto q = db.query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1");
    if (!q) return q.error();
    auto row = (*q)->step();
    if (!row) return row.error();
    if (*row) {
      last_seq = (*q)->int64(0);
      const auto bytes = (*q)->blob(1);
      if (bytes.size() != prev.size()) {
        return make_error(ErrorKind::storage, "", "store: event " + std::to_string(last_seq) +
                                                      " has a damaged hash", "corrupt");
      }
      std::copy(bytes.begin(), bytes.end(), prev.begin());
    }
  }
  const std::string body = event.body.dump();
  AppendedEvent appended{last_seq + 1, {}};
  appended.hash = event_hash(prev, appended.seq, store_id, event.type, at_ms, ruleset_version, body);

  auto q = db.query(
      "INSERT INTO events (seq, store_id, type, at_ms, ruleset_version, body, prev_hash, hash)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!q) return q.error();
  (*q)->bind(1, appended.seq).bind(2, store_id).bind(3, event.type).bind(4, at_ms);
  (*q)->bind(5, ruleset_version).bind(6, std::string_view(body));
  (*q)->bind_blob(7, prev).bind_blob(8, appended.hash);
  if (auto st = (*q)->run(); !st) return st.error();
  return appended;
}

Result<std::string> verify_event_chain(Database& db, std::string_view store_id) {
  auto q = db.query(
      "SELECT seq, store_id, type, at_ms, ruleset_version, body, prev_hash, hash"
      " FROM events ORDER BY seq");
  if (!q) return q.error();
  Hash prev{};
  std::int64_t expected_seq = 1;
  for (;;) {
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) break;
    auto& r = **q;
    const std::int64_t seq = r.int64(0);
    const std::string at = "event " + std::to_string(seq);
    if (seq != expected_seq) return "gap: expected seq " + std::to_string(expected_seq) + ", found " + std::to_string(seq);
    if (r.text(1) != store_id) return at + ": recorded by another store";
    const auto stored_prev = r.blob(6);
    if (!std::equal(prev.begin(), prev.end(), stored_prev.begin(), stored_prev.end())) {
      return at + ": prev_hash does not match the event before";
    }
    const Hash h = event_hash(prev, seq, r.text(1), r.text(2), r.int64(3), r.int64(4), r.text(5));
    const auto stored = r.blob(7);
    if (!std::equal(h.begin(), h.end(), stored.begin(), stored.end())) {
      return at + ": hash does not match its content";
    }
    prev = h;
    ++expected_seq;
  }
  return std::string{};
}

}  // namespace refpos::store
