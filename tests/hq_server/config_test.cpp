// refpos-hq's configuration (tools/hq/config.cpp): the file's keys, relative
// paths, refusals with the field named, and the environment over the file.
// (Flags over both is main.cpp's order, checked through the binary.)
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <string>

#include "hq/config.hpp"
#include "temp_dir.hpp"

using refpos::hq::HqConfig;

namespace {

std::string write_config(const refpos::test::TempDir& dir, const std::string& text) {
  const std::string path = dir.str() + "/hq.json";
  std::ofstream(path) << text;
  return path;
}

refpos::hq::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("config: a file's values, its relative paths from its folder, then the environment over it") {
  refpos::test::TempDir dir;
  const auto path = write_config(dir, R"({"listen": "0.0.0.0", "port": 9443, "data_dir": "data",
    "ca_file": "/abs/ca.pem", "max_connections": 10, "header_timeout_ms": 500})");
  HqConfig c;
  REQUIRE(refpos::hq::apply_config_file(path, c));
  CHECK(c.listen_address == "0.0.0.0");
  CHECK(c.port == 9443);
  CHECK(c.data_dir == dir.str() + "/data");
  CHECK(c.ca_file == "/abs/ca.pem");
  CHECK(c.max_connections == 10);
  CHECK(c.header_timeout_ms == 500);
  CHECK(c.body_timeout_ms == refpos::hq::kDefaultBodyTimeoutMs);

  REQUIRE(refpos::hq::apply_environment(env_of({{"REFPOS_HQ_PORT", "0"}, {"REFPOS_HQ_CA_FILE", "/env/ca.pem"}}), c));
  CHECK(c.port == 0);
  CHECK(c.ca_file == "/env/ca.pem");
  CHECK(c.listen_address == "0.0.0.0");
}

TEST_CASE("config: the database is a PostgreSQL URL or a SQLite file, and replaces data_dir") {
  refpos::test::TempDir dir;
  HqConfig c;
  REQUIRE(refpos::hq::apply_config_file(write_config(dir, R"({"database": "hq.sqlite3"})"), c));
  CHECK(c.database == dir.str() + "/hq.sqlite3");
  CHECK_FALSE(refpos::hq::database_is_postgres(c.database));
  const std::string url = "postgresql://hq:secret@db.example/refpos?sslmode=verify-full";
  REQUIRE(refpos::hq::apply_config_file(write_config(dir, R"({"database": ")" + url + R"("})"), c));
  CHECK(c.database == url);  // a URL is not a path
  REQUIRE(refpos::hq::apply_environment(env_of({{"REFPOS_HQ_DATABASE", "postgres://h/db"}}), c));
  CHECK(c.database == "postgres://h/db");
  CHECK(refpos::hq::database_is_postgres(c.database));
  CHECK(c.data_dir.empty());
  const auto st = refpos::hq::validate(c);
  REQUIRE_FALSE(st);
  CHECK(st.error().field == "ca_file");  // data_dir is not asked for
}

TEST_CASE("config: refusals name the field") {
  refpos::test::TempDir dir;
  HqConfig c;
  auto st = refpos::hq::apply_config_file(write_config(dir, R"({"prot": 1})"), c);
  REQUIRE_FALSE(st);
  CHECK(st.error().field == "prot");
  st = refpos::hq::apply_config_file(write_config(dir, R"({"port": 70000})"), c);
  REQUIRE_FALSE(st);
  CHECK(st.error().field == "port");
  st = refpos::hq::apply_config_file(write_config(dir, R"({"header_timeout_ms": 0})"), c);
  REQUIRE_FALSE(st);
  CHECK(st.error().field == "header_timeout_ms");
  st = refpos::hq::apply_config_file(write_config(dir, "not json"), c);
  REQUIRE_FALSE(st);
  st = refpos::hq::apply_environment(env_of({{"REFPOS_HQ_PORT", "80a"}}), c);
  REQUIRE_FALSE(st);
  CHECK(st.error().field == "REFPOS_HQ_PORT");
  st = refpos::hq::validate(HqConfig{});
  REQUIRE_FALSE(st);
  CHECK(st.error().field == "data_dir");
}

TEST_CASE("config: the signing key file holds 64 hex digits, and an error never quotes it") {
  refpos::test::TempDir dir;
  const std::string path = dir.str() + "/signing.key";
  const std::string seed(64, 'a');
  std::ofstream(path) << seed << "\n";
  auto key = refpos::hq::read_signing_key_hex(path);
  REQUIRE(key);
  CHECK(*key == seed);
  std::ofstream(path) << "zz" << seed;
  key = refpos::hq::read_signing_key_hex(path);
  REQUIRE_FALSE(key);
  CHECK(key.error().describe().find(seed) == std::string::npos);
}
