// The head office's HTTPS/1.1 server (docs/sync.md, "TLS" and "HTTP"): mutual
// TLS 1.3 with the chain's CA as the only trust anchor, the routes under
// /v1/, the limits (body size, header/body deadlines, idle keep-alive,
// connections), one JSON log line per request on stderr, graceful shutdown on
// SIGTERM/SIGINT and a CRL reload on SIGHUP.
//
// Boost.Asio/Beast stay inside server.cpp (one heavy translation unit); this
// header shows only what main.cpp and tests need. Request handling itself is
// route_request(), a pure function of the request, testable without a socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "hq/service.hpp"

namespace refpos::hq {

inline constexpr std::size_t kMaxBodyBytes = 4u << 20;  // 4 MiB, docs/sync.md
// A connection keeps its last request body's memory for the next request up
// to this size (a full batch of 500 events is about 250 KB).
inline constexpr std::size_t kKeptBodyBytes = 1u << 20;

struct ServerOptions {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 0;
  std::string ca_file;    // PEM: the chain CA, the only trust anchor for clients
  std::string crl_file;   // PEM: the chain's CRL, reloaded on SIGHUP
  std::string cert_file;  // PEM: the head office's certificate (chain)
  std::string key_file;   // PEM: its private key (never logged)
  std::size_t max_connections = 2048;
  std::int64_t header_timeout_ms = 10'000;  // TLS handshake, then a request's headers
  std::int64_t body_timeout_ms = 30'000;    // a request's body, and writing the answer
  std::int64_t idle_timeout_ms = 60'000;    // keep-alive wait for the next request
  std::int64_t shutdown_timeout_ms = 10'000;
};

// One request as the router sees it: already authenticated (caller is
// nullopt when the certificate chained but named no usable identity).
struct RouteRequest {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // path and query, e.g. "/v1/updates?cursor=3"
  std::string_view body;
  std::optional<Caller> caller;
  bool shutting_down = false;
};

// The answer for one request: routes, method checks (405 with the allowed
// method in `allow`), the caller's role and revocation (403), query parsing
// (400), then the Service. Never throws: a Service exception becomes 500.
struct RouteReply {
  RouteReply(Reply r, std::string allow_method = {})  // NOLINT: {reply, allow} reads best
      : reply(std::move(r)), allow(std::move(allow_method)) {}
  explicit RouteReply(Service::ReportJob job) : deferred(std::move(job)) {}

  Reply reply;
  std::string allow;  // for 405: the method the route accepts
  // Set: work for a thread other than the server's (a report); its reply is
  // sent when it is done, and `reply` is not.
  Service::ReportJob deferred;
};
RouteReply route_request(Service& service, const RouteRequest& request);

// {"error": {"code": ..., "message": ...}} with the status docs/sync.md gives.
Reply error_reply(int status, std::string_view message);

// Binds, then calls `on_listening(address, port)` once the server accepts
// connections, and serves until SIGTERM/SIGINT (graceful: in-flight requests
// finish, within shutdown_timeout_ms). An error before serving (TLS files,
// bind) is returned; after a clean stop, ok.
Status run_server(const ServerOptions& options, Service& service,
                  const std::function<void(const std::string& address, std::uint16_t port)>& on_listening);

}  // namespace refpos::hq
