// Many stores at once: every store connects first (its own certificate, its
// own connection, its own thread), and only when all of them are connected
// do they push and pull together; head office's GET /v1/status (as an
// admin) then says what it holds of each (hq_bench.hpp).
#include <algorithm>
#include <chrono>
#include <latch>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "bench_error.hpp"
#include "hq_bench.hpp"

namespace refpos::bench {
namespace {

// Generous: 1000 handshakes queue on the server's one thread, and on this
// machine the bench's own threads compete with it for two cores.
constexpr auto kTimeout = std::chrono::seconds(120);
constexpr std::size_t kMaxErrors = 5;

struct StoreRun {
  bool connected = false;
  bool completed = false;
  std::int64_t acked = 0;
  std::int64_t done_ns = 0;  // from the release
  std::string error;
};

std::string http_error(const char* what, const Result<sync::HttpResponse>& answer) {
  if (!answer) return std::string(what) + ": " + answer.error().describe();
  return std::string(what) + ": HTTP " + std::to_string(answer->status) + " " + answer->body.substr(0, 200);
}

}  // namespace

StoresResult run_stores(const std::vector<std::uint16_t>& ports, const BenchChain& chain,
                        std::size_t events_per_store, std::size_t batch_size) {
  const std::size_t n = chain.stores.size();
  StoresResult result;
  result.stores = n;

  // Events (and their request bodies) are made before anything is timed.
  std::vector<std::vector<std::string>> requests(n);
  std::vector<std::vector<std::int64_t>> last_seqs(n);
  for (std::size_t s = 0; s < n; ++s) {
    const auto events = make_events(chain.store_ids[s], events_per_store);
    for (std::size_t first = 0; first < events.size(); first += batch_size) {
      const std::size_t end = std::min(events.size(), first + batch_size);
      requests[s].push_back(sync::serialize_batch(
          {chain.store_ids[s], {events.begin() + static_cast<std::ptrdiff_t>(first),
                                events.begin() + static_cast<std::ptrdiff_t>(end)}}));
      last_seqs[s].push_back(events[end - 1].seq);
    }
    result.events_sent += static_cast<std::int64_t>(events.size());
  }

  std::vector<StoreRun> runs(n);
  std::latch connected(static_cast<std::ptrdiff_t>(n));
  std::latch go(1);
  BenchClock::time_point release;  // written before go opens, read after
  const sync::Endpoint endpoint{"127.0.0.1", ports.at(0)};

  auto store_thread = [&](std::size_t s) {
    StoreRun& run = runs[s];
    auto client = sync::HttpsClient::connect({"127.0.0.1", ports[s % ports.size()]}, chain.stores[s], kTimeout);
    run.connected = static_cast<bool>(client);
    if (!client) run.error = "connect: " + client.error().describe();
    connected.count_down();
    go.wait();
    if (!client) return;
    for (std::size_t b = 0; b < requests[s].size(); ++b) {
      auto answer = (*client)->request("POST", "/v1/events", requests[s][b]);
      if (!answer || answer->status != 200) {
        run.error = http_error("push", answer);
        return;
      }
      auto ack = sync::parse_ack(answer->body);
      if (!ack) {
        run.error = "push: ack: " + ack.error().describe();
        return;
      }
      run.acked = ack->acked_seq;
      if (ack->acked_seq != last_seqs[s][b]) {
        run.error = "push: acked_seq " + std::to_string(ack->acked_seq) + ", sent up to " +
                    std::to_string(last_seqs[s][b]);
        return;
      }
    }
    auto answer = (*client)->request("GET", "/v1/updates?cursor=0", "");
    if (!answer || answer->status != 200) {
      run.error = http_error("pull", answer);
      return;
    }
    if (auto updates = sync::parse_updates(answer->body); !updates) {
      run.error = "pull: " + updates.error().describe();
      return;
    }
    run.done_ns = elapsed_ns(release, BenchClock::now());
    run.completed = true;
  };

  std::vector<std::thread> threads;
  threads.reserve(n);
  const auto connect_start = BenchClock::now();
  try {
    for (std::size_t s = 0; s < n; ++s) threads.emplace_back(store_thread, s);
  } catch (const std::system_error& e) {
    // Threads already started wait on the latches: let them through first.
    for (std::size_t s = threads.size(); s < n; ++s) connected.count_down();
    go.count_down();
    for (auto& t : threads) t.join();
    throw BenchError(std::string("cannot start store thread ") + std::to_string(threads.size() + 1) + ": " +
                     e.what());
  }
  connected.wait();
  release = BenchClock::now();
  result.connect_ns = elapsed_ns(connect_start, release);
  go.count_down();
  for (auto& t : threads) t.join();

  for (std::size_t s = 0; s < n; ++s) {
    const StoreRun& run = runs[s];
    if (run.connected) ++result.connected;
    if (run.completed) {
      ++result.completed;
      result.store_ns.push_back(run.done_ns);
      result.sync_ns = std::max(result.sync_ns, run.done_ns);
    }
    result.events_acked += run.acked;
    if (!run.error.empty() && result.errors.size() < kMaxErrors)
      result.errors.push_back(chain.store_ids[s] + ": " + run.error);
  }

  // What head office holds of each store, asked as an admin.
  auto admin = sync::HttpsClient::connect(endpoint, chain.admin, kTimeout);
  if (!admin) throw BenchError("status: admin connect: " + admin.error().describe());
  for (std::size_t s = 0; s < n; ++s) {
    const std::int64_t sent = static_cast<std::int64_t>(events_per_store);
    auto answer = (*admin)->request("GET", "/v1/status?store_id=" + chain.store_ids[s], "");
    std::int64_t held = 0;
    if (answer && answer->status == 200) {
      const auto doc = nlohmann::json::parse(answer->body, nullptr, false);
      if (doc.is_object() && doc.contains("acked_seq") && doc["acked_seq"].is_number_integer())
        held = doc["acked_seq"].get<std::int64_t>();
    } else if (!answer || answer->status != 404) {  // 404: the store never synced
      throw BenchError("status: " + http_error(chain.store_ids[s].c_str(), answer));
    }
    result.events_verified += held;
    if (held != sent) ++result.stores_short;
    if (held < runs[s].acked || (runs[s].completed && held != sent)) ++result.stores_lost;
  }
  return result;
}

}  // namespace refpos::bench
