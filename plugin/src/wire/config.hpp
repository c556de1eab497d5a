// The store configuration passed to open() (docs/api.md, "open"), parsed and
// checked in one place. Code key secrets are kept only here and in codes/;
// they never appear in an error message or an answer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/time_zone.hpp"
#include "codes/code.hpp"
#include "money/format.hpp"
#include "money/money.hpp"
#include "print/layout.hpp"
#include "rules/ruleset.hpp"

namespace refpos::wire {

inline constexpr std::size_t kMaxPathBytes = 4096;
inline constexpr std::size_t kMaxLinkTemplateBytes = 200;
inline constexpr std::size_t kMaxStoreNameBytes = 80;
inline constexpr std::size_t kMaxTemplateFileBytes = 64 * 1024;
inline constexpr std::size_t kMaxLogoFileBytes = 512 * 1024;

// How the store reaches head office (docs/sync.md); absent: no sync.
struct SyncConfig {
  std::string url;                     // "https://host:port"
  std::string ca_file;                 // the chain CA
  std::string cert_file;               // this store's certificate (CN = store_id)
  std::string key_file;                // its private key (made in the store folder)
  std::string signing_public_key_hex;  // head office's Ed25519 key for rule sets
  std::size_t batch_events = 500;      // 1..500 events per push
  std::int64_t timeout_ms = 30'000;    // per request
  int window_start_minute = 120;       // nightly window in the store's time zone
  int window_minutes = 120;
};

struct StoreConfig {
  std::string store_id;
  std::string data_dir;
  money::Currency currency;
  std::vector<codes::CodeKey> code_keys;
  std::uint8_t active_key_id = 0;
  rules::RuleSet rules;
  std::string share_link_template;           // contains "{code}", or empty
  std::optional<std::int64_t> fixed_clock_ms;  // test clock override
  // Where monthly and yearly limits start (POSIX TZ, e.g. "CET-1CEST,M3.5.0,M10.5.0/3").
  TimeZone time_zone = TimeZone::utc();
  // Receipts (docs/receipts.md).
  std::string store_name;                    // printed in the header; defaults to store_id
  money::Locale locale;                      // money on receipts; en-US by default
  print::PrinterProfile printer;
  std::shared_ptr<const print::ReceiptTemplate> receipt_template;  // never null after parsing
  std::optional<SyncConfig> sync;

  [[nodiscard]] const codes::CodeKey* key(std::uint8_t id) const;
  [[nodiscard]] const codes::CodeKey& active_key() const { return *key(active_key_id); }
};

// Parses and checks a configuration document. Errors are of kind `config`.
Result<StoreConfig> parse_store_config(std::string_view text);

// Replaces the store's code keys with `keys` (the code_keys format of the
// configuration: ids, secrets, exactly one active), checked whole first:
// on error nothing changes. For keys that head office sends (docs/sync.md).
Status replace_code_keys(const nlohmann::json& keys, std::string_view path, StoreConfig& config);

// A partner's code key must be one of the store's keys and not the active
// key for customer codes (rules arriving after open are checked again).
Status check_rule_keys(const StoreConfig& config, const rules::RuleSet& rules);

// The share link for a normalised code ("" without a template).
std::string share_link(const StoreConfig& config, std::string_view normalized_code);

// What the coupon's QR encodes: the share link, or the code itself for a
// store without a share link template.
std::string qr_payload(const StoreConfig& config, std::string_view normalized_code);

// Money as this store's receipts write it ("$10.00", "10,00 €").
std::string money_text(const StoreConfig& config, std::int64_t minor);

}  // namespace refpos::wire
