// The head office's HTTPS/1.1 server (server.hpp): Boost.Beast sessions over
// mutual TLS 1.3, after Beast's async-ssl and server-flex examples.
//
// One io_context on one thread: the Service is not thread-safe and is only
// ever called from here. A session's life:
//
//   accept -> (over max_connections: closed) -> TLS handshake (header deadline)
//     -> wait for the first byte of a request (header deadline for the first
//        request, idle deadline between kept-alive requests)
//     -> headers (header deadline, header_limit) -> body (body deadline,
//        body_limit 4 MiB: a larger Content-Length is answered 413 unread)
//     -> route_request() -> write (body deadline) -> next request or close.
//
// A deadline that passes closes the connection without an answer (a client
// that sends half a header and waits is a slow-loris, not a customer).
//
// Shutdown (SIGTERM/SIGINT): the acceptor closes; a request whose headers
// arrived before the signal is served normally; one that arrives after gets
// 503 shutting_down and the connection closes; connections idle between
// requests are closed after a short drain window; after shutdown_timeout_ms
// whatever remains is closed and run_server returns.
//
// Logs: one JSON object per line on stderr, one per request (ts, remote,
// caller, method, target, status, bytes, ms) plus lifecycle events. Never a
// body, a key or a header value other than the request line.
#include "hq/server.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

namespace refpos::hq {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using nlohmann::json;

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::size_t kMaxLoggedTargetBytes = 256;
constexpr std::size_t kMaxCommonNameBytes = 128;
constexpr std::int64_t kIdleDrainMs = 1000;       // idle connections kept after SIGTERM
constexpr std::int64_t kTlsCloseTimeoutMs = 2000;  // waiting for the peer's close_notify
constexpr std::int64_t kAcceptRetryMs = 100;       // after EMFILE and the like
constexpr const char* kServerName = "refpos-hq/" REFPOS_VERSION;

// ---------------------------------------------------------------- logging

std::string utc_timestamp() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t secs = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%.*s.%03dZ", static_cast<int>(n), buf, static_cast<int>(ms));
  return out;
}

// One line per call, written with one fwrite so lines never interleave; keys
// in the order given, after "ts".
using LogEntry = nlohmann::ordered_json;
void log_line(const LogEntry& entry) {
  LogEntry line = LogEntry::object();
  line["ts"] = utc_timestamp();
  for (const auto& item : entry.items()) line[item.key()] = item.value();
  // Targets come from the network: invalid UTF-8 is replaced, never thrown on.
  std::string text = line.dump(-1, ' ', false, LogEntry::error_handler_t::replace);
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

std::string_view to_std(beast::string_view s) { return {s.data(), s.size()}; }

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// ---------------------------------------------------------------- routing

const char* error_code_for(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthenticated";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "too_large";
    case 503: return "shutting_down";
    default: return "internal";
  }
}

struct SplitTarget {
  std::string_view path;
  std::string_view query;
};

