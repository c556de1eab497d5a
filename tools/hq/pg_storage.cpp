// Head office database format on PostgreSQL: the tables and columns of
// sqlite_storage.cpp, with these differences only:
//   - text columns are COLLATE "C", so ORDER BY sorts bytes as SQLite does,
//     whatever the database's locale;
//   - SQLite INTEGER is bigint; flags stay integers 0/1 (CHECKed), so the
//     same SQL reads both back ends (reports, tests);
//   - BLOB is bytea; rowid keys (ledger.entry_id, redemptions.arrival,
//     conflicts.conflict_id, incidents.incident_id, fold_queue.item_id) are
//     identity columns: handed out under the write lock, so in commit order;
//   - append-only tables refuse UPDATE, DELETE and TRUNCATE in one trigger
//     function;
//   - the schema's version is schema_migrations (version, applied_at), not
//     PRAGMA user_version.
//
// Migration 1 = SQLite migrations 1-3 (changes, stores, events, ledger,
// store_customers, redemptions, code_owners, conflicts, conflict_txns,
// rule_sets, code_keys, revocations, incidents, fold_queue,
// hold_decisions); migration 2 = SQLite migration 4 (pii_keys, forgotten).
// pii_keys: unlike SQLite's secure_delete, PostgreSQL leaves a deleted key's
// bytes in the table's dead tuples until VACUUM and in the WAL until it is
// recycled: run with encrypted storage and bounded WAL archives.
#include "hq/pg_storage.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>
#include <utility>

#include "hq/pg_copy.hpp"

namespace refpos::hq {

namespace {

// Migration N brings the schema from N-1 to N. Append only.
const char* const kMigrations[] = {
    R"sql(
CREATE FUNCTION refpos_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TABLE changes (id integer PRIMARY KEY CHECK (id = 1), last bigint NOT NULL);
INSERT INTO changes (id, last) VALUES (1, 0);
CREATE TABLE stores (
  store_id text COLLATE "C" PRIMARY KEY,
  acked_seq bigint NOT NULL DEFAULT 0 CHECK (acked_seq >= 0),
  last_hash bytea NOT NULL CHECK (length(last_hash) = 32),
  last_seen_ms bigint NOT NULL DEFAULT 0,
  revoked integer NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
  revoked_change_seq bigint,
  flagged_reason text COLLATE "C" NOT NULL DEFAULT ''
);
CREATE TABLE events (
  store_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL CHECK (seq > 0),
  type text COLLATE "C" NOT NULL,
  at_ms bigint NOT NULL,
  ruleset_version bigint NOT NULL,
  body text COLLATE "C" NOT NULL,
  prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
  hash bytea NOT NULL CHECK (length(hash) = 32),
  change_seq bigint NOT NULL,
  PRIMARY KEY (store_id, seq)
);
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION refpos_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION refpos_refuse_change();
CREATE TABLE ledger (
  entry_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id text COLLATE "C" NOT NULL,
  unit text COLLATE "C" NOT NULL CHECK (unit IN ('store_credit', 'points', 'gift_card')),
  amount bigint NOT NULL,
  spendable_at_ms bigint NOT NULL,
  held integer NOT NULL CHECK (held IN (0, 1)),
  origin text COLLATE "C" NOT NULL,
  source text COLLATE "C" NOT NULL,
  change_seq bigint NOT NULL
);
CREATE INDEX ledger_by_customer ON ledger (customer_id, origin);
CREATE INDEX ledger_by_change ON ledger (change_seq);
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
  FOR EACH ROW EXECUTE FUNCTION refpos_refuse_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
  FOR EACH STATEMENT EXECUTE FUNCTION refpos_refuse_change();
CREATE TABLE store_customers (
  store_id text COLLATE "C" NOT NULL,
  customer_id text COLLATE "C" NOT NULL,
  change_seq bigint NOT NULL,
  PRIMARY KEY (store_id, customer_id)
);
CREATE INDEX store_customers_by_customer ON store_customers (customer_id);
CREATE TABLE redemptions (
  arrival bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  store_id text COLLATE "C" NOT NULL,
  txn_id text COLLATE "C" NOT NULL,
  code text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  referee_customer_id text COLLATE "C" NOT NULL,
  referrer_customer_id text COLLATE "C",
  referrer_unit text COLLATE "C" NOT NULL,
  referrer_amount bigint NOT NULL,
  referrer_spendable_at_ms bigint NOT NULL,
  referrer_held integer NOT NULL CHECK (referrer_held IN (0, 1)),
  reversed integer NOT NULL CHECK (reversed IN (0, 1)),
  referrer_reversed_by_hq integer NOT NULL CHECK (referrer_reversed_by_hq IN (0, 1)),
  referrer_reversed_by_store integer NOT NULL CHECK (referrer_reversed_by_store IN (0, 1)),
  referrer_by_code integer NOT NULL DEFAULT 0 CHECK (referrer_by_code IN (0, 1)),
  UNIQUE (store_id, txn_id)
);
CREATE INDEX redemptions_by_code ON redemptions (code, arrival);
CREATE TABLE code_owners (
  code text COLLATE "C" PRIMARY KEY,
  customer_id text COLLATE "C" NOT NULL,
  store_id text COLLATE "C" NOT NULL
);
CREATE TABLE conflicts (
  conflict_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code text COLLATE "C" NOT NULL,
  kind text COLLATE "C" NOT NULL,
  settlement text COLLATE "C" NOT NULL,
  change_seq bigint NOT NULL,
  UNIQUE (code, kind)
);
CREATE TABLE conflict_txns (
  conflict_id bigint NOT NULL REFERENCES conflicts (conflict_id),
  store_id text COLLATE "C" NOT NULL,
  txn_id text COLLATE "C" NOT NULL,
  arrival bigint NOT NULL,
  PRIMARY KEY (conflict_id, store_id, txn_id)
);
CREATE INDEX conflict_txns_by_store ON conflict_txns (store_id);
CREATE TABLE rule_sets (
  version bigint PRIMARY KEY CHECK (version > 0),
  document text COLLATE "C" NOT NULL,
  signature_hex text COLLATE "C" NOT NULL,
  change_seq bigint NOT NULL
);
CREATE TABLE code_keys (
  id bigint PRIMARY KEY CHECK (id > 0),
  secret_hex text COLLATE "C" NOT NULL,
  active integer NOT NULL CHECK (active IN (0, 1)),
  change_seq bigint NOT NULL
);
CREATE TABLE revocations (
  kind text COLLATE "C" NOT NULL CHECK (kind IN ('code', 'store')),
  value text COLLATE "C" NOT NULL,
  change_seq bigint NOT NULL,
  PRIMARY KEY (kind, value)
);
CREATE INDEX revocations_by_change ON revocations (change_seq);
CREATE TABLE incidents (
  incident_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  store_id text COLLATE "C" NOT NULL,
  kind text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  detail text COLLATE "C" NOT NULL,
  at_ms bigint NOT NULL,
  change_seq bigint NOT NULL
);
CREATE TABLE fold_queue (
  item_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  store_id text COLLATE "C" NOT NULL,
  first_seq bigint NOT NULL CHECK (first_seq > 0),
  last_seq bigint NOT NULL CHECK (last_seq >= first_seq),
  change_seq bigint NOT NULL
);
CREATE TABLE hold_decisions (
  store_id text COLLATE "C" NOT NULL,
  txn_id text COLLATE "C" NOT NULL,
  decision text COLLATE "C" NOT NULL CHECK (decision IN ('release', 'forfeit')),
  change_seq bigint NOT NULL,
  PRIMARY KEY (store_id, txn_id)
);
CREATE INDEX hold_decisions_by_change ON hold_decisions (store_id, change_seq);
)sql",
    // 2: contact-data keys from the stores, and the customers forgotten.
    R"sql(
CREATE TABLE pii_keys (
  store_id text COLLATE "C" NOT NULL,
  subject text COLLATE "C" NOT NULL,
  key bytea NOT NULL CHECK (length(key) = 32),
  PRIMARY KEY (store_id, subject)
);
CREATE INDEX pii_keys_by_subject ON pii_keys (subject);
CREATE TABLE forgotten (
  customer_id text COLLATE "C" PRIMARY KEY,
  origin text COLLATE "C" NOT NULL,
  forgotten_at_ms bigint NOT NULL,
  change_seq bigint NOT NULL
);
CREATE INDEX forgotten_by_change ON forgotten (change_seq);
)sql",
    // 3: the cursor each store was last handed (StoreRecord::pulled_cursor).
    // No store can hold one past the counter as it stands now.
    R"sql(
ALTER TABLE stores ADD COLUMN pulled_cursor bigint NOT NULL DEFAULT 0;
UPDATE stores SET pulled_cursor = (SELECT last FROM changes WHERE id = 1);
)sql",
};

constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// A statement, prepared under `name` on first use on each connection.
struct Statement {
  const char* name;
  const char* sql;
};

// One statement's parameters, in order ($1, $2, ...). Text is sent as text,
// bytes as binary (bytea); nothing is ever spliced into SQL.
class Params {
 public:
  Params& text(std::string_view v) { return add(std::string(v), false, false); }
  Params& integer(std::int64_t v) { return add(std::to_string(v), false, false); }
  Params& flag(bool v) { return integer(v ? 1 : 0); }
  Params& optional_text(const std::optional<std::string>& v) {
    return v ? text(*v) : add({}, true, false);
  }
  Params& bytes(const std::uint8_t* data, std::size_t size) {
    return add(std::string(reinterpret_cast<const char*>(data), size), false, true);
  }
  Params& hash(const store::Hash& h) { return bytes(h.data(), h.size()); }
  // A text[] in PostgreSQL's array syntax, every element quoted: {"a","b\"c"}.
  Params& text_array(std::span<const std::string> v) {
    std::string out = "{";
    for (const auto& x : v) {
      if (out.size() > 1) out += ',';
      out += '"';
      for (const char c : x) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    }
    out += '}';
    return add(std::move(out), false, false);
  }

  // The index of the first text parameter holding a NUL byte, or -1.
  [[nodiscard]] int text_with_nul() const {
    for (std::size_t i = 0; i < values_.size(); ++i) {
      if (formats_[i] == 0 && values_[i].find('\0') != std::string::npos) return static_cast<int>(i);
    }
    return -1;
  }
  [[nodiscard]] int size() const { return static_cast<int>(values_.size()); }
  // Pointers into this object: valid while it lives and is not changed.
  [[nodiscard]] std::vector<const char*> pointers() const {
    std::vector<const char*> out;
    for (std::size_t i = 0; i < values_.size(); ++i) out.push_back(null_[i] ? nullptr : values_[i].c_str());
    return out;
  }
  [[nodiscard]] std::vector<int> lengths() const {
    std::vector<int> out;
    for (const auto& v : values_) out.push_back(static_cast<int>(v.size()));
    return out;
  }
  [[nodiscard]] const std::vector<int>& formats() const { return formats_; }

