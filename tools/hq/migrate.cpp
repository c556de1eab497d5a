// The SQLite-to-PostgreSQL migration (migrate.hpp). Tables are copied
// generically: the file's own tables and columns (PRAGMA table_info), each
// value sent as SQLite typed it (STRICT tables: INTEGER as digits, TEXT
// escaped, BLOB as bytea, NULL), so a column both schemas add later needs no
// change here; a table or column only one side has is refused as a schema
// mismatch (a refposctl older or newer than the head office).
#include "hq/migrate.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <map>
#include <memory>
#include <utility>

#include "hq/pg_copy.hpp"
#include "hq/pg_storage.hpp"
#include "store/event_log.hpp"

namespace refpos::hq {
namespace {

// Tables that others reference go first (conflict_txns references
// conflicts); a table of the file not listed here follows, by name.
constexpr std::array<std::string_view, 17> kCopyOrder = {
    "changes",     "stores",     "events",         "ledger",    "store_customers", "redemptions",
    "code_owners", "conflicts",  "conflict_txns",  "rule_sets", "code_keys",       "revocations",
    "incidents",   "fold_queue", "hold_decisions", "pii_keys",  "forgotten"};

// Progress is reported every this many events.
constexpr std::int64_t kProgressEvery = 1000;

Error refusal(ErrorKind kind, std::string reason, std::string message) {
  return make_error(kind, "", "migrate: " + std::move(message), std::move(reason));
}

std::string sql_ident(std::string_view name) {
  std::string out = "\"";
  for (const char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string joined(const std::vector<std::string>& names, bool quote) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + (quote ? sql_ident(n) : n);
  return out;
}

std::string hash_hex(const store::Hash& h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const auto b : h) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

// ---- the source: the head office's SQLite file, read-only ---------------

class SourceQuery {
 public:
  SourceQuery(sqlite3* db, sqlite3_stmt* stmt, const std::string& path)
      : db_(db), stmt_(stmt), path_(path) {}
  ~SourceQuery() { sqlite3_finalize(stmt_); }
  SourceQuery(const SourceQuery&) = delete;
  SourceQuery& operator=(const SourceQuery&) = delete;

  SourceQuery& bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // true: a row; false: done.
  Result<bool> step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return make_error(ErrorKind::storage, "",
                      "migrate: reading \"" + path_ + "\": " + sqlite3_errmsg(db_), "io");
  }
  [[nodiscard]] int columns() const { return sqlite3_column_count(stmt_); }
  [[nodiscard]] int type(int col) const { return sqlite3_column_type(stmt_, col); }
  [[nodiscard]] std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  // Valid until the next step.
  [[nodiscard]] std::string_view text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    if (p == nullptr) return {};
    return {reinterpret_cast<const char*>(p),
            static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
  }
  [[nodiscard]] std::string_view blob(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    if (p == nullptr) return {};
    return {static_cast<const char*>(p),
            static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
  }
  [[nodiscard]] store::Hash hash(int col) const {
    store::Hash h{};
    const auto b = blob(col);
    if (b.size() == h.size()) std::copy(b.begin(), b.end(), reinterpret_cast<char*>(h.data()));
    return h;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const std::string& path_;
};

// SQLITE_OPEN_READONLY, and one read transaction from open to close: every
// query sees the same snapshot.
class SourceFile {
 public:
  static Result<std::unique_ptr<SourceFile>> open(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      return refusal(ErrorKind::bad_request, "not_head_office", "\"" + path + "\" is not a file");
    }
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    if (rc != SQLITE_OK) {
      const std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      sqlite3_close_v2(db);
      return make_error(ErrorKind::storage, "", "migrate: cannot open \"" + path + "\": " + message,
                        "io");
    }
    sqlite3_busy_timeout(db, 5000);
    auto file = std::unique_ptr<SourceFile>(new SourceFile(db, path));
    if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return make_error(ErrorKind::storage, "", "migrate: \"" + path + "\": " + sqlite3_errmsg(db),
                        "io");
    }
    file->in_transaction_ = true;
    return file;
  }
  ~SourceFile() {
    if (in_transaction_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close_v2(db_);
  }
  SourceFile(const SourceFile&) = delete;
  SourceFile& operator=(const SourceFile&) = delete;

  Result<std::unique_ptr<SourceQuery>> query(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return make_error(ErrorKind::storage, "",
                        "migrate: reading \"" + path_ + "\": " + sqlite3_errmsg(db_), "io");
    }
    return std::make_unique<SourceQuery>(db_, stmt, path_);
  }
  // The first column of the first row as an integer.
  Result<std::int64_t> integer(const std::string& sql) {
    auto q = query(sql);
    if (!q) return q.error();
    auto row = (*q)->step();
    if (!row) return row.error();
    return *row ? (*q)->int64(0) : 0;
  }
  Result<std::vector<std::string>> texts(const std::string& sql, std::string_view param = {}) {
    auto q = query(sql);
    if (!q) return q.error();
    if (!param.empty()) (*q)->bind(1, param);
    std::vector<std::string> out;
    for (;;) {
      auto row = (*q)->step();
      if (!row) return row.error();
      if (!*row) return out;
      out.emplace_back((*q)->text(0));
    }
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  SourceFile(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  bool in_transaction_ = false;
};

// The file's tables (sqlite's own left out), refused unless it is a head
// office's file at kSourceSchemaVersion.
Result<std::vector<std::string>> head_office_tables(SourceFile& src) {
  auto tables = src.texts(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE "
      "'\\'"
      " ORDER BY name");
  if (!tables) {
    const std::string& why = tables.error().message;  // "migrate: reading "PATH": WHY"
    return refusal(ErrorKind::bad_request, "not_head_office",
                   "\"" + src.path() + "\" is not a SQLite database (" +
                       why.substr(why.rfind(": ") + 2) + ")");
  }
  const auto has = [&](std::string_view t) {
    return std::find(tables->begin(), tables->end(), t) != tables->end();
  };
  if (!(has("changes") && has("stores") && has("events"))) {
    if (has("meta") || has("events")) {
      return refusal(ErrorKind::bad_request, "not_head_office",
                     "\"" + src.path() +
                         "\" is a store's refpos.db, not a head office's file "
                         "(migrate the head office's database, <data_dir>/hq.sqlite3 by default)");
    }
    return refusal(ErrorKind::bad_request, "not_head_office",
                   "\"" + src.path() +
                       "\" is not a refpos head office's file (it has no changes, "
                       "stores and events tables)");
  }
  auto version = src.integer("PRAGMA user_version");
  if (!version) return version.error();
  if (*version < kSourceSchemaVersion) {
    return refusal(
        ErrorKind::bad_request, "schema_too_old",
        "\"" + src.path() + "\" has head-office schema version " + std::to_string(*version) +
            ", older than " + std::to_string(kSourceSchemaVersion) +
            ": start refpos-hq on it once (it brings the file up to date), stop it, then "
            "migrate");
  }
  if (*version > kSourceSchemaVersion) {
    return refusal(ErrorKind::bad_request, "schema_too_new",
                   "\"" + src.path() + "\" has head-office schema version " +
                       std::to_string(*version) + ", newer than this refposctl's " +
                       std::to_string(kSourceSchemaVersion) +
                       ": use the refposctl of the same release as refpos-hq");
  }
  std::vector<std::string> ordered;
  for (const auto t : kCopyOrder) {
    if (has(t)) ordered.emplace_back(t);
  }
  for (const auto& t : *tables) {
    if (std::find(ordered.begin(), ordered.end(), t) == ordered.end()) ordered.push_back(t);
  }
  return ordered;
}

// ---- the target: PostgreSQL through libpq --------------------------------

using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

class Target {
 public:
  static Result<std::unique_ptr<Target>> connect(const std::string& url) {
    auto t = std::unique_ptr<Target>(new Target(url));
    const char* const keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
    const char* const values[] = {"10", "refposctl-migrate", url.c_str(), nullptr};
    t->conn_ = PQconnectdbParams(keys, values, 1);
    if (t->conn_ == nullptr || PQstatus(t->conn_) != CONNECTION_OK) {
      const std::string why =
          t->conn_ != nullptr ? std::string(PQerrorMessage(t->conn_)) : "out of memory";
      return make_error(ErrorKind::storage, "",
                        "migrate: cannot connect to PostgreSQL at " + t->shown_.url() + ": " +
                            t->shown_.clean(why) + " (nothing was changed)",
                        connect_failure_reason(keys, values));
    }
    if (auto st = t->exec("SET bytea_output = 'hex'; SET client_min_messages = 'warning'",
                          "session settings");
        !st) {
      return st.error();
    }
    return t;
  }
  ~Target() {
    if (conn_ != nullptr) PQfinish(conn_);
  }
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  Result<PgResult> exec(const std::string& sql, const std::string& what) {
    return checked(PQexec(conn_, sql.c_str()), what);
  }
  // Parameters as text.
  Result<PgResult> exec(const std::string& sql, const std::vector<std::string>& params,
                        const std::string& what) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    return checked(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                values.data(), nullptr, nullptr, 0),
                   what);
  }
  // The first column of every row.
  Result<std::vector<std::string>> texts(const std::string& sql,
                                         const std::vector<std::string>& params,
                                         const std::string& what) {
    auto r = exec(sql, params, what);
    if (!r) return r.error();
    std::vector<std::string> out;
    for (int i = 0; i < PQntuples(r->get()); ++i) out.emplace_back(PQgetvalue(r->get(), i, 0));
    return out;
  }
  Result<std::int64_t> integer(const std::string& sql, const std::string& what) {
    auto r = exec(sql, what);
    if (!r) return r.error();
    return PQntuples(r->get()) > 0 ? to_int64(PQgetvalue(r->get(), 0, 0)) : 0;
  }

  Status copy_begin(const std::string& sql, const std::string& what) {
    PgResult r(PQexec(conn_, sql.c_str()), &PQclear);
    if (PQresultStatus(r.get()) != PGRES_COPY_IN) return failure(r.get(), what);
    return ok_status();
  }
  Status copy_put(std::string_view data, const std::string& what) {
    if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1) {
      return failure(nullptr, what);
    }
    return ok_status();
  }
  // Ends the COPY; `abort_reason` non-empty makes the server refuse it.
  Status copy_end(const std::string& what, const char* abort_reason = nullptr) {
    if (PQputCopyEnd(conn_, abort_reason) != 1) return failure(nullptr, what);
    Status out = ok_status();
    while (PGresult* raw = PQgetResult(conn_)) {
      const PgResult r(raw, &PQclear);
      if (PQresultStatus(raw) != PGRES_COMMAND_OK && out) out = failure(raw, what);
    }
    return out;
  }

