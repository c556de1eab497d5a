// Reads refpos-hq's configuration file and environment (config.hpp).
#include "hq/config.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

namespace refpos::hq {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::int64_t kMaxTimeoutMs = 3'600'000;  // an hour: more is a typo
constexpr std::size_t kMaxConnectionsLimit = 1'000'000;
constexpr std::size_t kMaxConfigFileBytes = 1 << 20;

Error config_error(std::string field, std::string message) {
  return make_error(ErrorKind::config, std::move(field), std::move(message));
}

Result<std::string> read_small_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error(what, "cannot open " + path);
  std::ostringstream text_stream;
  text_stream << in.rdbuf();
  if (in.bad()) return config_error(what, "cannot read " + path);
  std::string text = std::move(text_stream).str();
  if (text.size() > kMaxConfigFileBytes) return config_error(what, path + ": larger than 1 MiB");
  return text;
}

std::string resolve_from(const fs::path& base_dir, const std::string& value) {
  const fs::path p(value);
  if (p.is_absolute() || base_dir.empty()) return value;
  return (base_dir / p).lexically_normal().string();
}

Status read_string(const json& doc, const char* key, const fs::path& base_dir, bool is_path,
                   std::string& out) {
  if (!doc.contains(key)) return ok_status();
  const json& v = doc.at(key);
  if (!v.is_string() || v.get_ref<const std::string&>().empty())
    return config_error(key, "must be a non-empty string");
  out = is_path ? resolve_from(base_dir, v.get<std::string>()) : v.get<std::string>();
  return ok_status();
}

Status read_integer(const json& doc, const char* key, std::int64_t min, std::int64_t max,
                    std::int64_t& out) {
  if (!doc.contains(key)) return ok_status();
  const json& v = doc.at(key);
  if (!v.is_number_integer()) return config_error(key, "must be an integer");
  const auto n = v.get<std::int64_t>();
  if (n < min || n > max)
    return config_error(key, "must be between " + std::to_string(min) + " and " +
                                 std::to_string(max) + ", got " + std::to_string(n));
  out = n;
  return ok_status();
}

bool is_hex(const std::string& s) {
  for (const char c : s)
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return false;
  return true;
}

}  // namespace

Result<std::uint16_t> parse_port(const std::string& text, const std::string& field) {
  if (text.empty() || text.size() > 5) return config_error(field, "must be a port 0..65535, got '" + text + "'");
  for (const char c : text)
    if (c < '0' || c > '9') return config_error(field, "must be a port 0..65535, got '" + text + "'");
  const long n = std::strtol(text.c_str(), nullptr, 10);
  if (n > 65535) return config_error(field, "must be a port 0..65535, got " + text);
  return static_cast<std::uint16_t>(n);
}

Status apply_config_file(const std::string& path, HqConfig& config) {
  auto text = read_small_file(path, "--config");
  if (!text) return text.error();
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return config_error("--config", path + ": not valid JSON");
  if (!doc.is_object()) return config_error("--config", path + ": must be a JSON object");

  static const char* const kKnown[] = {
      "listen",           "port",            "data_dir",          "database",
      "ca_file",          "crl_file",        "cert_file",         "key_file",
      "signing_key_file", "max_connections", "header_timeout_ms", "body_timeout_ms",
      "idle_timeout_ms",  "shutdown_timeout_ms"};
  for (const auto& item : doc.items()) {
    bool known = false;
    for (const char* k : kKnown) known = known || item.key() == k;
    if (!known) return config_error(item.key(), "unknown key in " + path);
  }

  const fs::path base_dir = fs::path(path).parent_path();
  struct PathKey {
    const char* key;
    std::string* out;
    bool is_path;
  };
  const PathKey strings[] = {
      {"listen", &config.listen_address, false},   {"data_dir", &config.data_dir, true},
      {"ca_file", &config.ca_file, true},          {"crl_file", &config.crl_file, true},
      {"cert_file", &config.cert_file, true},      {"key_file", &config.key_file, true},
      {"signing_key_file", &config.signing_key_file, true}};
  for (const auto& s : strings) {
    if (auto st = read_string(doc, s.key, base_dir, s.is_path, *s.out); !st) return st;
  }
  if (doc.contains("database")) {
    const json& v = doc.at("database");
    const bool url = v.is_string() && database_is_postgres(v.get_ref<const std::string&>());
    if (auto st = read_string(doc, "database", base_dir, !url, config.database); !st) return st;
  }

  std::int64_t port = config.port;
  if (auto st = read_integer(doc, "port", 0, 65535, port); !st) return st;
  config.port = static_cast<std::uint16_t>(port);
  auto max_conn = static_cast<std::int64_t>(config.max_connections);
  if (auto st = read_integer(doc, "max_connections", 1,
                             static_cast<std::int64_t>(kMaxConnectionsLimit), max_conn);
      !st)
    return st;
  config.max_connections = static_cast<std::size_t>(max_conn);
  if (auto st = read_integer(doc, "header_timeout_ms", 1, kMaxTimeoutMs, config.header_timeout_ms); !st) return st;
  if (auto st = read_integer(doc, "body_timeout_ms", 1, kMaxTimeoutMs, config.body_timeout_ms); !st) return st;
  if (auto st = read_integer(doc, "idle_timeout_ms", 1, kMaxTimeoutMs, config.idle_timeout_ms); !st) return st;
  if (auto st = read_integer(doc, "shutdown_timeout_ms", 1, kMaxTimeoutMs, config.shutdown_timeout_ms); !st) return st;
  return ok_status();
}