 private:
  Params& add(std::string value, bool null, bool binary) {
    values_.push_back(std::move(value));
    null_.push_back(null);
    formats_.push_back(binary ? 1 : 0);
    return *this;
  }
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> formats_;
};

std::string first_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (const auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
  return text;
}

// The reason tag of a failed statement, from its SQLSTATE.
std::string reason_for(const char* sqlstate, bool connection_lost) {
  const std::string state = sqlstate != nullptr ? sqlstate : "";
  if (connection_lost || state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" ||
      state == "57P03") {
    return "unavailable";
  }
  if (state.rfind("23", 0) == 0) return "constraint";
  if (state == "40001" || state == "40P01" || state == "55P03") return "busy";
  if (state == "53100") return "disk_full";
  return "io";
}

}  // namespace

std::string redact_conninfo(const std::string& conninfo) {
  std::string out = conninfo;
  if (out.find("://") != std::string::npos) {  // a URI, not key=value
    // userinfo: scheme://user:password@host
    const std::size_t start = out.find("://") + 3;
    const std::size_t end = out.find_first_of("/?", start);
    const std::size_t at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at != std::string::npos && at >= start) {
      const std::size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
    // query: ?...&password=...&...
    for (std::size_t p = out.find('?'); p != std::string::npos; p = out.find('&', p + 1)) {
      if (out.compare(p + 1, 9, "password=") != 0) continue;
      const std::size_t v = p + 10;
      const std::size_t e = out.find('&', v);
      out.replace(v, (e == std::string::npos ? out.size() : e) - v, "***");
    }
    return out;
  }
  // key=value form: password=secret or password = 'se cret'
  for (std::size_t p = out.find("password"); p != std::string::npos; p = out.find("password", p + 1)) {
    if (p > 0 && out[p - 1] != ' ' && out[p - 1] != '\t') continue;
    std::size_t v = p + 8;
    while (v < out.size() && out[v] == ' ') ++v;
    if (v >= out.size() || out[v] != '=') continue;
    ++v;
    while (v < out.size() && out[v] == ' ') ++v;
    std::size_t e = v;
    if (e < out.size() && out[e] == '\'') {
      ++e;
      while (e < out.size() && out[e] != '\'') e += out[e] == '\\' ? 2U : 1U;
      e = std::min(out.size(), e + 1);
    } else {
      while (e < out.size() && out[e] != ' ' && out[e] != '\t') ++e;
    }
    out.replace(v, e - v, "***");
  }
  return out;
}

ShownConninfo::ShownConninfo(const std::string& conninfo) : url_(redact_conninfo(conninfo)) {
  char* err = nullptr;
  if (PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err)) {
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
      if (std::string_view(o->keyword) == "password" && o->val != nullptr) password_ = o->val;
    }
    PQconninfoFree(opts);
  }
  if (err != nullptr) PQfreemem(err);
  url_ = clean(url_);  // a password redact_conninfo did not find where libpq did
}

std::string ShownConninfo::clean(std::string message) const {
  message = first_line(std::move(message));
  if (password_.empty()) return message;
  for (std::size_t p = message.find(password_); p != std::string::npos;
       p = message.find(password_, p + 3)) {
    message.replace(p, password_.size(), "***");
  }
  return message;
}

std::string connect_failure_reason(const char* const* keys, const char* const* values) {
  const PGPing ping = PQpingParams(keys, values, 1);
  return ping == PQPING_NO_RESPONSE || ping == PQPING_REJECT ? "unavailable" : "refused";
}

// ---- the connection ------------------------------------------------------

// A statement's result: rows as text (bytea as \x hex), or the count of rows
// a command changed.
class PgStorage::Rows {
 public:
  explicit Rows(PGresult* r) : r_(r, &PQclear) {}
  [[nodiscard]] int size() const { return PQntuples(r_.get()); }
  [[nodiscard]] bool null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  [[nodiscard]] std::string_view view(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
  }
  [[nodiscard]] std::string text(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col),
            static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
  }
  [[nodiscard]] std::optional<std::string> optional_text(int row, int col) const {
    if (null(row, col)) return std::nullopt;
    return text(row, col);
  }
  [[nodiscard]] std::int64_t int64(int row, int col) const {
    const char* v = PQgetvalue(r_.get(), row, col);
    std::int64_t n = 0;
    std::from_chars(v, v + PQgetlength(r_.get(), row, col), n);
    return n;
  }
  [[nodiscard]] bool flag(int row, int col) const { return int64(row, col) != 0; }
  // bytea in hex output ("\x0a1b..."); zeros unless exactly 32 bytes, as
  // SqliteStorage's to_hash.
  [[nodiscard]] store::Hash hash(int row, int col) const {
    store::Hash h{};
    const std::string v = text(row, col);
    if (v.size() != 2 + 2 * h.size() || v.compare(0, 2, "\\x") != 0) return h;
    for (std::size_t i = 0; i < h.size(); ++i) {
      std::from_chars(v.data() + 2 + 2 * i, v.data() + 4 + 2 * i, h[i], 16);
    }
    return h;
  }
  // Rows an INSERT/UPDATE/DELETE touched.
  [[nodiscard]] std::int64_t affected() const {
    const char* v = PQcmdTuples(r_.get());
    std::int64_t n = 0;
    std::from_chars(v, v + std::char_traits<char>::length(v), n);
    return n;
  }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_;
};

namespace {

// The database-wide write lock every write transaction takes (header).
const std::string kLockSql = "SELECT pg_advisory_xact_lock(" +
                             std::to_string(PgStorage::kWriteLockKey) + ")";
// A write transaction's first round trip: BEGIN and the lock together (a
// simple query of two statements, constants only).
const std::string kBeginLockedSql = "BEGIN; " + kLockSql;

}  // namespace

class PgStorage::Connection {
 public:
  // `session` runs after every (re)connect: settings of this connection;
  // then `on_connect` (the schema migration). If that fails the connection
  // is dropped, so the next use connects and tries it again.
  using OnConnect = Status (*)(Connection&);
  static Result<std::unique_ptr<Connection>> connect(const std::string& url, std::string session,
                                                     OnConnect on_connect) {
    auto c = deferred(url, std::move(session), on_connect);
    if (auto st = c->open(); !st) return st.error();
    return c;
  }
  // Not connected yet: the first statement connects.
  static std::unique_ptr<Connection> deferred(const std::string& url, std::string session,
                                              OnConnect on_connect) {
    auto c = std::unique_ptr<Connection>(new Connection(url, std::move(session)));
    c->on_connect_ = on_connect;
    return c;
  }
  ~Connection() {
    if (conn_ != nullptr) PQfinish(conn_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Reconnects if the connection was lost; a transaction under way is lost
  // with it, so only outside one (its statements fail instead).
  Status ensure_open() {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return ok_status();
    if (in_transaction_) return failure(nullptr, "connection");
    return open();
  }

  // A server restart since this connection's last use shows only now:
  // nothing was under way, so it reconnects once and begins again.
  Status begin(const char* sql = "BEGIN") {
    if (auto st = ensure_open(); !st) return st;
    auto begun = command(sql, "BEGIN");
    if (!begun && begun.error().reason == "unavailable") {
      if (auto st = open(); !st) return st;
      begun = command(sql, "BEGIN");
    }
    if (!begun) {
      // `sql` may have begun and then failed (the lock): end what began.
      if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK &&
          PQtransactionStatus(conn_) != PQTRANS_IDLE) {
        (void)command("ROLLBACK", "ROLLBACK");
      }
      return begun;
    }
    in_transaction_ = true;
    return ok_status();
  }
  // What send_later queued is settled first: COMMIT never ends a
  // transaction one of whose statements failed unseen.
  Status commit() {
    if (auto st = settle(); !st) return st;
    in_transaction_ = false;
    return command("COMMIT", "COMMIT");
  }
  void rollback() {
    in_transaction_ = false;
    (void)settle();  // what it says no longer matters: all of it is undone
    failed_behind_.reset();
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) (void)command("ROLLBACK", "ROLLBACK");
  }

  // A statement without parameters (transaction control, DDL).
  Status command(const char* sql, const char* what) {
    if (auto st = settle(); !st) return st;
    PGresult* r = PQexec(conn_, sql);
    const Rows rows(r);
    const ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return ok_status();
    return failure(r, what);
  }

  // A statement without parameters that returns rows (FETCH).
  Result<Rows> query(const char* sql, const char* what) {
    if (auto st = settle(); !st) return st.error();
    PGresult* r = PQexec(conn_, sql);
    Rows rows(r);
    const ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return failure(r, what);
    return rows;
  }