  [[nodiscard]] const std::string& shown_url() const { return shown_.url(); }

  static std::int64_t to_int64(std::string_view text) {
    std::int64_t n = 0;
    std::from_chars(text.data(), text.data() + text.size(), n);
    return n;
  }

 private:
  explicit Target(const std::string& url) : shown_(url) {}

  Result<PgResult> checked(PGresult* raw, const std::string& what) {
    PgResult r(raw, &PQclear);
    const ExecStatusType s = PQresultStatus(raw);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) return failure(raw, what);
    return r;
  }

  Error failure(const PGresult* r, const std::string& what) const {
    const bool lost = PQstatus(conn_) != CONNECTION_OK;
    std::string detail = r != nullptr ? PQresultErrorMessage(r) : "";
    if (detail.empty()) detail = PQerrorMessage(conn_);
    std::string message = "migrate: PostgreSQL, " + what + ": " + shown_.clean(detail);
    if (lost)
      message += " (the database at " + shown_.url() + " is unavailable; nothing was committed)";
    return make_error(ErrorKind::storage, "", message, lost ? "unavailable" : "io");
  }

  PGconn* conn_ = nullptr;
  ShownConninfo shown_;
};

// Tables of the target's current schema.
Result<std::vector<std::string>> target_tables(Target& dst) {
  return dst.texts(
      "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
      " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1",
      {}, "listing tables");
}

