// The sync protocol's wire format (docs/sync.md), in one place both sides
// include: the plugin builds batches and reads updates with it, the head
// office reads batches and builds updates with it. Outside JSON becomes these
// types once, here, with a precise error (field path and what was expected).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "store/event_log.hpp"

namespace refpos::sync {

// Limits checked at the edge, on both sides.
inline constexpr std::size_t kMaxBatchEvents = 500;
inline constexpr std::size_t kMaxBodyBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxEventBodyBytes = 64 * 1024;
inline constexpr std::size_t kMaxEventTypeBytes = 64;

// One event as it travels: the columns of the store's `events` table, the
// body as its exact stored text.
struct WireEvent {
  std::int64_t seq = 0;  // >= 1
  std::string type;
  std::int64_t at_ms = 0;
  std::int64_t ruleset_version = 0;
  std::string body;  // canonical JSON text, hashed as is
  store::Hash prev_hash{};
  store::Hash hash{};

  bool operator==(const WireEvent&) const = default;
};

// POST /v1/events
struct PushBatch {
  std::string store_id;
  std::vector<WireEvent> events;  // 1..kMaxBatchEvents, contiguous ascending seqs
};

std::string serialize_batch(const PushBatch& batch);
// Refuses (ErrorKind::bad_request, field like "events[3].seq") anything not
// shaped as above: wrong types, unknown members, seqs not contiguous, hashes
// not 64 hex digits, bodies that are not JSON objects, more than the limits.
// Does NOT check the hash chain: that needs the head office's copy
// (store::event_hash recomputes it).
Result<PushBatch> parse_batch(std::string_view text);
// The reader of every shape, with an error naming the field that is wrong:
// parse_batch() tries the fast reader (batch_reader.hpp) first and falls back
// to this one. Tests hold the two to the same answer.
Result<PushBatch> parse_batch_general(std::string_view text);

// The answer to a push.
struct PushAck {
  std::int64_t acked_seq = 0;
};
std::string serialize_ack(const PushAck& ack);
Result<PushAck> parse_ack(std::string_view text);

// GET /v1/updates
struct SignedRules {
  std::int64_t version = 0;
  nlohmann::json document;    // the rule set (plugin/src/rules, docs/rules.md)
  std::string signature_hex;  // Ed25519 over document.dump()
};
struct CodeKeyUpdate {
  int id = 0;              // 1..kMaxKeyId
  std::string secret_hex;  // a secret: never logged
  bool active = false;
};
struct WalletEntryUpdate {
  std::string unit;  // "store_credit", "points", "gift_card"
  std::int64_t amount = 0;
  std::int64_t spendable_at_ms = 0;
  bool held = false;
};
struct WalletUpdate {
  std::string customer_id;
  std::vector<WalletEntryUpdate> entries;  // the whole picture from elsewhere
};
struct ConflictNotice {
  std::int64_t conflict_id = 0;
  std::string code;
  std::string kind;        // "over_redeemed"
  std::string settlement;  // what was done, for people
  std::vector<std::string> txn_ids;
};
// Head office's review of a referrer reward the store held for review
// (docs/sync.md, "Held rewards"): "release" makes it spendable, "forfeit"
// takes it back. A decision is final.
struct HoldDecision {
  std::string txn_id;
  std::string decision;
  bool operator==(const HoldDecision&) const = default;
};
inline constexpr std::string_view kHoldRelease = "release";
inline constexpr std::string_view kHoldForfeit = "forfeit";

struct Updates {
  std::int64_t cursor = 0;
  std::optional<SignedRules> rules;
  std::optional<std::vector<CodeKeyUpdate>> code_keys;
  std::vector<std::string> revoked_codes;
  std::vector<std::string> revoked_stores;
  std::vector<WalletUpdate> wallets;
  std::vector<ConflictNotice> conflicts;
  std::vector<HoldDecision> hold_decisions;  // absent from an older head office: none
  std::vector<std::string> forgotten;        // customers to forget; absent: none
  // Head office does not know the store's cursor (it was restored from a
  // backup taken before it handed it out): the keys it held may be gone,
  // so the store sends all its contact-data keys again. Sent only when true.
  bool resend_keys = false;
};
std::string serialize_updates(const Updates& updates);
Result<Updates> parse_updates(std::string_view text);

// POST /v1/pii_keys (docs/sync.md, "Contact data and forgetting"): the
// store's sealing keys for customers' contact data, sent after a pull.
// `cursor` is the store's cursor after that pull: head office keeps no key
// of a customer it forgot after it, since the store has not forgotten them
// yet. The keys are secrets: never logged on either side.
inline constexpr std::size_t kMaxKeysPerUpload = 1000;
struct PiiKeyItem {
  std::string subject;  // the customer id
  std::string key_hex;  // 64 hex digits
  bool operator==(const PiiKeyItem&) const = default;
};
struct PiiKeyUpload {
  std::int64_t cursor = 0;
  std::vector<PiiKeyItem> keys;  // 1..kMaxKeysPerUpload
};
std::string serialize_key_upload(const PiiKeyUpload& upload);
Result<PiiKeyUpload> parse_key_upload(std::string_view text);

// {"error": {"code": "...", "message": "...", ...}} as sent by head office.
struct ProtocolError {
  std::string code;     // "bad_request", "conflict", ...
  std::string message;
  std::string reason;   // for conflicts: "gap", "fork", "seq_reused"; else ""
  std::optional<std::int64_t> acked_seq;  // with "gap"
};
nlohmann::json error_body(const ProtocolError& error);
// The error of a non-2xx answer; a body that is not such a document still
// gives one ({code: "http_<status>", message: the start of the body}).
ProtocolError parse_error(int http_status, std::string_view text);

// Hex of a hash and back.
std::string hash_hex(const store::Hash& hash);
std::optional<store::Hash> parse_hash_hex(std::string_view hex);

}  // namespace refpos::sync