  // COPY ... FROM STDIN with `data` (COPY's text format), inside the
  // caller's transaction.
  Status copy_in(const char* sql, std::string_view data, const char* what) {
    if (auto st = settle(); !st) return st;
    {
      PGresult* r = PQexec(conn_, sql);
      const Rows rows(r);
      if (PQresultStatus(r) != PGRES_COPY_IN) return failure(r, what);
    }
    if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1 ||
        PQputCopyEnd(conn_, nullptr) != 1) {
      return failure(nullptr, what);
    }
    Status out = ok_status();
    while (PGresult* r = PQgetResult(conn_)) {
      const Rows rows(r);
      if (PQresultStatus(r) != PGRES_COMMAND_OK && out) out = failure(r, what);
    }
    return out;
  }

  // Outside a transaction a statement only reads (storage.hpp: every
  // change runs inside write()), so a connection found lost is reopened
  // and the statement tried once more.
  Result<Rows> exec(const Statement& st, const Params& params) {
    if (const int i = params.text_with_nul(); i >= 0) {
      return make_error(ErrorKind::bad_request, "",
                        std::string("hq: ") + st.name + ": parameter $" + std::to_string(i + 1) +
                            " holds a NUL byte, which PostgreSQL text cannot store");
    }
    if (auto opened = ensure_open(); !opened) return opened.error();
    auto rows = exec_once(st, params);
    if (rows || in_transaction_ || rows.error().reason != "unavailable") return rows;
    if (auto reopened = open(); !reopened) return reopened.error();
    return exec_once(st, params);
  }

  // One step of a pipeline: a prepared statement with its parameters, or
  // (statement null) `sql` without parameters.
  struct Step {
    const Statement* statement = nullptr;
    const Params* params = nullptr;
    const char* sql = nullptr;
  };

  // Sends every step at once and reads their results in order (libpq's
  // pipeline mode): one round trip for all of them. Stops at the first
  // step that fails (the server skips the rest); its error is returned.
  // The rows of each step otherwise.
  Result<std::vector<Rows>> pipeline(std::span<const Step> steps, const char* what) {
    if (auto st = settle(); !st) return st.error();
    for (const auto& step : steps) {
      if (step.statement == nullptr) continue;
      if (auto st = prepare(*step.statement, step.params->size()); !st) return st.error();
      if (const int i = step.params->text_with_nul(); i >= 0) {
        return make_error(ErrorKind::bad_request, "",
                          std::string("hq: ") + step.statement->name + ": parameter $" +
                              std::to_string(i + 1) + " holds a NUL byte, which PostgreSQL text cannot store");
      }
    }
    if (PQenterPipelineMode(conn_) != 1) return failure(nullptr, what);
    bool sent = true;
    for (const auto& step : steps) {
      if (step.statement == nullptr) {
        sent = PQsendQueryParams(conn_, step.sql, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
      } else {
        const auto values = step.params->pointers();
        const auto lengths = step.params->lengths();
        sent = PQsendQueryPrepared(conn_, step.statement->name, step.params->size(), values.data(),
                                   lengths.data(), step.params->formats().data(), 0) == 1;
      }
      if (!sent) break;
    }
    if (!sent || PQpipelineSync(conn_) != 1) {
      Error e = failure(nullptr, what);
      (void)drop(ok_status());  // the pipeline's state is unknown: start afresh
      return e;
    }
    std::vector<Rows> out;
    std::optional<Error> first_error;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      PGresult* r = PQgetResult(conn_);
      if (r == nullptr) {  // the connection went away
        Error e = failure(nullptr, what);
        (void)drop(ok_status());
        return e;
      }
      Rows rows(r);
      const ExecStatusType st = PQresultStatus(r);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !first_error) {
        first_error = failure(r, steps[i].statement != nullptr ? steps[i].statement->name : what);
      }
      out.push_back(std::move(rows));
      while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);  // the step's end (null)
    }
    // The sync point's own result, then out of pipeline mode.
    for (PGresult* r = PQgetResult(conn_); r != nullptr; r = PQgetResult(conn_)) {
      const bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      PQclear(r);
      if (sync) break;
    }
    if (PQexitPipelineMode(conn_) != 1) {
      Error e = failure(nullptr, what);
      (void)drop(ok_status());
      return e;
    }
    if (first_error) return *first_error;
    return out;
  }

  Status prepare(const Statement& st, int n_params) {
    if (prepared_.count(st.name) != 0) return ok_status();
    PGresult* r = PQprepare(conn_, st.name, st.sql, n_params, nullptr);
    const Rows rows(r);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return failure(r, st.name);
    prepared_.insert(st.name);
    return ok_status();
  }

  // A push's head: BEGIN, the write lock and `statement` in one round trip
  // (reconnecting once first if the connection was found lost, as begin()).
  Result<Rows> begin_with(const Statement& statement, const Params& params) {
    if (auto st = ensure_open(); !st) return st.error();
    const Step steps[] = {{nullptr, nullptr, "BEGIN"},
                          {nullptr, nullptr, kLockSql.c_str()},
                          {&statement, &params, nullptr}};
    auto done = pipeline(steps, "BEGIN");
    if (!done && done.error().reason == "unavailable" &&
        (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK)) {
      if (auto st = open(); !st) return st.error();
      done = pipeline(steps, "BEGIN");
    }
    if (!done) {
      if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK &&
          PQtransactionStatus(conn_) != PQTRANS_IDLE) {
        (void)command("ROLLBACK", "ROLLBACK");
      }
      return done.error();
    }
    in_transaction_ = true;
    return std::move(done->back());
  }

  // A push's tail: `statement` and COMMIT in one round trip. On an error the
  // transaction is still open (rollback() ends it).
  Status commit_with(const Statement& statement, const Params& params) {
    const Step steps[] = {{&statement, &params, nullptr}, {nullptr, nullptr, "COMMIT"}};
    auto done = pipeline(steps, "COMMIT");
    if (!done) return done.error();
    in_transaction_ = false;
    return ok_status();
  }

  Result<Rows> exec_once(const Statement& st, const Params& params) {
    if (auto settled = settle(); !settled) return settled.error();
    if (auto prepared = prepare(st, params.size()); !prepared) return prepared.error();
    const auto values = params.pointers();
    const auto lengths = params.lengths();
    PGresult* r = PQexecPrepared(conn_, st.name, params.size(), values.data(), lengths.data(),
                                 params.formats().data(), 0);
    Rows rows(r);
    const ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) return failure(r, st.name);
    return rows;
  }

  // Write-behind, for a statement whose result the caller does not need:
  // inside a transaction it is sent now (libpq's pipeline mode) and its
  // result read by the next call that needs one (every other statement
  // here, and commit(), settle() first). A failure is then that call's
  // error, the server having skipped everything after the failed
  // statement; the transaction is rolled back as if it had failed at once.
  // Outside a transaction it runs at once, as exec() does.
  Status send_later(const Statement& st, const Params& params) {
    if (!in_transaction_ || conn_ == nullptr) {
      auto rows = exec(st, params);
      if (!rows) return rows.error();
      return ok_status();
    }
    if (const int i = params.text_with_nul(); i >= 0) {
      return make_error(ErrorKind::bad_request, "",
                        std::string("hq: ") + st.name + ": parameter $" + std::to_string(i + 1) +
                            " holds a NUL byte, which PostgreSQL text cannot store");
    }
    if (prepared_.count(st.name) == 0 || queued_.size() >= kWritesQueuedMax) {
      if (auto settled = settle(); !settled) return settled;
      if (auto prepared = prepare(st, params.size()); !prepared) return prepared;
    }
    if (queued_.empty() && PQenterPipelineMode(conn_) != 1) return failure(nullptr, st.name);
    const auto values = params.pointers();
    const auto lengths = params.lengths();
    // Flushed at once, so the server works on it while this thread goes on.
    if (PQsendQueryPrepared(conn_, st.name, params.size(), values.data(), lengths.data(),
                            params.formats().data(), 0) != 1 ||
        PQflush(conn_) != 0) {
      return lose(failure(nullptr, st.name));
    }
    queued_.push_back(st.name);
    return ok_status();
  }

  // Reads the results of what send_later sent: the first error among them,
  // and again at every call until rollback(), so a caller that drops an
  // error (others_waiting) cannot turn it into "transaction aborted".
  Status settle() {
    if (failed_behind_) return *failed_behind_;
    if (queued_.empty()) return ok_status();
    const std::vector<const char*> names = std::exchange(queued_, {});
    if (PQpipelineSync(conn_) != 1) return lose(failure(nullptr, names.front()));
    std::optional<Error> first_error;
    for (const char* name : names) {
      PGresult* r = PQgetResult(conn_);
      if (r == nullptr) return lose(failure(nullptr, name));  // the connection went away
      const Rows rows(r);
      const ExecStatusType s = PQresultStatus(r);
      // After a failure the rest come back PGRES_PIPELINE_ABORTED: the first says why.
      if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && !first_error) {
        first_error = failure(r, name);
      }
      while (PGresult* end = PQgetResult(conn_)) PQclear(end);  // the statement's end (null)
    }
    for (PGresult* r = PQgetResult(conn_); r != nullptr; r = PQgetResult(conn_)) {
      const bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      PQclear(r);
      if (sync) break;
    }
    if (PQexitPipelineMode(conn_) != 1) return lose(failure(nullptr, names.front()));
    failed_behind_ = std::move(first_error);
    if (failed_behind_) return *failed_behind_;
    return ok_status();
  }

  [[nodiscard]] const std::string& shown_url() const { return shown_.url(); }
  [[nodiscard]] bool in_transaction() const { return in_transaction_; }

  Error failure(const PGresult* r, const std::string& what) const {
    const bool lost = conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK;
    const char* sqlstate = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string detail = r != nullptr ? PQresultErrorMessage(r) : "";
    if (detail.empty() && conn_ != nullptr) detail = PQerrorMessage(conn_);
    const std::string reason = reason_for(sqlstate, lost);
    std::string message = "hq: PostgreSQL " + what + ": " + shown_.clean(detail);
    if (reason == "unavailable") {
      message += " (the database at " + shown_.url() + " is unavailable; a transaction under way was "
                 "rolled back, or, if this was its COMMIT, may have committed)";
    }
    return make_error(ErrorKind::storage, "", message, reason);
  }

 private:
  Connection(const std::string& url, std::string session)
      : url_(url), shown_(url), session_(std::move(session)) {}

  Status open() {
    if (conn_ != nullptr) PQfinish(conn_);
    prepared_.clear();
    queued_.clear();
    failed_behind_.reset();
    // Defaults first: the URL's own values come later and win. Keepalives
    // and a TCP user timeout notice a server that vanished (a partition,
    // a host that died) within a minute rather than the system's two
    // hours, so a write waiting on it ends in an error.
    const char* const keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval",
                                "keepalives_count", "tcp_user_timeout",
                                "fallback_application_name", "dbname", nullptr};
    const char* const values[] = {"10", "30", "10", "3", "60000", "refpos-hq", url_.c_str(),
                                  nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (conn_ == nullptr) {
      return make_error(ErrorKind::storage, "", "hq: PostgreSQL: out of memory connecting",
                        "unavailable");
    }
    if (PQstatus(conn_) != CONNECTION_OK) {
      return make_error(ErrorKind::storage, "",
                        "hq: cannot connect to PostgreSQL at " + shown_.url() + ": " +
                            shown_.clean(PQerrorMessage(conn_)),
                        connect_failure_reason(keys, values));
    }
    if (auto st = command(session_.c_str(), "session settings"); !st) return drop(st);
    if (on_connect_ != nullptr) {
      if (auto st = on_connect_(*this); !st) return drop(st);
    }
    return ok_status();
  }

  Status drop(Status st) {
    PQfinish(conn_);
    conn_ = nullptr;
    in_transaction_ = false;
    queued_.clear();
    failed_behind_.reset();
    return st;
  }

  // A pipeline left in a state nobody knows (a send or a result missing):
  // the connection is closed, and the transaction stays open until
  // rollback(), so nothing more of it runs anywhere (ensure_open refuses).
  Error lose(Error e) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
    prepared_.clear();
    queued_.clear();
    failed_behind_ = e;
    return e;
  }

  // Writes send_later keeps unsettled at most. The server may fall behind
  // the client; a push waiting for the write lock then waits for what is
  // queued to be done (about 2 ms of this): settling every so many keeps
  // that short, and the unread results well inside the socket's buffers.
  static constexpr std::size_t kWritesQueuedMax = 100;

  PGconn* conn_ = nullptr;
  std::string url_;  // with its password: never shown
  ShownConninfo shown_;
  std::string session_;
  std::unordered_set<std::string> prepared_;
  std::vector<const char*> queued_;     // send_later's statements, results unread
  std::optional<Error> failed_behind_;  // settle()'s error, until rollback()
  bool in_transaction_ = false;
  OnConnect on_connect_ = nullptr;
};

// ---- what a write transaction remembers ----------------------------------

struct PgStorage::TransactionMemo {
  // (store_id, customer_id) pairs in store_customers, as far as this
  // transaction added them: adding one again changes nothing.
  std::set<std::pair<std::string, std::string>> store_customers;
  // The newest rule set as read in this transaction (folding asks once per
  // redemption); insert_rules forgets it.
  std::optional<std::optional<RulesRecord>> latest_rules;