// A database with tables that are not a refpos head office's is refused
// before PgStorage::open creates anything in it.
Status check_not_foreign(Target& dst) {
  auto tables = target_tables(dst);
  if (!tables) return tables.error();
  if (tables->empty() ||
      std::find(tables->begin(), tables->end(), "schema_migrations") != tables->end()) {
    return ok_status();
  }
  return refusal(ErrorKind::conflict, "target_foreign",
                 "the database at " + dst.shown_url() +
                     " holds tables that are not a refpos head "
                     "office's (" +
                     joined(*tables, false) + "); migrate into an empty database");
}

// Under the write lock: no row in any table (changes' one row at 0 aside).
Status check_empty(Target& dst) {
  auto tables = target_tables(dst);
  if (!tables) return tables.error();
  std::vector<std::string> holding;
  for (const auto& t : *tables) {
    if (t == "schema_migrations") continue;
    const std::string sql = t == "changes" ? "SELECT count(*) FROM changes WHERE last <> 0"
                                           : "SELECT count(*) FROM (SELECT 1 FROM " + sql_ident(t) +
                                                 " LIMIT 1) AS any_row";
    auto n = dst.integer(sql, "checking " + t + " is empty");
    if (!n) return n.error();
    if (*n > 0) holding.push_back(t);
  }
  if (holding.empty()) return ok_status();
  return refusal(ErrorKind::conflict, "target_not_empty",
                 "the database at " + dst.shown_url() + " is not empty (rows in " +
                     joined(holding, false) +
                     "): a head office has run on it, or it was migrated before; nothing was "
                     "changed. Migrate into an empty database");
}

