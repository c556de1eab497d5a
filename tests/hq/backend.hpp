// The head office's storage for a test, on the back end REFPOS_TEST_BACKEND
// names: "sqlite" (the default: a file in the test's folder) or "postgres"
// (a database of the test process's throwaway cluster, support/pg_cluster).
// tests/hq/CMakeLists.txt registers the service tests once for each, as
// hq.* (label sqlite) and hq.pg.* (label postgres).
//
// Inspection SQL (count, column) runs as is on either back end: the
// schemas share table and column names and integer flags, and each
// PostgreSQL test database has a hex(bytea) function returning what
// SQLite's hex() does (upper-case digits).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "hq/storage.hpp"
#include "temp_dir.hpp"

namespace refpos::test {

enum class HqBackend { sqlite, postgres };

// REFPOS_TEST_BACKEND; throws on a value that is neither.
HqBackend hq_backend();

class HqDatabase {
 public:
  // The database called `name` in `dir`: the same (dir, name) is the same
  // database for the whole test process (a head office that stops and
  // starts again finds its data).
  HqDatabase(const TempDir& dir, const std::string& name);

  // A new connection (SqliteStorage or PgStorage), migrated.
  [[nodiscard]] Result<std::unique_ptr<hq::Storage>> open() const;
  // What the server's database setting would be: a path or a URL.
  [[nodiscard]] const std::string& location() const { return location_; }
  // For ServiceOptions::report_database: the SQLite file, "" on PostgreSQL
  // (the service reads the report through the storage there).
  [[nodiscard]] std::string report_database() const;

  // A backup and its restore, while no connection is open (throws on
  // failure): SQLite copies the file; PostgreSQL copies the database with
  // CREATE DATABASE ... TEMPLATE, and a restore replaces it with the copy.
  void back_up(const std::string& backup_name) const;
  void restore(const std::string& backup_name) const;

  // The first column of the first row, as an integer (throws if no row).
  [[nodiscard]] std::int64_t integer(const std::string& sql) const;
  // The first column of every row, as text.
  [[nodiscard]] std::vector<std::string> column(const std::string& sql) const;

 private:
  HqBackend backend_;
  std::string location_;
};

}  // namespace refpos::test