  // What preload_fold read for the fold item under way: every redemption
  // of each code in `codes` (in arrival order), its owner and (while in
  // conflict_codes; save_conflict drops it) its conflicts; and where the
  // redemption of a (store_id, txn_id) is: under its code, or (nullopt)
  // nowhere. Anything else is read from the database.
  std::set<std::string> codes;
  std::set<std::string> conflict_codes;
  std::map<std::string, std::vector<RedemptionRecord>> redemptions;
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> txn_codes;
  std::map<std::string, std::string> owners;
  std::map<std::pair<std::string, std::string>, ConflictRecord> conflicts;  // by (code, kind)

  void forget_fold() {
    store_customers.clear();  // bounded by one item, like the rest
    codes.clear();
    conflict_codes.clear();
    redemptions.clear();
    txn_codes.clear();
    owners.clear();
    conflicts.clear();
  }

  // The redemption of (store_id, txn_id) if it is here.
  RedemptionRecord* redemption(const std::string& store_id, const std::string& txn_id) {
    const auto known = txn_codes.find({store_id, txn_id});
    if (known == txn_codes.end() || !known->second || codes.count(*known->second) == 0)
      return nullptr;
    for (auto& r : redemptions[*known->second]) {
      if (r.store_id == store_id && r.txn_id == txn_id) return &r;
    }
    return nullptr;
  }
  // True if the redemption of (store_id, txn_id) is known not to exist.
  [[nodiscard]] bool no_redemption(const std::string& store_id, const std::string& txn_id) const {
    const auto known = txn_codes.find({store_id, txn_id});
    return known != txn_codes.end() && !known->second;
  }
  void inserted(const RedemptionRecord& r) {
    if (codes.count(r.code) == 0) {
      txn_codes.erase({r.store_id, r.txn_id});
      return;
    }
    redemptions[r.code].push_back(r);  // the newest arrival
    txn_codes[{r.store_id, r.txn_id}] = r.code;
  }
  // What UPDATE redemptions (kUpdateRedemption) changes.
  void updated(const RedemptionRecord& r) {
    RedemptionRecord* x = redemption(r.store_id, r.txn_id);
    if (x == nullptr) return;
    x->referrer_unit = r.referrer_unit;
    x->referrer_amount = r.referrer_amount;
    x->referrer_spendable_at_ms = r.referrer_spendable_at_ms;
    x->referrer_held = r.referrer_held;
    x->reversed = r.reversed;
    x->referrer_reversed_by_hq = r.referrer_reversed_by_hq;
    x->referrer_reversed_by_store = r.referrer_reversed_by_store;
    x->referrer_customer_id = r.referrer_customer_id;
    x->referrer_by_code = r.referrer_by_code;
  }
};

// ---- open, write ---------------------------------------------------------

namespace {

// Every connection: bytea comes back as hex (Rows::hash reads it); a
// transaction left idle for a minute (an instance stopped or hung while it
// held the write lock) is ended by the server, so the other instances'
// writes do not wait for it forever.
constexpr const char* kSessionForeground =
    "SET bytea_output = 'hex'; SET client_min_messages = 'warning';"
    " SET idle_in_transaction_session_timeout = '60s'";
constexpr const char* kSessionBackground =
    "SET bytea_output = 'hex'; SET client_min_messages = 'warning';"
    " SET idle_in_transaction_session_timeout = '60s'; SET synchronous_commit = off";

// refposctl's reports and exports: nothing it runs can write (a statement
// that tries fails), and the report's snapshot may last as long as it needs.
constexpr const char* kSessionReadOnly =
    "SET bytea_output = 'hex'; SET client_min_messages = 'warning';"
    " SET default_transaction_read_only = on";

}  // namespace

PgStorage::PgStorage(std::unique_ptr<Connection> conn, std::string url, bool background)
    : conn_(std::move(conn)), url_(std::move(url)), background_(background) {}

PgStorage::~PgStorage() = default;

namespace {

constexpr Statement kSchemaVersionQuery{
    "schema_version", "SELECT coalesce(max(version), 0) FROM schema_migrations"};
constexpr Statement kSchemaVersionInsert{
    "schema_version_insert", "INSERT INTO schema_migrations (version) VALUES ($1)"};

}  // namespace

Status PgStorage::migrate(Connection& c) {
  // One transaction, under the write lock, so two instances starting at
  // once migrate once and the second finds it done.
  if (auto st = c.begin(); !st) return st;
  const auto migrated = [&]() -> Status {
    if (auto st = c.command(kLockSql.c_str(), "write lock"); !st) return st;
    if (auto st = c.command("CREATE TABLE IF NOT EXISTS schema_migrations ("
                            " version integer PRIMARY KEY,"
                            " applied_at timestamptz NOT NULL DEFAULT now())",
                            "schema_migrations");
        !st) {
      return st;
    }
    auto rows = c.exec(kSchemaVersionQuery, Params{});
    if (!rows) return rows.error();
    const auto version = static_cast<int>(rows->int64(0, 0));
    if (version > kSchemaVersion) {
      return make_error(ErrorKind::storage, "",
                        "hq: the database has schema version " + std::to_string(version) +
                            ", newer than this server's " + std::to_string(kSchemaVersion),
                        "too_new");
    }
    for (int v = version; v < kSchemaVersion; ++v) {
      if (auto st = c.command(kMigrations[v], ("migration " + std::to_string(v + 1)).c_str()); !st) {
        return st;
      }
      if (auto st = c.exec(kSchemaVersionInsert, Params{}.integer(v + 1)); !st) return st.error();
    }
    return c.commit();
  }();
  if (!migrated) c.rollback();
  return migrated;
}

Status PgStorage::check_schema(Connection& c) {
  auto present = c.query("SELECT to_regclass('schema_migrations') IS NOT NULL", "schema check");
  if (!present) return present.error();
  if (present->view(0, 0) != "t") {
    return make_error(ErrorKind::bad_request, "",
                      "hq: the database at " + c.shown_url() +
                          " holds no refpos head office (no schema_migrations table)",
                      "schema");
  }
  auto rows = c.exec(kSchemaVersionQuery, Params{});
  if (!rows) return rows.error();
  const auto version = static_cast<int>(rows->int64(0, 0));
  if (version == kSchemaVersion) return ok_status();
  return make_error(ErrorKind::storage, "",
                    "hq: the database has schema version " + std::to_string(version) +
                        " and this program reads version " + std::to_string(kSchemaVersion) +
                        (version < kSchemaVersion
                             ? ": start the head office's refpos-hq once (it migrates the schema)"
                             : ": use the refposctl of the head office's release"),
                    "schema");
}

Result<std::unique_ptr<PgStorage>> PgStorage::open_read_only(const std::string& url) {
  auto conn = Connection::connect(url, kSessionReadOnly, &PgStorage::check_schema);
  if (!conn) return conn.error();
  return std::unique_ptr<PgStorage>(new PgStorage(std::move(*conn), url, false));
}

Result<std::unique_ptr<PgStorage>> PgStorage::open(const std::string& url) {
  auto conn = Connection::connect(url, kSessionForeground, &PgStorage::migrate);
  if (!conn) return conn.error();
  return std::unique_ptr<PgStorage>(new PgStorage(std::move(*conn), url, false));
}

std::unique_ptr<PgStorage> PgStorage::open_when_available(const std::string& url) {
  return std::unique_ptr<PgStorage>(new PgStorage(
      Connection::deferred(url, kSessionForeground, &PgStorage::migrate), url, false));
}

Result<std::unique_ptr<Storage>> PgStorage::open_another() {
  // Down now (a server started while the database is): connects on first use.
  auto conn = Connection::connect(url_, kSessionBackground, &PgStorage::migrate);
  if (!conn && conn.error().reason != "unavailable") return conn.error();
  auto own = conn ? std::move(*conn) : Connection::deferred(url_, kSessionBackground, &PgStorage::migrate);
  return std::unique_ptr<Storage>(new PgStorage(std::move(own), url_, true));
}

// A write transaction this storage began: in_write_ while it lasts, and
// rolled back unless committed (also when the work throws).
class PgStorage::WriteScope {
 public:
  explicit WriteScope(PgStorage& self) : self_(self) {
    self_.in_write_ = true;
    self_.memo_ = std::make_unique<TransactionMemo>();
  }
  ~WriteScope() {
    self_.in_write_ = false;
    self_.memo_.reset();
    if (!committed_) self_.conn_->rollback();
  }
  WriteScope(const WriteScope&) = delete;
  WriteScope& operator=(const WriteScope&) = delete;
  void committed() { committed_ = true; }

 private:
  PgStorage& self_;
  bool committed_ = false;
};

Status PgStorage::write(const std::function<Status()>& work) {
  if (in_write_) return work();  // joins the unit of work already open
  // The whole transaction under the database-wide write lock (header).
  if (auto st = conn_->begin(kBeginLockedSql.c_str()); !st) return st;
  WriteScope scope(*this);
  if (auto st = work(); !st) return st;
  if (auto st = conn_->commit(); !st) return st;
  scope.committed();
  return ok_status();
}

namespace {
constexpr Statement kOthersWaiting{
    "others_waiting",
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1)"};
}  // namespace

bool PgStorage::others_waiting() {
  if (!background_ || !in_write_) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_waiting_check_ < kWaitingCheckInterval) return false;
  last_waiting_check_ = now;
  // pg_advisory_xact_lock(bigint k): classid = high 32 bits, objid = low.
  const auto key = static_cast<std::uint64_t>(kWriteLockKey);
  auto rows = conn_->exec(kOthersWaiting, Params{}
                                              .integer(static_cast<std::int64_t>(key >> 32))
                                              .integer(static_cast<std::int64_t>(key & 0xffffffffU)));
  return rows && rows->size() == 1 && rows->text(0, 0) == "t";
}

// ---- the methods, each one statement or a few ---------------------------