// The file's columns of `table`, refused unless PostgreSQL's are the same.
Result<std::vector<std::string>> matching_columns(SourceFile& src, Target& dst,
                                                  const std::string& table) {
  auto mine = src.texts("SELECT name FROM pragma_table_info(?1) ORDER BY cid", table);
  if (!mine) return mine.error();
  auto theirs = dst.texts(
      "SELECT column_name FROM information_schema.columns"
      " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
      {table}, "columns of " + table);
  if (!theirs) return theirs.error();
  auto a = *mine;
  auto b = *theirs;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  if (a == b) return mine;
  return refusal(ErrorKind::conflict, "schema_mismatch",
                 "table " + table + ": the file has columns (" + joined(*mine, false) +
                     ") and PostgreSQL (" +
                     (theirs->empty() ? "no such table" : joined(*theirs, false)) +
                     "): use the refposctl of the same release as refpos-hq");
}

// One row of the file in COPY's text format.
Status append_row(const SourceQuery& q, const std::string& table, std::int64_t row,
                  std::string& out) {
  for (int c = 0; c < q.columns(); ++c) {
    if (c > 0) out += '\t';
    switch (q.type(c)) {
      case SQLITE_NULL:
        pg_copy::append_null(out);
        break;
      case SQLITE_INTEGER: {
        std::array<char, 24> digits{};
        const auto end =
            std::to_chars(digits.data(), digits.data() + digits.size(), q.int64(c)).ptr;
        out.append(digits.data(), end);
        break;
      }
      case SQLITE_BLOB:
        pg_copy::append_bytea(out, q.blob(c));
        break;
      case SQLITE_TEXT:
        if (q.text(c).find('\0') != std::string_view::npos) {
          return refusal(ErrorKind::bad_request, "nul_in_text",
                         "table " + table + ", row " + std::to_string(row) + ", column " +
                             std::to_string(c + 1) +
                             ": a NUL byte, which PostgreSQL text cannot hold");
        }
        pg_copy::append_text(out, q.text(c));
        break;
      default:
        return refusal(ErrorKind::bad_request, "schema_mismatch",
                       "table " + table + ", row " + std::to_string(row) + ", column " +
                           std::to_string(c + 1) +
                           ": a floating-point value, which no head-office "
                           "column holds");
    }
  }
  out += '\n';
  return ok_status();
}

