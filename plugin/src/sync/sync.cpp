#include "sync/sync.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "crypto/ed25519.hpp"
#include "rules/ruleset.hpp"
#include "store/database.hpp"
#include "store/event_log.hpp"
#include "store/store.hpp"
#include "sync/protocol.hpp"

namespace refpos::sync {
namespace {

using nlohmann::json;
using store::Database;
using store::WriteTransaction;

Error sync_error(ErrorKind kind, std::string message, std::string reason = {}) {
  return make_error(kind, "sync", std::move(message), std::move(reason));
}

Result<std::optional<std::string>> meta(Database& db, const char* key) {
  auto q = db.query("SELECT value FROM meta WHERE key = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(key));
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>((*q)->text(0));
}

Status set_meta(Database& db, const char* key, const std::string& value) {
  auto q = db.query(
      "INSERT INTO meta (key, value) VALUES (?1, ?2)"
      " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(key)).bind(2, std::string_view(value));
  return (*q)->run();
}

Result<std::int64_t> meta_int(Database& db, const char* key) {
  auto value = meta(db, key);
  if (!value) return value.error();
  return *value ? std::stoll(**value) : std::int64_t{0};
}

// Events after `after` up to `last`, at most `limit`, as they travel. The
// bound matters: the till keeps selling while a sync runs, and a sale
// committed after the push counted its events waits for the next sync
// (otherwise it joins the last batch, whose acknowledgement then passes
// the count the push started from).
Result<std::vector<WireEvent>> events_after(Database& db, std::int64_t after, std::int64_t last,
                                            std::size_t limit) {
  auto q = db.query(
      "SELECT seq, type, at_ms, ruleset_version, body, prev_hash, hash FROM events"
      " WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3");
  if (!q) return q.error();
  (*q)->bind(1, after).bind(2, last).bind(3, static_cast<std::int64_t>(limit));
  std::vector<WireEvent> out;
  for (;;) {
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) break;
    WireEvent e;
    e.seq = (*q)->int64(0);
    e.type = (*q)->text(1);
    e.at_ms = (*q)->int64(2);
    e.ruleset_version = (*q)->int64(3);
    e.body = (*q)->text(4);
    const auto prev = (*q)->blob(5);
    const auto hash = (*q)->blob(6);
    if (prev.size() != e.prev_hash.size() || hash.size() != e.hash.size()) {
      return sync_error(ErrorKind::storage, "event " + std::to_string(e.seq) + " has a broken hash");
    }
    std::copy(prev.begin(), prev.end(), e.prev_hash.begin());
    std::copy(hash.begin(), hash.end(), e.hash.begin());
    out.push_back(std::move(e));
  }
  return out;
}

// The head office's refusal of an answer, as an Error of the right kind.
Error refused(int status, std::string_view body, std::string_view what) {
  const ProtocolError e = parse_error(status, body);
  const ErrorKind kind = status == 409 ? ErrorKind::conflict
                         : status == 400 || status == 413 ? ErrorKind::bad_request
                                                          : ErrorKind::storage;
  return sync_error(kind,
                    "head office refused " + std::string(what) + " (HTTP " + std::to_string(status) +
                        " " + e.code + "): " + e.message,
                    e.reason.empty() ? e.code : e.reason);
}

Status push(const wire::StoreConfig& config, Database& db, Transport& transport,
            const Progress& progress, SyncReport& report) {
  auto acked = meta_int(db, "sync_acked_seq");
  if (!acked) return acked.error();
  auto last = store::last_event_seq(db);
  if (!last) return last.error();
  const std::int64_t start = *acked;
  std::int64_t total = *last - start;
  if (progress) progress("push", 0, total);
  std::int64_t at = *acked;
  bool resent_after_gap = false;
  while (at < *last) {
    auto events = events_after(db, at, *last, config.sync->batch_events);
    if (!events) return events.error();
    if (events->empty()) break;
    const std::int64_t batch_last = events->back().seq;
    PushBatch batch{config.store_id, std::move(*events)};
    auto answer = transport.request("POST", "/v1/events", serialize_batch(batch));
    if (!answer) return answer.error();
    if (answer->status == 409) {
      const ProtocolError e = parse_error(answer->status, answer->body);
      // Head office holds less than this store thinks (it was restored from
      // a backup, or an acknowledgement was for another file): resend from
      // what it holds, once.
      if (e.reason == "gap" && e.acked_seq && *e.acked_seq < at && *e.acked_seq >= 0 &&
          !resent_after_gap) {
        resent_after_gap = true;
        at = *e.acked_seq;
        total = *last - at;
        continue;
      }
    }
    if (answer->status != 200) return refused(answer->status, answer->body, "the events");
    auto ack = parse_ack(answer->body);
    if (!ack) return sync_error(ErrorKind::bad_request, "head office's acknowledgement: " + ack.error().describe());
    if (ack->acked_seq < batch_last || ack->acked_seq > *last) {
      return sync_error(ErrorKind::conflict,
                        "head office acknowledged seq " + std::to_string(ack->acked_seq) +
                            " for a batch ending at " + std::to_string(batch_last),
                        "bad_ack");
    }
    // The acknowledgement is the only thing that moves the store's mark.
    auto tx = WriteTransaction::begin(db);
    if (!tx) return tx.error();
    if (auto st = set_meta(db, "sync_acked_seq", std::to_string(ack->acked_seq)); !st) return st;
    if (auto st = (*tx)->commit(); !st) return st;
    report.pushed += ack->acked_seq - at;
    report.batches += 1;
    at = ack->acked_seq;
    if (progress) progress("push", at - (*last - total), total);
  }
  report.acked_seq = at;
  return ok_status();
}

// Everything an answer installs is checked before anything is written.
struct CheckedUpdates {
  Updates updates;
  std::optional<rules::RuleSet> rules;
  std::optional<wire::StoreConfig> keys;  // the config with head office's keys
};

Result<CheckedUpdates> check_updates(const wire::StoreConfig& config, Database& db, Updates updates) {
  CheckedUpdates out;
  wire::StoreConfig effective = config;
  // Keys first: a new rule set may name a partner key that comes with it.
  if (auto stored = meta(db, "code_keys"); !stored) {
    return stored.error();
  } else if (*stored) {
    const json doc = json::parse(**stored, nullptr, false);
    if (auto st = wire::replace_code_keys(doc, "code_keys", effective); !st) return st.error();
  }
  if (updates.code_keys) {
    json list = json::array();
    for (const auto& k : *updates.code_keys) {
      list.push_back({{"id", k.id}, {"secret_hex", k.secret_hex}, {"active", k.active}});
    }
    if (auto st = wire::replace_code_keys(list, "code_keys", effective); !st) {
      return sync_error(ErrorKind::bad_request, "head office's code keys: " + st.error().describe());
    }
    out.keys = effective;
  }
  if (updates.rules) {
    const auto& signed_rules = *updates.rules;
    if (!crypto::ed25519_verify(config.sync->signing_public_key_hex, signed_rules.document.dump(),
                                signed_rules.signature_hex)) {
      return sync_error(ErrorKind::bad_request,
                        "the rule set version " + std::to_string(signed_rules.version) +
                            " is not signed by this chain's head office (sync.signing_public_key_hex)",
                        "bad_signature");
    }
    auto parsed = rules::parse_ruleset(signed_rules.document, "rules");
    if (!parsed) return sync_error(ErrorKind::bad_request, "head office's rule set: " + parsed.error().describe());
    if (auto st = wire::check_rule_keys(effective, *parsed); !st) {
      return sync_error(ErrorKind::bad_request, "head office's rule set: " + st.error().describe());
    }
    // Installed already (a pull applied twice) or older: nothing to do.
    std::int64_t installed = config.rules.version;
    if (auto stored = meta(db, "rules"); !stored) {
      return stored.error();
    } else if (*stored) {
      const json doc = json::parse(**stored, nullptr, false);
      if (doc.is_object() && doc.contains("version") && doc["version"].is_number_integer()) {
        installed = std::max(installed, doc["version"].get<std::int64_t>());
      }
    }
    if (parsed->version > installed) out.rules = std::move(*parsed);
  }
  for (const auto& w : updates.wallets) {
    for (const auto& e : w.entries) {
      if (e.unit != "store_credit" && e.unit != "points" && e.unit != "gift_card") {
        return sync_error(ErrorKind::bad_request, "head office's wallet for \"" + w.customer_id +
                                                      "\" has an unknown unit \"" + e.unit + "\"");
      }
    }
  }
  out.updates = std::move(updates);
  return out;
}

// Head office's decision on a held referrer reward (docs/sync.md, "Held
// rewards"): the transaction's held entries are cancelled and, for a
// release, written again as spendable at the same time; the redemption is
// marked so a later refund takes back the right thing (a forfeited reward
// is not taken twice). False when nothing is held any more: applied before,
// or the sale was refunded in between.
Result<bool> apply_hold_decision(const wire::StoreConfig& config, Database& db,
                                 const HoldDecision& d, std::int64_t now,
                                 std::int64_t ruleset_version) {
  struct Held {
    std::string customer_id, unit;
    std::int64_t spendable_at_ms = 0, amount = 0;
  };
  std::vector<Held> held;
  {
    auto q = db.query(
        "SELECT customer_id, unit, spendable_at_ms, sum(amount) FROM wallet_entries"
        " WHERE txn_id = ?1 AND held = 1 AND source <> 'hq'"
        " GROUP BY customer_id, unit, spendable_at_ms HAVING sum(amount) <> 0");
    if (!q) return q.error();
    (*q)->bind(1, std::string_view(d.txn_id));
    for (;;) {
      auto row = (*q)->step();
      if (!row) return row.error();
      if (!*row) break;
      held.push_back({(*q)->text(0), (*q)->text(1), (*q)->int64(2), (*q)->int64(3)});
    }
  }
  if (held.empty()) return false;
  const bool release = d.decision == kHoldRelease;
  for (const auto& h : held) {
    const auto add = [&](std::int64_t amount, bool is_held) -> Status {
      auto ins = db.query(
          "INSERT INTO wallet_entries (customer_id, unit, amount, spendable_at_ms, held, txn_id, source)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      if (!ins) return ins.error();
      (*ins)->bind(1, std::string_view(h.customer_id)).bind(2, std::string_view(h.unit));
      (*ins)->bind(3, amount).bind(4, h.spendable_at_ms).bind(5, std::int64_t{is_held ? 1 : 0});
      (*ins)->bind(6, std::string_view(d.txn_id));
      (*ins)->bind(7, std::string_view(release ? "hold_released" : "hold_forfeited"));
      return (*ins)->run();
    };
    if (auto st = add(-h.amount, true); !st) return st.error();
    if (release) {
      if (auto st = add(h.amount, false); !st) return st.error();
    }
    json body = {{"customer_id", h.customer_id}, {"kind", h.unit},
                 {"amount", h.amount},           {"spendable_at_ms", h.spendable_at_ms},
                 {"currency", config.currency.code}, {"txn_id", d.txn_id}};
    auto appended = store::append_event(
        db, config.store_id, now, ruleset_version,
        store::EventDraft{release ? "hold_released" : "hold_forfeited", std::move(body)});
    if (!appended) return appended.error();
  }
  auto q = db.query(release ? "UPDATE redemptions SET referrer_held = 0 WHERE txn_id = ?1"
                            : "UPDATE redemptions SET rewarded = 0 WHERE txn_id = ?1");
  if (!q) return q.error();
  (*q)->bind(1, std::string_view(d.txn_id));
  if (auto st = (*q)->run(); !st) return st.error();
  return true;
}

Status apply(const wire::StoreConfig& config, Database& db, const CheckedUpdates& checked,
             std::int64_t now, SyncReport& report) {
  const Updates& u = checked.updates;
  auto tx = WriteTransaction::begin(db);
  if (!tx) return tx.error();
  std::int64_t ruleset_version = config.rules.version;
  if (checked.rules) {
    if (auto st = set_meta(db, "rules", u.rules->document.dump()); !st) return st;
    ruleset_version = checked.rules->version;
    report.rules_version = checked.rules->version;
  }
  if (checked.keys) {
    json list = json::array();
    for (const auto& k : *u.code_keys) {
      list.push_back({{"id", k.id}, {"secret_hex", k.secret_hex}, {"active", k.active}});
    }
    if (auto st = set_meta(db, "code_keys", list.dump()); !st) return st;
    report.code_keys_updated = true;
  }
  for (const auto& code : u.revoked_codes) {
    auto q = db.query("INSERT INTO revoked_codes (code, revoked_at_ms) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
    if (!q) return q.error();
    (*q)->bind(1, std::string_view(code)).bind(2, now);
    if (auto st = (*q)->run(); !st) return st;
  }
  report.revoked_codes = u.revoked_codes.size();
  for (const auto& w : u.wallets) {
    auto del = db.query("DELETE FROM wallet_entries WHERE customer_id = ?1 AND source = 'hq'");
    if (!del) return del.error();
    (*del)->bind(1, std::string_view(w.customer_id));
    if (auto st = (*del)->run(); !st) return st;
    for (const auto& e : w.entries) {
      auto ins = db.query(
          "INSERT INTO wallet_entries (customer_id, unit, amount, spendable_at_ms, held, txn_id, source)"
          " VALUES (?1, ?2, ?3, ?4, ?5, NULL, 'hq')");
      if (!ins) return ins.error();
      (*ins)->bind(1, std::string_view(w.customer_id)).bind(2, std::string_view(e.unit));
      (*ins)->bind(3, e.amount).bind(4, e.spendable_at_ms).bind(5, std::int64_t{e.held});
      if (auto st = (*ins)->run(); !st) return st;
    }
  }
  report.wallets = u.wallets.size();
  for (const auto& c : u.conflicts) {
    auto q = db.query(
        "INSERT INTO conflicts (conflict_id, code, kind, settlement, txn_ids) VALUES (?1, ?2, ?3, ?4, ?5)"
        " ON CONFLICT (conflict_id) DO UPDATE SET settlement = excluded.settlement, txn_ids = excluded.txn_ids");
    if (!q) return q.error();
    (*q)->bind(1, c.conflict_id).bind(2, std::string_view(c.code)).bind(3, std::string_view(c.kind));
    (*q)->bind(4, std::string_view(c.settlement)).bind(5, std::string_view(json(c.txn_ids).dump()));
    if (auto st = (*q)->run(); !st) return st;
  }
  report.conflicts = u.conflicts.size();
  for (const auto& d : u.hold_decisions) {
    auto applied = apply_hold_decision(config, db, d, now, ruleset_version);
    if (!applied) return applied.error();
    if (*applied) ++report.hold_decisions;
  }
  // Customers head office forgot (at another store or on its own): their
  // contact data goes here too; the event says who asked.
  for (const auto& customer : u.forgotten) {
    auto removed = store::forget_customer(db, customer);
    if (!removed) return removed.error();
    auto appended = store::append_event(
        db, config.store_id, now, ruleset_version,
        store::EventDraft{"customer_forgotten", json{{"customer_id", customer},
                                                     {"terminal_id", nullptr},
                                                     {"by", "head_office"}}});
    if (!appended) return appended.error();
  }
  report.forgotten = u.forgotten.size();
  // Head office restored from an older backup: every key goes up again
  // (upload_keys, after this).
  if (u.resend_keys) {
    if (auto st = db.exec("UPDATE pii_keys SET uploaded = 0"); !st) return st;
  }
  if (!u.revoked_stores.empty()) {
    if (auto st = set_meta(db, "revoked_stores", json(u.revoked_stores).dump()); !st) return st;
  }
  // What this sync applied, in the log like every other fact (no secrets).
  json body = {{"cursor", u.cursor},
               {"acked_seq", report.acked_seq},
               {"rules_version", checked.rules ? json(checked.rules->version) : json(nullptr)},
               {"code_keys_updated", report.code_keys_updated},
               {"revoked_codes", report.revoked_codes},
               {"wallets", report.wallets},
               {"conflicts", report.conflicts},
               {"hold_decisions", report.hold_decisions},
               {"forgotten", report.forgotten}};
  auto appended = store::append_event(db, config.store_id, now, ruleset_version,
                                      store::EventDraft{"sync_applied", std::move(body)});
  if (!appended) return appended.error();
  // The offline exposure starts again: head office has seen everything.
  if (auto st = set_meta(db, "sync_cursor", std::to_string(u.cursor)); !st) return st;
  if (auto st = set_meta(db, "last_sync_ms", std::to_string(now)); !st) return st;
  if (auto st = set_meta(db, "granted_since_sync_minor", "0"); !st) return st;
  if (auto st = (*tx)->commit(); !st) return st;
  report.cursor = u.cursor;
  return ok_status();
}

Status pull(const wire::StoreConfig& config, Database& db, Transport& transport, const Clock& clock,
            const Progress& progress, SyncReport& report) {
  if (progress) progress("pull", 0, 1);
  auto cursor = meta_int(db, "sync_cursor");
  if (!cursor) return cursor.error();
  auto answer = transport.request("GET", "/v1/updates?cursor=" + std::to_string(*cursor), "");
  if (!answer) return answer.error();
  if (answer->status != 200) return refused(answer->status, answer->body, "the pull");
  auto updates = parse_updates(answer->body);
  if (!updates) return sync_error(ErrorKind::bad_request, "head office's updates: " + updates.error().describe());
  if (updates->cursor < *cursor) {
    return sync_error(ErrorKind::conflict,
                      "head office answered cursor " + std::to_string(updates->cursor) +
                          ", behind this store's " + std::to_string(*cursor),
                      "cursor_behind");
  }
  auto checked = check_updates(config, db, std::move(*updates));
  if (!checked) return checked.error();
  if (auto st = apply(config, db, *checked, clock.now_ms(), report); !st) return st;
  if (progress) progress("pull", 1, 1);
  return ok_status();
}

// After the pull: the sealing keys head office does not hold yet go up, so
// that it can open the contact data its copy of the log seals (thank-you
// messages, leads). Marked sent only once head office answered, and only if
// unchanged meanwhile (a till may forget the customer during the sync). An
// older head office without the route (404) gets none.
Status upload_keys(Database& db, Transport& transport, SyncReport& report) {
  for (;;) {
    PiiKeyUpload upload;
    upload.cursor = report.cursor;
    std::vector<std::vector<std::uint8_t>> raw;
    {
      auto q = db.query("SELECT subject, key FROM pii_keys WHERE uploaded = 0 ORDER BY subject LIMIT ?1");
      if (!q) return q.error();
      (*q)->bind(1, static_cast<std::int64_t>(kMaxKeysPerUpload));
      for (;;) {
        auto row = (*q)->step();
        if (!row) return row.error();
        if (!*row) break;
        raw.push_back((*q)->blob(1));
        store::Hash bytes{};
        std::copy_n(raw.back().begin(), std::min(raw.back().size(), bytes.size()), bytes.begin());
        upload.keys.push_back({(*q)->text(0), hash_hex(bytes)});
      }
    }
    if (upload.keys.empty()) return ok_status();
    auto answer = transport.request("POST", "/v1/pii_keys", serialize_key_upload(upload));
    if (!answer) return answer.error();
    if (answer->status == 404) return ok_status();
    if (answer->status != 200) return refused(answer->status, answer->body, "the key upload");
    auto tx = WriteTransaction::begin(db);
    if (!tx) return tx.error();
    for (std::size_t i = 0; i < upload.keys.size(); ++i) {
      auto q = db.query("UPDATE pii_keys SET uploaded = 1 WHERE subject = ?1 AND key = ?2");
      if (!q) return q.error();
      (*q)->bind(1, std::string_view(upload.keys[i].subject)).bind_blob(2, raw[i]);
      if (auto st = (*q)->run(); !st) return st;
    }
    if (auto st = (*tx)->commit(); !st) return st;
    report.keys_uploaded += static_cast<std::int64_t>(upload.keys.size());
    if (upload.keys.size() < kMaxKeysPerUpload) return ok_status();
  }
}

class HttpsTransport final : public Transport {
 public:
  explicit HttpsTransport(HttpsClient& client) : client_(client) {}
  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body) override {
    return client_.request(method, target, body);
  }

 private:
  HttpsClient& client_;
};

}  // namespace

Result<SyncReport> run_sync(const wire::StoreConfig& config, Transport& transport, const Clock& clock,
                            const Progress& progress) {
  if (!config.sync) {
    return make_error(ErrorKind::config, "sync", "this store's configuration has no \"sync\" section");
  }
  auto db = Database::open(config.data_dir + "/refpos.db");
  if (!db) return db.error();
  SyncReport report;
  if (auto st = push(config, **db, transport, progress, report); !st) return st.error();
  if (auto st = pull(config, **db, transport, clock, progress, report); !st) return st.error();
  if (auto st = upload_keys(**db, transport, report); !st) return st.error();
  report.next_sync_at_ms = next_sync_at_ms(config, clock.now_ms());
  return report;
}

Result<SyncReport> sync_over_https(const wire::StoreConfig& config, const Clock& clock,
                                   const Progress& progress) {
  if (!config.sync) {
    return make_error(ErrorKind::config, "sync", "this store's configuration has no \"sync\" section");
  }
  auto endpoint = parse_https_url(config.sync->url, "sync.url");
  if (!endpoint) return endpoint.error();
  auto client = HttpsClient::connect(
      *endpoint, TlsFiles{config.sync->ca_file, config.sync->cert_file, config.sync->key_file},
      std::chrono::milliseconds(config.sync->timeout_ms));
  if (!client) return client.error();
  HttpsTransport transport(**client);
  return run_sync(config, transport, clock, progress);
}

std::int64_t window_offset_ms(std::string_view store_id, int window_minutes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(store_id.data(), store_id.size(), digest, &n, EVP_sha256(), nullptr);
  std::uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | digest[i];
  const auto span = static_cast<std::uint64_t>(std::max(window_minutes, 1)) * 60'000U;
  return static_cast<std::int64_t>(h % span);
}

std::int64_t next_sync_at_ms(const wire::StoreConfig& config, std::int64_t now_ms) {
  const int start_minute = config.sync ? config.sync->window_start_minute : 120;
  const int minutes = config.sync ? config.sync->window_minutes : 120;
  const std::int64_t offset =
      static_cast<std::int64_t>(start_minute) * 60'000 + window_offset_ms(config.store_id, minutes);
  // Today's slot, else tomorrow's (a day later in local terms: the start of
  // the next local day, so a DST change moves the slot with the clock).
  std::int64_t day = config.time_zone.local_day_start_ms(now_ms);
  for (int i = 0; i < 3; ++i) {
    const std::int64_t slot = day + offset;
    if (slot > now_ms) return slot;
    day = config.time_zone.local_day_start_ms(day + 36 * 3'600'000);
  }
  return now_ms + 24 * 3'600'000;  // not reached: a day is never over 36 hours
}

std::string report_json(const SyncReport& r) {
  return json{{"pushed", r.pushed},
              {"batches", r.batches},
              {"acked_seq", r.acked_seq},
              {"cursor", r.cursor},
              {"rules_version", r.rules_version ? json(*r.rules_version) : json(nullptr)},
              {"code_keys_updated", r.code_keys_updated},
              {"revoked_codes", r.revoked_codes},
              {"wallets", r.wallets},
              {"conflicts", r.conflicts},
              {"hold_decisions", r.hold_decisions},
              {"forgotten", r.forgotten},
              {"keys_uploaded", r.keys_uploaded},
              {"next_sync_at_ms", r.next_sync_at_ms}}
      .dump();
}

}  // namespace refpos::sync