SplitTarget split_target(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// name=value pairs; nullopt if a percent escape is malformed.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

// The single value of `name`; an error reply if it is given twice.
Result<std::optional<std::string>> query_value(
    const std::vector<std::pair<std::string, std::string>>& params, const std::string& name) {
  std::optional<std::string> found;
  for (const auto& [k, v] : params) {
    if (k != name) continue;
    if (found) return make_error(ErrorKind::bad_request, name, "given more than once");
    found = v;
  }
  return found;
}

// A cursor is a non-negative decimal integer that fits in int64.
std::optional<std::int64_t> parse_cursor(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::int64_t n = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::int64_t digit = c - '0';
    if (n > (INT64_MAX - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
  }
  return n;
}

enum class Access { any, store, admin, store_or_admin };

struct Route {
  std::string_view path;
  std::string_view method;
  Access access;
};

constexpr Route kRoutes[] = {
    {"/v1/health", "GET", Access::any},
    {"/v1/events", "POST", Access::store},
    {"/v1/updates", "GET", Access::store},
    {"/v1/status", "GET", Access::store_or_admin},
    {"/v1/admin/rules", "POST", Access::admin},
    {"/v1/admin/code_keys", "POST", Access::admin},
    {"/v1/admin/revocations", "POST", Access::admin},
    {"/v1/admin/holds", "POST", Access::admin},
    {"/v1/pii_keys", "POST", Access::store},
    {"/v1/admin/forget", "POST", Access::admin},
    {"/v1/reports/referrals", "GET", Access::admin},
};

std::string role_name(Caller::Role role) { return role == Caller::Role::store ? "store" : "admin"; }

RouteReply route_checked(Service& service, const RouteRequest& rq) {
  if (rq.shutting_down) return {error_reply(503, "the head office is shutting down; retry later"), {}};
  if (!rq.caller)
    return {error_reply(401, "the client certificate names neither a store (OU=store, CN=<store id>) "
                             "nor an admin (OU=admin, CN=<name>)"),
            {}};
  const Caller& caller = *rq.caller;
  const auto [path, query] = split_target(rq.target);

  const Route* route = nullptr;
  for (const auto& r : kRoutes)
    if (r.path == path) route = &r;
  if (route == nullptr) return {error_reply(404, "no route " + std::string(path)), {}};
  if (rq.method != route->method)
    return {error_reply(405, std::string(path) + ": method must be " + std::string(route->method) +
                                 ", got " + std::string(rq.method)),
            std::string(route->method)};

  // A push checks this itself, with the store's record it reads anyway.
  if (caller.role == Caller::Role::store && path != "/v1/events" &&
      service.store_revoked(caller.name))
    return {error_reply(403, "store " + caller.name + " is revoked"), {}};
  const bool allowed = route->access == Access::any || route->access == Access::store_or_admin ||
                       (route->access == Access::store && caller.role == Caller::Role::store) ||
                       (route->access == Access::admin && caller.role == Caller::Role::admin);
  if (!allowed)
    return {error_reply(403, std::string(path) + ": not for a caller with OU=" + role_name(caller.role)),
            {}};

  auto params = parse_query(query);
  if (!params) return {error_reply(400, "query: malformed percent escape"), {}};

  if (path == "/v1/health") return {service.health(), {}};
  if (path == "/v1/events") return {service.push_events(caller, rq.body), {}};
  if (path == "/v1/updates") {
    auto cursor_text = query_value(*params, "cursor");
    if (!cursor_text) return {error_reply(400, cursor_text.error().describe()), {}};
    if (!cursor_text->has_value())
      return {error_reply(400, "cursor: required, the last change applied (0 at first)"), {}};
    const auto cursor = parse_cursor(**cursor_text);
    if (!cursor)
      return {error_reply(400, "cursor: must be a non-negative integer, got '" +
                                   cursor_text->value().substr(0, 32) + "'"),
              {}};
    return {service.updates(caller, *cursor), {}};
  }
  if (path == "/v1/status") {
    auto store_id = query_value(*params, "store_id");
    if (!store_id) return {error_reply(400, store_id.error().describe()), {}};
    return {service.status(caller, *store_id), {}};
  }
  if (path == "/v1/reports/referrals") {
    ReportQuery report;
    for (const auto& [key, target] :
         {std::pair<const char*, std::string*>{"from", &report.from}, {"to", &report.to},
          {"tz", &report.time_zone}, {"format", &report.format}}) {
      auto value = query_value(*params, key);
      if (!value) return {error_reply(400, value.error().describe()), {}};
      if (value->has_value()) *target = **value;
    }
    if (report.from.empty() || report.to.empty())
      return {error_reply(400, "from, to: required, the period's first day and the day after its last "
                               "(YYYY-MM-DD)"),
              {}};
    auto store_id = query_value(*params, "store_id");
    if (!store_id) return {error_reply(400, store_id.error().describe()), {}};
    report.store_id = *store_id;
    auto prepared = service.prepare_report(caller, report);
    if (auto* refused = std::get_if<Reply>(&prepared)) return {std::move(*refused), {}};
    return RouteReply(std::get<Service::ReportJob>(std::move(prepared)));
  }
  if (path == "/v1/admin/rules") return {service.publish_rules(caller, rq.body), {}};
  if (path == "/v1/admin/code_keys") return {service.put_code_key(caller, rq.body), {}};
  if (path == "/v1/admin/holds") return {service.decide_holds(caller, rq.body), {}};
  if (path == "/v1/pii_keys") return {service.put_pii_keys(caller, rq.body), {}};
  if (path == "/v1/admin/forget") return {service.forget(caller, rq.body), {}};
  return {service.revoke(caller, rq.body), {}};
}

// ---------------------------------------------------------------- TLS

// The only place mutual TLS is decided (besides the CA store built below):
// OpenSSL has checked the chain, validity and CRL (preverified); at the leaf
// we also require an explicit clientAuth extended key usage. (OpenSSL's own
// purpose check accepts a leaf without any EKU.)
bool verify_client_certificate(bool preverified, ssl::verify_context& vctx) {
  X509_STORE_CTX* sctx = vctx.native_handle();
  if (!preverified) return false;
  if (X509_STORE_CTX_get_error_depth(sctx) != 0) return true;
  X509* cert = X509_STORE_CTX_get_current_cert(sctx);
  const bool has_client_auth = cert != nullptr &&
                               X509_check_purpose(cert, X509_PURPOSE_SSL_CLIENT, 0) == 1 &&
                               (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) != 0 &&
                               (X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT) != 0;
  if (!has_client_auth) {
    X509_STORE_CTX_set_error(sctx, X509_V_ERR_INVALID_PURPOSE);
    return false;
  }
  return true;
}

// A fresh trust store: the chain CA (every certificate in ca_file) and its
// CRL (every CRL in crl_file), with the leaf's revocation checked.
Result<X509_STORE*> build_trust_store(const std::string& ca_file, const std::string& crl_file) {
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr) return make_error(ErrorKind::internal, "", openssl_errors());
  auto fail = [&](const std::string& what) -> Result<X509_STORE*> {
    X509_STORE_free(store);
    return make_error(ErrorKind::config, what, openssl_errors());
  };
  X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
  if (lookup == nullptr) return fail("ca_file");
  if (X509_load_cert_file(lookup, ca_file.c_str(), X509_FILETYPE_PEM) <= 0) return fail("ca_file");
  if (X509_load_crl_file(lookup, crl_file.c_str(), X509_FILETYPE_PEM) <= 0) return fail("crl_file");
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  return store;
}

Status install_trust_store(ssl::context& ctx, const std::string& ca_file, const std::string& crl_file) {
  auto store = build_trust_store(ca_file, crl_file);
  if (!store) return store.error();
  SSL_CTX_set_cert_store(ctx.native_handle(), *store);  // takes ownership, frees the old one
  return ok_status();
}

Result<std::unique_ptr<ssl::context>> make_tls_context(const ServerOptions& o) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  auto fail = [](const std::string& what) -> Result<std::unique_ptr<ssl::context>> {
    return make_error(ErrorKind::config, what, openssl_errors());
  };
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1)
    return fail("tls");
  if (SSL_CTX_set1_groups_list(native, "X25519:P-256:P-384") != 1) return fail("tls groups");
  // No resumption: a resumed session would skip the CRL check of a store
  // revoked since its first handshake.
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION |
                                  SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_num_tickets(native, 0);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);

  if (SSL_CTX_use_certificate_chain_file(native, o.cert_file.c_str()) != 1) return fail("cert_file");
  if (SSL_CTX_use_PrivateKey_file(native, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) return fail("key_file");
  if (SSL_CTX_check_private_key(native) != 1) return fail("key_file (does not match cert_file)");

  if (auto st = install_trust_store(*ctx, o.ca_file, o.crl_file); !st) return st.error();
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca_file.c_str()))
    SSL_CTX_set_client_CA_list(native, names);  // takes ownership

  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  ctx->set_verify_callback(&verify_client_certificate);
  return ctx;
}