struct Copy {
  SourceFile& src;
  Target& dst;
  const MigrateProgress& progress;
  std::int64_t events_total = 0;
};

// Streams `table` from the file into PostgreSQL with one COPY; the rows sent.
Result<std::int64_t> copy_table(Copy& copy, const std::string& table,
                                const std::vector<std::string>& columns) {
  auto q = copy.src.query("SELECT " + joined(columns, true) + " FROM " + sql_ident(table));
  if (!q) return q.error();
  const std::string what = "copying " + table;
  if (auto st = copy.dst.copy_begin(
          "COPY " + sql_ident(table) + " (" + joined(columns, true) + ") FROM STDIN", what);
      !st) {
    return st.error();
  }
  const bool events = table == "events";
  std::string data;
  std::int64_t rows = 0;
  Status st = ok_status();
  for (;;) {
    auto row = (*q)->step();
    if (!row) {
      st = row.error();
      break;
    }
    if (!*row) break;
    if (st = append_row(**q, table, rows + 1, data); !st) break;
    ++rows;
    if (data.size() >= kCopyChunkBytes) {
      if (st = copy.dst.copy_put(data, what); !st) break;
      data.clear();
    }
    if (events && copy.progress && rows % kProgressEvery == 0) {
      copy.progress("copy", rows, copy.events_total);
    }
  }
  if (st && !data.empty()) st = copy.dst.copy_put(data, what);
  if (!st) {
    (void)copy.dst.copy_end(what, "refposctl stopped the copy");
    return st.error();
  }
  if (auto ended = copy.dst.copy_end(what); !ended) return ended.error();
  // The last report, unless the loop just made it.
  if (events && copy.progress && (rows == 0 || rows % kProgressEvery != 0)) {
    copy.progress("copy", rows, copy.events_total);
  }
  return rows;
}

// Identity (and serial) columns: their sequences past the copied ids.
Status advance_sequences(Target& dst) {
  auto r = dst.exec(
      "SELECT table_name, column_name FROM information_schema.columns"
      " WHERE table_schema = current_schema()"
      " AND (is_identity = 'YES' OR column_default LIKE 'nextval(%') ORDER BY 1, 2",
      "listing identity columns");
  if (!r) return r.error();
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    const std::string table = PQgetvalue(r->get(), i, 0);
    const std::string column = PQgetvalue(r->get(), i, 1);
    auto set = dst.exec("SELECT setval(pg_get_serial_sequence($1, $2), (SELECT coalesce(max(" +
                            sql_ident(column) + "), 0) + 1 FROM " + sql_ident(table) + "), false)",
                        {sql_ident(table), column}, "sequence of " + table + "." + column);
    if (!set) return set.error();
  }
  return ok_status();
}

// ---- verification ----------------------------------------------------------

struct StoreHead {
  std::int64_t acked_seq = 0;
  store::Hash last_hash{};
  bool operator==(const StoreHead&) const = default;
};

bool decode_hash(std::string_view text, store::Hash& h) {
  if (text.size() != 2 + 2 * h.size() || text.substr(0, 2) != "\\x") return false;
  for (std::size_t i = 0; i < h.size(); ++i) {
    const char* p = text.data() + 2 + 2 * i;
    if (std::from_chars(p, p + 2, h[i], 16).ptr != p + 2) return false;
  }
  return true;
}

