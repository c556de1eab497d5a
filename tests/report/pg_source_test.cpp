// The report and the follow-up exports of a head office on PostgreSQL
// (tools/hq/storage_reports.hpp, refposctl report/export --file URL): the
// export story's head office (export_story.hpp) loaded into a database of
// a throwaway cluster through PgStorage, then read back through the
// storage and through the real refposctl, and compared with what the same
// records give from the SQLite file, whose answers export_test.cpp and
// report_test.cpp check by construction. Label postgres.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "export_story.hpp"
#include "exports.hpp"
#include "hq/pg_storage.hpp"
#include "hq/storage_reports.hpp"
#include "pg_cluster.hpp"
#include "report.hpp"
#include "sqlite_reader.hpp"
#include "temp_dir.hpp"

extern char** environ;

using namespace refpos;
using namespace refpos::test;
using report::Channel;
using report::ExportKind;

namespace {

template <typename T>
T must(Result<T> r) {
  if (!r) FAIL(r.error().describe());
  return std::move(r).value();
}

store::Hash hash_of(std::string_view bytes) {
  store::Hash h{};
  REQUIRE(bytes.size() == h.size());
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(h.data()));
  return h;
}

// Every record a report or an export reads from the head office's file,
// written into `pg` as head office writes them.
void load_head_office(hq::Storage& pg, const std::string& file) {
  auto db = must(report::ReadOnlyDatabase::open(file));
  const auto st = pg.write([&]() -> Status {
    const std::int64_t change = must(pg.next_change());
    std::map<std::string, std::vector<sync::WireEvent>> by_store;
    auto events = must(db->prepare(
        "SELECT store_id, seq, type, at_ms, ruleset_version, body, prev_hash, hash FROM events"
        " ORDER BY store_id, seq"));
    while (must(events->step())) {
      by_store[events->text(0)].push_back({events->int64(1), events->text(2), events->int64(3),
                                           events->int64(4), events->text(5),
                                           hash_of(events->blob_view(6)),
                                           hash_of(events->blob_view(7))});
    }
    for (const auto& [store_id, list] : by_store) {
      if (auto done = pg.touch_store(store_id, 0); !done) return done;
      if (auto done = pg.insert_events(store_id, list, change); !done) return done;
    }
    auto keys = must(db->prepare("SELECT store_id, subject, key FROM pii_keys"));
    while (must(keys->step())) {
      const auto key = keys->blob_view(2);
      if (auto done = pg.put_pii_key(keys->text(0), keys->text(1),
                                     std::vector<std::uint8_t>(key.begin(), key.end()));
          !done) {
        return done;
      }
    }
    auto conflicts = must(db->prepare(
        "SELECT code, kind, settlement, conflict_id FROM conflicts ORDER BY conflict_id"));
    while (must(conflicts->step())) {
      hq::ConflictRecord c{0, conflicts->text(0), conflicts->text(1), conflicts->text(2), {},
                           change};
      auto txns = must(db->prepare(
          "SELECT store_id, txn_id FROM conflict_txns WHERE conflict_id = ?1 ORDER BY arrival"));
      txns->bind(1, conflicts->int64(3));
      while (must(txns->step())) c.txns.push_back({txns->text(0), txns->text(1)});
      if (auto saved = pg.save_conflict(c); !saved) return saved.error();
    }
    return ok_status();
  });
  REQUIRE_MESSAGE(st.ok(), (st ? "" : st.error().describe()));
}

// The story, with its conflict moved onto a redemption the report counts
// (T-1 at store-a), and the same records in a PostgreSQL database.
struct PgStory {
  TempDir dir;
  ExportStory files = build_export_story(dir.path());
  std::string url = PgCluster::shared().create_database("story");
  PgStory() {
    exec_sql(files.head_office,
             "UPDATE conflicts SET code = 'ANA-1';"
             "UPDATE conflict_txns SET store_id = 'store-a', txn_id = 'T-1' WHERE arrival = 1;");
    auto pg = must(hq::PgStorage::open(url));
    load_head_office(*pg, files.head_office);
  }
};

const PgStory& story() {
  static PgStory s;
  return s;
}