EnvLookup process_environment() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Status apply_environment(const EnvLookup& lookup, HqConfig& config) {
  struct Var {
    const char* name;
    std::string* out;
  };
  const Var vars[] = {{"REFPOS_HQ_LISTEN", &config.listen_address},
                      {"REFPOS_HQ_DATA_DIR", &config.data_dir},
                      {"REFPOS_HQ_DATABASE", &config.database},
                      {"REFPOS_HQ_CA_FILE", &config.ca_file},
                      {"REFPOS_HQ_CRL_FILE", &config.crl_file},
                      {"REFPOS_HQ_CERT_FILE", &config.cert_file},
                      {"REFPOS_HQ_KEY_FILE", &config.key_file},
                      {"REFPOS_HQ_SIGNING_KEY_FILE", &config.signing_key_file}};
  for (const auto& v : vars) {
    auto value = lookup(v.name);
    if (!value) continue;
    if (value->empty()) return config_error(v.name, "is set but empty");
    *v.out = *value;
  }
  if (auto port = lookup("REFPOS_HQ_PORT")) {
    auto parsed = parse_port(*port, "REFPOS_HQ_PORT");
    if (!parsed) return parsed.error();
    config.port = *parsed;
  }
  return ok_status();
}

Status validate(const HqConfig& config) {
  if (config.listen_address.empty()) return config_error("listen", "must be an IP address");
  struct Required {
    const char* field;
    const std::string* value;
  };
  const Required required[] = {{"data_dir", &config.data_dir},
                               {"ca_file", &config.ca_file},
                               {"crl_file", &config.crl_file},
                               {"cert_file", &config.cert_file},
                               {"key_file", &config.key_file},
                               {"signing_key_file", &config.signing_key_file}};
  for (const auto& r : required) {
    if (r.value == &config.data_dir && !config.database.empty()) continue;
    if (r.value->empty())
      return config_error(r.field, "is required (config file, REFPOS_HQ_* or a flag)");
  }
  for (const auto& r : required) {
    if (r.value == &config.data_dir) continue;
    std::error_code ec;
    if (!fs::is_regular_file(*r.value, ec))
      return config_error(r.field, "no such file: " + *r.value);
  }
  if (config.max_connections < 1 || config.max_connections > kMaxConnectionsLimit)
    return config_error("max_connections", "must be between 1 and 1000000");
  const std::pair<const char*, std::int64_t> timeouts[] = {
      {"header_timeout_ms", config.header_timeout_ms},
      {"body_timeout_ms", config.body_timeout_ms},
      {"idle_timeout_ms", config.idle_timeout_ms},
      {"shutdown_timeout_ms", config.shutdown_timeout_ms}};
  for (const auto& [field, ms] : timeouts) {
    if (ms < 1 || ms > kMaxTimeoutMs)
      return config_error(field, "must be between 1 and 3600000 ms, got " + std::to_string(ms));
  }
  return ok_status();
}

Result<std::string> read_signing_key_hex(const std::string& path) {
  auto text = read_small_file(path, "signing_key_file");
  if (!text) return text.error();
  std::string hex;
  for (const char c : *text)
    if (std::isspace(static_cast<unsigned char>(c)) == 0) hex.push_back(c);
  if (hex.size() != 64 || !is_hex(hex))
    return config_error("signing_key_file",
                        path + ": must hold 64 hex digits (an Ed25519 seed), as refposctl chain init writes it");
  return hex;
}

}  // namespace refpos::hq