// The only value of `nid` in `name`, as UTF-8; nullopt if absent or repeated.
std::optional<std::string> single_entry(X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0 || X509_NAME_get_index_by_NID(name, nid, index) >= 0) return std::nullopt;
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

// OU=store with CN=<store id>, or OU=admin with CN=<name>; else nullopt (401).
std::optional<Caller> caller_from_certificate(SSL* ssl_handle) {
  X509* cert = SSL_get0_peer_certificate(ssl_handle);
  if (cert == nullptr) return std::nullopt;
  X509_NAME* subject = X509_get_subject_name(cert);
  const auto ou = single_entry(subject, NID_organizationalUnitName);
  const auto cn = single_entry(subject, NID_commonName);
  if (!ou || !cn || cn->empty() || cn->size() > kMaxCommonNameBytes) return std::nullopt;
  for (const char c : *cn)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
  if (*ou == "store") return Caller{Caller::Role::store, *cn};
  if (*ou == "admin") return Caller{Caller::Role::admin, *cn};
  return std::nullopt;
}

std::string describe_caller(const std::optional<Caller>& caller) {
  if (!caller) return {};
  return role_name(caller->role) + ":" + caller->name;
}

// ---------------------------------------------------------------- server

class Session;

class Server {
 public:
  Server(const ServerOptions& options, Service& service, std::unique_ptr<ssl::context> tls)
      : options_(options),
        service_(service),
        tls_(std::move(tls)),
        acceptor_(ioc_),
        stop_signals_(ioc_, SIGTERM, SIGINT),
        reload_signals_(ioc_, SIGHUP),
        drain_timer_(ioc_),
        deadline_timer_(ioc_),
        accept_retry_timer_(ioc_) {}
  ~Server() { destroying_ = true; }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Status listen();
  [[nodiscard]] tcp::endpoint local_endpoint() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec);
  }
  void run();

  Service& service() { return service_; }
  const ServerOptions& options() const { return options_; }
  [[nodiscard]] bool stopping() const { return stopping_; }

  // Runs `job` on the background thread, then `done` with its reply on
  // the server's thread. The server's io_context keeps running until then.
  void run_in_background(Service::ReportJob job, std::function<void(Reply)> done);

  void add(Session* s) { sessions_.insert(s); }
  void remove(Session* s);

 private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void wait_stop_signal();
  void wait_reload_signal();
  void begin_shutdown(int signal_number);
  void close_idle_sessions();
  void close_all_sessions();
  void finish_if_drained();

  ServerOptions options_;
  Service& service_;
  std::unique_ptr<ssl::context> tls_;
  // Before ioc_: sessions still queued in ioc_ when it is destroyed
  // unregister themselves from here.
  std::unordered_set<Session*> sessions_;
  bool stopping_ = false;
  bool destroying_ = false;
  net::io_context ioc_{1};
  tcp::acceptor acceptor_;
  net::signal_set stop_signals_;
  net::signal_set reload_signals_;
  net::steady_timer drain_timer_;
  net::steady_timer deadline_timer_;
  net::steady_timer accept_retry_timer_;
  // Last, so it is destroyed first: its destructor waits for a job under
  // way, whose reply is then queued in ioc_ (still alive) and dropped.
  net::thread_pool background_{1};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, tcp::socket socket, ssl::context& tls, std::string remote)
      : server_(server), stream_(std::move(socket), tls), remote_(std::move(remote)) {
    server_.add(this);
  }
  ~Session() { server_.remove(this); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    state_ = State::handshaking;
    expire_in(server_.options().header_timeout_ms);
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
  }

  // End of the drain window after SIGTERM: a connection between requests
  // (or still shaking hands) has no request in flight; it is closed.
  void close_if_idle() {
    if (state_ == State::handshaking || state_ == State::waiting) close();
  }
  void close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close();
    state_ = State::closed;
  }

 private:
  enum class State { handshaking, waiting, reading, writing, closing, closed };

  void expire_in(std::int64_t ms) {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(ms));
  }

  // Why a connection ended without an answer, for the log. A TLS short read
  // (the peer closed without close_notify) and plain EOF are ordinary ends of
  // a keep-alive connection and are not logged.
  void fail(beast::error_code ec, const char* what) {
    if (state_ == State::closed) return;
    const bool ordinary = ec == net::error::eof || ec == ssl::error::stream_truncated ||
                          ec == net::error::operation_aborted || ec == http::error::end_of_stream;
    if (!ordinary || std::string_view(what) != "wait") {
      LogEntry e = {{"event", "connection_closed"}, {"remote", remote_}, {"during", what},
                {"reason", ec == beast::error::timeout ? std::string("deadline passed") : ec.message()}};
      if (caller_) e["caller"] = describe_caller(caller_);
      log_line(std::move(e));
    }
    close();
  }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      std::string reason = ec == beast::error::timeout ? std::string("deadline passed") : ec.message();
      const long verify = SSL_get_verify_result(stream_.native_handle());
      if (verify != X509_V_OK) reason = X509_verify_cert_error_string(verify);
      log_line({{"event", "tls_refused"}, {"remote", remote_}, {"reason", reason}});
      close();
      return;
    }
    caller_ = caller_from_certificate(stream_.native_handle());
    wait_for_request(server_.options().header_timeout_ms);
  }

  // Waits for a request's first byte under `deadline_ms`; the header deadline
  // starts from there, so an idle keep-alive connection is not a slow one.
  void wait_for_request(std::int64_t deadline_ms) {
    // Shutting down: a kept-alive client may still send one request in the
    // drain window; it is answered 503 and the connection closes.
    if (server_.stopping()) deadline_ms = std::min(deadline_ms, kIdleDrainMs);
    if (buffer_.size() > 0) {  // a pipelined request is already here
      read_header();
      return;
    }
    state_ = State::waiting;
    expire_in(deadline_ms);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->on_first_bytes(ec, n);
                            });
  }

  void on_first_bytes(beast::error_code ec, std::size_t n) {
    if (ec) return fail(ec, "wait");
    buffer_.commit(n);
    read_header();
  }

  void read_header() {
    state_ = State::reading;
    started_ = std::chrono::steady_clock::now();
    parser_.emplace();
    parser_->get().body() = std::move(body_buffer_);  // empty, with its capacity
    parser_->header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
    parser_->body_limit(kMaxBodyBytes);
    expire_in(server_.options().header_timeout_ms);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code e, std::size_t) {
                              self->on_header(e);
                            });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::body_limit) return answer_and_close(413, "body: at most 4 MiB");
    if (ec == http::error::header_limit) return answer_and_close(400, "headers: at most 16 KiB");
    if (is_http_parse_error(ec))
      return answer_and_close(400, "not an HTTP/1.1 request: " + ec.message());
    if (ec) return fail(ec, "headers");
    arrived_before_stop_ = !server_.stopping();
    if (parser_->is_done()) return handle();
    expire_in(server_.options().body_timeout_ms);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_body(e); });
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::body_limit) return answer_and_close(413, "body: at most 4 MiB");
    if (is_http_parse_error(ec))
      return answer_and_close(400, "malformed body: " + ec.message());
    if (ec) return fail(ec, "body");
    handle();
  }

  void handle() {
    const auto& req = parser_->get();
    RouteRequest rq;
    rq.method = to_std(req.method_string());
    rq.target = to_std(req.target());
    rq.body = req.body();
    rq.caller = caller_;
    rq.shutting_down = !arrived_before_stop_;
    RouteReply routed = route_request(server_.service(), rq);
    const bool keep_alive = req.keep_alive() && !server_.stopping();
    if (routed.deferred) {
      // Answered when the job is done; nothing else is read meanwhile.
      server_.run_in_background(std::move(routed.deferred),
                                [self = shared_from_this(), keep_alive](Reply reply) {
                                  self->respond(RouteReply(std::move(reply)), keep_alive);
                                });
      return;
    }
    respond(std::move(routed), keep_alive);
  }

  // Answers without reading the rest of the request, then closes.
  void answer_and_close(int status, const std::string& message) {
    respond(RouteReply{error_reply(status, message), {}}, false);
  }

  void respond(RouteReply routed, bool keep_alive) {
    const auto& req = parser_->get();
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(routed.reply.status));
    res_.set(http::field::server, kServerName);
    res_.set(http::field::content_type, routed.reply.content_type);
    res_.set(http::field::cache_control, "no-store");
    if (!routed.allow.empty()) res_.set(http::field::allow, routed.allow);
    if (routed.reply.retry_after_s > 0) {
      res_.set(http::field::retry_after, std::to_string(routed.reply.retry_after_s));
    }
    res_.body() = routed.reply.text ? std::move(*routed.reply.text)
                                    : routed.reply.body.dump(-1, ' ', false, json::error_handler_t::replace);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();

    const auto elapsed = std::chrono::steady_clock::now() - started_;
    std::string target(to_std(req.target()));
    if (target.size() > kMaxLoggedTargetBytes) target.resize(kMaxLoggedTargetBytes);
    LogEntry line{{"remote", remote_},
                  {"caller", caller_ ? LogEntry(describe_caller(caller_)) : LogEntry(nullptr)},
                  {"method", std::string(to_std(req.method_string()))},
                  {"target", target},
                  {"status", routed.reply.status},
                  {"bytes", res_.body().size()},
                  {"ms", std::chrono::duration<double, std::milli>(elapsed).count()}};
    if (!routed.reply.log_detail.empty()) line["detail"] = routed.reply.log_detail;
    log_line(line);

    state_ = State::writing;
    expire_in(server_.options().body_timeout_ms);
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_write(ec);
    });
  }

  void on_write(beast::error_code ec) {
    if (ec) return fail(ec, "write");
    if (!res_.keep_alive()) return close_tls();
    keep_body_buffer();
    parser_.reset();
    wait_for_request(server_.options().idle_timeout_ms);
  }

  // A store's sync is a run of pushes of about the same size on one
  // connection: the next body is read into this one's memory, already
  // faulted in, rather than into fresh pages (measured at about 5% of a
  // push with refpos-bench-hq --postgres). Only up to kKeptBodyBytes, so an
  // idle connection does not hold a 4 MiB body.
  void keep_body_buffer() {
    std::string& body = parser_->get().body();
    if (body.capacity() > kKeptBodyBytes) return;
    body.clear();
    body_buffer_ = std::move(body);
  }

  void close_tls() {
    state_ = State::closing;
    expire_in(std::min(kTlsCloseTimeoutMs, server_.options().header_timeout_ms));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->close(); });
  }

  Server& server_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string body_buffer_;  // the last request's body memory (keep_body_buffer)
  http::response<http::string_body> res_;
  std::optional<Caller> caller_;
  std::chrono::steady_clock::time_point started_{};
  bool arrived_before_stop_ = true;
  State state_ = State::handshaking;
};