report::Period january() {
  return must(report::parse_period("2026-01-01", "2026-02-01", ""));
}

report::ExportRequest export_request(ExportKind kind) {
  report::ExportRequest r;
  r.path = story().files.head_office;
  r.kind = kind;
  r.period = january();
  r.templates = must(report::load_templates(REFPOS_EXPORT_ASSETS_DIR, kind, r.channels));
  return r;
}

// The first column of the first row of `query`, on a connection of its own.
std::string sql(const std::string& url, const std::string& query) {
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* r = PQexec(conn, query.c_str());
  const auto status = PQresultStatus(r);
  const bool ok = status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
  const std::string error = ok ? "" : PQerrorMessage(conn);
  const std::string out = ok && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  PQclear(r);
  PQfinish(conn);
  INFO(query, ": ", error);
  REQUIRE(ok);
  return out;
}

struct Run {
  int status = -1;
  std::string out;
  std::string err;
};

// refposctl with `args`, and `env` added to this process's environment.
Run refposctl(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  const TempDir scratch;
  const std::string out_path = (scratch.path() / "out").string();
  const std::string err_path = (scratch.path() / "err").string();
  std::vector<std::string> argv_text{REFPOS_CTL_PATH};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text = env;
  for (char** e = environ; *e != nullptr; ++e) env_text.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  Run run;
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  };
  run.out = slurp(out_path);
  run.err = slurp(err_path);
  return run;
}

}  // namespace

TEST_CASE("report on PostgreSQL: the same figures as the head office's file, chain and store") {
  const auto& s = story();
  auto pg = must(hq::PgStorage::open_read_only(s.url));
  for (const std::optional<std::string>& scope : {std::optional<std::string>(),
                                                 std::optional<std::string>("store-a"),
                                                 std::optional<std::string>("store-b")}) {
    CAPTURE(scope.value_or("chain"));
    report::ReportRequest request{s.files.head_office, january(), scope, {}};
    const auto from_file = must(report::build_report(request));
    std::vector<std::pair<std::int64_t, std::int64_t>> calls;
    request.progress = [&](std::int64_t done, std::int64_t total) { calls.emplace_back(done, total); };
    const auto from_pg = must(hq::build_report_from(*pg, request));
    CHECK(report::render_json(from_pg) == report::render_json(from_file));
    CHECK(from_pg.source == report::SourceKind::head_office);
    CHECK(from_pg.events_in_period > 0);
    // Progress ends at every event before the period's end.
    REQUIRE_FALSE(calls.empty());
    CHECK(calls.back().first == calls.back().second);
    CHECK(calls.back().first > 0);
  }
  // The moved conflict is in the report, from both.
  const auto chain = must(hq::build_report_from(*pg, {"", january(), std::nullopt, {}}));
  REQUIRE(chain.conflicts.size() == 1);
  CHECK(chain.conflicts[0].code == "ANA-1");

  auto unknown = hq::build_report_from(*pg, {"", january(), std::string("store-404"), {}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::not_found);
}

TEST_CASE("exports on PostgreSQL: the same messages and skipped counts as the file's") {
  const auto& s = story();
  auto pg = must(hq::PgStorage::open_read_only(s.url));
  for (const ExportKind kind : {ExportKind::thanks, ExportKind::leads}) {
    for (const std::optional<std::string>& scope :
         {std::optional<std::string>(), std::optional<std::string>("store-a")}) {
      CAPTURE(report::name_of(kind));
      CAPTURE(scope.value_or("chain"));
      auto request = export_request(kind);
      request.store_id = scope;
      const auto from_file = must(report::build_export(request));
      const auto from_pg = must(hq::build_export_from(*pg, request));
      CHECK_FALSE(from_pg.messages.empty());
      CHECK(report::render_export_csv(from_pg) == report::render_export_csv(from_file));
      CHECK(report::render_export_json(from_pg) == report::render_export_json(from_file));
      CHECK(from_pg.source == report::SourceKind::head_office);
    }
  }
  // Ivy's reward was recorded at store-b against her code only: head office
  // thanks her from the key store-a uploaded (export_story.hpp).
  const auto thanks = must(hq::build_export_from(*pg, export_request(ExportKind::thanks)));
  CHECK(std::any_of(thanks.messages.begin(), thanks.messages.end(),
                    [](const report::ExportMessage& m) { return m.recipient_id == "ivy"; }));

  auto bad = export_request(ExportKind::thanks);
  bad.locale = "xx-XX";
  auto refused = hq::build_export_from(*pg, bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::bad_request);
}

TEST_CASE("reading PostgreSQL for a report never writes, and wants the current schema") {
  const auto& s = story();
  auto pg = must(hq::PgStorage::open_read_only(s.url));
  const auto stores_before = must(pg->store_ids());
  auto written = pg->touch_store("store-new", 1);
  REQUIRE_FALSE(written.ok());
  CHECK(must(pg->store_ids()) == stores_before);

  // An empty database holds no head office: a usage error, not an outage.
  auto empty = hq::PgStorage::open_read_only(PgCluster::shared().create_database("empty"));
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().kind == ErrorKind::bad_request);
  CHECK(empty.error().message.find("holds no refpos head office") != std::string::npos);

  // A head office at an older schema: refused, naming what to do, and left as it was.
  const std::string older = PgCluster::shared().create_database("older");
  must(hq::PgStorage::open(older));  // made at the current schema
  sql(older, "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)");
  const std::string versions = sql(older, "SELECT count(*) FROM schema_migrations");
  auto stale = hq::PgStorage::open_read_only(older);
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.error().kind == ErrorKind::storage);
  CHECK(stale.error().reason == "schema");
  CHECK(stale.error().message.find("start the head office's refpos-hq once") != std::string::npos);
  CHECK(sql(older, "SELECT count(*) FROM schema_migrations") == versions);
}