Error mismatch(std::string message) {
  return refusal(ErrorKind::storage, "verify_failed",
                 std::move(message) + "; rolled back, PostgreSQL is left as it was");
}

Result<std::map<std::string, StoreHead>> stores_of_source(SourceFile& src) {
  auto q = src.query("SELECT store_id, acked_seq, last_hash FROM stores");
  if (!q) return q.error();
  std::map<std::string, StoreHead> out;
  for (;;) {
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) return out;
    out.emplace(std::string((*q)->text(0)), StoreHead{(*q)->int64(1), (*q)->hash(2)});
  }
}

Result<std::map<std::string, StoreHead>> stores_of_target(Target& dst) {
  auto r = dst.exec("SELECT store_id, acked_seq, last_hash FROM stores", "reading stores back");
  if (!r) return r.error();
  std::map<std::string, StoreHead> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    StoreHead head{Target::to_int64(PQgetvalue(r->get(), i, 1)), {}};
    if (!decode_hash(PQgetvalue(r->get(), i, 2), head.last_hash)) {
      return mismatch(std::string("store ") + PQgetvalue(r->get(), i, 0) +
                      ": last_hash is not 32 bytes");
    }
    out.emplace(PQgetvalue(r->get(), i, 0), head);
  }
  return out;
}

// One event as read back from PostgreSQL (a row of the verify cursor).
struct TargetEvent {
  std::string store_id;
  std::int64_t seq = 0;
  std::string type;
  std::int64_t at_ms = 0;
  std::int64_t ruleset_version = 0;
  std::string body;
  store::Hash prev_hash{};
  store::Hash hash{};
};

Result<TargetEvent> target_event(const PGresult* r, int i) {
  TargetEvent e;
  e.store_id = PQgetvalue(r, i, 0);
  e.seq = Target::to_int64(PQgetvalue(r, i, 1));
  e.type = PQgetvalue(r, i, 2);
  e.at_ms = Target::to_int64(PQgetvalue(r, i, 3));
  e.ruleset_version = Target::to_int64(PQgetvalue(r, i, 4));
  e.body.assign(PQgetvalue(r, i, 5), static_cast<std::size_t>(PQgetlength(r, i, 5)));
  if (!decode_hash(PQgetvalue(r, i, 6), e.prev_hash) || !decode_hash(PQgetvalue(r, i, 7), e.hash)) {
    return mismatch("store " + e.store_id + " seq " + std::to_string(e.seq) +
                    ": a hash read back from PostgreSQL is not 32 bytes");
  }
  return e;
}

// Walks the events of both sides in (store_id, seq) order, and each store's
// chain on what PostgreSQL holds.
class ChainCheck {
 public:
  ChainCheck(std::map<std::string, StoreHead> heads, const MigrateProgress& progress,
             std::int64_t total)
      : heads_(std::move(heads)), progress_(progress), total_(total) {}

