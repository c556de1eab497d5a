// The sync wire format (docs/sync.md), both directions. Every document is
// read with wire::FieldReader, so a refusal names the field ("events[3].seq")
// and what was expected, and an unknown member is refused rather than
// ignored. Serialising never fails: the types hold only valid values.
//
// Push document:  {"store_id": id, "events": [event, ...]}   1..kMaxBatchEvents
//   event:        {"seq", "type", "at_ms", "ruleset_version", "body",
//                  "prev_hash", "hash"}; body is the stored canonical JSON
//                  as a string (hashed byte for byte), hashes 64 hex digits.
// Ack:            {"acked_seq": n}
// Updates:        see docs/sync.md, "Pull".
#include "sync/protocol.hpp"

#include <array>
#include <limits>

#include "codes/code.hpp"
#include "sync/batch_reader.hpp"
#include "wire/json_input.hpp"

namespace refpos::sync {
namespace {

using Json = nlohmann::json;
using wire::FieldReader;

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinInt = std::numeric_limits<std::int64_t>::min();
// Bounds on what one updates answer may list (the body limit bounds it too).
constexpr std::size_t kMaxUpdateItems = 100'000;
constexpr std::size_t kMaxWalletEntries = 1'000;
constexpr std::size_t kMaxConflictTxns = 1'000;
constexpr std::size_t kMaxSettlementBytes = 1'024;

// The request's own limits (kMaxBodyBytes), the edge checks every JSON
// document gets (UTF-8, a JSON object).
Result<Json> parse_top(std::string_view text, std::string_view what) {
  return wire::parse_document(text, what, kMaxBodyBytes);
}

std::string item_path(std::string_view array_path, std::size_t i) {
  return std::string(array_path) + "[" + std::to_string(i) + "]";
}

// An array item that must be an object; records the failure in `parent`.
bool is_object_item(FieldReader& parent, const Json& item, std::string_view key, std::size_t i) {
  if (item.is_object()) return true;
  parent.fail(std::string(key) + "[" + std::to_string(i) + "]",
              "must be an object, got " + wire::describe_value(item));
  return false;
}

// A required boolean (FieldReader::boolean alone takes a default).
bool required_boolean(FieldReader& r, const Json& object, std::string_view key) {
  if (!object.contains(key) && !r.failed()) r.fail(key, "is required");
  return r.boolean(key, false);
}

store::Hash read_hash(FieldReader& r, std::string_view key) {
  const std::string hex = r.text(key, 64);
  if (r.failed()) return {};
  const auto hash = parse_hash_hex(hex);
  if (!hash) {
    r.fail(key, "must be 64 hex digits");
    return {};
  }
  return *hash;
}

bool is_hex(std::string_view s) {
  for (const char c : s) {
    const bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!digit) return false;
  }
  return true;
}

Result<WireEvent> read_event(const Json& item, const std::string& path) {
  FieldReader r(item, path);
  WireEvent e;
  e.seq = r.integer("seq", 1, kMaxInt);
  e.type = r.text("type", kMaxEventTypeBytes);
  e.at_ms = r.integer("at_ms", 0, kMaxInt);
  e.ruleset_version = r.integer("ruleset_version", 0, kMaxInt);
  e.body = r.text("body", kMaxEventBodyBytes);
  if (!r.failed()) {
    // Checked without building the document (head office parses the bodies
    // it folds once, later): well-formed JSON whose value is an object.
    const auto first = e.body.find_first_not_of(" \t\r\n");
    if (!Json::accept(e.body)) {
      r.fail("body", "must be the event's JSON object as a string, got text that is not JSON");
    } else if (first == std::string::npos || e.body[first] != '{') {
      r.fail("body", "must be the event's JSON object as a string, got another JSON value");
    }
  }
  e.prev_hash = read_hash(r, "prev_hash");
  e.hash = read_hash(r, "hash");
  if (auto st = r.finish(); !st) return st.error();
  return e;
}

Json rules_json(const SignedRules& rules) {
  return Json{{"version", rules.version},
              {"document", rules.document},
              {"signature_hex", rules.signature_hex}};
}

Result<std::vector<std::string>> read_id_list(FieldReader& r, std::string_view key) {
  std::vector<std::string> out;
  const Json* list = r.array(key, true, 0, kMaxUpdateItems);
  if (list == nullptr) return out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json& v = (*list)[i];
    if (!v.is_string() || !wire::is_clean_text(v.get_ref<const std::string&>(), wire::kMaxIdBytes)) {
      r.fail(item_path(key, i), "must be an identifier of 1 to " +
                                    std::to_string(wire::kMaxIdBytes) + " bytes, got " +
                                    wire::describe_value(v));
      return out;
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<SignedRules> read_rules(const Json& object, const std::string& path) {
  FieldReader r(object, path);
  SignedRules rules;
  rules.version = r.integer("version", 1, kMaxInt);
  if (const Json* doc = r.object("document", true)) rules.document = *doc;
  rules.signature_hex = r.text("signature_hex", 128);
  if (!r.failed() && (rules.signature_hex.size() != 128 || !is_hex(rules.signature_hex))) {
    r.fail("signature_hex", "must be 128 hex digits (an Ed25519 signature)");
  }
  if (auto st = r.finish(); !st) return st.error();
  return rules;
}

Result<CodeKeyUpdate> read_code_key(const Json& object, const std::string& path) {
  FieldReader r(object, path);
  CodeKeyUpdate key;
  key.id = static_cast<int>(r.integer("id", 1, codes::kMaxKeyId));
  // Never echo the secret in an error.
  key.secret_hex = r.text("secret_hex", 2 * codes::kMaxKeySecretBytes);
  if (!r.failed() && (key.secret_hex.size() % 2 != 0 || !is_hex(key.secret_hex) ||
                      key.secret_hex.size() < 2 * codes::kMinKeySecretBytes)) {
    r.fail("secret_hex", "must be " + std::to_string(2 * codes::kMinKeySecretBytes) + " to " +
                             std::to_string(2 * codes::kMaxKeySecretBytes) +
                             " hex digits, an even number");
  }
  key.active = required_boolean(r, object, "active");
  if (auto st = r.finish(); !st) return st.error();
  return key;
}

Result<WalletEntryUpdate> read_wallet_entry(const Json& object, const std::string& path) {
  FieldReader r(object, path);
  WalletEntryUpdate e;
  e.unit = r.text("unit", 16);
  if (!r.failed() && e.unit != "store_credit" && e.unit != "points" && e.unit != "gift_card") {
    r.fail("unit", "must be \"store_credit\", \"points\" or \"gift_card\", got \"" + e.unit + "\"");
  }
  e.amount = r.integer("amount", kMinInt + 1, kMaxInt);
  e.spendable_at_ms = r.integer("spendable_at_ms", 0, kMaxInt);
  e.held = required_boolean(r, object, "held");
  if (auto st = r.finish(); !st) return st.error();
  return e;
}

Result<WalletUpdate> read_wallet(const Json& object, const std::string& path) {
  FieldReader r(object, path);
  WalletUpdate w;
  w.customer_id = r.id("customer_id");
  if (const Json* entries = r.array("entries", true, 0, kMaxWalletEntries)) {
    for (std::size_t i = 0; i < entries->size(); ++i) {
      if (!is_object_item(r, (*entries)[i], "entries", i)) break;
      auto e = read_wallet_entry((*entries)[i], r.path_of(item_path("entries", i)));
      if (!e) return e.error();
      w.entries.push_back(std::move(*e));
    }
  }
  if (auto st = r.finish(); !st) return st.error();
  return w;
}

Result<ConflictNotice> read_conflict(const Json& object, const std::string& path) {
  FieldReader r(object, path);
  ConflictNotice c;
  c.conflict_id = r.integer("conflict_id", 1, kMaxInt);
  c.code = r.id("code");
  c.kind = r.id("kind");
  c.settlement = r.text("settlement", kMaxSettlementBytes);
  if (const Json* txns = r.array("txn_ids", true, 0, kMaxConflictTxns)) {
    for (std::size_t i = 0; i < txns->size(); ++i) {
      const Json& v = (*txns)[i];
      if (!v.is_string() || !wire::is_clean_text(v.get_ref<const std::string&>(), wire::kMaxIdBytes)) {
        r.fail(item_path("txn_ids", i), "must be a transaction id, got " + wire::describe_value(v));
        break;
      }
      c.txn_ids.push_back(v.get<std::string>());
    }
  }
  if (auto st = r.finish(); !st) return st.error();
  return c;
}

Result<HoldDecision> read_hold_decision(const Json& object, const std::string& path) {
  FieldReader r(object, path);
  HoldDecision d;
  d.txn_id = r.id("txn_id");
  d.decision = r.text("decision", wire::kMaxIdBytes);
  if (!r.failed() && d.decision != kHoldRelease && d.decision != kHoldForfeit) {
    r.fail("decision", "must be \"release\" or \"forfeit\", got \"" + d.decision + "\"");
  }
  if (auto st = r.finish(); !st) return st.error();
  return d;
}

// Reads the array `key` of objects with `read_item`, appending to `out`.
template <typename T, typename ReadItem>
Status read_objects(FieldReader& r, std::string_view key, bool required, std::size_t max_items,
                    std::vector<T>& out, ReadItem read_item) {
  const Json* list = r.array(key, required, 0, max_items);
  if (list == nullptr) return ok_status();
  for (std::size_t i = 0; i < list->size(); ++i) {
    if (!is_object_item(r, (*list)[i], key, i)) return ok_status();
    auto item = read_item((*list)[i], r.path_of(item_path(key, i)));
    if (!item) return item.error();
    out.push_back(std::move(*item));
  }
  return ok_status();
}

}  // namespace

std::string hash_hex(const store::Hash& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (const auto b : hash) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

std::optional<store::Hash> parse_hash_hex(std::string_view hex) {
  // A table instead of comparisons: head office reads two hashes per event.
  static constexpr auto kNibble = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    for (int c = 0; c < 10; ++c) t[static_cast<std::size_t>('0' + c)] = static_cast<std::int8_t>(c);
    for (int c = 0; c < 6; ++c) {
      t[static_cast<std::size_t>('a' + c)] = static_cast<std::int8_t>(10 + c);
      t[static_cast<std::size_t>('A' + c)] = static_cast<std::int8_t>(10 + c);
    }
    return t;
  }();
  store::Hash h{};
  if (hex.size() != 2 * h.size()) return std::nullopt;
  for (std::size_t i = 0; i < h.size(); ++i) {
    const int hi = kNibble[static_cast<unsigned char>(hex[2 * i])];
    const int lo = kNibble[static_cast<unsigned char>(hex[2 * i + 1])];
    if ((hi | lo) < 0) return std::nullopt;
    h[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return h;
}

std::string serialize_batch(const PushBatch& batch) {
  Json events = Json::array();
  for (const auto& e : batch.events) {
    events.push_back(Json{{"seq", e.seq},
                          {"type", e.type},
                          {"at_ms", e.at_ms},
                          {"ruleset_version", e.ruleset_version},
                          {"body", e.body},
                          {"prev_hash", hash_hex(e.prev_hash)},
                          {"hash", hash_hex(e.hash)}});
  }
  return Json{{"store_id", batch.store_id}, {"events", std::move(events)}}.dump();
}

Result<PushBatch> parse_batch(std::string_view text) {
  if (auto fast = read_batch_fast(text)) return std::move(*fast);
  return parse_batch_general(text);
}

Result<PushBatch> parse_batch_general(std::string_view text) {
  auto doc = parse_top(text, "the batch");
  if (!doc) return doc.error();
  FieldReader r(*doc, "");
  PushBatch batch;
  batch.store_id = r.id("store_id");
  const Json* events = r.array("events", true, 1, kMaxBatchEvents);
  if (events != nullptr) {
    for (std::size_t i = 0; i < events->size(); ++i) {
      if (!is_object_item(r, (*events)[i], "events", i)) break;
      const std::string path = item_path("events", i);
      auto e = read_event((*events)[i], path);
      if (!e) return e.error();
      if (i > 0) {
        const std::int64_t expected = batch.events.front().seq + static_cast<std::int64_t>(i);
        if (e->seq != expected) {
          return make_error(ErrorKind::bad_request, path + ".seq",
                            "must be " + std::to_string(expected) + ", got " +
                                std::to_string(e->seq) + " (seqs are contiguous and ascending)");
        }
      }
      batch.events.push_back(std::move(*e));
    }
  }
  if (auto st = r.finish(); !st) return st.error();
  return batch;
}

std::string serialize_ack(const PushAck& ack) { return Json{{"acked_seq", ack.acked_seq}}.dump(); }

Result<PushAck> parse_ack(std::string_view text) {
  auto doc = parse_top(text, "the acknowledgement");
  if (!doc) return doc.error();
  FieldReader r(*doc, "");
  PushAck ack;
  ack.acked_seq = r.integer("acked_seq", 0, kMaxInt);
  if (auto st = r.finish(); !st) return st.error();
  return ack;
}

std::string serialize_updates(const Updates& u) {
  Json doc = Json::object();
  doc["cursor"] = u.cursor;
  doc["rules"] = u.rules ? rules_json(*u.rules) : Json(nullptr);
  if (u.code_keys) {
    Json keys = Json::array();
    for (const auto& k : *u.code_keys) {
      keys.push_back(Json{{"id", k.id}, {"secret_hex", k.secret_hex}, {"active", k.active}});
    }
    doc["code_keys"] = std::move(keys);
  } else {
    doc["code_keys"] = nullptr;
  }
  doc["revoked_codes"] = u.revoked_codes;
  doc["revoked_stores"] = u.revoked_stores;
  Json wallets = Json::array();
  for (const auto& w : u.wallets) {
    Json entries = Json::array();
    for (const auto& e : w.entries) {
      entries.push_back(Json{{"unit", e.unit},
                             {"amount", e.amount},
                             {"spendable_at_ms", e.spendable_at_ms},
                             {"held", e.held}});
    }
    wallets.push_back(Json{{"customer_id", w.customer_id}, {"entries", std::move(entries)}});
  }
  doc["wallets"] = std::move(wallets);
  Json conflicts = Json::array();
  for (const auto& c : u.conflicts) {
    conflicts.push_back(Json{{"conflict_id", c.conflict_id},
                             {"code", c.code},
                             {"kind", c.kind},
                             {"settlement", c.settlement},
                             {"txn_ids", c.txn_ids}});
  }
  doc["conflicts"] = std::move(conflicts);
  Json holds = Json::array();
  for (const auto& d : u.hold_decisions) {
    holds.push_back(Json{{"txn_id", d.txn_id}, {"decision", d.decision}});
  }
  doc["hold_decisions"] = std::move(holds);
  doc["forgotten"] = u.forgotten;
  if (u.resend_keys) doc["resend_keys"] = true;
  return doc.dump();
}

Result<Updates> parse_updates(std::string_view text) {
  auto doc = parse_top(text, "the updates");
  if (!doc) return doc.error();
  FieldReader r(*doc, "");
  Updates u;
  u.cursor = r.integer("cursor", 0, kMaxInt);
  if (const Json* rules = r.object("rules", false)) {
    auto parsed = read_rules(*rules, "rules");
    if (!parsed) return parsed.error();
    u.rules = std::move(*parsed);
  }
  if (r.array("code_keys", false, 0, codes::kMaxKeyId) != nullptr) {
    std::vector<CodeKeyUpdate> keys;
    if (auto st = read_objects(r, "code_keys", false, codes::kMaxKeyId, keys, read_code_key); !st) {
      return st.error();
    }
    u.code_keys = std::move(keys);
  }
  auto codes = read_id_list(r, "revoked_codes");
  u.revoked_codes = std::move(*codes);
  auto stores = read_id_list(r, "revoked_stores");
  u.revoked_stores = std::move(*stores);
  if (auto st = read_objects(r, "wallets", true, kMaxUpdateItems, u.wallets, read_wallet); !st) {
    return st.error();
  }
  if (auto st = read_objects(r, "conflicts", true, kMaxUpdateItems, u.conflicts, read_conflict); !st) {
    return st.error();
  }
  if (auto st = read_objects(r, "hold_decisions", false, kMaxUpdateItems, u.hold_decisions,
                             read_hold_decision);
      !st) {
    return st.error();
  }
  if (r.array("forgotten", false, 0, kMaxUpdateItems) != nullptr) {
    auto forgotten = read_id_list(r, "forgotten");
    u.forgotten = std::move(*forgotten);
  }
  u.resend_keys = r.boolean("resend_keys", false);
  if (auto st = r.finish(); !st) return st.error();
  return u;
}

std::string serialize_key_upload(const PiiKeyUpload& upload) {
  Json keys = Json::array();
  for (const auto& k : upload.keys) keys.push_back(Json{{"subject", k.subject}, {"key_hex", k.key_hex}});
  return Json{{"cursor", upload.cursor}, {"keys", std::move(keys)}}.dump();
}

Result<PiiKeyUpload> parse_key_upload(std::string_view text) {
  auto doc = parse_top(text, "the keys");
  if (!doc) return doc.error();
  FieldReader r(*doc, "");
  PiiKeyUpload out;
  out.cursor = r.integer("cursor", 0, kMaxInt);
  const auto read_key = [](const Json& object, const std::string& path) -> Result<PiiKeyItem> {
    FieldReader k(object, path);
    PiiKeyItem item;
    item.subject = k.id("subject");
    item.key_hex = k.text("key_hex", 64);
    // The key's bytes are never echoed in an error: only what is wrong.
    if (!k.failed() && (item.key_hex.size() != 64 ||
                        item.key_hex.find_first_not_of("0123456789abcdef") != std::string::npos)) {
      k.fail("key_hex", "must be 64 lower-case hexadecimal digits");
    }
    if (auto st = k.finish(); !st) return st.error();
    return item;
  };
  if (auto st = read_objects(r, "keys", true, kMaxKeysPerUpload, out.keys, read_key); !st) {
    return st.error();
  }
  if (!r.failed() && out.keys.empty()) r.fail("keys", "must hold at least one key");
  if (auto st = r.finish(); !st) return st.error();
  return out;
}

nlohmann::json error_body(const ProtocolError& error) {
  Json inner{{"code", error.code}, {"message", error.message}};
  if (!error.reason.empty()) inner["reason"] = error.reason;
  if (error.acked_seq) inner["acked_seq"] = *error.acked_seq;
  return Json{{"error", std::move(inner)}};
}

ProtocolError parse_error(int http_status, std::string_view text) {
  ProtocolError out;
  out.code = "http_" + std::to_string(http_status);
  constexpr std::size_t kShown = 200;
  out.message = std::string(text.substr(0, kShown));
  if (wire::first_invalid_utf8(out.message) != std::string_view::npos) out.message = "(not text)";
  if (text.size() > kMaxBodyBytes) return out;
  Json doc = Json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return out;
  const auto it = doc.find("error");
  if (it == doc.end() || !it->is_object()) return out;
  const Json& e = *it;
  const auto text_of = [&e](const char* key) -> std::optional<std::string> {
    const auto m = e.find(key);
    if (m == e.end() || !m->is_string()) return std::nullopt;
    return m->get<std::string>();
  };
  if (auto code = text_of("code")) out.code = *code;
  if (auto message = text_of("message")) out.message = *message;
  if (auto reason = text_of("reason")) out.reason = *reason;
  if (const auto m = e.find("acked_seq"); m != e.end() && m->is_number_integer()) {
    const auto n = m->get<std::int64_t>();
    if (n >= 0) out.acked_seq = n;
  }
  return out;
}

}  // namespace refpos::sync
