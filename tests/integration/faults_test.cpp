// Faults: the store survives SIGKILL at every write point, and a full disk or
// an I/O error at any write point of a commit gets a clear error, writes
// nothing and uses up no sequence number.
//
// The kill test forks a child that runs a scripted day through the real
// plugin with a FaultVfs armed to SIGKILL it at the k-th write (or fsync, or
// truncate), for k = 1, 2, ... until a run completes. The child reports every
// answer it received through a pipe; the parent then audits the file, checks
// that every received answer is stored byte for byte, restarts the store,
// re-runs the whole day, and checks that it ends where an uninterrupted run
// ends.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fault_vfs.hpp"
#include "plugin.hpp"
#include "temp_dir.hpp"

using namespace refpos::test;

namespace {

struct Step {
  std::string kind;  // "commit" or "reverse"
  std::string id;    // txn_id or reversal_id
  std::function<json(const std::map<std::string, json>&)> request;
};

json redeem(const std::string& txn, const std::string& customer, const std::string& code) {
  auto r = cart(txn, customer, {3000, 2000});
  r["code"] = code;
  return r;
}

std::string code_of(const std::map<std::string, json>& answers, const std::string& txn) {
  return answers.at(txn)["issued_code"]["normalized"].get<std::string>();
}

// The scripted day. Later steps use codes issued by earlier answers.
std::vector<Step> day() {
  using A = const std::map<std::string, json>&;
  return {
      {"commit", "T-1", [](A) { return cart("T-1", "alice", {5000}); }},
      {"commit", "T-2", [](A a) { return redeem("T-2", "bob", code_of(a, "T-1")); }},
      {"commit", "T-3", [](A a) { return redeem("T-3", "carol", code_of(a, "T-1")); }},
      {"reverse", "R-1", [](A) {
         return json{{"reversal_id", "R-1"}, {"txn_id", "T-2"}, {"kind", "void"}, {"terminal_id", "till-1"}};
       }},
      {"commit", "T-4", [](A a) { return redeem("T-4", "dave", code_of(a, "T-3")); }},
      {"commit", "T-5", [](A) { return cart("T-5", "", {100}); }},
  };
}

// Runs the day; `on_answer` sees each successful answer. Stops at the first
// failure (returns false).
bool run_day(StoreHandle& store, const std::function<void(const Step&, const std::string&)>& on_answer) {
  std::map<std::string, json> answers;
  for (const auto& step : day()) {
    const json request = step.request(answers);
    const Reply r = step.kind == "commit" ? store.commit(request) : store.reverse(request);
    if (r.status != REFPOS_OK) return false;
    answers[step.id] = r.body;
    on_answer(step, r.text);
  }
  return true;
}

// What the child reported: id -> answer text.
std::map<std::string, std::string> read_reports(int fd) {
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<std::size_t>(n));
  std::map<std::string, std::string> reports;
  std::size_t pos = 0;
  for (std::size_t nl; (nl = all.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    const std::string line = all.substr(pos, nl - pos);
    const auto tab = line.find('\t');
    reports[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return reports;  // a partial last line (killed mid-write) is not a report
}

// Runs the day in a child killed at write point k. Returns {completed, reports}.
std::pair<bool, std::map<std::string, std::string>> run_child(const json& config, std::int64_t k) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    bool ok = false;
    {
      FaultVfs vfs;
      vfs.arm(Fault::kill, k);
      StoreHandle store(config);
      ok = run_day(store, [&](const Step& s, const std::string& text) {
        const std::string line = s.id + "\t" + text + "\n";
        // One write per report: a kill never leaves half a line that parses.
        if (::write(fds[1], line.data(), line.size()) < 0) ::_exit(3);
      });
    }
    ::_exit(ok ? 0 : 2);
  }
  ::close(fds[1]);
  auto reports = read_reports(fds[0]);
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  const bool completed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  REQUIRE((killed || completed));
  return {completed, reports};
}

std::string stored_answer(const std::string& data_dir, const std::string& id) {
  sqlite3* db = nullptr;
  sqlite3_open_v2((data_dir + "/refpos.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT answer FROM transactions WHERE txn_id = ?1 UNION ALL "
                     "SELECT answer FROM reversals WHERE reversal_id = ?1",
                     -1, &st, nullptr);
  sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  std::string answer;
  if (sqlite3_step(st) == SQLITE_ROW) answer = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return answer;
}

}  // namespace

TEST_CASE("the store survives SIGKILL at every write point") {
  (void)plugin_api();  // load before forking so children inherit it
  TempDir reference_dir;
  StoreSnapshot reference;
  {
    StoreHandle store(default_config(reference_dir.str()));
    REQUIRE(run_day(store, [](const Step&, const std::string&) {}));
  }
  reference = snapshot_of(reference_dir.str());

  bool completed = false;
  std::int64_t k = 0;
  constexpr std::int64_t kMaxWritePoints = 2000;  // a bound, far above the day's count
  while (!completed && k < kMaxWritePoints) {
    ++k;
    CAPTURE(k);
    TempDir dir;
    const json config = default_config(dir.str());
    auto child = run_child(config, k);
    completed = child.first;
    const auto reports = std::move(child.second);
    if (!std::filesystem::exists(dir.path() / "refpos.db")) {
      CHECK(reports.empty());
    } else {
      // Recover: opening runs SQLite's WAL recovery; the audit needs no plugin.
      { StoreHandle reopened(config); }
      REQUIRE(audit_store(dir.str(), "store-001") == "");
      for (const auto& report : reports) {
        CAPTURE(report.first);
        // The store keeps the facts; the coupon and print members are
        // derived from them on the way out (receipt/printout.hpp).
        json told = json::parse(report.second);
        told.erase("coupon");
        told.erase("print");
        CHECK(json::parse(stored_answer(dir.str(), report.first)) == told);
      }
    }
    // Restart and run the whole day again: what the host was told is told
    // again identically, and the day ends as an uninterrupted one.
    StoreHandle store(config);
    REQUIRE(run_day(store, [&](const Step& s, const std::string& text) {
      const auto it = reports.find(s.id);
      if (it != reports.end()) CHECK(text == it->second);
    }));
    CHECK(audit_store(dir.str(), "store-001") == "");
    const auto after = snapshot_of(dir.str());
    CHECK(after.events == reference.events);
    CHECK(after.wallets == reference.wallets);
  }
  CHECK(completed);
  MESSAGE("write points in the day: " << k);
}

TEST_CASE("a full disk or an I/O error at any write point of a commit changes nothing") {
  FaultVfs vfs;
  TempDir dir;
  StoreHandle store(default_config(dir.str()));
  const auto first = store.commit(cart("T-1", "alice", {5000}));
  REQUIRE(first.status == REFPOS_OK);
  const auto code = first.body["issued_code"]["normalized"].get<std::string>();
  auto request = cart("T-2", "bob", {5000});
  request["code"] = code;

  for (const Fault fault : {Fault::disk_full, Fault::io_error}) {
    CAPTURE(static_cast<int>(fault));
    const auto before = snapshot_of(dir.str());
    // Fail at write point 1, 2, ... of the commit until it gets through.
    bool committed = false;
    for (std::int64_t k = 1; k < 200 && !committed; ++k) {
      CAPTURE(k);
      vfs.arm(fault, k);
      const auto r = store.commit(request);
      vfs.disarm();
      if (r.status == REFPOS_OK) {
        committed = true;
        break;
      }
      CHECK(r.status == REFPOS_E_STORAGE);
      CHECK(r.body["error"]["code"] == "STORAGE");
      CHECK(r.message.find("store: ") == 0);
      if (fault == Fault::disk_full && k == 1) CHECK(r.body["error"]["reason"] == "disk_full");
      CHECK(snapshot_of(dir.str()) == before);  // no event, no seq used
    }
    REQUIRE(committed);
    const auto after = snapshot_of(dir.str());
    CHECK(after.last_seq > before.last_seq);
    CHECK(audit_store(dir.str(), "store-001") == "");
    // A retry of the same transaction now returns the stored answer.
    CHECK(store.commit(request).status == REFPOS_OK);
    request = cart("T-3", "carol", {5000});
    request["code"] = code;
  }
}