TEST_CASE("refposctl report and export take the head office's URL, or REFPOS_HQ_DATABASE") {
  const auto& s = story();
  const std::vector<std::string> period{"--from", "2026-01-01", "--to", "2026-02-01"};
  const auto with = [&](std::vector<std::string> head, const std::string& source) {
    head.insert(head.end(), period.begin(), period.end());
    if (!source.empty()) {
      head.push_back("--file");
      head.push_back(source);
    }
    return head;
  };
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"report", "--format", "json", "--no-progress"},
        std::vector<std::string>{"report", "--format", "csv", "--store", "store-a", "--no-progress"},
        std::vector<std::string>{"export", "--kind", "thanks", "--no-progress", "--templates",
                                 REFPOS_EXPORT_ASSETS_DIR},
        std::vector<std::string>{"export", "--kind", "leads", "--format", "json", "--no-progress",
                                 "--templates", REFPOS_EXPORT_ASSETS_DIR}}) {
    CAPTURE(command[0]);
    CAPTURE(command[1]);
    const Run file = refposctl(with(command, s.files.head_office));
    REQUIRE_MESSAGE(file.status == 0, file.err);
    const Run url = refposctl(with(command, s.url));
    CHECK_MESSAGE(url.status == 0, url.err);
    CHECK(url.out == file.out);
    CHECK(url.err.empty());
    // No --file: the head office's own setting, as refpos-hq reads it.
    const Run env = refposctl(with(command, ""), {"REFPOS_HQ_DATABASE=" + s.url});
    CHECK_MESSAGE(env.status == 0, env.err);
    CHECK(env.out == file.out);
  }

  // A database that does not answer: exit 1, the password never shown.
  const Run down = refposctl(
      with({"report", "--no-progress"}, "postgresql://refpos:s3cret-pw@127.0.0.1:1/hq"));
  CHECK(down.status == 1);
  CHECK(down.out.empty());
  CHECK(down.err.find("cannot connect to PostgreSQL at postgresql://refpos:***@127.0.0.1:1/hq") !=
        std::string::npos);
  CHECK(down.err.find("s3cret-pw") == std::string::npos);
  // A store the head office does not hold: exit 2, as for a file.
  const Run unknown = refposctl(with({"report", "--store", "store-404", "--no-progress"}, s.url));
  CHECK(unknown.status == 2);
  CHECK(unknown.err.find("store-404") != std::string::npos);
}