namespace {

constexpr Statement kCurrentChange{"current_change", "SELECT last FROM changes WHERE id = 1"};
constexpr Statement kNextChange{"next_change",
                                "UPDATE changes SET last = last + 1 WHERE id = 1 RETURNING last"};
constexpr Statement kFindStore{
    "find_store",
    "SELECT acked_seq, last_hash, last_seen_ms, revoked, flagged_reason, pulled_cursor FROM stores"
    " WHERE store_id = $1"};
constexpr Statement kEnsureStore{
    "ensure_store",
    "INSERT INTO stores (store_id, last_hash) VALUES ($1, $2) ON CONFLICT (store_id) DO NOTHING"};
// One statement whether or not the store has a row yet: a push pays one
// round trip for it, not two.
constexpr Statement kSaveStoreProgress{
    "save_store_progress",
    "INSERT INTO stores (store_id, acked_seq, last_hash, last_seen_ms) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (store_id) DO UPDATE SET acked_seq = EXCLUDED.acked_seq,"
    " last_hash = EXCLUDED.last_hash, last_seen_ms = EXCLUDED.last_seen_ms"};
constexpr Statement kTouchStore{
    "touch_store",
    "UPDATE stores SET last_seen_ms = greatest(last_seen_ms, $2) WHERE store_id = $1"};
constexpr Statement kRecordPull{
    "record_pull",
    "UPDATE stores SET last_seen_ms = greatest(last_seen_ms, $2), pulled_cursor = $3"
    " WHERE store_id = $1"};
constexpr Statement kFlagStore{"flag_store",
                               "UPDATE stores SET flagged_reason = $2 WHERE store_id = $1"};
constexpr Statement kRevokeStore{
    "revoke_store",
    "UPDATE stores SET revoked = 1, revoked_change_seq = $2 WHERE store_id = $1 AND revoked = 0"};
constexpr Statement kInsertRevocation{
    "insert_revocation",
    "INSERT INTO revocations (kind, value, change_seq) VALUES ($1, $2, $3)"
    " ON CONFLICT (kind, value) DO NOTHING"};
constexpr Statement kRecordIncident{
    "record_incident",
    "INSERT INTO incidents (store_id, kind, seq, detail, at_ms, change_seq)"
    " VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr Statement kCountIncidents{"count_incidents",
                                    "SELECT count(*) FROM incidents WHERE store_id = $1"};
constexpr Statement kFindEvent{
    "find_event",
    "SELECT type, at_ms, ruleset_version, body, prev_hash, hash FROM events"
    " WHERE store_id = $1 AND seq = $2"};
constexpr Statement kInsertEvent{
    "insert_event",
    "INSERT INTO events (store_id, seq, type, at_ms, ruleset_version, body, prev_hash, hash,"
    " change_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"};
constexpr Statement kEventsBetween{
    "events_between",
    "SELECT seq, type, at_ms, ruleset_version, body, prev_hash, hash FROM events"
    " WHERE store_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq"};
constexpr Statement kEnqueueFold{
    "enqueue_fold",
    "INSERT INTO fold_queue (store_id, first_seq, last_seq, change_seq) VALUES ($1, $2, $3, $4)"};
constexpr Statement kNextFold{
    "next_fold",
    "SELECT item_id, store_id, first_seq, last_seq, change_seq FROM fold_queue"
    " ORDER BY item_id LIMIT 1"};
constexpr Statement kFinishFold{"finish_fold", "DELETE FROM fold_queue WHERE item_id = $1"};
constexpr Statement kAdvanceFold{"advance_fold",
                                 "UPDATE fold_queue SET first_seq = $2 WHERE item_id = $1"};
constexpr Statement kFoldBacklog{
    "fold_backlog", "SELECT coalesce(sum(last_seq - first_seq + 1), 0)::bigint FROM fold_queue"};
constexpr Statement kAddLedgerEntry{
    "add_ledger_entry",
    "INSERT INTO ledger (customer_id, unit, amount, spendable_at_ms, held, origin, source,"
    " change_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"};
constexpr Statement kAddStoreCustomer{
    "add_store_customer",
    "INSERT INTO store_customers (store_id, customer_id, change_seq) VALUES ($1, $2, $3)"
    " ON CONFLICT (store_id, customer_id) DO NOTHING"};
// Newly known customers count only if something elsewhere is there to send.
constexpr Statement kWalletsChanged{
    "wallets_changed",
    "SELECT sc.customer_id FROM store_customers sc"
    " WHERE sc.store_id = $1 AND sc.change_seq > $2 AND EXISTS"
    "  (SELECT 1 FROM ledger l WHERE l.customer_id = sc.customer_id AND l.origin <> $1)"
    " UNION"
    " SELECT l.customer_id FROM ledger l JOIN store_customers sc"
    "  ON sc.store_id = $1 AND sc.customer_id = l.customer_id"
    " WHERE l.change_seq > $2 AND l.origin <> $1"
    " ORDER BY 1"};
constexpr Statement kEntriesElsewhere{
    "entries_elsewhere",
    "SELECT unit, spendable_at_ms, held, sum(amount)::bigint FROM ledger"
    " WHERE customer_id = $2 AND origin <> $1"
    " GROUP BY unit, spendable_at_ms, held HAVING sum(amount) <> 0"
    " ORDER BY unit, spendable_at_ms, held"};
constexpr Statement kSetCodeOwner{
    "set_code_owner",
    "INSERT INTO code_owners (code, customer_id, store_id) VALUES ($1, $2, $3)"
    " ON CONFLICT (code) DO NOTHING"};
constexpr Statement kFindCodeOwner{"find_code_owner",
                                   "SELECT customer_id FROM code_owners WHERE code = $1"};
constexpr Statement kInsertRedemption{
    "insert_redemption",
    "INSERT INTO redemptions (store_id, txn_id, code, seq, referee_customer_id,"
    " referrer_customer_id, referrer_unit, referrer_amount, referrer_spendable_at_ms,"
    " referrer_held, reversed, referrer_reversed_by_hq, referrer_reversed_by_store,"
    " referrer_by_code)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"};
constexpr Statement kUpdateRedemption{
    "update_redemption",
    "UPDATE redemptions SET referrer_unit = $3, referrer_amount = $4,"
    " referrer_spendable_at_ms = $5, referrer_held = $6, reversed = $7,"
    " referrer_reversed_by_hq = $8, referrer_reversed_by_store = $9,"
    " referrer_customer_id = $10, referrer_by_code = $11"
    " WHERE store_id = $1 AND txn_id = $2"};
#define REFPOS_REDEMPTION_COLUMNS                                                           \
  "SELECT store_id, txn_id, code, seq, referee_customer_id, referrer_customer_id,"          \
  " referrer_unit, referrer_amount, referrer_spendable_at_ms, referrer_held, reversed,"     \
  " referrer_reversed_by_hq, referrer_reversed_by_store, referrer_by_code FROM redemptions"
constexpr Statement kFindRedemption{"find_redemption",
                                    REFPOS_REDEMPTION_COLUMNS " WHERE store_id = $1 AND txn_id = $2"};
constexpr Statement kRedemptionsOfCode{"redemptions_of_code",
                                       REFPOS_REDEMPTION_COLUMNS " WHERE code = $1 ORDER BY arrival"};
// PgStorage::preload_fold: the codes $2 and those the store $1's
// transactions $3 redeemed. Joined to unnest(), not `= ANY($2)`: the
// planner then does not estimate each element of the array, which cost
// more than running the statement.
#define REFPOS_FOLD_CODES                                                 \
  "WITH wanted AS (SELECT unnest($2::text[]) AS code UNION SELECT r.code" \
  " FROM unnest($3::text[]) AS t (txn_id) JOIN redemptions r"             \
  " ON r.store_id = $1 AND r.txn_id = t.txn_id) "
constexpr Statement kPreloadRedemptions{
    "preload_redemptions", REFPOS_FOLD_CODES REFPOS_REDEMPTION_COLUMNS
    " WHERE code IN (SELECT code FROM wanted) ORDER BY arrival"};
constexpr Statement kPreloadOwners{
    "preload_owners", REFPOS_FOLD_CODES
    "SELECT code, customer_id FROM code_owners WHERE code IN (SELECT code FROM wanted)"};
constexpr Statement kPreloadConflicts{
    "preload_conflicts", REFPOS_FOLD_CODES
    "SELECT c.conflict_id, c.code, c.kind, c.settlement, c.change_seq, t.store_id, t.txn_id"
    " FROM conflicts c LEFT JOIN conflict_txns t ON t.conflict_id = c.conflict_id"
    " WHERE c.code IN (SELECT code FROM wanted) ORDER BY c.conflict_id, t.arrival"};
#undef REFPOS_FOLD_CODES
#undef REFPOS_REDEMPTION_COLUMNS
constexpr Statement kTxnsOf{
    "txns_of", "SELECT store_id, txn_id FROM conflict_txns WHERE conflict_id = $1 ORDER BY arrival"};
constexpr Statement kFindConflict{
    "find_conflict",
    "SELECT conflict_id, settlement, change_seq FROM conflicts WHERE code = $1 AND kind = $2"};
constexpr Statement kInsertConflict{
    "insert_conflict",
    "INSERT INTO conflicts (code, kind, settlement, change_seq) VALUES ($1, $2, $3, $4)"
    " RETURNING conflict_id"};
constexpr Statement kUpdateConflict{
    "update_conflict", "UPDATE conflicts SET settlement = $2, change_seq = $3 WHERE conflict_id = $1"};
constexpr Statement kInsertConflictTxn{
    "insert_conflict_txn",
    "INSERT INTO conflict_txns (conflict_id, store_id, txn_id, arrival) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (conflict_id, store_id, txn_id) DO NOTHING"};
constexpr Statement kConflictsOfStore{
    "conflicts_of_store",
    "SELECT conflict_id, code, kind, settlement, change_seq FROM conflicts c"
    " WHERE change_seq > $2 AND EXISTS (SELECT 1 FROM conflict_txns t"
    "  WHERE t.conflict_id = c.conflict_id AND t.store_id = $1)"
    " ORDER BY conflict_id"};
constexpr Statement kFindHoldDecision{
    "find_hold_decision", "SELECT decision FROM hold_decisions WHERE store_id = $1 AND txn_id = $2"};
constexpr Statement kSaveHoldDecision{
    "save_hold_decision",
    "INSERT INTO hold_decisions (store_id, txn_id, decision, change_seq) VALUES ($1, $2, $3, $4)"};
constexpr Statement kHoldDecisionsSince{
    "hold_decisions_since",
    "SELECT txn_id, decision FROM hold_decisions WHERE store_id = $1 AND change_seq > $2"
    " ORDER BY change_seq, txn_id"};
constexpr Statement kPutPiiKey{
    "put_pii_key",
    "INSERT INTO pii_keys (store_id, subject, key) VALUES ($1, $2, $3)"
    " ON CONFLICT (store_id, subject) DO UPDATE SET key = excluded.key"};
constexpr Statement kDeletePiiKeys{"delete_pii_keys", "DELETE FROM pii_keys WHERE subject = $1"};
constexpr Statement kForgottenChange{"forgotten_change",
                                     "SELECT change_seq FROM forgotten WHERE customer_id = $1"};
constexpr Statement kSaveForgotten{
    "save_forgotten",
    "INSERT INTO forgotten (customer_id, origin, forgotten_at_ms, change_seq)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (customer_id) DO UPDATE SET origin = excluded.origin,"
    " forgotten_at_ms = excluded.forgotten_at_ms, change_seq = excluded.change_seq"};
constexpr Statement kForgottenSince{
    "forgotten_since",
    "SELECT customer_id FROM forgotten WHERE change_seq > $2 AND origin <> $1"
    " ORDER BY change_seq, customer_id"};
constexpr Statement kLatestRules{
    "latest_rules",
    "SELECT version, document, signature_hex, change_seq FROM rule_sets"
    " ORDER BY version DESC LIMIT 1"};
constexpr Statement kInsertRules{
    "insert_rules",
    "INSERT INTO rule_sets (version, document, signature_hex, change_seq) VALUES ($1, $2, $3, $4)"};
constexpr Statement kCodeKeys{"code_keys", "SELECT id, secret_hex, active FROM code_keys ORDER BY id"};
constexpr Statement kCodeKeysChanged{"code_keys_changed",
                                     "SELECT coalesce(max(change_seq), 0) FROM code_keys"};
constexpr Statement kPutCodeKey{
    "put_code_key",
    "INSERT INTO code_keys (id, secret_hex, active, change_seq) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (id) DO UPDATE SET secret_hex = excluded.secret_hex,"
    " active = excluded.active, change_seq = excluded.change_seq"};
constexpr Statement kRevokedSince{
    "revoked_since",
    "SELECT value FROM revocations WHERE kind = $1 AND change_seq > $2 ORDER BY value"};

template <typename T, typename Read>
std::vector<T> collect(const PgStorage::Rows& rows, Read read) {
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(read(rows, i));
  return out;
}

std::vector<std::string> first_column(const PgStorage::Rows& rows) {
  return collect<std::string>(rows, [](const PgStorage::Rows& r, int i) { return r.text(i, 0); });
}

RedemptionRecord read_redemption(const PgStorage::Rows& q, int i) {
  RedemptionRecord r;
  r.store_id = q.text(i, 0);
  r.txn_id = q.text(i, 1);
  r.code = q.text(i, 2);
  r.seq = q.int64(i, 3);
  r.referee_customer_id = q.text(i, 4);
  r.referrer_customer_id = q.optional_text(i, 5);
  r.referrer_unit = q.text(i, 6);
  r.referrer_amount = q.int64(i, 7);
  r.referrer_spendable_at_ms = q.int64(i, 8);
  r.referrer_held = q.flag(i, 9);
  r.reversed = q.flag(i, 10);
  r.referrer_reversed_by_hq = q.flag(i, 11);
  r.referrer_reversed_by_store = q.flag(i, 12);
  r.referrer_by_code = q.flag(i, 13);
  return r;
}

Status done(const Result<PgStorage::Rows>& rows) {
  if (!rows) return rows.error();
  return ok_status();
}

Result<std::int64_t> single_int(Result<PgStorage::Rows> rows) {
  if (!rows) return rows.error();
  return rows->int64(0, 0);
}

}  // namespace