  Status event(const SourceQuery& src, const TargetEvent& e) {
    const std::string at = "store " + e.store_id + " seq " + std::to_string(e.seq);
    if (src.text(0) != e.store_id || src.int64(1) != e.seq) {
      return mismatch("the file's event store " + std::string(src.text(0)) + " seq " +
                      std::to_string(src.int64(1)) + " is, in PostgreSQL, " + at);
    }
    if (src.hash(2) != e.prev_hash) return mismatch(at + ": prev_hash differs from the file's");
    if (src.hash(3) != e.hash) {
      return mismatch(at + ": hash differs from the file's (" + hash_hex(src.hash(3)) + " there, " +
                      hash_hex(e.hash) + " in PostgreSQL)");
    }
    if (e.store_id != store_) {
      store_ = e.store_id;
      next_seq_ = 1;
      prev_hash_ = store::Hash{};
    }
    if (e.seq != next_seq_) {
      return mismatch(at + ": expected seq " + std::to_string(next_seq_) + " (a gap in the chain)");
    }
    if (e.prev_hash != prev_hash_) {
      return mismatch(
          at + (e.seq == 1 ? ": prev_hash is not zeros"
                           : ": prev_hash is not the hash of seq " + std::to_string(e.seq - 1)));
    }
    if (store::event_hash(e.prev_hash, e.seq, e.store_id, e.type, e.at_ms, e.ruleset_version,
                          e.body) != e.hash) {
      return mismatch(at + ": hash is not the hash of the event's own type, time and body");
    }
    if (auto h = heads_.find(e.store_id); h != heads_.end() && h->second.acked_seq == e.seq) {
      if (h->second.last_hash != e.hash) {
        return mismatch("store " + e.store_id + ": last_hash is not the hash of event acked_seq " +
                        std::to_string(e.seq));
      }
      matched_.push_back(e.store_id);
    }
    ++next_seq_;
    prev_hash_ = e.hash;
    if (progress_ && ++done_ % kProgressEvery == 0) progress_("verify", done_, total_);
    return ok_status();
  }

  // After the last event: every store's acked_seq was found. The stores
  // whose chain matched.
  Result<std::int64_t> finish() {
    std::sort(matched_.begin(), matched_.end());
    for (const auto& [id, head] : heads_) {
      if (std::binary_search(matched_.begin(), matched_.end(), id)) continue;
      if (head.acked_seq != 0) {
        return mismatch("store " + id + ": acked_seq " + std::to_string(head.acked_seq) +
                        ", but PostgreSQL holds no such event");
      }
      if (head.last_hash != store::Hash{}) {
        return mismatch("store " + id + ": acked_seq 0 with a last_hash that is not zeros");
      }
    }
    if (progress_ && (done_ == 0 || done_ % kProgressEvery != 0))
      progress_("verify", done_, total_);
    return static_cast<std::int64_t>(heads_.size());
  }

 private:
  std::map<std::string, StoreHead> heads_;
  const MigrateProgress& progress_;
  std::int64_t total_;
  std::vector<std::string> matched_;
  std::string store_;
  std::int64_t next_seq_ = 1;
  store::Hash prev_hash_{};
  std::int64_t done_ = 0;
};

Result<std::int64_t> verify_chains(SourceFile& src, Target& dst, const MigrateProgress& progress,
                                   std::int64_t total) {
  auto mine = stores_of_source(src);
  if (!mine) return mine.error();
  auto theirs = stores_of_target(dst);
  if (!theirs) return theirs.error();
  for (const auto& [id, head] : *mine) {
    const auto it = theirs->find(id);
    if (it == theirs->end() || !(it->second == head)) {
      return mismatch("store " + id + ": acked_seq or last_hash differs from the file's");
    }
  }
  auto source =
      src.query("SELECT store_id, seq, prev_hash, hash FROM events ORDER BY store_id, seq");
  if (!source) return source.error();
  if (auto st =
          dst.exec("DECLARE migrate_events NO SCROLL CURSOR FOR SELECT store_id, seq, type, at_ms,"
                   " ruleset_version, body, prev_hash, hash FROM events ORDER BY store_id, seq",
                   "reading events back");
      !st) {
    return st.error();
  }
  ChainCheck check(std::move(*theirs), progress, total);
  const std::string fetch =
      "FETCH FORWARD " + std::to_string(kVerifyFetchRows) + " FROM migrate_events";
  for (;;) {
    auto batch = dst.exec(fetch, "reading events back");
    if (!batch) return batch.error();
    const int n = PQntuples(batch->get());
    if (n == 0) break;
    for (int i = 0; i < n; ++i) {
      auto e = target_event(batch->get(), i);
      if (!e) return e.error();
      auto row = (*source)->step();
      if (!row) return row.error();
      if (!*row) {
        return mismatch("PostgreSQL holds an event the file does not: store " + e->store_id +
                        " seq " + std::to_string(e->seq));
      }
      if (auto st = check.event(**source, *e); !st) return st.error();
    }
  }
  auto more = (*source)->step();
  if (!more) return more.error();
  if (*more) {
    return mismatch("the file holds an event PostgreSQL does not: store " +
                    std::string((*source)->text(0)) + " seq " +
                    std::to_string((*source)->int64(1)));
  }
  if (auto st = dst.exec("CLOSE migrate_events", "reading events back"); !st) return st.error();
  return check.finish();
}