void Server::remove(Session* s) {
  sessions_.erase(s);
  if (!destroying_) finish_if_drained();
}

Status Server::listen() {
  beast::error_code ec;
  const auto address = net::ip::make_address(options_.listen_address, ec);
  if (ec) return make_error(ErrorKind::config, "listen", "not an IP address: " + options_.listen_address);
  const tcp::endpoint endpoint(address, options_.port);
  auto fail = [&](const char* what) {
    return make_error(ErrorKind::internal, "listen",
                      std::string(what) + " " + options_.listen_address + ":" +
                          std::to_string(options_.port) + ": " + ec.message());
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("cannot open");
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("cannot configure");
  acceptor_.bind(endpoint, ec);
  if (ec) return fail("cannot bind");
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("cannot listen on");
  return ok_status();
}

void Server::run() {
  wait_stop_signal();
  wait_reload_signal();
  do_accept();
  ioc_.run();
}

void Server::run_in_background(Service::ReportJob job, std::function<void(Reply)> done) {
  net::post(background_, [job = std::move(job), done = std::move(done),
                          work = net::make_work_guard(ioc_)]() mutable {
    Reply reply;
    try {
      reply = job();
    } catch (const std::exception& e) {
      log_line({{"event", "internal_error"}, {"what", e.what()}});
      reply = error_reply(500, "internal error; see the head office's log");
    }
    net::post(work.get_executor(), [done = std::move(done), reply = std::move(reply)]() mutable {
      done(std::move(reply));
    });
    work.reset();
  });
}

void Server::do_accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void Server::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopping_) return;
  if (ec) {
    // EMFILE and friends: try again shortly instead of spinning.
    log_line({{"event", "accept_failed"}, {"reason", ec.message()}});
    accept_retry_timer_.expires_after(std::chrono::milliseconds(kAcceptRetryMs));
    accept_retry_timer_.async_wait([this](beast::error_code e) {
      if (!e && !stopping_) do_accept();
    });
    return;
  }
  if (sessions_.size() >= options_.max_connections) {
    beast::error_code ignored;
    socket.close(ignored);  // over the limit: refused before any TLS work
  } else {
    beast::error_code rec;
    // Answers go out whole at once: without this, Nagle's algorithm holds
    // the last segment of a TLS record back until the client's delayed ACK,
    // tens of milliseconds per request.
    socket.set_option(tcp::no_delay(true), rec);
    const auto peer = socket.remote_endpoint(rec);
    std::string remote = rec ? std::string("?") : peer.address().to_string() + ":" + std::to_string(peer.port());
    std::make_shared<Session>(*this, std::move(socket), *tls_, std::move(remote))->start();
  }
  do_accept();
}

