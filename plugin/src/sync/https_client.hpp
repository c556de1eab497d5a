// One HTTPS/1.1 connection to head office with mutual TLS (docs/sync.md,
// "TLS"): TLS 1.3 only, the chain CA as the only trust anchor, the server's
// name or IP checked against the URL, the client's certificate and key from
// files. Used by the plugin's sync and by refposctl's admin commands.
//
// Blocking, one request at a time, with a deadline per request; Boost.Beast
// stays inside https_client.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace refpos::sync {

struct TlsFiles {
  std::string ca_file;    // the chain CA (PEM)
  std::string cert_file;  // this client's certificate (PEM)
  std::string key_file;   // its private key (PEM); a secret, never logged
};

struct Endpoint {
  std::string host;  // "127.0.0.1" or a DNS name, checked against the certificate
  std::uint16_t port = 8443;
};

// "https://host:port" (port defaults to 443); anything else is a config error
// naming `field`.
Result<Endpoint> parse_https_url(std::string_view url, std::string_view field);

struct HttpResponse {
  int status = 0;
  std::string body;
};

class HttpsClient {
 public:
  // Connects and completes the TLS handshake. Errors name what failed (DNS,
  // connect, handshake with OpenSSL's reason, e.g. a certificate that does
  // not verify) and never include key material.
  static Result<std::unique_ptr<HttpsClient>> connect(const Endpoint& endpoint,
                                                      const TlsFiles& files,
                                                      std::chrono::milliseconds timeout);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // One request on the open connection (keep-alive). `target` is the path
  // and query ("/v1/updates?cursor=3"); `body` is sent as application/json
  // when not empty. A transport failure is an Error; any HTTP status is a
  // response.
  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body);

 private:
  struct Impl;
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace refpos::sync