Result<std::int64_t> PgStorage::current_change() {
  return single_int(conn_->exec(kCurrentChange, Params{}));
}

Result<std::int64_t> PgStorage::next_change() {
  return single_int(conn_->exec(kNextChange, Params{}));
}

Result<std::optional<StoreRecord>> PgStorage::find_store(const std::string& store_id) {
  auto rows = conn_->exec(kFindStore, Params{}.text(store_id));
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<StoreRecord>{};
  StoreRecord s;
  s.store_id = store_id;
  s.acked_seq = rows->int64(0, 0);
  s.last_hash = rows->hash(0, 1);
  s.last_seen_ms = rows->int64(0, 2);
  s.revoked = rows->flag(0, 3);
  s.flagged_reason = rows->text(0, 4);
  s.pulled_cursor = rows->int64(0, 5);
  return std::optional<StoreRecord>(std::move(s));
}

namespace {
Status ensure_store(PgStorage::Connection& c, const std::string& store_id) {
  const store::Hash zero{};
  return done(c.exec(kEnsureStore, Params{}.text(store_id).hash(zero)));
}
}  // namespace

Status PgStorage::save_store_progress(const StoreRecord& s) {
  return done(conn_->exec(kSaveStoreProgress, Params{}
                                                  .text(s.store_id)
                                                  .integer(s.acked_seq)
                                                  .hash(s.last_hash)
                                                  .integer(s.last_seen_ms)));
}

Status PgStorage::touch_store(const std::string& store_id, std::int64_t seen_ms) {
  if (auto st = ensure_store(*conn_, store_id); !st) return st;
  return done(conn_->exec(kTouchStore, Params{}.text(store_id).integer(seen_ms)));
}

Status PgStorage::record_pull(const std::string& store_id, std::int64_t seen_ms,
                              std::int64_t cursor) {
  if (auto st = ensure_store(*conn_, store_id); !st) return st;
  return done(conn_->exec(kRecordPull, Params{}.text(store_id).integer(seen_ms).integer(cursor)));
}

Status PgStorage::flag_store(const std::string& store_id, const std::string& reason) {
  if (auto st = ensure_store(*conn_, store_id); !st) return st;
  return done(conn_->exec(kFlagStore, Params{}.text(store_id).text(reason)));
}

Result<bool> PgStorage::revoke_store(const std::string& store_id, std::int64_t change_seq) {
  if (auto st = ensure_store(*conn_, store_id); !st) return st.error();
  auto rows = conn_->exec(kRevokeStore, Params{}.text(store_id).integer(change_seq));
  if (!rows) return rows.error();
  if (rows->affected() == 0) return false;
  auto ins = conn_->exec(kInsertRevocation, Params{}.text("store").text(store_id).integer(change_seq));
  if (!ins) return ins.error();
  return true;
}

Status PgStorage::record_incident(const Incident& i, std::int64_t change_seq) {
  return done(conn_->exec(kRecordIncident, Params{}
                                               .text(i.store_id)
                                               .text(i.kind)
                                               .integer(i.seq)
                                               .text(i.detail)
                                               .integer(i.at_ms)
                                               .integer(change_seq)));
}

Result<std::int64_t> PgStorage::count_incidents(const std::string& store_id) {
  return single_int(conn_->exec(kCountIncidents, Params{}.text(store_id)));
}

Result<std::optional<sync::WireEvent>> PgStorage::find_event(const std::string& store_id,
                                                             std::int64_t seq) {
  auto rows = conn_->exec(kFindEvent, Params{}.text(store_id).integer(seq));
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<sync::WireEvent>{};
  sync::WireEvent e;
  e.seq = seq;
  e.type = rows->text(0, 0);
  e.at_ms = rows->int64(0, 1);
  e.ruleset_version = rows->int64(0, 2);
  e.body = rows->text(0, 3);
  e.prev_hash = rows->hash(0, 4);
  e.hash = rows->hash(0, 5);
  return std::optional<sync::WireEvent>(std::move(e));
}

Status PgStorage::insert_event(const std::string& store_id, const sync::WireEvent& e,
                               std::int64_t change_seq) {
  return done(conn_->exec(kInsertEvent, Params{}
                                            .text(store_id)
                                            .integer(e.seq)
                                            .text(e.type)
                                            .integer(e.at_ms)
                                            .integer(e.ruleset_version)
                                            .text(e.body)
                                            .hash(e.prev_hash)
                                            .hash(e.hash)
                                            .integer(change_seq)));
}


namespace {

constexpr const char* kCopyEvents =
    "COPY events (store_id, seq, type, at_ms, ruleset_version, body, prev_hash, hash, change_seq)"
    " FROM STDIN";

// `events` as COPY's text rows.
// The rows into `data` (cleared first; its capacity is kept between pushes,
// so a push formats into memory already faulted in).
void copy_rows(std::string& data, const std::string& store_id,
               std::span<const sync::WireEvent> events, std::int64_t change_seq) {
  std::size_t size = 0;
  for (const auto& e : events) size += store_id.size() + e.type.size() + e.body.size() + 220;
  data.clear();
  data.reserve(size);
  for (const auto& e : events) {
    pg_copy::append_text(data, store_id);
    data += '\t';
    pg_copy::append_integer(data, e.seq);
    data += '\t';
    pg_copy::append_text(data, e.type);
    data += '\t';
    pg_copy::append_integer(data, e.at_ms);
    data += '\t';
    pg_copy::append_integer(data, e.ruleset_version);
    data += '\t';
    pg_copy::append_text(data, e.body);
    data += '\t';
    pg_copy::append_bytea(data, e.prev_hash);
    data += '\t';
    pg_copy::append_bytea(data, e.hash);
    data += '\t';
    pg_copy::append_integer(data, change_seq);
    data += '\n';
  }
}

// The push's next change and the store's acked_seq as it stands (0: no row).
constexpr Statement kBeginPush{
    "begin_push",
    "UPDATE changes SET last = last + 1 WHERE id = 1"
    " RETURNING last, coalesce((SELECT acked_seq FROM stores WHERE store_id = $1), 0)"};
// The push's fold item and the store's progress, in one statement.
constexpr Statement kFinishPush{
    "finish_push",
    "WITH queued AS (INSERT INTO fold_queue (store_id, first_seq, last_seq, change_seq)"
    " VALUES ($1, $2, $3, $4))"
    " INSERT INTO stores (store_id, acked_seq, last_hash, last_seen_ms) VALUES ($1, $5, $6, $7)"
    " ON CONFLICT (store_id) DO UPDATE SET acked_seq = EXCLUDED.acked_seq,"
    " last_hash = EXCLUDED.last_hash, last_seen_ms = EXCLUDED.last_seen_ms"};

}  // namespace

Status PgStorage::insert_events(const std::string& store_id, std::span<const sync::WireEvent> events,
                                std::int64_t change_seq) {
  if (events.empty()) return ok_status();
  if (events.size() == 1) return insert_event(store_id, events.front(), change_seq);
  if (!conn_->in_transaction()) {
    return make_error(ErrorKind::internal, "", "hq: insert_events outside write()", "internal");
  }
  copy_rows(copy_buffer_, store_id, events, change_seq);
  return conn_->copy_in(kCopyEvents, copy_buffer_, "insert_events");
}

Result<std::int64_t> PgStorage::append_push(const std::string& store_id, std::int64_t expected_acked,
                                            std::span<const sync::WireEvent> events,
                                            const StoreRecord& progress) {
  if (in_write_ || events.empty()) {
    return Storage::append_push(store_id, expected_acked, events, progress);
  }
  auto head = conn_->begin_with(kBeginPush, Params{}.text(store_id));
  if (!head) return head.error();
  WriteScope scope(*this);
  const std::int64_t change = head->int64(0, 0);
  if (head->int64(0, 1) != expected_acked) return raced();
  copy_rows(copy_buffer_, store_id, events, change);
  if (auto st = conn_->copy_in(kCopyEvents, copy_buffer_, "append_push"); !st) {
    return st.error();
  }
  const Params tail = Params{}
                          .text(store_id)
                          .integer(events.front().seq)
                          .integer(events.back().seq)
                          .integer(change)
                          .integer(progress.acked_seq)
                          .hash(progress.last_hash)
                          .integer(progress.last_seen_ms);
  if (auto st = conn_->commit_with(kFinishPush, tail); !st) return st.error();
  scope.committed();
  return change;
}

Result<std::vector<sync::WireEvent>> PgStorage::events_between(const std::string& store_id,
                                                               std::int64_t first_seq,
                                                               std::int64_t last_seq) {
  auto rows = conn_->exec(kEventsBetween, Params{}.text(store_id).integer(first_seq).integer(last_seq));
  if (!rows) return rows.error();
  return collect<sync::WireEvent>(*rows, [](const Rows& r, int i) {
    sync::WireEvent e;
    e.seq = r.int64(i, 0);
    e.type = r.text(i, 1);
    e.at_ms = r.int64(i, 2);
    e.ruleset_version = r.int64(i, 3);
    e.body = r.text(i, 4);
    e.prev_hash = r.hash(i, 5);
    e.hash = r.hash(i, 6);
    return e;
  });
}

