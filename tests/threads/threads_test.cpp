// threads_test.cpp: a host that loads the real librefpos.so with dlopen and
// uses it from many threads at once, exactly as far as refpos.h allows:
//
//   shared_handle   threads share one handle: commits with distinct txn_ids
//                   (all redeeming one code that can be used fewer times than
//                   they try), the same txn_id replayed by every thread,
//                   previews, customer lookups and render; afterwards the
//                   store holds exactly what was committed
//   last_error      each thread's last_error is its own: at the same moment
//                   a thread whose call failed sees its message and one whose
//                   call succeeded sees ""
//   entry_point     refpos_get_api and version() from many threads
//   distinct_stores open, use and close distinct stores concurrently
//   same_folder     opens of one data folder at once: exactly one wins, the
//                   others get REFPOS_E_STORAGE
//
// Usage: refpos_threads_test SCENARIO (one ctest per scenario). Threads start
// together at a std::latch and meet at std::barrier between rounds; nothing
// sleeps. Checks made on worker threads are collected and printed by main,
// which exits 1 if any failed. Built in every preset; under the "tsan" preset
// ThreadSanitizer turns any data race in the plugin into a failure.
#include <dlfcn.h>
#include <sqlite3.h>

#include <atomic>
#include <barrier>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugin.hpp"
#include "refpos/refpos.h"
#include "temp_dir.hpp"

