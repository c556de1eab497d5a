#include "plugin.hpp"

#include <dlfcn.h>
#include <sqlite3.h>

#include <stdexcept>

namespace refpos::test {

const refpos_api& plugin_api() {
  static const refpos_api* api = [] {
    void* lib = dlopen(REFPOS_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) throw std::runtime_error(std::string("dlopen: ") + dlerror());
    auto* entry = reinterpret_cast<refpos_get_api_fn>(dlsym(lib, REFPOS_ENTRY_SYMBOL));
    if (entry == nullptr) throw std::runtime_error("refpos_get_api not exported");
    const refpos_api* table = nullptr;
    if (entry(REFPOS_ABI_VERSION, &table) != REFPOS_OK) throw std::runtime_error("ABI version");
    return table;
  }();
  return *api;
}

json default_rules() {
  return {{"schema", "refpos.rules/1"},
          {"version", 1},
          {"program", "friends"},
          {"referee",
           {{"percent_off_bp", 2000},
            {"cap_minor", 5000},
            {"min_spend_minor", 2000},
            {"new_customers_only", true}}},
          {"referrer", {{"store_credit_minor", 1000}}},
          {"code", {{"valid_days", 30}, {"max_redemptions", 5}}},
          {"issue", {{"on_commit", true}, {"min_spend_minor", 0}}}};
}

json default_config(const std::string& data_dir) {
  return {{"store_id", "store-001"},
          {"data_dir", data_dir},
          {"currency", "USD"},
          {"code_keys", {{{"id", 1}, {"secret_hex", "000102030405060708090a0b0c0d0e0f"}, {"active", true}}}},
          {"rules", default_rules()},
          {"share_link_template", "https://example.com/r/{code}"},
          {"clock", {{"fixed_ms", kStartMs}}}};
}

StoreHandle::StoreHandle(const json& config) {
  const std::string text = config.dump();
  char* error = nullptr;
  const auto status = plugin_api().open(text.data(), text.size(), &store_, &error);
  std::string message = error != nullptr ? error : "";
  plugin_api().free_buffer(error);
  if (status != REFPOS_OK) {
    throw std::runtime_error("open failed (" + std::to_string(status) + "): " + message);
  }
}

StoreHandle::~StoreHandle() { plugin_api().close(store_); }

Reply StoreHandle::call(Operation op, const std::string& raw_request) {
  char* answer = nullptr;
  Reply reply;
  reply.status = op(store_, raw_request.data(), raw_request.size(), &answer);
  if (answer != nullptr) reply.text = answer;
  plugin_api().free_buffer(answer);
  reply.message = plugin_api().last_error(store_);
  reply.body = json::parse(reply.text, nullptr, false);
  return reply;
}

Reply call_op(StoreHandle& store, const char* operation, const std::string& raw) {
  char* answer = nullptr;
  Reply reply;
  reply.status = plugin_api().call(store.raw(), operation, raw.data(), raw.size(), &answer);
  if (answer != nullptr) reply.text = answer;
  plugin_api().free_buffer(answer);
  reply.message = plugin_api().last_error(store.raw());
  reply.body = json::parse(reply.text, nullptr, false);
  return reply;
}

Reply call_op(StoreHandle& store, const char* operation, const json& request) {
  return call_op(store, operation, request.dump());
}

json cart(const std::string& txn_id, const std::string& customer,
          std::initializer_list<std::int64_t> unit_prices_minor) {
  json lines = json::array();
  int n = 0;
  for (const auto price : unit_prices_minor) {
    lines.push_back({{"sku", "SKU-" + std::to_string(++n)},
                     {"category", "general"},
                     {"quantity", 1},
                     {"unit_price_minor", price}});
  }
  json request = {{"terminal_id", "till-1"}, {"cashier_id", "cashier-7"},
                  {"currency", "USD"}, {"lines", lines}};
  if (!txn_id.empty()) request["txn_id"] = txn_id;
  if (!customer.empty()) request["customer_id"] = customer;
  return request;
}

namespace {

json query_json(sqlite3* db, const char* sql, bool as_object) {
  json out = as_object ? json::object() : json::array();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error(sqlite3_errmsg(db));
  }
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const std::string key = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    if (as_object) {
      out[key] = sqlite3_column_int64(stmt, 1);
    } else {
      out.push_back(key);
    }
  }
  sqlite3_finalize(stmt);
  return out;
}

}  // namespace

std::int64_t store_sql_int(const std::string& data_dir, const std::string& sql) {
  return sql_int_in_file(data_dir + "/refpos.db", sql);
}

std::int64_t sql_int_in_file(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path);
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    const std::string message = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error(sql + ": " + message);
  }
  std::int64_t out = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) out = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

StoreSnapshot snapshot_of(const std::string& data_dir) {
  sqlite3* db = nullptr;
  const std::string path = data_dir + "/refpos.db";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path);
  }
  StoreSnapshot s;
  json counts = query_json(db, "SELECT 'n', count(*) FROM events UNION ALL "
                               "SELECT 'last', coalesce(max(seq), 0) FROM events", true);
  s.events = counts["n"].get<std::int64_t>();
  s.last_seq = counts["last"].get<std::int64_t>();
  s.wallets = query_json(db, "SELECT customer_id || '/' || unit, sum(amount) FROM wallet_entries GROUP BY customer_id, unit ORDER BY 1", true);
  s.codes = query_json(db, "SELECT code FROM codes ORDER BY 1", false);
  sqlite3_close(db);
  return s;
}

}  // namespace refpos::test
