// The plugin's only Boost.Beast translation unit: a blocking HTTPS/1.1
// client with mutual TLS 1.3. Every step is an asynchronous Beast operation
// on a tcp_stream with a deadline, driven to completion by running the
// private io_context, so a silent or slow head office cannot hang a till's
// sync beyond the timeout.
#include "sync/https_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <charconv>
#include <optional>

namespace refpos::sync {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// Answers from head office are bounded like requests (docs/sync.md).
constexpr std::uint64_t kMaxResponseBytes = 16 * 1024 * 1024;

Error transport_error(std::string what, const beast::error_code& ec) {
  std::string detail = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    char buf[256];
    ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof buf);
    detail = buf;
  }
  return make_error(ErrorKind::storage, "sync", "head office: " + what + ": " + detail, "network");
}

Error config_error(std::string_view field, std::string message) {
  return make_error(ErrorKind::config, std::string(field), std::move(message));
}

}  // namespace

Result<Endpoint> parse_https_url(std::string_view url, std::string_view field) {
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return config_error(field, "must start with https:// (there is no plaintext sync), got \"" +
                                   std::string(url.substr(0, 40)) + "\"");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/") {
      return config_error(field, "must be https://host[:port] without a path");
    }
    rest = rest.substr(0, slash);
  }
  Endpoint out;
  std::string_view host = rest;
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    const std::string_view port = rest.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return config_error(field, "has a port that is not 1 to 65535: \"" + std::string(port) + "\"");
    }
    out.port = static_cast<std::uint16_t>(value);
  } else {
    out.port = 443;
  }
  if (host.empty() || host.size() > 253 ||
      host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
          std::string_view::npos) {
    return config_error(field, "must name a host (letters, digits, '.', '-')");
  }
  out.host = std::string(host);
  return out;
}

struct HttpsClient::Impl {
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::flat_buffer buffer;
  Endpoint endpoint;
  std::chrono::milliseconds timeout{0};

  // Runs the io_context until the pending operation completes.
  void run() {
    ioc.restart();
    ioc.run();
  }
};

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpsClient::~HttpsClient() {
  if (impl_ && impl_->stream) {
    beast::error_code ec;
    beast::get_lowest_layer(*impl_->stream).socket().close(ec);
  }
}

Result<std::unique_ptr<HttpsClient>> HttpsClient::connect(const Endpoint& endpoint,
                                                          const TlsFiles& files,
                                                          std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  impl->endpoint = endpoint;
  impl->timeout = timeout;
  SSL_CTX* raw = impl->ctx.native_handle();
  // TLS 1.3 only, the modern groups, the chain CA as the only anchor.
  SSL_CTX_set_min_proto_version(raw, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION);
  if (SSL_CTX_set1_groups_list(raw, "X25519:P-256:P-384") != 1) {
    return config_error("sync", "OpenSSL refused the TLS groups X25519:P-256:P-384");
  }
  beast::error_code ec;
  impl->ctx.load_verify_file(files.ca_file, ec);
  if (ec) return config_error("sync.ca_file", "cannot read the chain CA \"" + files.ca_file + "\"");
  impl->ctx.use_certificate_chain_file(files.cert_file, ec);
  if (ec) {
    return config_error("sync.cert_file", "cannot read the store certificate \"" + files.cert_file + "\"");
  }
  impl->ctx.use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) {
    // The path only: never anything read from the file.
    return config_error("sync.key_file", "cannot read the store key \"" + files.key_file +
                                              "\" or it does not match the certificate");
  }
  impl->ctx.set_verify_mode(ssl::verify_peer);

  impl->stream.emplace(impl->ioc, impl->ctx);
  auto& stream = *impl->stream;
  // Check the server's name (or IP) against its certificate, and send SNI
  // for names.
  boost::system::error_code addr_ec;
  (void)asio::ip::make_address(endpoint.host, addr_ec);
  if (addr_ec) {
    // SSL_set_tlsext_host_name without its C cast.
    SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(endpoint.host.c_str()));
    SSL_set1_host(stream.native_handle(), endpoint.host.c_str());
  } else {
    X509_VERIFY_PARAM* param = SSL_get0_param(stream.native_handle());
    X509_VERIFY_PARAM_set1_ip_asc(param, endpoint.host.c_str());
  }

  tcp::resolver resolver(impl->ioc);
  tcp::resolver::results_type results;
  resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                         [&](const beast::error_code& e, tcp::resolver::results_type r) {
                           ec = e;
                           results = std::move(r);
                         });
  impl->run();
  if (ec) return transport_error("cannot resolve " + endpoint.host, ec);

  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_after(timeout);
  tcp_layer.async_connect(results, [&](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
  impl->run();
  if (ec) {
    return transport_error("cannot connect to " + endpoint.host + ":" + std::to_string(endpoint.port), ec);
  }
  // A request goes out whole at once (headers and body are separate TLS
  // records): no wait for a delayed ACK under Nagle's algorithm.
  tcp_layer.socket().set_option(tcp::no_delay(true), ec);
  tcp_layer.expires_after(timeout);
  stream.async_handshake(ssl::stream_base::client, [&](const beast::error_code& e) { ec = e; });
  impl->run();
  if (ec) return transport_error("TLS handshake failed", ec);
  return std::unique_ptr<HttpsClient>(new HttpsClient(std::move(impl)));
}

Result<HttpResponse> HttpsClient::request(std::string_view method, std::string_view target,
                                          std::string_view body) {
  auto& impl = *impl_;
  auto& stream = *impl.stream;
  http::request<http::string_body> req;
  req.method(http::string_to_verb(beast::string_view(method.data(), method.size())));
  req.target(std::string(target));
  req.version(11);
  req.set(http::field::host, impl.endpoint.host);
  req.set(http::field::user_agent, "refpos");
  req.keep_alive(true);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.prepare_payload();

  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(impl.timeout);
  http::async_write(stream, req, [&](const beast::error_code& e, std::size_t) { ec = e; });
  impl.run();
  if (ec) return transport_error("sending " + std::string(target), ec);

  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  beast::get_lowest_layer(stream).expires_after(impl.timeout);
  http::async_read(stream, impl.buffer, parser, [&](const beast::error_code& e, std::size_t) { ec = e; });
  impl.run();
  if (ec) return transport_error("reading the answer to " + std::string(target), ec);
  auto res = parser.release();
  return HttpResponse{static_cast<int>(res.result_int()), std::move(res.body())};
}

}  // namespace refpos::sync
