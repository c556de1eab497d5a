// The head office's configuration: where it listens, where its data, CA, CRL,
// TLS credentials and signing key live, and its limits. Three sources, each
// overriding the one before: a JSON file (--config), environment variables
// (REFPOS_HQ_*), command-line flags (main.cpp). This file reads the first two
// and checks the result; it never reads a key's contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace refpos::hq {

inline constexpr std::size_t kDefaultMaxConnections = 2048;
inline constexpr std::int64_t kDefaultHeaderTimeoutMs = 10'000;  // docs/sync.md
inline constexpr std::int64_t kDefaultBodyTimeoutMs = 30'000;    // docs/sync.md
inline constexpr std::int64_t kDefaultIdleTimeoutMs = 60'000;
inline constexpr std::int64_t kDefaultShutdownTimeoutMs = 10'000;

struct HqConfig {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 8443;  // 0: the system picks a free port
  std::string data_dir;
  // "" : <data_dir>/hq.sqlite3. A postgresql:// or postgres:// URL (any
  // libpq URI; it may hold a password, so it is never logged):
  // PostgreSQL. Anything else: the SQLite file's path.
  std::string database;
  std::string ca_file;
  std::string crl_file;
  std::string cert_file;
  std::string key_file;
  std::string signing_key_file;  // Ed25519 seed as hex (<chain>/hq/signing.key)
  std::size_t max_connections = kDefaultMaxConnections;
  std::int64_t header_timeout_ms = kDefaultHeaderTimeoutMs;
  std::int64_t body_timeout_ms = kDefaultBodyTimeoutMs;
  std::int64_t idle_timeout_ms = kDefaultIdleTimeoutMs;          // keep-alive between requests
  std::int64_t shutdown_timeout_ms = kDefaultShutdownTimeoutMs;  // upper bound on a graceful stop
};

// True when the database setting names PostgreSQL rather than a SQLite file.
inline bool database_is_postgres(std::string_view database) {
  return database.starts_with("postgresql://") || database.starts_with("postgres://");
}

// Reads a JSON object over `config`. Keys: listen, port, data_dir, database, ca_file,
// crl_file, cert_file, key_file, signing_key_file, max_connections,
// header_timeout_ms, body_timeout_ms, idle_timeout_ms, shutdown_timeout_ms.
// Unknown keys are refused (a typo must not fall back to a default).
// Relative paths (a SQLite database too) are taken from the configuration
// file's folder.
Status apply_config_file(const std::string& path, HqConfig& config);

// Environment variables over `config`: REFPOS_HQ_LISTEN, REFPOS_HQ_PORT,
// REFPOS_HQ_DATA_DIR, REFPOS_HQ_DATABASE, REFPOS_HQ_CA_FILE, REFPOS_HQ_CRL_FILE,
// REFPOS_HQ_CERT_FILE, REFPOS_HQ_KEY_FILE, REFPOS_HQ_SIGNING_KEY_FILE.
// `lookup` returns a variable's value, nullopt when unset (tests pass a map).
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
Status apply_environment(const EnvLookup& lookup, HqConfig& config);
EnvLookup process_environment();

// Parses a port number 0..65535 ("port" names the field in the error).
Result<std::uint16_t> parse_port(const std::string& text, const std::string& field);

// Everything needed is present and within its limits (data_dir only when
// `database` is not set).
Status validate(const HqConfig& config);

// Reads the signing key file: 64 hex digits (an Ed25519 seed), surrounding
// white space ignored. The error never quotes the file's content.
Result<std::string> read_signing_key_hex(const std::string& path);

}  // namespace refpos::hq
