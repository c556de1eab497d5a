// refpos-hq: the chain's head office (docs/sync.md). Reads its configuration
// (file, then REFPOS_HQ_* environment, then flags), opens its database
// (SQLite, or PostgreSQL when the database setting is a postgresql:// URL),
// and serves stores and admins over mutual TLS until SIGTERM.
//
// Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage or configuration
// error. Errors go to stderr prefixed "refpos-hq: "; the request log is JSON
// lines on stderr; stdout carries exactly one line, "listening on ADDR:PORT",
// once connections are accepted (tests and supervisors wait for it).
#include <malloc.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "base/clock.hpp"
#include "hq/config.hpp"
#include "hq/server.hpp"
#include "hq/pg_storage.hpp"
#include "hq/service.hpp"
#include "hq/sqlite_storage.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr const char* kDatabaseFile = "hq.sqlite3";

constexpr const char* kFooter = R"(Configuration: --config FILE is a JSON object with the keys listen, port,
data_dir, database, ca_file, crl_file, cert_file, key_file, signing_key_file,
max_connections, header_timeout_ms, body_timeout_ms, idle_timeout_ms,
shutdown_timeout_ms (relative paths are taken from the file's folder).
Environment variables override the file, flags override both:
  REFPOS_HQ_LISTEN, REFPOS_HQ_PORT, REFPOS_HQ_DATA_DIR, REFPOS_HQ_DATABASE,
  REFPOS_HQ_CA_FILE, REFPOS_HQ_CRL_FILE, REFPOS_HQ_CERT_FILE, REFPOS_HQ_KEY_FILE,
  REFPOS_HQ_SIGNING_KEY_FILE.
The database is DATA_DIR/hq.sqlite3 unless `database` names another SQLite
file or a PostgreSQL URL (postgresql://USER:PASSWORD@HOST/DB?...); prefer
REFPOS_HQ_DATABASE or the config file to --database for a URL with a
password (a flag shows in the process list).
The files come from `refposctl chain init DIR`: ca/ca.pem, ca/crl.pem,
hq/server.pem, hq/server.key, hq/signing.key.

Signals: SIGTERM/SIGINT stop gracefully (requests in flight finish, new ones
get 503), SIGHUP reloads the CRL file.
Output: "listening on ADDR:PORT" on stdout once ready; one JSON line per
request on stderr.
Exit codes: 0 clean shutdown, 1 runtime failure (storage, TLS, bind),
2 usage or configuration error.)";

int fail(int code, const std::string& message) {
  std::cerr << "refpos-hq: " << message << '\n';
  return code;
}

struct Flags {
  std::string config_file;
  std::string listen, port, data_dir, database, ca_file, crl_file, cert_file, key_file, signing_key_file;
  std::size_t max_connections = 0;
  std::int64_t header_timeout_ms = 0, body_timeout_ms = 0, idle_timeout_ms = 0, shutdown_timeout_ms = 0;
};

void add_flags(CLI::App& app, Flags& f) {
  app.add_option("--config", f.config_file, "JSON configuration file");
  app.add_option("--listen", f.listen, "address to listen on (default 127.0.0.1)");
  app.add_option("--port", f.port, "TCP port (default 8443; 0 picks a free one)");
  app.add_option("--data-dir", f.data_dir, "folder of the head office's database");
  app.add_option("--database", f.database,
                 "SQLite file, or postgresql:// URL (default DATA_DIR/hq.sqlite3)");
  app.add_option("--ca-file", f.ca_file, "the chain CA certificate (PEM), the only trust anchor");
  app.add_option("--crl-file", f.crl_file, "the chain's CRL (PEM), reloaded on SIGHUP");
  app.add_option("--cert-file", f.cert_file, "the head office's certificate (PEM)");
  app.add_option("--key-file", f.key_file, "the head office's TLS private key (PEM)");
  app.add_option("--signing-key-file", f.signing_key_file, "Ed25519 seed (hex) that signs rule sets");
  app.add_option("--max-connections", f.max_connections, "concurrent connections (default 2048)");
  app.add_option("--header-timeout-ms", f.header_timeout_ms, "handshake and headers deadline (default 10000)");
  app.add_option("--body-timeout-ms", f.body_timeout_ms, "body deadline (default 30000)");
  app.add_option("--idle-timeout-ms", f.idle_timeout_ms, "keep-alive idle timeout (default 60000)");
  app.add_option("--shutdown-timeout-ms", f.shutdown_timeout_ms, "upper bound on a graceful stop (default 10000)");
}

refpos::Status apply_flags(const CLI::App& app, const Flags& f, refpos::hq::HqConfig& c) {
  auto given = [&](const char* name) { return app.get_option(name)->count() > 0; };
  if (given("--listen")) c.listen_address = f.listen;
  if (given("--port")) {
    auto port = refpos::hq::parse_port(f.port, "--port");
    if (!port) return port.error();
    c.port = *port;
  }
  if (given("--data-dir")) c.data_dir = f.data_dir;
  if (given("--database")) c.database = f.database;
  if (given("--ca-file")) c.ca_file = f.ca_file;
  if (given("--crl-file")) c.crl_file = f.crl_file;
  if (given("--cert-file")) c.cert_file = f.cert_file;
  if (given("--key-file")) c.key_file = f.key_file;
  if (given("--signing-key-file")) c.signing_key_file = f.signing_key_file;
  if (given("--max-connections")) c.max_connections = f.max_connections;
  if (given("--header-timeout-ms")) c.header_timeout_ms = f.header_timeout_ms;
  if (given("--body-timeout-ms")) c.body_timeout_ms = f.body_timeout_ms;
  if (given("--idle-timeout-ms")) c.idle_timeout_ms = f.idle_timeout_ms;
  if (given("--shutdown-timeout-ms")) c.shutdown_timeout_ms = f.shutdown_timeout_ms;
  return refpos::ok_status();
}

refpos::hq::ServerOptions server_options(const refpos::hq::HqConfig& c) {
  refpos::hq::ServerOptions o;
  o.listen_address = c.listen_address;
  o.port = c.port;
  o.ca_file = c.ca_file;
  o.crl_file = c.crl_file;
  o.cert_file = c.cert_file;
  o.key_file = c.key_file;
  o.max_connections = c.max_connections;
  o.header_timeout_ms = c.header_timeout_ms;
  o.body_timeout_ms = c.body_timeout_ms;
  o.idle_timeout_ms = c.idle_timeout_ms;
  o.shutdown_timeout_ms = c.shutdown_timeout_ms;
  return o;
}

// Every connected store is a socket: with the usual soft limit of 1,024
// open files, max_connections (2,048 by default) would be cut short by
// EMFILE. The soft limit goes up to the hard one (if even that is too low,
// the log shows accept_failed lines).
void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// A push is one request body of up to 4 MiB (500 events are about 250 KB)
// and a COPY buffer about as large. With glibc's defaults those blocks go
// back to the kernel after every push (the heap top is trimmed) and are
// faulted in, zeroed, again by the next one: 20-30% of a push's time on
// PostgreSQL, measured in pairs with refpos-bench-hq (docs/benchmarks.md).
// Blocks up to 8 MiB come from the heap, and up to 64 MiB of freed heap is
// kept for the next push; the fixed values also stop glibc's own threshold
// from drifting. The resident set then stays at its high-water mark, which
// the benchmark's peak figure already is.
void keep_push_buffers() {
  (void)mallopt(M_MMAP_THRESHOLD, 8 << 20);
  (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

std::string sqlite_path(const refpos::hq::HqConfig& c) {
  return c.database.empty() ? (std::filesystem::path(c.data_dir) / kDatabaseFile).string() : c.database;
}

// SQLite at sqlite_path(), or PostgreSQL when the database setting is a URL.
// Errors never hold the URL's password (PgStorage redacts it).
refpos::Result<std::unique_ptr<refpos::hq::Storage>> open_storage(const refpos::hq::HqConfig& c) {
  if (refpos::hq::database_is_postgres(c.database)) {
    auto pg = refpos::hq::PgStorage::open(c.database);
    if (pg) return std::unique_ptr<refpos::hq::Storage>(std::move(*pg));
    if (pg.error().reason != "unavailable") return pg.error();
    // Down at start: serve anyway, answering 503 with a retry hint until it
    // is back (stores retry; other instances may be fine), rather than
    // leaving the port closed or exiting into a restart loop.
    std::fprintf(stderr, "refpos-hq: warning: %s; serving anyway, pushes and pulls get 503 until it is back\n",
                 pg.error().describe().c_str());
    return std::unique_ptr<refpos::hq::Storage>(refpos::hq::PgStorage::open_when_available(c.database));
  }
  const std::string path = sqlite_path(c);
  const auto folder = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  if (ec) {
    return refpos::make_error(refpos::ErrorKind::storage, "",
                              "cannot create " + folder.string() + ": " + ec.message());
  }
  // Before the first connection: SQLite's allocation statistics take a
  // global mutex on every allocation, and nothing here reads them.
  (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  auto sqlite = refpos::hq::SqliteStorage::open(path);
  if (!sqlite) return sqlite.error();
  return std::unique_ptr<refpos::hq::Storage>(std::move(*sqlite));
}

int run(int argc, char** argv) {
  CLI::App app{"refpos-hq " REFPOS_VERSION ": the chain's head office; stores sync with it over mutual TLS."};
  app.footer(kFooter);
  Flags flags;
  add_flags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(kExitUsage, std::string(e.what()) + " (see --help)");
  }

  refpos::hq::HqConfig config;
  if (!flags.config_file.empty()) {
    if (auto st = refpos::hq::apply_config_file(flags.config_file, config); !st)
      return fail(kExitUsage, st.error().describe());
  }
  if (auto st = refpos::hq::apply_environment(refpos::hq::process_environment(), config); !st)
    return fail(kExitUsage, st.error().describe());
  if (auto st = apply_flags(app, flags, config); !st) return fail(kExitUsage, st.error().describe());
  if (auto st = refpos::hq::validate(config); !st) return fail(kExitUsage, st.error().describe());
  auto signing_hex = refpos::hq::read_signing_key_hex(config.signing_key_file);
  if (!signing_hex) return fail(kExitUsage, signing_hex.error().describe());

  raise_open_file_limit();
  keep_push_buffers();
  auto storage = open_storage(config);
  if (!storage) return fail(kExitRuntime, "storage: " + storage.error().describe());
  std::string db_path = refpos::hq::database_is_postgres(config.database) ? "" : sqlite_path(config);

  refpos::SystemClock clock;
  refpos::hq::ServiceOptions service_options;
  service_options.signing_private_hex = std::move(*signing_hex);
  // Reports read the SQLite file; on PostgreSQL, the database in one snapshot.
  service_options.report_database = std::move(db_path);
  refpos::hq::Service service(std::move(*storage), std::move(service_options), clock);
  // Pushes are acknowledged once appended; this thread folds them behind
  // (and first folds whatever the last run left queued).
  if (auto st = service.start_folding(); !st) {
    return fail(kExitRuntime, "storage: " + st.error().describe());
  }

  auto served = refpos::hq::run_server(server_options(config), service,
                                       [](const std::string& address, std::uint16_t port) {
                                         std::printf("listening on %s:%u\n", address.c_str(),
                                                     static_cast<unsigned>(port));
                                         std::fflush(stdout);
                                       });
  if (!served) {
    const int code = served.error().kind == refpos::ErrorKind::config ? kExitUsage : kExitRuntime;
    return fail(code, served.error().describe());
  }
  // Stopped: fold what pushes left queued, so the file is complete for a
  // report read from it (at most kMaxLag events: about a second).
  if (auto st = service.finish_folding(); !st) {
    return fail(kExitRuntime, "storage: folding at shutdown: " + st.error().describe());
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return fail(kExitRuntime, std::string("unexpected error: ") + e.what());
  } catch (...) {
    return fail(kExitRuntime, "unexpected error");
  }
}
