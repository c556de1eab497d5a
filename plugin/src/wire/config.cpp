#include "wire/config.hpp"

#include <set>

#include "wire/json_input.hpp"

namespace refpos::wire {
namespace {

constexpr std::int64_t kMinClockMs = 1'577'836'800'000;  // 2020-01-01, the code epoch

Error as_config(Error e) {
  e.kind = ErrorKind::config;
  return e;
}

std::optional<std::vector<std::uint8_t>> decode_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint8_t> bytes;
  bytes.reserve(hex.size() / 2);
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return bytes;
}

// Reads code_keys[i]; never echoes the secret in an error.
Status read_key(const Json& j, const std::string& path, StoreConfig& config) {
  if (!j.is_object()) return make_error(ErrorKind::config, path, "must be an object");
  FieldReader r(j, path);
  codes::CodeKey key;
  key.id = static_cast<std::uint8_t>(r.integer("id", 1, codes::kMaxKeyId));
  const auto hex = r.text("secret_hex", 2 * codes::kMaxKeySecretBytes);
  const bool active = r.boolean("active", false);
  if (auto st = r.finish(); !st) return st;
  auto secret = decode_hex(hex);
  if (!secret || secret->size() < codes::kMinKeySecretBytes) {
    return make_error(ErrorKind::config, r.path_of("secret_hex"),
                      "must be " + std::to_string(2 * codes::kMinKeySecretBytes) + " to " +
                          std::to_string(2 * codes::kMaxKeySecretBytes) +
                          " hexadecimal digits (the value is not shown)");
  }
  if (config.key(key.id) != nullptr) {
    return make_error(ErrorKind::config, r.path_of("id"),
                      "key id " + std::to_string(key.id) + " appears twice");
  }
  if (active) {
    if (config.active_key_id != 0) {
      return make_error(ErrorKind::config, r.path_of("active"), "only one key may be active");
    }
    config.active_key_id = key.id;
  }
  key.secret = std::move(*secret);
  config.code_keys.push_back(std::move(key));
  return ok_status();
}

Status read_keys(const Json& keys, const std::string& path, StoreConfig& config) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto at = path + "[" + std::to_string(i) + "]";
    if (auto st = read_key(keys[i], at, config); !st) return st;
  }
  if (config.active_key_id == 0) {
    return make_error(ErrorKind::config, path, "exactly one key must be \"active\": true");
  }
  return ok_status();
}

Status read_clock(const Json& j, StoreConfig& config) {
  FieldReader r(j, "clock");
  config.fixed_clock_ms = r.integer("fixed_ms", kMinClockMs, INT64_MAX / 2);
  return r.finish();
}

}  // namespace

const codes::CodeKey* StoreConfig::key(std::uint8_t id) const {
  for (const auto& k : code_keys) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

Result<StoreConfig> parse_store_config(std::string_view text) {
  auto doc = parse_document(text, "the configuration");
  if (!doc) return as_config(doc.error());
  FieldReader r(*doc, "");
  StoreConfig config;
  config.store_id = r.id("store_id");
  config.data_dir = r.text("data_dir", kMaxPathBytes);
  const auto currency = r.text("currency", 3);
  const Json* keys = r.array("code_keys", true, 1, codes::kMaxKeyId);
  const Json* rules = r.object("rules", true);
  config.share_link_template =
      r.optional_text("share_link_template", kMaxLinkTemplateBytes).value_or("");
  const Json* clock = r.object("clock", false);
  if (auto st = r.finish(); !st) return as_config(st.error());

  const auto found = money::find_currency(currency);
  if (!found) {
    return make_error(ErrorKind::config, "currency",
                      "must be an ISO 4217 code such as \"USD\", got \"" + currency + "\"");
  }
  config.currency = *found;
  if (!config.share_link_template.empty() &&
      config.share_link_template.find("{code}") == std::string::npos) {
    return make_error(ErrorKind::config, "share_link_template", "must contain \"{code}\"");
  }
  if (auto st = read_keys(*keys, "code_keys", config); !st) return as_config(st.error());
  auto parsed_rules = rules::parse_ruleset(*rules, "rules");
  if (!parsed_rules) return as_config(parsed_rules.error());
  config.rules = std::move(*parsed_rules);
  if (clock != nullptr) {
    if (auto st = read_clock(*clock, config); !st) return as_config(st.error());
  }
  return config;
}

std::string share_link(const StoreConfig& config, std::string_view normalized_code) {
  std::string link = config.share_link_template;
  const auto at = link.find("{code}");
  if (at == std::string::npos) return {};
  link.replace(at, 6, normalized_code);
  return link;
}

}  // namespace refpos::wire
