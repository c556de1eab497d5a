#include "backend.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>

#include "hq/pg_storage.hpp"
#include "hq/sqlite_storage.hpp"
#include "pg_cluster.hpp"
#include "store/database.hpp"

namespace refpos::test {
namespace {

// SQLite's hex(), for inspection SQL written once for both back ends.
constexpr const char* kHexFunction =
    "CREATE FUNCTION hex(bytea) RETURNS text LANGUAGE sql IMMUTABLE"
    " AS $$ SELECT upper(encode($1, 'hex')) $$";

// (folder/name) -> URL of the database made for it.
std::string postgres_database_for(const std::string& key) {
  static std::mutex mutex;
  static std::map<std::string, std::string> urls;
  const std::lock_guard<std::mutex> lock(mutex);
  if (auto it = urls.find(key); it != urls.end()) return it->second;
  PgCluster& cluster = PgCluster::shared();
  std::string url = cluster.create_database("hq_" + std::to_string(urls.size() + 1));
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* r = PQexec(conn, kHexFunction);
  const bool made = PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string error = made ? "" : PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  if (!made) throw std::runtime_error("backend: hex(bytea): " + error);
  urls.emplace(key, url);
  return url;
}

// Runs `sql` and returns its rows' first column as text.
std::vector<std::string> pg_column(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* r = PQexec(conn, sql.c_str());
  std::vector<std::string> out;
  const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
  const std::string error = ok ? "" : PQerrorMessage(conn);
  for (int i = 0; ok && i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
  PQclear(r);
  PQfinish(conn);
  if (!ok) throw std::runtime_error("backend: " + sql + ": " + error);
  return out;
}

std::vector<std::string> sqlite_column(const std::string& path, const std::string& sql) {
  auto db = store::Database::open(path);
  if (!db) throw std::runtime_error("backend: " + path + ": " + db.error().describe());
  auto q = (*db)->query(sql.c_str());
  if (!q) throw std::runtime_error("backend: " + sql + ": " + q.error().describe());
  std::vector<std::string> out;
  for (;;) {
    auto row = (*q)->step();
    if (!row) throw std::runtime_error("backend: " + sql + ": " + row.error().describe());
    if (!*row) return out;
    out.push_back((*q)->text(0));
  }
}

}  // namespace

HqBackend hq_backend() {
  const char* v = std::getenv("REFPOS_TEST_BACKEND");  // NOLINT(concurrency-mt-unsafe)
  const std::string name = v != nullptr ? v : "";
  if (name.empty() || name == "sqlite") return HqBackend::sqlite;
  if (name == "postgres") return HqBackend::postgres;
  throw std::invalid_argument("REFPOS_TEST_BACKEND must be sqlite or postgres, got " + name);
}

HqDatabase::HqDatabase(const TempDir& dir, const std::string& name) : backend_(hq_backend()) {
  const std::string path = (dir.path() / name).string();
  location_ = backend_ == HqBackend::sqlite ? path : postgres_database_for(path);
}

Result<std::unique_ptr<hq::Storage>> HqDatabase::open() const {
  if (backend_ == HqBackend::sqlite) {
    auto s = hq::SqliteStorage::open(location_);
    if (!s) return s.error();
    return std::unique_ptr<hq::Storage>(std::move(*s));
  }
  auto s = hq::PgStorage::open(location_);
  if (!s) return s.error();
  return std::unique_ptr<hq::Storage>(std::move(*s));
}

std::string HqDatabase::report_database() const {
  return backend_ == HqBackend::sqlite ? location_ : std::string();
}

namespace {

void pg_admin(const std::string& sql) {
  PGconn* conn = PQconnectdb(PgCluster::shared().url("postgres").c_str());
  PGresult* r = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string error = ok ? "" : PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  if (!ok) throw std::runtime_error("backend: " + sql + ": " + error);
}

// The database name in one of PgCluster's URLs: postgresql:///NAME?host=...
std::string pg_name(const std::string& url) {
  const auto start = url.find(":///") + 4;
  return url.substr(start, url.find('?') - start);
}

}  // namespace

void HqDatabase::back_up(const std::string& backup_name) const {
  if (backend_ == HqBackend::sqlite) {
    std::filesystem::copy_file(location_, location_ + "." + backup_name,
                               std::filesystem::copy_options::overwrite_existing);
    return;
  }
  pg_admin("CREATE DATABASE " + pg_name(location_) + "_" + backup_name + " TEMPLATE " +
           pg_name(location_));
}

void HqDatabase::restore(const std::string& backup_name) const {
  if (backend_ == HqBackend::sqlite) {
    for (const char* extra : {"-wal", "-shm"}) std::filesystem::remove(location_ + extra);
    std::filesystem::copy_file(location_ + "." + backup_name, location_,
                               std::filesystem::copy_options::overwrite_existing);
    return;
  }
  const std::string name = pg_name(location_);
  pg_admin("DROP DATABASE " + name);
  pg_admin("CREATE DATABASE " + name + " TEMPLATE " + name + "_" + backup_name);
}

std::int64_t HqDatabase::integer(const std::string& sql) const {
  const auto rows = column(sql);
  if (rows.empty()) throw std::runtime_error("backend: no row from " + sql);
  return std::stoll(rows.front());
}

std::vector<std::string> HqDatabase::column(const std::string& sql) const {
  return backend_ == HqBackend::sqlite ? sqlite_column(location_, sql) : pg_column(location_, sql);
}

}  // namespace refpos::test
