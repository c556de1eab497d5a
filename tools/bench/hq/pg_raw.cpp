// The PostgreSQL baseline of the ingest run: the same rows COPYed into a
// table shaped like head office's events table (tools/hq/pg_storage.cpp),
// one transaction per batch, on a connection of its own to the same
// database the head office under test uses.
#include <libpq-fe.h>

#include <memory>
#include <string>

#include "bench_error.hpp"
#include "hq/pg_copy.hpp"
#include "hq_bench.hpp"

namespace refpos::bench {
namespace {

constexpr const char* kRawTable = R"(
CREATE TABLE IF NOT EXISTS bench_raw_events (
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
TRUNCATE bench_raw_events;
)";

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;
using PgResult = std::unique_ptr<PGresult, ResultCloser>;

void exec(PGconn* c, const char* sql, ExecStatusType want) {
  const PgResult r(PQexec(c, sql));
  if (PQresultStatus(r.get()) != want)
    throw BenchError(std::string("raw COPY: ") + sql + ": " + PQerrorMessage(c));
}

class RawCopy final : public RawBaseline {
 public:
  explicit RawCopy(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    if (PQstatus(conn_.get()) != CONNECTION_OK)
      throw BenchError(std::string("raw COPY: connect: ") + PQerrorMessage(conn_.get()));
    exec(conn_.get(), kRawTable, PGRES_COMMAND_OK);
  }

  // The rows are formatted here, before the clock starts, as the pushes are.
  void prepare(const std::string& store_id, const std::vector<sync::WireEvent>& events,
               std::size_t batch_size) override {
    chunks_.clear();
    for (std::size_t first = 0; first < events.size(); first += batch_size) {
      std::string data;
      for (std::size_t i = first; i < std::min(events.size(), first + batch_size); ++i) {
        const auto& e = events[i];
        hq::pg_copy::append_text(data, store_id);
        data += '\t' + std::to_string(e.seq) + '\t';
        hq::pg_copy::append_text(data, e.type);
        data += '\t' + std::to_string(e.at_ms) + '\t' + std::to_string(e.ruleset_version) + '\t';
        hq::pg_copy::append_text(data, e.body);
        data += '\t';
        hq::pg_copy::append_bytea(data, e.prev_hash);
        data += '\t';
        hq::pg_copy::append_bytea(data, e.hash);
        data += "\t1\n";
      }
      chunks_.push_back(std::move(data));
    }
  }

  void write_batch(std::size_t i) override {
    PGconn* c = conn_.get();
    const std::string& data = chunks_.at(i);
    exec(c, "BEGIN", PGRES_COMMAND_OK);
    exec(c,
         "COPY bench_raw_events (store_id, seq, type, at_ms, ruleset_version, body, prev_hash, hash,"
         " change_seq) FROM STDIN",
         PGRES_COPY_IN);
    if (PQputCopyData(c, data.data(), static_cast<int>(data.size())) != 1 || PQputCopyEnd(c, nullptr) != 1)
      throw BenchError(std::string("raw COPY: send: ") + PQerrorMessage(c));
    const PgResult done(PQgetResult(c));
    if (PQresultStatus(done.get()) != PGRES_COMMAND_OK)
      throw BenchError(std::string("raw COPY: ") + PQerrorMessage(c));
    while (PGresult* rest = PQgetResult(c)) PQclear(rest);
    exec(c, "COMMIT", PGRES_COMMAND_OK);
  }

 private:
  Conn conn_;
  std::vector<std::string> chunks_;
};

}  // namespace

std::unique_ptr<RawBaseline> raw_copy_baseline(const std::string& url) {
  return std::make_unique<RawCopy>(url);
}

}  // namespace refpos::bench
