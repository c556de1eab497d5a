// refpos-hq as a process (tools/hq/server.cpp): every refusal of docs/sync.md's
// "TLS" section at the handshake, the HTTP errors and limits, deadlines
// against slow clients, graceful shutdown, and the request log. The server is
// the real binary on 127.0.0.1, the client is OpenSSL used directly.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "harness.hpp"

using refpos::test::HqProcess;
using refpos::test::HqSettings;
using refpos::test::kGuardMs;
using refpos::test::refused;
using refpos::test::TestChain;
using refpos::test::TlsClient;
using nlohmann::json;

namespace {

std::string error_code_of(const refpos::test::HttpResponse& r) {
  const json body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || !body.contains("error")) return "(not an error document: " + r.body + ")";
  return body["error"].value("code", "");
}

}  // namespace

TEST_CASE("health answers a store and an admin over mutual TLS, on one kept-alive connection") {
  const TestChain& chain = TestChain::get();
  HqProcess hq;
  TlsClient store(hq.port(), chain.store_a);
  REQUIRE(store.handshake_ok());
  for (int i = 0; i < 2; ++i) {
    auto r = store.request("GET", "/v1/health");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->headers["content-type"] == "application/json");
    CHECK(json::parse(r->body)["status"] == "ok");
  }
  TlsClient admin(hq.port(), chain.admin);
  auto r = admin.request("GET", "/v1/health");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("refused at the handshake: TLS 1.2, no certificate, another CA, expired, revoked, no clientAuth") {
  const TestChain& chain = TestChain::get();
  HqProcess hq;
  SUBCASE("a TLS 1.2-only client hello") {
    TlsClient c(hq.port(), chain.store_a, TLS1_2_VERSION);
    CHECK(c.connected());
    CHECK_FALSE(c.handshake_ok());
  }
  SUBCASE("no client certificate") { CHECK(refused(hq.port(), std::nullopt)); }
  SUBCASE("a certificate from another CA") { CHECK(refused(hq.port(), chain.other_ca_store)); }
  SUBCASE("an expired certificate") {
    CHECK(refused(hq.port(), chain.expired_store));
    CHECK(hq.wait_for_log("certificate has expired"));
  }
  SUBCASE("a revoked certificate (on the CRL)") {
    CHECK(refused(hq.port(), chain.revoked_store));
    CHECK(hq.wait_for_log("certificate revoked"));
  }
  SUBCASE("a leaf without any extended key usage") { CHECK(refused(hq.port(), chain.no_eku_store)); }
  SUBCASE("a leaf with serverAuth only") { CHECK(refused(hq.port(), chain.server_eku_store)); }
  // The server is still there for a good client after each refusal.
  CHECK_FALSE(refused(hq.port(), chain.store_a));
}

TEST_CASE("refpos-hq raises its soft open-file limit to the hard one (a socket per store)") {
  rlimit before{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &before) == 0);
  if (before.rlim_max <= 256) return;  // nothing to raise on this machine
  rlimit low = before;
  low.rlim_cur = 256;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);  // inherited by the server
  std::string soft;
  {
    HqProcess hq;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &before) == 0);
    std::ifstream limits("/proc/" + std::to_string(hq.pid()) + "/limits");
    for (std::string line; std::getline(limits, line);) {
      if (line.rfind("Max open files", 0) == 0) {
        std::istringstream fields(line.substr(std::string("Max open files").size()));
        fields >> soft;
      }
    }
    hq.signal(SIGTERM);
    CHECK(hq.wait_exit(kGuardMs) == 0);
  }
  CHECK(soft == (before.rlim_max == RLIM_INFINITY ? std::string("unlimited")
                                                 : std::to_string(before.rlim_max)));
}