namespace {

using nlohmann::json;

constexpr int kThreads = 8;
constexpr int kRounds = 6;
// Fewer than the kThreads * kRounds redemptions the threads try.
constexpr int kMaxRedemptions = 20;
constexpr std::int64_t kReferrerRewardMinor = 1000;
using refpos::test::kStartMs;  // the default config's fixed clock

// Failed checks from any thread; main prints them.
std::mutex g_failures_mutex;
std::vector<std::string> g_failures;

void check(bool ok, const std::string& what, int line) {
  if (ok) return;
  const std::lock_guard lock(g_failures_mutex);
  g_failures.push_back("threads_test.cpp:" + std::to_string(line) + ": " + what);
}
#define CHECK(condition) check((condition), #condition, __LINE__)
#define CHECK_MSG(condition, message) \
  check((condition), std::string(#condition) + " (" + (message) + ")", __LINE__)

struct Plugin {
  void* library = nullptr;
  refpos_get_api_fn get_api = nullptr;
  const refpos_api* api = nullptr;
};

// Loaded once (a function-local static is initialised once even when threads
// race to it); kept loaded until exit.
const Plugin& plugin() {
  static const Plugin loaded = [] {
    Plugin p;
    p.library = dlopen(REFPOS_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (p.library == nullptr) {
      std::fprintf(stderr, "dlopen %s: %s\n", REFPOS_PLUGIN_PATH, dlerror());
      std::exit(1);
    }
    void* symbol = dlsym(p.library, REFPOS_ENTRY_SYMBOL);
    if (symbol == nullptr) {
      std::fprintf(stderr, "dlsym %s: %s\n", REFPOS_ENTRY_SYMBOL, dlerror());
      std::exit(1);
    }
    std::memcpy(&p.get_api, &symbol, sizeof p.get_api);
    if (p.get_api(REFPOS_ABI_VERSION, &p.api) != REFPOS_OK || p.api == nullptr) {
      std::fprintf(stderr, "the plugin does not provide ABI %u\n", REFPOS_ABI_VERSION);
      std::exit(1);
    }
    return p;
  }();
  return loaded;
}
const refpos_api& api() { return *plugin().api; }

// The integration tests' store (tests/integration/plugin.cpp), with a code
// that allows fewer redemptions than the threads try.
json config_for(const std::string& data_dir, const std::string& store_id) {
  json config = refpos::test::default_config(data_dir);
  config["store_id"] = store_id;
  config["rules"]["code"]["max_redemptions"] = kMaxRedemptions;
  config["rules"]["referrer"]["store_credit_minor"] = kReferrerRewardMinor;
  return config;
}

// The result of one open: the handle (or NULL) and the status and message.
struct Opened {
  refpos_status status = REFPOS_E_INTERNAL;
  refpos_store* store = nullptr;
  std::string error;
};

Opened open_store(const json& config) {
  const std::string text = config.dump();
  Opened opened;
  char* error = nullptr;
  opened.status = api().open(text.data(), text.size(), &opened.store, &error);
  opened.error = error != nullptr ? error : "";
  api().free_buffer(error);
  return opened;
}

// One call's outcome, with last_error read right after it on this thread.
struct Reply {
  refpos_status status = REFPOS_E_INTERNAL;
  std::string text;
  std::string last_error;
  json body() const { return json::parse(text, nullptr, false); }
};

using Operation = refpos_status (*)(refpos_store*, const char*, size_t, char**);

Reply call(Operation operation, refpos_store* store, const std::string& request) {
  Reply reply;
  char* answer = nullptr;
  reply.status = operation(store, request.data(), request.size(), &answer);
  reply.text = answer != nullptr ? answer : "";
  api().free_buffer(answer);
  const char* message = api().last_error(store);
  reply.last_error = message != nullptr ? message : "(NULL)";
  return reply;
}

Reply render_text(refpos_store* store, const std::string& txn_id) {
  const std::string request =
      json{{"txn_id", txn_id}, {"what", "receipt"}, {"format", "text"}}.dump();
  Reply reply;
  char* out = nullptr;
  size_t out_len = 0;
  reply.status = api().render(store, request.data(), request.size(), &out, &out_len);
  reply.text = out != nullptr ? std::string(out, out_len) : "";
  api().free_buffer(out);
  reply.last_error = api().last_error(store);
  return reply;
}

json cart(const std::string& txn_id, const std::string& terminal, const std::string& customer,
          std::int64_t price_minor) {
  json request = {{"terminal_id", terminal},
                  {"currency", "USD"},
                  {"lines",
                   {{{"sku", "SKU-1"},
                     {"category", "shoes"},
                     {"quantity", 1},
                     {"unit_price_minor", price_minor}}}}};
  if (!txn_id.empty()) request["txn_id"] = txn_id;
  if (!customer.empty()) request["customer_id"] = customer;
  return request;
}

// A success leaves last_error ""; a failure leaves a message.
void check_last_error(const Reply& reply, const std::string& what) {
  if (reply.status == REFPOS_OK) {
    CHECK_MSG(reply.last_error.empty(), what + " succeeded but last_error is \"" +
                                            reply.last_error + "\"");
  } else {
    CHECK_MSG(!reply.last_error.empty(), what + " failed with status " +
                                             std::to_string(reply.status) +
                                             " but last_error is empty");
  }
}

void run_threads(int count, const std::function<void(int)>& body) {
  std::latch start(count);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(count));
  for (int t = 0; t < count; ++t) {
    threads.emplace_back([&start, &body, t] {
      start.arrive_and_wait();
      body(t);
    });
  }
  for (auto& thread : threads) thread.join();
}

// Counts read straight from the store's SQLite file (the plugin's handle is
// closed by then): what the host committed must be all that is there.
struct StoreCounts {
  std::int64_t transactions = -1;
  std::int64_t redemptions = -1;
  std::int64_t events = -1;
  std::int64_t last_seq = -1;
  std::string integrity;
};

StoreCounts count_store(const std::string& data_dir) {
  StoreCounts counts;
  sqlite3* db = nullptr;
  const std::string path = data_dir + "/refpos.db";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    CHECK_MSG(false, "cannot open " + path);
    sqlite3_close(db);
    return counts;
  }
  auto scalar = [db](const char* sql) -> std::string {
    sqlite3_stmt* statement = nullptr;
    std::string value = "(error)";
    if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(statement, 0);
      value = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(statement);
    return value;
  };
  counts.transactions = std::stoll(scalar("SELECT count(*) FROM transactions"));
  counts.redemptions = std::stoll(scalar("SELECT count(*) FROM redemptions"));
  counts.events = std::stoll(scalar("SELECT count(*) FROM events"));
  counts.last_seq = std::stoll(scalar("SELECT coalesce(max(seq), 0) FROM events"));
  counts.integrity = scalar("PRAGMA integrity_check");
  sqlite3_close(db);
  return counts;
}

std::int64_t balance_of(refpos_store* store, const std::string& customer) {
  const Reply reply =
      call(api().customer, store, json{{"customer_id", customer}}.dump());
  CHECK(reply.status == REFPOS_OK);
  const json body = reply.body();
  const json* wallet = body.contains("wallet") ? &body["wallet"] : &body;
  return wallet->value("balance_minor", std::int64_t{-1});
}

void shared_handle() {
  const refpos::test::TempDir folder;
  const std::string data_dir = folder.str() + "/store";
  const Opened opened = open_store(config_for(data_dir, "store-threads"));
  CHECK_MSG(opened.status == REFPOS_OK, opened.error);
  if (opened.store == nullptr) return;
  refpos_store* store = opened.store;

  // Alice's code, which every thread's customers then present.
  const Reply alice = call(api().commit, store, cart("ALICE", "till-0", "alice", 5000).dump());
  CHECK(alice.status == REFPOS_OK);
  const std::string code = alice.body().value(json::json_pointer("/issued_code/normalized"), "");
  CHECK(!code.empty());

  std::atomic<int> redeemed{0};
  std::atomic<int> used_up{0};
  // Every thread commits "SHARED-<round>" with the same content: one of them
  // is the commit, the others replays, and all answers must be identical.
  std::vector<std::vector<std::string>> shared_answers(
      kRounds, std::vector<std::string>(kThreads));

  run_threads(kThreads, [&](int t) {
    const std::string terminal = "till-" + std::to_string(t + 1);
    for (int round = 0; round < kRounds; ++round) {
      const std::string id = std::to_string(t) + "-" + std::to_string(round);
      const std::string txn_id = "T-" + id;
      const std::string customer = "new-" + id;
      json request = cart(txn_id, terminal, customer, 5000);
      request["code"] = code;

      const Reply preview = call(api().preview, store, request.dump());
      CHECK_MSG(preview.status == REFPOS_OK || preview.status == REFPOS_E_CODE_REJECTED,
                "preview " + txn_id + ": status " + std::to_string(preview.status));
      check_last_error(preview, "preview " + txn_id);

      const Reply commit = call(api().commit, store, request.dump());
      check_last_error(commit, "commit " + txn_id);
      if (commit.status == REFPOS_OK) {
        ++redeemed;
        CHECK_MSG(commit.body().contains("redemption"), commit.text);
        const Reply receipt = render_text(store, txn_id);
        CHECK_MSG(receipt.status == REFPOS_OK && !receipt.text.empty(), receipt.last_error);
        check_last_error(receipt, "render " + txn_id);
      } else {
        CHECK_MSG(commit.status == REFPOS_E_CODE_REJECTED,
                  "commit " + txn_id + ": status " + std::to_string(commit.status) + ": " +
                      commit.last_error);
        CHECK_MSG(commit.body().value(json::json_pointer("/error/reason"), "") == "used_up",
                  commit.text);
        ++used_up;
        const Reply receipt = render_text(store, txn_id);
        CHECK(receipt.status == REFPOS_E_NOT_FOUND);
        check_last_error(receipt, "render of a refused " + txn_id);
      }

      const Reply lookup = call(api().customer, store, json{{"customer_id", customer}}.dump());
      CHECK(lookup.status == REFPOS_OK);
      check_last_error(lookup, "customer " + customer);
      CHECK_MSG(lookup.body().value("known", false) == (commit.status == REFPOS_OK),
                lookup.text);

      const std::string shared_id = "SHARED-" + std::to_string(round);
      const Reply shared =
          call(api().commit, store, cart(shared_id, "till-shared", "", 1500).dump());
      CHECK_MSG(shared.status == REFPOS_OK, shared.last_error);
      check_last_error(shared, "commit " + shared_id);
      shared_answers[static_cast<size_t>(round)][static_cast<size_t>(t)] = shared.text;

      // Another thread's txn_id with this thread's content is a conflict.
      const Reply conflict =
          call(api().commit, store, cart(shared_id, terminal, customer, 9999).dump());
      CHECK(conflict.status == REFPOS_E_CONFLICT);
      check_last_error(conflict, "conflicting commit " + shared_id);
    }
  });

  CHECK_MSG(redeemed.load() == kMaxRedemptions,
            "redeemed " + std::to_string(redeemed.load()) + " times, the code allows " +
                std::to_string(kMaxRedemptions));
  CHECK(redeemed.load() + used_up.load() == kThreads * kRounds);
  for (const auto& answers : shared_answers) {
    for (const auto& answer : answers) CHECK(!answer.empty() && answer == answers.front());
  }
  CHECK(balance_of(store, "alice") == kMaxRedemptions * kReferrerRewardMinor);
  CHECK(api().close(store) == REFPOS_OK);

  const StoreCounts counts = count_store(data_dir);
  const std::int64_t committed = 1 + kMaxRedemptions + kRounds;  // Alice, redemptions, shared
  CHECK_MSG(counts.transactions == committed,
            "transactions " + std::to_string(counts.transactions) + ", committed " +
                std::to_string(committed));
  CHECK(counts.redemptions == kMaxRedemptions);
  CHECK_MSG(counts.events > 0 && counts.events == counts.last_seq,
            "events " + std::to_string(counts.events) + ", last seq " +
                std::to_string(counts.last_seq));
  CHECK(counts.integrity == "ok");
}

void last_error() {
  const refpos::test::TempDir folder;
  const Opened opened = open_store(config_for(folder.str() + "/store", "store-errors"));
  CHECK_MSG(opened.status == REFPOS_OK, opened.error);
  if (opened.store == nullptr) return;
  refpos_store* store = opened.store;

  constexpr int kErrorRounds = 20;
  std::barrier called(kThreads);
  std::barrier read(kThreads);
  run_threads(kThreads, [&](int t) {
    for (int round = 0; round < kErrorRounds; ++round) {
      // Half the threads fail, the other half succeed, swapping each round.
      const bool fail = (t + round) % 2 == 0;
      const std::string marker = "thread" + std::to_string(t) + "round" + std::to_string(round);
      Reply reply;
      if (fail) {
        // A quantity that is not an integer: the message names the field.
        json request = cart("", "till-1", "", 100);
        request["lines"][0]["quantity"] = marker;
        reply = call(api().preview, store, request.dump());
        CHECK(reply.status == REFPOS_E_BAD_REQUEST);
      } else {
        reply = call(api().customer, store, json{{"customer_id", marker}}.dump());
        CHECK(reply.status == REFPOS_OK);
      }
      // Every thread has made its call before any reads its message again.
      called.arrive_and_wait();
      const char* message = api().last_error(store);
      const std::string text = message != nullptr ? message : "(NULL)";
      if (fail) {
        CHECK_MSG(text.find("quantity") != std::string::npos, "thread " + std::to_string(t) +
                                                                   " failed, sees \"" + text +
                                                                   "\"");
      } else {
        CHECK_MSG(text.empty(), "thread " + std::to_string(t) + " succeeded, sees \"" + text +
                                    "\"");
      }
      read.arrive_and_wait();
    }
  });
  CHECK(api().close(store) == REFPOS_OK);
}

void entry_point() {
  constexpr int kCalls = 200;
  const std::string version = api().version();
  const refpos_api* table = plugin().api;
  run_threads(kThreads, [&](int) {
    // Each thread loads the library too: dlopen counts references.
    void* library = dlopen(REFPOS_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    CHECK(library != nullptr);
    if (library == nullptr) return;
    void* symbol = dlsym(library, REFPOS_ENTRY_SYMBOL);
    refpos_get_api_fn get_api = nullptr;
    std::memcpy(&get_api, &symbol, sizeof get_api);
    for (int i = 0; i < kCalls && get_api != nullptr; ++i) {
      const refpos_api* got = nullptr;
      CHECK(get_api(0x10000U, &got) == REFPOS_OK && got == table);
      got = nullptr;
      CHECK(get_api(REFPOS_ABI_VERSION, &got) == REFPOS_OK && got == table);
      got = table;
      CHECK(get_api(0x10063U, &got) == REFPOS_E_VERSION && got == nullptr);  // 1.99
      got = table;
      CHECK(get_api(0x20000U, &got) == REFPOS_E_VERSION && got == nullptr);  // 2.0
      CHECK(table->version() == version);
      CHECK(std::string(table->last_error(nullptr)).size() > 0);
    }
    dlclose(library);
  });
}

void distinct_stores() {
  constexpr int kCycles = 3;
  const refpos::test::TempDir folder;
  run_threads(kThreads, [&](int t) {
    const std::string store_id = "store-" + std::to_string(t);
    const std::string data_dir = folder.str() + "/" + store_id;
    for (int cycle = 0; cycle < kCycles; ++cycle) {
      const Opened opened = open_store(config_for(data_dir, store_id));
      CHECK_MSG(opened.status == REFPOS_OK, store_id + ": " + opened.error);
      if (opened.store == nullptr) return;
      const std::string txn_id = "T-" + std::to_string(cycle);
      const Reply commit =
          call(api().commit, opened.store, cart(txn_id, "till-1", "carol", 3000).dump());
      CHECK_MSG(commit.status == REFPOS_OK, store_id + " " + txn_id + ": " + commit.last_error);
      const Reply lookup = call(api().customer, opened.store, R"({"customer_id":"carol"})");
      CHECK(lookup.status == REFPOS_OK);
      // Every earlier cycle's purchase is still there after close and reopen.
      CHECK_MSG(lookup.body().value("purchases", -1) == cycle + 1, lookup.text);
      CHECK(api().close(opened.store) == REFPOS_OK);
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    const StoreCounts counts = count_store(folder.str() + "/store-" + std::to_string(t));
    CHECK(counts.transactions == kCycles);
    CHECK(counts.events == counts.last_seq);
    CHECK(counts.integrity == "ok");
  }
}

void same_folder() {
  constexpr int kOpenRounds = 10;
  const refpos::test::TempDir folder;
  for (int round = 0; round < kOpenRounds; ++round) {
    // Even rounds race to create a new store; odd rounds reopen it.
    const std::string data_dir = folder.str() + "/store-" + std::to_string(round / 2);
    std::vector<Opened> results(kThreads);
    run_threads(kThreads, [&](int t) {
      results[static_cast<size_t>(t)] = open_store(config_for(data_dir, "store-same"));
    });
    int winners = 0;
    for (const auto& result : results) {
      if (result.status == REFPOS_OK) {
        ++winners;
        CHECK(result.store != nullptr);
      } else {
        CHECK_MSG(result.status == REFPOS_E_STORAGE,
                  "status " + std::to_string(result.status) + ": " + result.error);
        CHECK(result.store == nullptr);
        CHECK(!result.error.empty());
      }
    }
    CHECK_MSG(winners == 1, "round " + std::to_string(round) + ": " + std::to_string(winners) +
                                " opens of one folder succeeded");
    for (const auto& result : results) CHECK(api().close(result.store) == REFPOS_OK);
  }
}

const std::map<std::string, void (*)()>& scenarios() {
  static const std::map<std::string, void (*)()> all = {
      {"shared_handle", shared_handle}, {"last_error", last_error},
      {"entry_point", entry_point},     {"distinct_stores", distinct_stores},
      {"same_folder", same_folder},
  };
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  const auto found = argc == 2 ? scenarios().find(argv[1]) : scenarios().end();
  if (found == scenarios().end()) {
    std::fprintf(stderr, "usage: %s SCENARIO\nscenarios:", argv[0]);
    for (const auto& [name, run] : scenarios()) std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  plugin();
  found->second();
  for (const auto& failure : g_failures) std::fprintf(stderr, "%s\n", failure.c_str());
  if (!g_failures.empty()) {
    std::fprintf(stderr, "%s: %zu check(s) failed\n", argv[1], g_failures.size());
    return 1;
  }
  std::printf("%s: all checks passed\n", argv[1]);
  return 0;
}
