// The real librefpos.so, loaded with dlopen as a POS host loads it, and a
// store handle that speaks JSON. Integration tests use only this and the
// public header: nothing of the plugin's inside.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "refpos/refpos.h"

namespace refpos::test {

using nlohmann::json;

// The one plugin, loaded once per test process (dlopen is reference counted
// anyway) from REFPOS_PLUGIN_PATH.
const refpos_api& plugin_api();

struct Reply {
  refpos_status status = REFPOS_E_INTERNAL;
  std::string text;     // the answer exactly as the plugin returned it
  json body;            // parsed answer (null if not JSON)
  std::string message;  // last_error() after the call
};

// The rule set and configuration most tests use; `data_dir` must exist.
json default_rules();
json default_config(const std::string& data_dir);

// 2026-01-01T00:00:00Z, the fixed clock of the default configuration.
inline constexpr std::int64_t kStartMs = 1'767'225'600'000;

class StoreHandle {
 public:
  explicit StoreHandle(const json& config);
  ~StoreHandle();
  StoreHandle(const StoreHandle&) = delete;
  StoreHandle& operator=(const StoreHandle&) = delete;

  Reply preview(const json& request) { return call(plugin_api().preview, request.dump()); }
  Reply commit(const json& request) { return call(plugin_api().commit, request.dump()); }
  Reply reverse(const json& request) { return call(plugin_api().reverse, request.dump()); }
  Reply issue_code(const json& request) { return call(plugin_api().issue_code, request.dump()); }
  Reply customer(const std::string& id) {
    return call(plugin_api().customer, json{{"customer_id", id}}.dump());
  }

  using Operation = refpos_status (*)(refpos_store*, const char*, size_t, char**);
  Reply call(Operation op, const std::string& raw_request);

  refpos_store* raw() { return store_; }

 private:
  refpos_store* store_ = nullptr;
};

// The ABI 1.2 `call` slot: a named operation of the referral loop.
Reply call_op(StoreHandle& store, const char* operation, const std::string& raw);
Reply call_op(StoreHandle& store, const char* operation, const json& request);

// A cart for `customer` ("" for anonymous) with one line per price.
json cart(const std::string& txn_id, const std::string& customer,
          std::initializer_list<std::int64_t> unit_prices_minor);

// Everything an observer can see of the store's money state, read straight
// from its SQLite file: event count, last seq, and every wallet balance.
struct StoreSnapshot {
  std::int64_t events = 0;
  std::int64_t last_seq = 0;
  json wallets;  // {"customer/unit": balance}
  json codes;    // ["code", ...]
  bool operator==(const StoreSnapshot&) const = default;
};
StoreSnapshot snapshot_of(const std::string& data_dir);

// The first column of the first row of `sql` on the store's file in
// `data_dir` (read-only), -1 without a row; throws if the SQL fails.
std::int64_t store_sql_int(const std::string& data_dir, const std::string& sql);
// The same on any SQLite file (a head office's, say).
std::int64_t sql_int_in_file(const std::string& path, const std::string& sql);

}  // namespace refpos::test

namespace refpos::test {

// Checks the store file the way the head office will: integrity_check, seq
// gap-free from 1, every hash recomputed from the documented format
// (plugin/src/store/event_log.cpp), and every derived table equal to a fold
// over the events (wallets, codes, redemptions, transactions, customers).
// Returns "" when all hold, else the first problem.
std::string audit_store(const std::string& data_dir, const std::string& store_id);

// `code` (normalised) with its check symbol made right again for the first 15
// symbols, written independently of the plugin (Luhn mod 32, docs/codes.md):
// a test changes a symbol, then calls this to get a code that passes the typo
// check and must fail on its MAC or key.
std::string with_check_symbol(std::string code);

}  // namespace refpos::test