void Server::wait_stop_signal() {
  stop_signals_.async_wait([this](beast::error_code ec, int signal_number) {
    if (!ec) begin_shutdown(signal_number);
  });
}

void Server::wait_reload_signal() {
  reload_signals_.async_wait([this](beast::error_code ec, int) {
    if (ec || stopping_) return;
    if (auto st = install_trust_store(*tls_, options_.ca_file, options_.crl_file); st)
      log_line({{"event", "crl_reloaded"}, {"crl_file", options_.crl_file}});
    else
      log_line({{"event", "crl_reload_failed"}, {"reason", st.error().describe()}, {"kept", "previous CRL"}});
    wait_reload_signal();
  });
}

void Server::begin_shutdown(int signal_number) {
  stopping_ = true;
  log_line({{"event", "shutting_down"}, {"signal", signal_number}, {"connections", sessions_.size()}});
  beast::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_timer_.cancel();
  reload_signals_.cancel();
  // A second signal while draining: stop at once.
  stop_signals_.async_wait([this](beast::error_code ec, int) {
    if (!ec) close_all_sessions();
  });
  drain_timer_.expires_after(std::chrono::milliseconds(std::min(kIdleDrainMs, options_.shutdown_timeout_ms)));
  drain_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) close_idle_sessions();
  });
  deadline_timer_.expires_after(std::chrono::milliseconds(options_.shutdown_timeout_ms));
  deadline_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) close_all_sessions();
  });
  finish_if_drained();
}