TEST_CASE("key exchange: X25519, P-256 and P-384 are accepted, P-521 alone is refused") {
  const TestChain& chain = TestChain::get();
  HqProcess hq;
  for (const char* group : {"X25519", "P-256", "P-384"}) {
    CAPTURE(group);
    TlsClient c(hq.port(), chain.store_a, TLS1_3_VERSION, group);
    REQUIRE(c.handshake_ok());
    auto r = c.request("GET", "/v1/health");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  TlsClient p521(hq.port(), chain.store_a, TLS1_3_VERSION, "P-521");
  CHECK_FALSE(p521.handshake_ok());
}

TEST_CASE("a certificate that chains but names neither a store nor an admin gets 401") {
  const TestChain& chain = TestChain::get();
  HqProcess hq;
  TlsClient kiosk(hq.port(), chain.kiosk);
  auto r = kiosk.request("GET", "/v1/health");
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(error_code_of(*r) == "unauthenticated");
}

TEST_CASE("HTTP errors: 404, 405, 403 for a store on an admin route, 400 for a bad cursor or body") {
  const TestChain& chain = TestChain::get();
  HqProcess hq;
  TlsClient store(hq.port(), chain.store_a);
  REQUIRE(store.handshake_ok());

  auto r = store.request("GET", "/v1/nothing");
  REQUIRE(r);
  CHECK(r->status == 404);
  CHECK(error_code_of(*r) == "not_found");

  r = store.request("POST", "/v1/health", "{}");
  REQUIRE(r);
  CHECK(r->status == 405);
  CHECK(r->headers["allow"] == "GET");

  r = store.request("POST", "/v1/admin/rules", "{}");
  REQUIRE(r);
  CHECK(r->status == 403);
  CHECK(error_code_of(*r) == "forbidden");

  for (const char* target : {"/v1/updates", "/v1/updates?cursor=-1", "/v1/updates?cursor=abc",
                             "/v1/updates?cursor=99999999999999999999", "/v1/updates?cursor=1&cursor=2"}) {
    CAPTURE(target);
    r = store.request("GET", target);
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(error_code_of(*r) == "bad_request");
  }

  r = store.request("POST", "/v1/events", "{\"store_id\": \"store-a\", \"events\": [garbled");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(error_code_of(*r) == "bad_request");

  // Still served on the same connection after all the errors.
  r = store.request("GET", "/v1/health");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("a body over 4 MiB is refused with 413 from its Content-Length, unread") {
  const TestChain& chain = TestChain::get();
  HqProcess hq;
  TlsClient store(hq.port(), chain.store_a);
  REQUIRE(store.handshake_ok());
  REQUIRE(store.send("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: 4194305\r\n\r\n"));
  auto r = store.read_response();
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(error_code_of(*r) == "too_large");
  CHECK(store.closed_by_server(kGuardMs));
}

TEST_CASE("store A pushing store B's events is forbidden") {
  const TestChain& chain = TestChain::get();
  HqProcess hq;
  TlsClient store(hq.port(), chain.store_a);
  const std::string zero(64, '0');
  const json batch = {{"store_id", "store-b"},
                      {"events", json::array({json{{"seq", 1},
                                                   {"type", "customer_registered"},
                                                   {"at_ms", 1767261600000},
                                                   {"ruleset_version", 1},
                                                   {"body", "{}"},
                                                   {"prev_hash", zero},
                                                   {"hash", zero}}})}};
  auto r = store.request("POST", "/v1/events", batch.dump());
  REQUIRE(r);
  CHECK(r->status == 403);
  CHECK(error_code_of(*r) == "forbidden");
}

TEST_CASE("a store the head office revoked gets 403 on every route, even with a valid certificate") {
  const TestChain& chain = TestChain::get();
  HqProcess hq;
  TlsClient admin(hq.port(), chain.admin);
  auto r = admin.request("POST", "/v1/admin/revocations", R"({"store_id": "store-b"})");
  REQUIRE(r);
  CHECK(r->status == 200);
  TlsClient store(hq.port(), chain.store_b);
  for (const char* target : {"/v1/health", "/v1/updates?cursor=0", "/v1/status"}) {
    CAPTURE(target);
    r = store.request("GET", target);
    REQUIRE(r);
    CHECK(r->status == 403);
    CHECK(error_code_of(*r) == "forbidden");
  }
  TlsClient other(hq.port(), chain.store_a);
  r = other.request("GET", "/v1/health");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("a slow-loris client is disconnected after the header deadline while others are served") {
  const TestChain& chain = TestChain::get();
  HqSettings settings;
  settings.header_timeout_ms = 700;
  HqProcess hq(settings);

  TlsClient slow(hq.port(), chain.store_a);
  REQUIRE(slow.handshake_ok());
  REQUIRE(slow.send("GET /v1/health HTTP/1.1\r\nHost: 127.0"));  // half a header, then nothing

  TlsClient other(hq.port(), chain.store_b);
  auto r = other.request("GET", "/v1/health");
  REQUIRE(r);
  CHECK(r->status == 200);

  CHECK(slow.closed_by_server(kGuardMs));
  CHECK(hq.wait_for_log("\"during\":\"headers\""));
  r = other.request("GET", "/v1/health");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("a client that sends part of a body and leaves does not disturb the others") {
  const TestChain& chain = TestChain::get();
  HqSettings settings;
  settings.body_timeout_ms = 700;
  HqProcess hq(settings);

  TlsClient other(hq.port(), chain.store_b);
  REQUIRE(other.handshake_ok());
  {
    TlsClient leaving(hq.port(), chain.store_a);
    REQUIRE(leaving.send("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{\"store"));
    leaving.close_abruptly();
  }
  {
    // And one that stays but never finishes its body: closed at the body deadline.
    TlsClient stalling(hq.port(), chain.store_a);
    REQUIRE(stalling.send("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{"));
    auto r = other.request("GET", "/v1/health");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(stalling.closed_by_server(kGuardMs));
  }
  auto r = other.request("GET", "/v1/health");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("connections over max_connections are closed at once; the others are served") {
  const TestChain& chain = TestChain::get();
  HqSettings settings;
  settings.max_connections = 2;
  HqProcess hq(settings);
  TlsClient a(hq.port(), chain.store_a);
  TlsClient b(hq.port(), chain.store_b);
  REQUIRE(a.request("GET", "/v1/health"));
  REQUIRE(b.request("GET", "/v1/health"));
  CHECK(refused(hq.port(), chain.admin));
  auto r = a.request("GET", "/v1/health");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("SIGTERM: a kept-alive client's next request gets 503, the process exits 0, then nothing listens") {
  const TestChain& chain = TestChain::get();
  HqProcess hq;
  const auto port = hq.port();
  TlsClient kept(port, chain.store_a);
  REQUIRE(kept.request("GET", "/v1/health"));

  hq.signal(SIGTERM);
  REQUIRE(hq.wait_for_log("\"event\":\"shutting_down\""));
  auto r = kept.request("GET", "/v1/health");
  if (r) {  // unless the drain window closed it first (a very slow machine)
    CHECK(r->status == 503);
    CHECK(error_code_of(*r) == "shutting_down");
    CHECK(r->headers["connection"] == "close");
  }
  const auto code = hq.wait_exit(kGuardMs);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  TlsClient late(port, chain.store_a);
  CHECK_FALSE(late.connected());
}

TEST_CASE("SIGHUP reloads the CRL: a store revoked afterwards is refused") {
  const TestChain& chain = TestChain::get();
  HqProcess hq;
  CHECK_FALSE(refused(hq.port(), chain.store_b));
  chain.write_crl({chain.store_b.serial_hex});
  hq.signal(SIGHUP);
  REQUIRE(hq.wait_for_log("\"event\":\"crl_reloaded\""));
  CHECK(refused(hq.port(), chain.store_b));
  CHECK_FALSE(refused(hq.port(), chain.store_a));
  chain.write_crl({});  // as the other tests expect it
}

TEST_CASE("the log: one JSON line per request, never a key") {
  const TestChain& chain = TestChain::get();
  HqProcess hq;
  {
    TlsClient store(hq.port(), chain.store_a);
    REQUIRE(store.request("GET", "/v1/health"));
    REQUIRE(store.request("GET", "/v1/nothing"));
    REQUIRE(store.request("POST", "/v1/events", "{\"secret_body\": 1}"));
  }
  CHECK(refused(hq.port(), chain.revoked_store));
  hq.signal(SIGTERM);
  REQUIRE(hq.wait_exit(kGuardMs) == 0);

  const std::string log = hq.log();
  CHECK(log.find("PRIVATE KEY") == std::string::npos);
  CHECK(log.find(chain.signing_key_hex) == std::string::npos);
  CHECK(log.find("secret_body") == std::string::npos);
  std::istringstream lines(log);
  std::string line;
  int requests = 0;
  while (std::getline(lines, line)) {
    CAPTURE(line);
    const json entry = json::parse(line, nullptr, false);
    REQUIRE(entry.is_object());
    CHECK(entry.contains("ts"));
    if (!entry.contains("method")) continue;
    ++requests;
    for (const char* key : {"remote", "caller", "target", "status", "bytes", "ms"}) CHECK(entry.contains(key));
    CHECK(entry["caller"] == "store:store-a");
  }
  CHECK(requests == 3);
}

TEST_CASE("refpos-hq --help documents the exit codes; a bad configuration exits 2") {
  const std::string exe = REFPOS_HQ_PATH;
  FILE* help = popen((exe + " --help 2>&1").c_str(), "r");
  REQUIRE(help != nullptr);
  std::string text;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, help)) > 0) text.append(buf, n);
  CHECK(pclose(help) == 0);
  CHECK(text.find("Exit codes") != std::string::npos);
  CHECK(text.find("REFPOS_HQ_SIGNING_KEY_FILE") != std::string::npos);

  FILE* bad = popen((exe + " --port 70000 --data-dir /nonexistent 2>&1").c_str(), "r");
  REQUIRE(bad != nullptr);
  text.clear();
  while ((n = std::fread(buf, 1, sizeof buf, bad)) > 0) text.append(buf, n);
  const int status = pclose(bad);
  CHECK(WEXITSTATUS(status) == 2);
  CHECK(text.rfind("refpos-hq: ", 0) == 0);
}