// ---- the migration -----------------------------------------------------------

// Everything between BEGIN and COMMIT.
Status copy_and_verify(SourceFile& src, Target& dst, const std::vector<std::string>& tables,
                       const MigrateProgress& progress, MigrateSummary& summary) {
  const std::string lock =
      "SELECT pg_advisory_xact_lock(" + std::to_string(PgStorage::kWriteLockKey) + ")";
  if (auto st = dst.exec(lock, "taking the write lock"); !st) return st.error();
  if (auto st = check_empty(dst); !st) return st;
  std::vector<std::vector<std::string>> columns;
  std::vector<std::int64_t> source_rows;
  for (const auto& t : tables) {
    auto c = matching_columns(src, dst, t);
    if (!c) return c.error();
    columns.push_back(std::move(*c));
    auto n = src.integer("SELECT count(*) FROM " + sql_ident(t));
    if (!n) return n.error();
    source_rows.push_back(*n);
    if (t == "events") summary.events = *n;
    if (t == "stores") summary.stores = *n;
  }
  auto last = src.integer("SELECT last FROM changes WHERE id = 1");
  if (!last) return last.error();
  summary.last_change = *last;
  // changes' one row (1, 0), made by the schema, gives way to the file's.
  if (auto st = dst.exec("DELETE FROM changes", "clearing changes"); !st) return st.error();
  Copy copy{src, dst, progress, summary.events};
  for (std::size_t i = 0; i < tables.size(); ++i) {
    auto sent = copy_table(copy, tables[i], columns[i]);
    if (!sent) return sent.error();
    auto held =
        dst.integer("SELECT count(*) FROM " + sql_ident(tables[i]), "counting " + tables[i]);
    if (!held) return held.error();
    if (*sent != source_rows[i] || *held != source_rows[i]) {
      return mismatch("table " + tables[i] + ": " + std::to_string(source_rows[i]) +
                      " rows in the file, " + std::to_string(*held) + " in PostgreSQL");
    }
    summary.tables.push_back({tables[i], *held});
  }
  if (auto st = advance_sequences(dst); !st) return st;
  auto chains = verify_chains(src, dst, progress, summary.events);
  if (!chains) return chains.error();
  summary.chains_verified = *chains;
  return ok_status();
}

}  // namespace

Result<MigrateSummary> migrate_sqlite_to_postgres(const MigrateOptions& options) {
  auto src = SourceFile::open(options.source_path);
  if (!src) return src.error();
  auto tables = head_office_tables(**src);
  if (!tables) return tables.error();

  auto dst = Target::connect(options.target_url);
  if (!dst) return dst.error();
  if (auto st = check_not_foreign(**dst); !st) return st.error();
  {
    // The schema, by the back end's own migrations (nothing if it is there).
    auto schema = PgStorage::open(options.target_url);
    if (!schema) return schema.error();
  }
  if (auto st = (*dst)->exec("BEGIN", "BEGIN"); !st) return st.error();
  MigrateSummary summary;
  if (auto st = copy_and_verify(**src, **dst, *tables, options.progress, summary); !st) {
    (void)(*dst)->exec("ROLLBACK", "ROLLBACK");
    return st.error();
  }
  if (auto st = (*dst)->exec("COMMIT", "COMMIT"); !st) return st.error();
  return summary;
}

}  // namespace refpos::hq