void Server::close_idle_sessions() {
  const std::vector<Session*> snapshot(sessions_.begin(), sessions_.end());
  for (Session* s : snapshot) s->close_if_idle();
}

void Server::close_all_sessions() {
  const std::vector<Session*> snapshot(sessions_.begin(), sessions_.end());
  for (Session* s : snapshot) s->close();
  ioc_.stop();
}

// The last connection gone during shutdown: nothing keeps run() going.
void Server::finish_if_drained() {
  if (!stopping_ || !sessions_.empty()) return;
  stop_signals_.cancel();
  drain_timer_.cancel();
  deadline_timer_.cancel();
}

}  // namespace

Reply error_reply(int status, std::string_view message) {
  return Reply{status, json{{"error", {{"code", error_code_for(status)}, {"message", std::string(message)}}}}};
}

RouteReply route_request(Service& service, const RouteRequest& request) {
  try {
    return route_checked(service, request);
  } catch (const std::exception& e) {
    log_line({{"event", "internal_error"}, {"target", std::string(split_target(request.target).path)},
              {"what", e.what()}});
  } catch (...) {
    log_line({{"event", "internal_error"}, {"target", std::string(split_target(request.target).path)}});
  }
  return {error_reply(500, "internal error; see the head office's log"), {}};
}

Status run_server(const ServerOptions& options, Service& service,
                  const std::function<void(const std::string&, std::uint16_t)>& on_listening) {
  std::signal(SIGPIPE, SIG_IGN);  // a peer gone mid-write is an error code, not a signal
  auto tls = make_tls_context(options);
  if (!tls) return tls.error();
  Server server(options, service, std::move(*tls));
  if (auto st = server.listen(); !st) return st;
  const auto endpoint = server.local_endpoint();
  log_line({{"event", "listening"}, {"address", endpoint.address().to_string()}, {"port", endpoint.port()}});
  on_listening(endpoint.address().to_string(), endpoint.port());
  server.run();
  log_line({{"event", "stopped"}});
  return ok_status();
}

}  // namespace refpos::hq