Status PgStorage::enqueue_fold(const FoldItem& item) {
  return done(conn_->exec(kEnqueueFold, Params{}
                                            .text(item.store_id)
                                            .integer(item.first_seq)
                                            .integer(item.last_seq)
                                            .integer(item.change_seq)));
}

Result<std::optional<FoldItem>> PgStorage::next_fold() {
  auto rows = conn_->exec(kNextFold, Params{});
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<FoldItem>{};
  return std::optional<FoldItem>(FoldItem{rows->int64(0, 0), rows->text(0, 1), rows->int64(0, 2),
                                          rows->int64(0, 3), rows->int64(0, 4)});
}

// Folding's writes whose results it does not read are sent behind the
// statements that follow (Connection::send_later): a round trip per read,
// not per fact.
Status PgStorage::finish_fold(std::int64_t item_id) {
  return conn_->send_later(kFinishFold, Params{}.integer(item_id));
}

Status PgStorage::advance_fold(std::int64_t item_id, std::int64_t first_seq) {
  return conn_->send_later(kAdvanceFold, Params{}.integer(item_id).integer(first_seq));
}

Result<std::int64_t> PgStorage::fold_backlog() { return single_int(conn_->exec(kFoldBacklog, Params{})); }

Status PgStorage::add_ledger_entry(const LedgerEntry& e, std::int64_t change_seq) {
  return conn_->send_later(kAddLedgerEntry, Params{}
                                                .text(e.customer_id)
                                                .text(e.unit)
                                                .integer(e.amount)
                                                .integer(e.spendable_at_ms)
                                                .flag(e.held)
                                                .text(e.origin)
                                                .text(e.source)
                                                .integer(change_seq));
}

Result<bool> PgStorage::add_store_customer(const std::string& store_id,
                                           const std::string& customer_id,
                                           std::int64_t change_seq) {
  if (memo_ != nullptr && memo_->store_customers.count({store_id, customer_id}) != 0) return false;
  auto rows = conn_->exec(kAddStoreCustomer,
                          Params{}.text(store_id).text(customer_id).integer(change_seq));
  if (!rows) return rows.error();
  if (memo_ != nullptr) memo_->store_customers.emplace(store_id, customer_id);
  return rows->affected() > 0;
}

Status PgStorage::mark_store_customer(const std::string& store_id, const std::string& customer_id,
                                      std::int64_t change_seq) {
  if (memo_ == nullptr) return Storage::mark_store_customer(store_id, customer_id, change_seq);
  if (!memo_->store_customers.emplace(store_id, customer_id).second) return ok_status();
  return conn_->send_later(kAddStoreCustomer,
                           Params{}.text(store_id).text(customer_id).integer(change_seq));
}

Result<std::vector<std::string>> PgStorage::wallets_changed(const std::string& store_id,
                                                            std::int64_t cursor) {
  auto rows = conn_->exec(kWalletsChanged, Params{}.text(store_id).integer(cursor));
  if (!rows) return rows.error();
  return first_column(*rows);
}

Result<std::vector<sync::WalletEntryUpdate>> PgStorage::entries_elsewhere(
    const std::string& store_id, const std::string& customer_id) {
  auto rows = conn_->exec(kEntriesElsewhere, Params{}.text(store_id).text(customer_id));
  if (!rows) return rows.error();
  return collect<sync::WalletEntryUpdate>(*rows, [](const Rows& r, int i) {
    return sync::WalletEntryUpdate{r.text(i, 0), r.int64(i, 3), r.int64(i, 1), r.flag(i, 2)};
  });
}

Status PgStorage::set_code_owner(const std::string& code, const std::string& customer_id,
                                 const std::string& store_id) {
  if (memo_ != nullptr && memo_->codes.count(code) != 0) {
    memo_->owners.emplace(code, customer_id);  // ON CONFLICT DO NOTHING: the first stays
  }
  return conn_->send_later(kSetCodeOwner, Params{}.text(code).text(customer_id).text(store_id));
}

Result<std::optional<std::string>> PgStorage::find_code_owner(const std::string& code) {
  if (memo_ != nullptr && memo_->codes.count(code) != 0) {
    const auto owner = memo_->owners.find(code);
    if (owner == memo_->owners.end()) return std::optional<std::string>{};
    return std::optional<std::string>(owner->second);
  }
  auto rows = conn_->exec(kFindCodeOwner, Params{}.text(code));
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<std::string>{};
  return std::optional<std::string>(rows->text(0, 0));
}

Status PgStorage::insert_redemption(const RedemptionRecord& r) {
  if (memo_ != nullptr) memo_->inserted(r);
  return conn_->send_later(kInsertRedemption, Params{}
                                                  .text(r.store_id)
                                                  .text(r.txn_id)
                                                  .text(r.code)
                                                  .integer(r.seq)
                                                  .text(r.referee_customer_id)
                                                  .optional_text(r.referrer_customer_id)
                                                  .text(r.referrer_unit)
                                                  .integer(r.referrer_amount)
                                                  .integer(r.referrer_spendable_at_ms)
                                                  .flag(r.referrer_held)
                                                  .flag(r.reversed)
                                                  .flag(r.referrer_reversed_by_hq)
                                                  .flag(r.referrer_reversed_by_store)
                                                  .flag(r.referrer_by_code));
}

Status PgStorage::update_redemption(const RedemptionRecord& r) {
  if (memo_ != nullptr) memo_->updated(r);
  return conn_->send_later(kUpdateRedemption, Params{}
                                                  .text(r.store_id)
                                                  .text(r.txn_id)
                                                  .text(r.referrer_unit)
                                                  .integer(r.referrer_amount)
                                                  .integer(r.referrer_spendable_at_ms)
                                                  .flag(r.referrer_held)
                                                  .flag(r.reversed)
                                                  .flag(r.referrer_reversed_by_hq)
                                                  .flag(r.referrer_reversed_by_store)
                                                  .optional_text(r.referrer_customer_id)
                                                  .flag(r.referrer_by_code));
}

Result<std::optional<RedemptionRecord>> PgStorage::find_redemption(const std::string& store_id,
                                                                   const std::string& txn_id) {
  if (memo_ != nullptr) {
    if (memo_->no_redemption(store_id, txn_id)) return std::optional<RedemptionRecord>{};
    if (const RedemptionRecord* r = memo_->redemption(store_id, txn_id)) {
      return std::optional<RedemptionRecord>(*r);
    }
  }
  auto rows = conn_->exec(kFindRedemption, Params{}.text(store_id).text(txn_id));
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<RedemptionRecord>{};
  return std::optional<RedemptionRecord>(read_redemption(*rows, 0));
}

Result<std::vector<RedemptionRecord>> PgStorage::redemptions_of_code(const std::string& code) {
  if (memo_ != nullptr && memo_->codes.count(code) != 0) return memo_->redemptions[code];
  auto rows = conn_->exec(kRedemptionsOfCode, Params{}.text(code));
  if (!rows) return rows.error();
  return collect<RedemptionRecord>(*rows, read_redemption);
}

Status PgStorage::preload_fold(const std::string& store_id, std::span<const std::string> txn_ids,
                               std::span<const std::string> codes) {
  if (memo_ == nullptr) return ok_status();  // outside write() nothing keeps it exact
  TransactionMemo& m = *memo_;
  m.forget_fold();  // one item at a time: memory stays bounded by a push's size
  Status st = preload_into(m, store_id, txn_ids, codes);
  if (!st) m.forget_fold();
  return st;
}

Status PgStorage::preload_into(TransactionMemo& m, const std::string& store_id,
                               std::span<const std::string> txn_ids,
                               std::span<const std::string> codes) {
  // One round trip: the three statements read the same codes.
  const Params keys = Params{}.text(store_id).text_array(codes).text_array(txn_ids);
  const Connection::Step steps[] = {{&kPreloadRedemptions, &keys, nullptr},
                                    {&kPreloadOwners, &keys, nullptr},
                                    {&kPreloadConflicts, &keys, nullptr}};
  auto read = conn_->pipeline(steps, "preload_fold");
  if (!read) return read.error();
  const Rows& found = (*read)[0];
  const Rows& owners = (*read)[1];
  const Rows& conflicts = (*read)[2];
  std::set<std::string> loaded(codes.begin(), codes.end());
  for (int i = 0; i < found.size(); ++i) {
    RedemptionRecord r = read_redemption(found, i);
    loaded.insert(r.code);  // the codes the statements read: `wanted`
    m.txn_codes[{r.store_id, r.txn_id}] = r.code;
    m.redemptions[r.code].push_back(std::move(r));
  }
  // A transaction of the store not found has no redemption: its code, had
  // it one, would have brought it in.
  for (const auto& t : txn_ids) m.txn_codes.try_emplace({store_id, t}, std::nullopt);
  for (int i = 0; i < owners.size(); ++i) m.owners.emplace(owners.text(i, 0), owners.text(i, 1));
  for (int i = 0; i < conflicts.size(); ++i) {
    ConflictRecord& c = m.conflicts[{conflicts.text(i, 1), conflicts.text(i, 2)}];
    if (c.conflict_id == 0) {
      c.conflict_id = conflicts.int64(i, 0);
      c.code = conflicts.text(i, 1);
      c.kind = conflicts.text(i, 2);
      c.settlement = conflicts.text(i, 3);
      c.change_seq = conflicts.int64(i, 4);
    }
    if (!conflicts.null(i, 5)) c.txns.push_back({conflicts.text(i, 5), conflicts.text(i, 6)});
  }
  m.codes = loaded;
  m.conflict_codes = std::move(loaded);
  return ok_status();
}

Result<std::vector<ConflictTxn>> PgStorage::txns_of(std::int64_t conflict_id) {
  auto rows = conn_->exec(kTxnsOf, Params{}.integer(conflict_id));
  if (!rows) return rows.error();
  return collect<ConflictTxn>(*rows, [](const Rows& r, int i) {
    return ConflictTxn{r.text(i, 0), r.text(i, 1)};
  });
}

Result<std::optional<ConflictRecord>> PgStorage::find_conflict(const std::string& code,
                                                               const std::string& kind) {
  if (memo_ != nullptr && memo_->conflict_codes.count(code) != 0) {
    const auto c = memo_->conflicts.find({code, kind});
    if (c == memo_->conflicts.end()) return std::optional<ConflictRecord>{};
    return std::optional<ConflictRecord>(c->second);
  }
  auto rows = conn_->exec(kFindConflict, Params{}.text(code).text(kind));
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<ConflictRecord>{};
  ConflictRecord c;
  c.conflict_id = rows->int64(0, 0);
  c.settlement = rows->text(0, 1);
  c.change_seq = rows->int64(0, 2);
  c.code = code;
  c.kind = kind;
  auto txns = txns_of(c.conflict_id);
  if (!txns) return txns.error();
  c.txns = std::move(*txns);
  return std::optional<ConflictRecord>(std::move(c));
}

