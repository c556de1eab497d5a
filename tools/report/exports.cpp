// build_export: one pass over every event of the file (consent is the
// latest state whatever the period), collecting the facts below, then a
// finish step that opens sealed contacts with the keys of the same source
// (the file's pii_keys, or a KeyLookup given to ExportFold) and renders the
// templates. docs/reports.md, "Follow-up exports", is the
// contract; the comments here say what a reader could get wrong.
//
// Ordering of events about one person across stores: by at_ms (each store's
// clock), then store id, then seq. A consent or a lead recorded before the
// person's customer_forgotten is void even where a key still exists (a
// store that has not yet heard of the forget, or a new key made after it).
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "event_source.hpp"
#include "exports.hpp"
#include "money/format.hpp"
#include "money/money.hpp"
#include "store/pii.hpp"

namespace refpos::report {
namespace {

using nlohmann::json;

constexpr std::string_view kPartnerPrefix = "partner:";

std::string text_of(const json& body, const char* member) {
  const auto it = body.find(member);
  if (it == body.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::int64_t int_of(const json& body, const char* member) {
  const auto it = body.find(member);
  if (it == body.end() || !it->is_number_integer()) return 0;
  return it->get<std::int64_t>();
}

bool bool_of(const json& body, const char* member) {
  const auto it = body.find(member);
  return it != body.end() && it->is_boolean() && it->get<bool>();
}

std::string txn_key(std::string_view store, const std::string& txn) {
  return std::string(store) + '\x1f' + txn;
}

// Where an event stands among a person's events (file header comment).
struct Position {
  std::int64_t at_ms = 0;
  std::string store;
  std::int64_t seq = 0;
  friend bool operator<(const Position& a, const Position& b) {
    return std::tie(a.at_ms, a.store, a.seq) < std::tie(b.at_ms, b.store, b.seq);
  }
};

struct ConsentState {
  Position at;
  bool consented = false;
  std::string sealed;  // of the consent; "" after a withdrawal
};

struct Reward {
  Position at;
  std::string txn;
  std::string owner;  // customer_id, or "" when attributed by code
  std::string code;
  std::string unit;
  std::string currency;
  std::int64_t amount = 0;
};

struct Lead {
  Position at;
  std::string lead_id;
  std::string referrer;
  bool consent = false;
  std::string sealed;
};

// A contact as sealed in a contact_consented or lead_captured event.
struct Contact {
  std::string address;
  std::string name;
};

std::string first_word(std::string_view name, std::string_view otherwise) {
  const std::string clean = neutralise_controls(name);
  const auto start = clean.find_first_not_of(' ');
  if (start == std::string::npos) return std::string(otherwise);
  const auto end = clean.find(' ', start);
  return clean.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The pii_keys of a file: (subject) in a store, (store_id, subject) at
// head office, read inside the file's read transaction. The statement is
// shared with the lookup, which may outlive this call.
Result<KeyLookup> file_key_lookup(EventSource& source) {
  auto exists = source.db->has_table("pii_keys");
  if (!exists) return exists.error();
  if (!*exists) {  // a head office from before keys were uploaded
    return KeyLookup([](const std::string&, const std::string&) {
      return Result<std::optional<store::PiiKey>>(std::optional<store::PiiKey>());
    });
  }
  auto q = source.db->prepare(source.kind == SourceKind::head_office
                                  ? "SELECT key FROM pii_keys WHERE store_id = ?1 AND subject = ?2"
                                  : "SELECT key FROM pii_keys WHERE ?1 = ?1 AND subject = ?2");
  if (!q) return q.error();
  std::shared_ptr<Statement> query = std::move(*q);
  return KeyLookup([query](const std::string& store,
                           const std::string& subject) -> Result<std::optional<store::PiiKey>> {
    query->reset();
    query->bind(1, std::string_view(store)).bind(2, std::string_view(subject));
    auto row = query->step();
    if (!row) return row.error();
    std::optional<store::PiiKey> key;
    if (*row) {
      const auto bytes = query->blob_view(0);
      if (bytes.size() == store::kPiiKeyBytes) {
        key.emplace();
        std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(key->data()));
      }
    }
    return key;
  });
}

// Keys as finish() asks for them: each person's looked up once, and every
// copy wiped when the export is done.
class KeyCache {
 public:
  explicit KeyCache(const KeyLookup& lookup) : lookup_(lookup) {}
  ~KeyCache() {
    for (auto& [_, key] : cache_) {
      if (key) key->fill(0);
    }
  }
  KeyCache(const KeyCache&) = delete;
  KeyCache& operator=(const KeyCache&) = delete;

  // nullopt: no key (forgotten, or never uploaded), or not a key's length.
  Result<std::optional<store::PiiKey>> find(const std::string& store, const std::string& subject) {
    const auto cache_key = txn_key(store, subject);
    if (const auto it = cache_.find(cache_key); it != cache_.end()) return it->second;
    auto key = lookup_(store, subject);
    if (!key) return key.error();
    cache_.emplace(cache_key, *key);
    if (*key) (*key)->fill(0);  // the cache's copy is the one kept
    return cache_.at(cache_key);
  }

 private:
  const KeyLookup& lookup_;
  std::unordered_map<std::string, std::optional<store::PiiKey>> cache_;
};

enum class Opened { ok, forgotten, unreadable };

class Fold {
 public:
  explicit Fold(const ExportRequest& request) : request_(request) {}

  Status add(const EventRow& event);
  Status finish(KeyCache& keys, Export& out);

 private:
  [[nodiscard]] bool counted(std::string_view store, std::int64_t at_ms) const {
    return at_ms >= request_.period.from_ms && at_ms < request_.period.to_ms &&
           (!request_.store_id || *request_.store_id == store);
  }
  [[nodiscard]] bool forgotten_after(const std::string& customer, const Position& at) const {
    const auto it = forgotten_.find(customer);
    return it != forgotten_.end() && at < it->second;
  }
  [[nodiscard]] bool wanted(Channel channel) const {
    const auto& c = request_.channels;
    return std::find(c.begin(), c.end(), channel) != c.end();
  }
  static Reward reward_of(const Position& at, const json& body);
  void add_reward(const Position& at, const json& body);
  Result<Opened> open_contact(KeyCache& keys, const std::string& subject, const Position& at,
                              const std::string& context, const std::string& sealed,
                              const char* address_member, Contact& out) const;
  Result<std::string> referrer_first_name(KeyCache& keys, const std::string& referrer) const;
  Status finish_thanks(KeyCache& keys, Export& out) const;
  Status finish_leads(KeyCache& keys, Export& out) const;
  [[nodiscard]] std::string reward_text(
      const std::map<std::pair<std::string, std::string>, std::int64_t>& totals) const;
  void emit(Export& out, Channel channel, const std::string& store, const std::string& recipient,
            const std::string& to,
            const std::vector<std::pair<std::string, std::string>>& values) const;

  const ExportRequest& request_;
  std::map<std::pair<std::string, std::string>, ConsentState> consent_;  // (customer, channel)
  std::unordered_map<std::string, Position> forgotten_;                  // latest forget
  std::unordered_map<std::string, std::string> code_owner_;
  std::unordered_map<std::string, std::string> referee_of_;  // txn_key -> referee
  std::set<std::string> reversed_referrer_rewards_;          // txn_key, before to_ms
  std::vector<Reward> rewards_;
  std::unordered_map<std::string, Reward> held_;  // txn_key -> held referrer reward, not released yet
  std::vector<Lead> leads_;
};

Status Fold::add(const EventRow& event) {
  static const std::set<std::string_view> kRead = {
      "contact_consented", "contact_withdrawn", "customer_forgotten", "code_issued",
      "code_redeemed",     "reward_accrued",    "reward_reversed",    "lead_captured",
      "hold_released"};
  if (kRead.count(event.type) == 0) return ok_status();
  const json body = json::parse(event.body, nullptr, false);
  if (!body.is_object()) {
    return make_error(ErrorKind::storage, "events",
                      "event " + std::string(event.store_id) + "/" + std::to_string(event.seq) +
                          ": the body is not a JSON object");
  }
  Position at{event.at_ms, std::string(event.store_id), event.seq};
  const auto& type = event.type;
  if (type == "contact_consented" || type == "contact_withdrawn") {
    const bool yes = type == "contact_consented";
    auto& state = consent_[{text_of(body, "customer_id"), text_of(body, "channel")}];
    if (state.at < at || state.at.store.empty()) {
      state = {std::move(at), yes, yes ? text_of(body, "sealed") : std::string()};
    }
  } else if (type == "customer_forgotten") {
    auto [it, fresh] = forgotten_.emplace(text_of(body, "customer_id"), at);
    if (!fresh && it->second < at) it->second = std::move(at);
  } else if (type == "code_issued") {
    code_owner_[text_of(body, "code")] = text_of(body, "customer_id");
  } else if (type == "code_redeemed") {
    referee_of_[txn_key(event.store_id, text_of(body, "txn_id"))] = text_of(body, "customer_id");
  } else if (type == "reward_reversed") {
    if (event.at_ms < request_.period.to_ms && text_of(body, "side") == "referrer") {
      reversed_referrer_rewards_.insert(txn_key(event.store_id, text_of(body, "txn_id")));
    }
  } else if (type == "reward_accrued") {
    if (bool_of(body, "held")) {
      // Thanked only if head office releases it, when it does (below).
      if (event.at_ms < request_.period.to_ms && text_of(body, "side") == "referrer") {
        held_[txn_key(event.store_id, text_of(body, "txn_id"))] = reward_of(at, body);
      }
    } else if (counted(event.store_id, event.at_ms)) {
      add_reward(at, body);
    }
  } else if (type == "hold_released") {
    const auto it = held_.find(txn_key(event.store_id, text_of(body, "txn_id")));
    if (it != held_.end() && counted(event.store_id, event.at_ms)) {
      it->second.at = std::move(at);  // earned now: consent and forgetting as of the release
      rewards_.push_back(std::move(it->second));
      held_.erase(it);
    }
  } else if (type == "lead_captured") {
    if (counted(event.store_id, event.at_ms)) {
      leads_.push_back({std::move(at), text_of(body, "lead_id"), text_of(body, "customer_id"),
                        bool_of(body, "consent"), text_of(body, "sealed")});
    }
  }
  return ok_status();
}

Reward Fold::reward_of(const Position& at, const json& body) {
  const auto unit = text_of(body, "kind");
  const bool money = unit == "store_credit" || unit == "gift_card";
  return {at, text_of(body, "txn_id"), text_of(body, "customer_id"), text_of(body, "code"), unit,
          money ? text_of(body, "currency") : "", int_of(body, "amount")};
}

void Fold::add_reward(const Position& at, const json& body) {
  // A held reward may still be forfeited: thanked at its release, if any
  // (docs/reports.md).
  if (text_of(body, "side") != "referrer" || bool_of(body, "held")) return;
  rewards_.push_back(reward_of(at, body));
}

// Opens `sealed` with the subject's key of the event's store. ok fills `out`;
// a missing key or a later forget is `forgotten`; a value that does not open
// or is not the expected JSON is `unreadable` (its ids only are ever named).
Result<Opened> Fold::open_contact(KeyCache& keys, const std::string& subject,
                                        const Position& at, const std::string& context,
                                        const std::string& sealed, const char* address_member,
                                        Contact& out) const {
  if (forgotten_after(subject, at)) return Opened::forgotten;
  auto key = keys.find(at.store, subject);
  if (!key) return key.error();
  if (!*key) return Opened::forgotten;
  auto plain = store::open_sealed(**key, context, sealed);
  if (!plain) return Opened::unreadable;
  const json contact = json::parse(*plain, nullptr, false);
  std::fill(plain->begin(), plain->end(), '\0');
  if (!contact.is_object()) return Opened::unreadable;
  out.address = text_of(contact, address_member);
  out.name = text_of(contact, "name");
  if (out.address.empty()) return Opened::unreadable;
  return Opened::ok;
}

void Fold::emit(Export& out, Channel channel, const std::string& store,
                      const std::string& recipient, const std::string& to,
                      const std::vector<std::pair<std::string, std::string>>& values) const {
  const auto& t = channel == Channel::email ? *request_.templates.email : *request_.templates.sms;
  ExportMessage m;
  m.channel = channel;
  m.store_id = store;
  m.recipient_id = recipient;
  m.to = neutralise_controls(to);
  m.subject = fill(t.subject, values);
  m.body = fill(t.body, values);
  out.messages.push_back(std::move(m));
}

std::string Fold::reward_text(
    const std::map<std::pair<std::string, std::string>, std::int64_t>& totals) const {
  const auto locale = money::find_locale(request_.locale);  // checked_export_request
  std::vector<std::string> parts;
  for (const char* unit : {"store_credit", "gift_card", "points"}) {
    for (const auto& [key, amount] : totals) {
      if (key.first != unit || amount <= 0) continue;
      if (key.first == "points") {
        parts.push_back(std::to_string(amount) + (amount == 1 ? " point" : " points"));
        continue;
      }
      const auto currency = money::find_currency(key.second);
      const std::string shown = currency
                                    ? money::format_money(amount, *currency, *locale)
                                    : std::to_string(amount) + " " + key.second + " (minor units)";
      parts.push_back(shown +
                      (key.first == "store_credit" ? " in store credit" : " in gift cards"));
    }
  }
  if (parts.empty()) return "our thanks";  // recognition only
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " and ") + p;
  return out;
}

Status Fold::finish_thanks(KeyCache& keys, Export& out) const {
  struct Tally {
    std::map<std::pair<std::string, std::string>, std::int64_t> totals;  // (unit, currency)
    std::set<std::string> referees;
    Position latest;
  };
  std::map<std::string, Tally> by_referrer;
  for (const auto& r : rewards_) {
    if (reversed_referrer_rewards_.count(txn_key(r.at.store, r.txn)) != 0) continue;
    std::string owner = r.owner;
    if (owner.empty()) {
      const auto it = code_owner_.find(r.code);
      if (it != code_owner_.end()) owner = it->second;
    }
    if (owner.empty() || owner.starts_with(kPartnerPrefix)) continue;
    auto& t = by_referrer[owner];
    t.totals[{r.unit, r.currency}] += r.amount;
    if (const auto it = referee_of_.find(txn_key(r.at.store, r.txn)); it != referee_of_.end()) {
      t.referees.insert(it->second);
    }
    if (t.latest.store.empty() || t.latest < r.at) t.latest = r.at;
  }
  for (const auto& [referrer, t] : by_referrer) {
    for (const Channel channel : request_.channels) {
      const auto it = consent_.find({referrer, std::string(name_of(channel))});
      if (it == consent_.end()) {
        ++out.skipped.no_consent;
        continue;
      }
      if (!it->second.consented) {
        ++out.skipped.withdrawn;
        continue;
      }
      Contact contact;
      auto opened = open_contact(keys, referrer, it->second.at,
                                 "contact:" + referrer + ":" + std::string(name_of(channel)),
                                 it->second.sealed, "address", contact);
      if (!opened) return opened.error();
      if (*opened == Opened::forgotten) ++out.skipped.forgotten;
      if (*opened == Opened::unreadable) ++out.skipped.unreadable;
      if (*opened != Opened::ok) continue;
      emit(out, channel, t.latest.store, referrer, contact.address,
           {{"first_name", first_word(contact.name, "there")},
            {"name", contact.name},
            {"friends", std::to_string(t.referees.size())},
            {"reward", reward_text(t.totals)},
            {"store_id", t.latest.store},
            {"from", request_.period.from_date},
            {"to", request_.period.to_date}});
    }
  }
  return ok_status();
}

// The first word of the referrer's name as they gave it with a consent that
// still stands (e-mail first, then SMS), else "a friend".
Result<std::string> Fold::referrer_first_name(KeyCache& keys,
                                                    const std::string& referrer) const {
  for (const Channel channel : {Channel::email, Channel::sms}) {
    const auto it = consent_.find({referrer, std::string(name_of(channel))});
    if (it == consent_.end() || !it->second.consented) continue;
    Contact contact;
    auto opened = open_contact(keys, referrer, it->second.at,
                               "contact:" + referrer + ":" + std::string(name_of(channel)),
                               it->second.sealed, "address", contact);
    if (!opened) return opened.error();
    if (*opened == Opened::ok && !first_word(contact.name, "").empty()) {
      return first_word(contact.name, "");
    }
  }
  return std::string("a friend");
}

Status Fold::finish_leads(KeyCache& keys, Export& out) const {
  for (const auto& lead : leads_) {
    if (!lead.consent) {
      ++out.skipped.no_consent;
      continue;
    }
    Contact friend_contact;
    auto opened = open_contact(keys, lead.referrer, lead.at, "lead:" + lead.lead_id, lead.sealed,
                               "contact", friend_contact);
    if (!opened) return opened.error();
    if (*opened == Opened::forgotten) ++out.skipped.forgotten;
    if (*opened == Opened::unreadable) ++out.skipped.unreadable;
    if (*opened != Opened::ok) continue;
    const Channel channel =
        friend_contact.address.find('@') != std::string::npos ? Channel::email : Channel::sms;
    if (!wanted(channel)) {
      ++out.skipped.other_channel;
      continue;
    }
    auto referrer_name = referrer_first_name(keys, lead.referrer);
    if (!referrer_name) return referrer_name.error();
    emit(out, channel, lead.at.store, lead.lead_id, friend_contact.address,
         {{"friend_first_name", first_word(friend_contact.name, "there")},
          {"friend_name", friend_contact.name},
          {"referrer_first_name", *referrer_name},
          {"store_id", lead.at.store},
          {"lead_id", lead.lead_id}});
  }
  return ok_status();
}

Status Fold::finish(KeyCache& keys, Export& out) {
  auto st =
      request_.kind == ExportKind::thanks ? finish_thanks(keys, out) : finish_leads(keys, out);
  if (!st) return st;
  std::sort(out.messages.begin(), out.messages.end(), [](const auto& a, const auto& b) {
    return std::tie(a.store_id, a.recipient_id, a.channel) <
           std::tie(b.store_id, b.recipient_id, b.channel);
  });
  return ok_status();
}

std::vector<Channel> normalised(std::vector<Channel> channels) {
  std::sort(channels.begin(), channels.end());
  channels.erase(std::unique(channels.begin(), channels.end()), channels.end());
  return channels;
}

}  // namespace

Result<ExportRequest> checked_export_request(const ExportRequest& given) {
  ExportRequest request = given;
  request.channels = normalised(request.channels);
  if (request.channels.empty()) {
    return make_error(ErrorKind::bad_request, "channels", "at least one channel is needed");
  }
  for (const Channel channel : request.channels) {
    const auto& t = channel == Channel::email ? request.templates.email : request.templates.sms;
    if (!t) {
      return make_error(ErrorKind::bad_request, "templates",
                        "no " + template_file_name(request.kind, channel) + " template given");
    }
  }
  if (!money::find_locale(request.locale)) {
    return make_error(ErrorKind::bad_request, "locale",
                      "unknown locale \"" + request.locale +
                          "\"; expected one of: " + money::known_locale_tags());
  }
  return request;
}

class ExportFold::Facts : public Fold {
 public:
  using Fold::Fold;
};

ExportFold::ExportFold(const ExportRequest& request) : facts_(std::make_unique<Facts>(request)) {}
ExportFold::~ExportFold() = default;

Status ExportFold::add(const EventRow& event) { return facts_->add(event); }

Status ExportFold::finish(const KeyLookup& keys, Export& out) {
  KeyCache cache(keys);
  return facts_->finish(cache, out);
}

Result<Export> build_export(const ExportRequest& given) {
  auto request = checked_export_request(given);
  if (!request) return request.error();
  auto source = open_event_source(request->path, request->store_id);
  if (!source) return source.error();
  ExportFold fold(*request);
  if (auto st = for_each_event(*source, request->progress,
                               [&](const EventRow& event) { return fold.add(event); });
      !st) {
    return st.error();
  }
  auto keys = file_key_lookup(*source);
  if (!keys) return keys.error();
  Export out;
  out.kind = request->kind;
  out.source = source->kind;
  out.scope = request->store_id.value_or("");
  out.period = request->period;
  out.channels = request->channels;
  if (auto st = fold.finish(*keys, out); !st) return st.error();
  return out;
}

}  // namespace refpos::report
