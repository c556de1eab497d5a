// A store's event log for the head-office tests, written with the plugin's
// own code (store::append_event), so pushed batches are what a real store
// sends: service_test.cpp and migrate_test.cpp both feed head office with it.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/database.hpp"
#include "store/event_log.hpp"
#include "sync/protocol.hpp"
#include "temp_dir.hpp"

namespace refpos::hq::testing {

class StoreLog {
 public:
  // The log in `dir`/`file` (default: "<id>.db").
  StoreLog(const test::TempDir& dir, std::string id, std::string file = {})
      : id_(std::move(id)), path_((dir.path() / (file.empty() ? id_ + ".db" : file)).string()) {
    auto db = store::Database::open(path_);
    REQUIRE(db.ok());
    db_ = std::move(*db);
    REQUIRE(db_->exec(store::kEventLogSchema).ok());
  }
  void add(std::string_view type, const nlohmann::json& body, std::int64_t at_ms = 1'767'261'600'000) {
    auto tx = store::WriteTransaction::begin(*db_);
    REQUIRE(tx.ok());
    REQUIRE(store::append_event(*db_, id_, at_ms, 1, {type, body}).ok());
    REQUIRE((*tx)->commit().ok());
  }
  std::vector<sync::WireEvent> read(std::int64_t from, std::int64_t to) {
    auto q = db_->query(
        "SELECT seq, type, at_ms, ruleset_version, body, prev_hash, hash FROM events"
        " WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq");
    REQUIRE(q.ok());
    (*q)->bind(1, from).bind(2, to);
    std::vector<sync::WireEvent> out;
    while (*(*q)->step()) {
      sync::WireEvent e;
      e.seq = (*q)->int64(0);
      e.type = (*q)->text(1);
      e.at_ms = (*q)->int64(2);
      e.ruleset_version = (*q)->int64(3);
      e.body = (*q)->text(4);
      const auto p = (*q)->blob(5);
      const auto h = (*q)->blob(6);
      std::copy(p.begin(), p.end(), e.prev_hash.begin());
      std::copy(h.begin(), h.end(), e.hash.begin());
      out.push_back(std::move(e));
    }
    return out;
  }
  // Events from..to as the push body a store sends.
  std::string batch(std::int64_t from, std::int64_t to) {
    return sync::serialize_batch({id_, read(from, to)});
  }
  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string id_;
  std::string path_;
  std::unique_ptr<store::Database> db_;
};

}  // namespace refpos::hq::testing
