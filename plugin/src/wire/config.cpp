#include "wire/config.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
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

}  // namespace

Status replace_code_keys(const nlohmann::json& keys, std::string_view path, StoreConfig& config) {
  if (!keys.is_array() || keys.empty() || keys.size() > codes::kMaxKeyId) {
    return make_error(ErrorKind::config, std::string(path),
                      "must be a list of 1 to " + std::to_string(codes::kMaxKeyId) + " keys");
  }
  StoreConfig fresh;
  if (auto st = read_keys(keys, std::string(path), fresh); !st) return st;
  config.code_keys = std::move(fresh.code_keys);
  config.active_key_id = fresh.active_key_id;
  return ok_status();
}

namespace {

Status read_clock(const Json& j, StoreConfig& config) {
  FieldReader r(j, "clock");
  config.fixed_clock_ms = r.integer("fixed_ms", kMinClockMs, INT64_MAX / 2);
  return r.finish();
}

// "HH:MM" as minutes after midnight.
std::optional<int> minute_of_day(const std::string& text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  const auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9' ? text[i] - '0' : -100; };
  const int h = digit(0) * 10 + digit(1);
  const int m = digit(3) * 10 + digit(4);
  if (h < 0 || h > 23 || m < 0 || m > 59) return std::nullopt;
  return h * 60 + m;
}

Status read_sync(const Json& j, StoreConfig& config) {
  FieldReader r(j, "sync");
  SyncConfig sync;
  sync.url = r.text("url", 300);
  sync.ca_file = r.text("ca_file", kMaxPathBytes);
  sync.cert_file = r.text("cert_file", kMaxPathBytes);
  sync.key_file = r.text("key_file", kMaxPathBytes);
  sync.signing_public_key_hex = r.text("signing_public_key_hex", 64);
  sync.batch_events = static_cast<std::size_t>(r.optional_integer("batch_events", 1, 500).value_or(500));
  sync.timeout_ms = r.optional_integer("timeout_ms", 100, 600'000).value_or(30'000);
  const Json* window = r.object("window", false);
  if (auto st = r.finish(); !st) return st;
  if (sync.url.rfind("https://", 0) != 0) {
    return make_error(ErrorKind::config, "sync.url",
                      "must start with https:// (there is no plaintext sync)");
  }
  if (sync.signing_public_key_hex.size() != 64 ||
      sync.signing_public_key_hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return make_error(ErrorKind::config, "sync.signing_public_key_hex",
                      "must be 64 lower-case hex digits (refposctl chain init writes it to hq/signing.pub)");
  }
  if (window != nullptr) {
    FieldReader w(*window, "sync.window");
    const auto start = w.text("start", 5);
    sync.window_minutes = static_cast<int>(w.integer("minutes", 1, 24 * 60));
    if (auto st = w.finish(); !st) return st;
    const auto minute = minute_of_day(start);
    if (!minute) {
      return make_error(ErrorKind::config, "sync.window.start", "must be \"HH:MM\", got \"" + start + "\"");
    }
    sync.window_start_minute = *minute;
  }
  config.sync = std::move(sync);
  return ok_status();
}

// A small file read whole; the message names the file, never its content.
Result<std::string> read_file(const std::string& path, std::size_t max_bytes,
                              const std::string& field) {
  // Only a regular file: a FIFO or a device would block or never end.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return make_error(ErrorKind::config, field,
                      "cannot read \"" + path + "\": " +
                          (ec || !std::filesystem::exists(path, ec) ? "no such file"
                                                                    : "not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorKind::config, field, "cannot read \"" + path + "\"");
  std::string bytes;
  bytes.resize(max_bytes + 1);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (bytes.size() > max_bytes) {
    return make_error(ErrorKind::config, field,
                      "\"" + path + "\" is larger than " + std::to_string(max_bytes) + " bytes");
  }
  return bytes;
}

Status read_printer(const Json& j, StoreConfig& config) {
  FieldReader r(j, "printer");
  print::PrinterProfileInput in;
  if (auto mm = r.optional_integer("paper_mm", 1, 1000)) in.paper_mm = static_cast<int>(*mm);
  in.qr = r.optional_text("qr", 16);
  in.code_page = r.optional_text("code_page", 16);
  in.qr_ecc = r.optional_text("qr_ecc", 8);
  if (auto dots = r.optional_integer("qr_module_dots", 1, 100)) {
    in.qr_module_dots = static_cast<int>(*dots);
  }
  if (j.contains("cut")) in.cut = r.boolean("cut", true);
  if (auto st = r.finish(); !st) return st;
  auto profile = print::make_printer_profile(in);
  if (!profile) return profile.error();
  config.printer = *profile;
  return ok_status();
}

// The template file, and its logo beside it (a relative "logo" is resolved
// against the template's folder).
Status read_template(const std::string& path, StoreConfig& config) {
  auto text = read_file(path, kMaxTemplateFileBytes, "receipt_template");
  if (!text) return text.error();
  const Json doc = Json::parse(*text, nullptr, false);
  std::string logo_bytes;
  if (doc.is_object() && doc.contains("logo")) {
    if (!doc["logo"].is_string()) {
      return make_error(ErrorKind::config, "receipt.logo", "must be a file name (PBM image)");
    }
    std::string logo = doc["logo"].get<std::string>();
    if (!logo.empty() && logo.front() != '/') {
      const auto slash = path.rfind('/');
      if (slash != std::string::npos) logo = path.substr(0, slash + 1) + logo;
    }
    auto bytes = read_file(logo, kMaxLogoFileBytes, "receipt.logo");
    if (!bytes) return bytes.error();
    logo_bytes = std::move(*bytes);
  }
  auto tpl = print::parse_receipt_template(*text, logo_bytes);
  if (!tpl) return tpl.error();
  config.receipt_template = std::make_shared<const print::ReceiptTemplate>(std::move(*tpl));
  return ok_status();
}

// The longest payload the store will ever put in a QR (codes have a fixed
// length) must fit the configured symbol: checked once here, so that no
// commit can fail to print its coupon.
Status check_qr_fits(const StoreConfig& config) {
  const std::string longest = qr_payload(config, std::string(codes::kCodeLength, 'Z'));
  auto symbol = print::encode_qr(longest, config.printer.qr_ecc, config.printer.qr_max_version);
  if (!symbol) {
    auto e = symbol.error();
    e.field = config.share_link_template.empty() ? "printer.qr_ecc" : "share_link_template";
    return e;
  }
  return ok_status();
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
  config.store_name = r.optional_text("store_name", kMaxStoreNameBytes).value_or("");
  const auto locale = r.optional_text("locale", 16).value_or("en-US");
  const Json* printer = r.object("printer", false);
  const auto template_path = r.optional_text("receipt_template", kMaxPathBytes);
  const auto time_zone = r.optional_text("time_zone", 64).value_or("UTC0");
  const Json* sync = r.object("sync", false);
  if (auto st = r.finish(); !st) return as_config(st.error());
  auto zone = TimeZone::parse(time_zone);
  if (!zone) return as_config(zone.error());
  config.time_zone = std::move(*zone);
  if (config.store_name.empty()) config.store_name = config.store_id;
  const auto found_locale = money::find_locale(locale);
  if (!found_locale) {
    return make_error(ErrorKind::config, "locale",
                      "must be one of " + money::known_locale_tags() + ", got \"" + locale + "\"");
  }
  config.locale = *found_locale;

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
  if (auto st = check_rule_keys(config, *parsed_rules); !st) return as_config(st.error());
  config.rules = std::move(*parsed_rules);
  if (clock != nullptr) {
    if (auto st = read_clock(*clock, config); !st) return as_config(st.error());
  }
  if (printer != nullptr) {
    if (auto st = read_printer(*printer, config); !st) return as_config(st.error());
  }
  if (sync != nullptr) {
    if (auto st = read_sync(*sync, config); !st) return as_config(st.error());
  }
  if (template_path) {
    if (auto st = read_template(*template_path, config); !st) return as_config(st.error());
  } else {
    config.receipt_template = std::shared_ptr<const print::ReceiptTemplate>(
        &print::default_receipt_template(), [](const print::ReceiptTemplate*) {});
  }
  if (auto st = check_qr_fits(config); !st) return as_config(st.error());
  return config;
}

Status check_rule_keys(const StoreConfig& config, const rules::RuleSet& rules) {
  for (std::size_t i = 0; i < rules.partners.size(); ++i) {
    const auto& p = rules.partners[i];
    const std::string field = "rules.partners[" + std::to_string(i) + "].key_id";
    if (config.key(p.key_id) == nullptr) {
      return make_error(ErrorKind::config, field,
                        "key " + std::to_string(p.key_id) + " is not among code_keys");
    }
    if (p.key_id == config.active_key_id) {
      return make_error(ErrorKind::config, field,
                        "key " + std::to_string(p.key_id) +
                            " is the active key for customer codes; a partner needs its own");
    }
  }
  return ok_status();
}

std::string share_link(const StoreConfig& config, std::string_view normalized_code) {
  std::string link = config.share_link_template;
  const auto at = link.find("{code}");
  if (at == std::string::npos) return {};
  link.replace(at, 6, normalized_code);
  return link;
}

std::string qr_payload(const StoreConfig& config, std::string_view normalized_code) {
  std::string link = share_link(config, normalized_code);
  return link.empty() ? std::string(normalized_code) : link;
}

std::string money_text(const StoreConfig& config, std::int64_t minor) {
  return money::format_money(minor, config.currency, config.locale);
}

}  // namespace refpos::wire