Result<std::int64_t> PgStorage::save_conflict(const ConflictRecord& c) {
  if (memo_ != nullptr) memo_->conflict_codes.erase(c.code);  // read again if asked
  std::int64_t id = c.conflict_id;
  if (id == 0) {
    auto rows = conn_->exec(
        kInsertConflict, Params{}.text(c.code).text(c.kind).text(c.settlement).integer(c.change_seq));
    if (!rows) return rows.error();
    id = rows->int64(0, 0);
  } else {
    auto rows = conn_->exec(kUpdateConflict,
                            Params{}.integer(id).text(c.settlement).integer(c.change_seq));
    if (!rows) return rows.error();
  }
  std::int64_t arrival = 0;
  for (const auto& t : c.txns) {
    auto rows = conn_->exec(kInsertConflictTxn,
                            Params{}.integer(id).text(t.store_id).text(t.txn_id).integer(++arrival));
    if (!rows) return rows.error();
  }
  return id;
}

// Rows of (conflict_id, code, kind, settlement, change_seq), each with its
// transactions.
Result<std::vector<ConflictRecord>> PgStorage::conflicts_from(const Rows& rows) {
  auto out = collect<ConflictRecord>(rows, [](const Rows& r, int i) {
    ConflictRecord c;
    c.conflict_id = r.int64(i, 0);
    c.code = r.text(i, 1);
    c.kind = r.text(i, 2);
    c.settlement = r.text(i, 3);
    c.change_seq = r.int64(i, 4);
    return c;
  });
  for (auto& c : out) {
    auto txns = txns_of(c.conflict_id);
    if (!txns) return txns.error();
    c.txns = std::move(*txns);
  }
  return out;
}

Result<std::vector<ConflictRecord>> PgStorage::conflicts_of_store(const std::string& store_id,
                                                                  std::int64_t cursor) {
  auto rows = conn_->exec(kConflictsOfStore, Params{}.text(store_id).integer(cursor));
  if (!rows) return rows.error();
  return conflicts_from(*rows);
}

Result<std::optional<std::string>> PgStorage::find_hold_decision(const std::string& store_id,
                                                                 const std::string& txn_id) {
  auto rows = conn_->exec(kFindHoldDecision, Params{}.text(store_id).text(txn_id));
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<std::string>{};
  return std::optional<std::string>(rows->text(0, 0));
}

Status PgStorage::save_hold_decision(const std::string& store_id, const sync::HoldDecision& d,
                                     std::int64_t change_seq) {
  return done(conn_->exec(kSaveHoldDecision,
                          Params{}.text(store_id).text(d.txn_id).text(d.decision).integer(change_seq)));
}

Result<std::vector<sync::HoldDecision>> PgStorage::hold_decisions_since(const std::string& store_id,
                                                                        std::int64_t cursor) {
  auto rows = conn_->exec(kHoldDecisionsSince, Params{}.text(store_id).integer(cursor));
  if (!rows) return rows.error();
  return collect<sync::HoldDecision>(*rows, [](const Rows& r, int i) {
    return sync::HoldDecision{r.text(i, 0), r.text(i, 1)};
  });
}

Status PgStorage::put_pii_key(const std::string& store_id, const std::string& subject,
                              const std::vector<std::uint8_t>& key) {
  return done(
      conn_->exec(kPutPiiKey, Params{}.text(store_id).text(subject).bytes(key.data(), key.size())));
}

Result<std::int64_t> PgStorage::delete_pii_keys(const std::string& subject) {
  auto rows = conn_->exec(kDeletePiiKeys, Params{}.text(subject));
  if (!rows) return rows.error();
  return rows->affected();
}

Result<std::optional<std::int64_t>> PgStorage::forgotten_change(const std::string& customer_id) {
  auto rows = conn_->exec(kForgottenChange, Params{}.text(customer_id));
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>(rows->int64(0, 0));
}

Status PgStorage::save_forgotten(const std::string& customer_id, const std::string& origin,
                                 std::int64_t at_ms, std::int64_t change_seq) {
  return done(conn_->exec(kSaveForgotten,
                          Params{}.text(customer_id).text(origin).integer(at_ms).integer(change_seq)));
}

Result<std::vector<std::string>> PgStorage::forgotten_since(const std::string& store_id,
                                                            std::int64_t cursor) {
  auto rows = conn_->exec(kForgottenSince, Params{}.text(store_id).integer(cursor));
  if (!rows) return rows.error();
  return first_column(*rows);
}

Result<std::optional<RulesRecord>> PgStorage::latest_rules() {
  if (memo_ != nullptr && memo_->latest_rules) return *memo_->latest_rules;
  auto rows = conn_->exec(kLatestRules, Params{});
  if (!rows) return rows.error();
  std::optional<RulesRecord> latest;
  if (rows->size() != 0) {
    latest = RulesRecord{rows->int64(0, 0), rows->text(0, 1), rows->text(0, 2), rows->int64(0, 3)};
  }
  if (memo_ != nullptr) memo_->latest_rules = latest;
  return latest;
}

Status PgStorage::insert_rules(const RulesRecord& r) {
  if (memo_ != nullptr) memo_->latest_rules.reset();
  return done(conn_->exec(
      kInsertRules,
      Params{}.integer(r.version).text(r.document).text(r.signature_hex).integer(r.change_seq)));
}

Result<std::vector<CodeKeyRecord>> PgStorage::code_keys() {
  auto rows = conn_->exec(kCodeKeys, Params{});
  if (!rows) return rows.error();
  return collect<CodeKeyRecord>(*rows, [](const Rows& r, int i) {
    return CodeKeyRecord{static_cast<int>(r.int64(i, 0)), r.text(i, 1), r.flag(i, 2)};
  });
}

Result<std::int64_t> PgStorage::code_keys_changed() {
  return single_int(conn_->exec(kCodeKeysChanged, Params{}));
}

Status PgStorage::put_code_key(const CodeKeyRecord& k, std::int64_t change_seq) {
  return done(conn_->exec(
      kPutCodeKey, Params{}.integer(k.id).text(k.secret_hex).flag(k.active).integer(change_seq)));
}

Result<bool> PgStorage::revoke_code(const std::string& code, std::int64_t change_seq) {
  auto rows = conn_->exec(kInsertRevocation, Params{}.text("code").text(code).integer(change_seq));
  if (!rows) return rows.error();
  return rows->affected() > 0;
}

Result<std::vector<std::string>> PgStorage::revoked_codes_since(std::int64_t cursor) {
  auto rows = conn_->exec(kRevokedSince, Params{}.text("code").integer(cursor));
  if (!rows) return rows.error();
  return first_column(*rows);
}

Result<std::vector<std::string>> PgStorage::revoked_stores_since(std::int64_t cursor) {
  auto rows = conn_->exec(kRevokedSince, Params{}.text("store").integer(cursor));
  if (!rows) return rows.error();
  return first_column(*rows);
}

// ---- reading for reports --------------------------------------------------

namespace {

constexpr Statement kStoreIds{"store_ids", "SELECT store_id FROM stores ORDER BY store_id"};
constexpr Statement kCountEventsBefore{"count_events_before",
                                       "SELECT count(*) FROM events WHERE at_ms < $1"};
constexpr Statement kDeclareReportCursor{
    "declare_report_cursor",
    "DECLARE refpos_report NO SCROLL CURSOR FOR SELECT store_id, seq, type, at_ms, body"
    " FROM events WHERE at_ms < $1 ORDER BY store_id, seq"};
constexpr Statement kFindPiiKey{"find_pii_key",
                                "SELECT key FROM pii_keys WHERE store_id = $1 AND subject = $2"};
constexpr Statement kAllConflicts{
    "all_conflicts",
    "SELECT conflict_id, code, kind, settlement, change_seq FROM conflicts ORDER BY conflict_id"};

}  // namespace

Status PgStorage::read_snapshot(const std::function<Status()>& work) {
  if (in_write_) {
    return make_error(ErrorKind::internal, "", "hq: read_snapshot inside write()", "internal");
  }
  if (auto st = conn_->begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !st) return st;
  struct Open {  // ends the transaction also when `work` throws
    Connection& c;
    ~Open() { c.rollback(); }  // read only: nothing to commit
  } open{*conn_};
  return work();
}

Result<std::vector<std::string>> PgStorage::store_ids() {
  auto rows = conn_->exec(kStoreIds, Params{});
  if (!rows) return rows.error();
  return first_column(*rows);
}

Status PgStorage::scan_events(std::int64_t before_ms,
                              const std::function<void(std::int64_t total)>& total,
                              const std::function<Status(const EventView&)>& visit) {
  if (!conn_->in_transaction()) {
    return make_error(ErrorKind::internal, "", "hq: scan_events outside read_snapshot()", "internal");
  }
  if (total) {
    auto counted = conn_->exec(kCountEventsBefore, Params{}.integer(before_ms));
    if (!counted) return counted.error();
    total(counted->int64(0, 0));
  }
  // The cursor lives until the transaction ends (read_snapshot's).
  if (auto declared = conn_->exec(kDeclareReportCursor, Params{}.integer(before_ms)); !declared) {
    return declared.error();
  }
  const std::string fetch = "FETCH FORWARD " + std::to_string(kEventsPerFetch) + " FROM refpos_report";
  for (;;) {
    auto rows = conn_->query(fetch.c_str(), "report events");
    if (!rows) return rows.error();
    for (int i = 0; i < rows->size(); ++i) {
      const EventView e{rows->view(i, 0), rows->int64(i, 1), rows->view(i, 2), rows->int64(i, 3),
                        rows->view(i, 4)};
      if (auto st = visit(e); !st) return st;
    }
    if (rows->size() < kEventsPerFetch) break;
  }
  return conn_->command("CLOSE refpos_report", "report events");
}

Result<std::vector<ConflictRecord>> PgStorage::all_conflicts() {
  auto rows = conn_->exec(kAllConflicts, Params{});
  if (!rows) return rows.error();
  return conflicts_from(*rows);
}

Result<std::optional<store::PiiKey>> PgStorage::find_pii_key(const std::string& store_id,
                                                              const std::string& subject) {
  auto rows = conn_->exec(kFindPiiKey, Params{}.text(store_id).text(subject));
  if (!rows) return rows.error();
  std::optional<store::PiiKey> key;
  if (rows->size() == 0) return key;
  // bytea in hex output, "\x" and two digits a byte, parsed in place: the
  // key is not copied into a string that nobody wipes.
  const std::string_view v = rows->view(0, 0);
  if (v.size() != 2 + 2 * store::kPiiKeyBytes || v.substr(0, 2) != "\\x") return key;
  key.emplace();
  for (std::size_t i = 0; i < key->size(); ++i) {
    std::from_chars(v.data() + 2 + 2 * i, v.data() + 4 + 2 * i, (*key)[i], 16);
  }
  return key;
}

}  // namespace refpos::hq
