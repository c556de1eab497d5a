// The follow-up exports' story (export_story.hpp): real store files (the
// plugin's own migrations, via store::Store::open) into which the events of
// the contact contract are appended with chosen instants, contact data
// sealed as plugin/src/checkout/checkout.cpp seals it, under keys made here.
#include "export_story.hpp"

#include <sqlite3.h>

#include <map>
#include <memory>
#include <stdexcept>

#include "scenario.hpp"
#include "store/database.hpp"
#include "store/event_log.hpp"
#include "store/pii.hpp"
#include "store/store.hpp"

namespace refpos::test {
namespace {

using nlohmann::json;

constexpr std::int64_t kDayMs = 86'400'000;
std::int64_t day(std::int64_t d) { return kExportStoryJan1 + d * kDayMs + 12 * 3'600'000; }

template <typename T>
T must(Result<T> r) {
  if (!r) throw std::runtime_error("export story: " + r.error().describe());
  return std::move(r).value();
}

// A real store file, events appended one at a time with chosen instants.
class StoreFile {
 public:
  StoreFile(std::filesystem::path dir, std::string store_id)
      : dir_(std::move(dir)), store_id_(std::move(store_id)) {
    std::filesystem::create_directories(dir_);
    store_ = must(store::Store::open(dir_.string(), store_id_, "USD"));
  }

  [[nodiscard]] std::string path() const { return (dir_ / "refpos.db").string(); }
  [[nodiscard]] const std::string& id() const { return store_id_; }
  void close() { store_.reset(); }

  void event(std::int64_t at_ms, std::string_view type, const json& body) {
    auto tx = must(store::WriteTransaction::begin(store_->db()));
    must(store_->append(at_ms, 1, store::EventDraft{type, body}));
    must(tx->commit());
  }

  // The subject's key, made (and stored in pii_keys) on first use.
  const store::PiiKey& key(const std::string& subject) {
    auto it = keys_.find(subject);
    if (it != keys_.end()) return it->second;
    const auto k = must(store::new_pii_key());
    auto q = must(store_->db().query("INSERT INTO pii_keys (subject, key) VALUES (?1, ?2)"));
    q->bind(1, std::string_view(subject)).bind_blob(2, k);
    must(q->run());
    return keys_.emplace(subject, k).first->second;
  }

  void consent(const std::string& customer, const std::string& channel, const std::string& address,
               const std::string& name, std::int64_t at_ms) {
    const json contact = {{"address", address}, {"name", name}};
    const auto sealed =
        must(store::seal(key(customer), "contact:" + customer + ":" + channel, contact.dump()));
    event(at_ms, "contact_consented",
          {{"customer_id", customer},
           {"channel", channel},
           {"sealed", sealed},
           {"terminal_id", "till-1"},
           {"cashier_id", nullptr}});
  }

  void withdraw(const std::string& customer, const std::string& channel, std::int64_t at_ms) {
    event(at_ms, "contact_withdrawn",
          {{"customer_id", customer}, {"channel", channel}, {"terminal_id", "till-1"}});
  }

  // As Store::forget: the key goes, the event stays.
  void forget(const std::string& customer, std::int64_t at_ms) {
    auto q = must(store_->db().query("DELETE FROM pii_keys WHERE subject = ?1"));
    q->bind(1, std::string_view(customer));
    must(q->run());
    keys_.erase(customer);
    event(at_ms, "customer_forgotten", {{"customer_id", customer}, {"terminal_id", "office"}});
  }

  void issue(const std::string& code, const std::string& owner, std::int64_t at_ms) {
    event(at_ms, "code_issued", {{"code", code}, {"customer_id", owner}, {"program", "friends"}});
  }

  // A redemption of `code` by `referee` and the referrer reward it earned
  // (`referrer` "" for a code issued at another store: customer_id null).
  void redeem_and_reward(const std::string& txn, const std::string& code,
                         const std::string& referee, const std::string& referrer,
                         const std::string& unit, std::int64_t amount, std::int64_t at_ms,
                         bool held = false) {
    const json referrer_id = referrer.empty() ? json(nullptr) : json(referrer);
    event(at_ms, "code_redeemed",
          {{"txn_id", txn},
           {"code", code},
           {"customer_id", referee},
           {"referrer_customer_id", referrer_id},
           {"discount_minor", 500},
           {"currency", "USD"}});
    json reward = {{"customer_id", referrer_id},
                   {"side", "referrer"},
                   {"kind", unit},
                   {"amount", amount},
                   {"currency", "USD"},
                   {"spendable_at_ms", at_ms + 14 * kDayMs},
                   {"held", held},
                   {"code", code},
                   {"txn_id", txn}};
    if (referrer.empty()) reward["attribute_by"] = "code";
    event(at_ms, "reward_accrued", reward);
    // The friend's own welcome credit: a referee-side reward, never thanked.
    event(at_ms, "reward_accrued",
          {{"customer_id", referee},
           {"side", "referee"},
           {"kind", "store_credit"},
           {"amount", 300},
           {"currency", "USD"},
           {"spendable_at_ms", at_ms},
           {"held", false},
           {"code", code},
           {"txn_id", txn}});
  }

  // Head office released a held referrer reward (sync.cpp, apply_hold_decision).
  void release_hold(const std::string& txn, const std::string& referrer, const std::string& unit,
                    std::int64_t amount, std::int64_t at_ms) {
    event(at_ms, "hold_released",
          {{"customer_id", referrer},
           {"kind", unit},
           {"amount", amount},
           {"spendable_at_ms", at_ms},
           {"currency", "USD"},
           {"txn_id", txn}});
  }

  void reverse_reward(const std::string& txn, const std::string& referrer, const std::string& unit,
                      std::int64_t amount, std::int64_t at_ms) {
    event(at_ms, "reward_reversed",
          {{"customer_id", referrer},
           {"side", "referrer"},
           {"kind", unit},
           {"amount", amount},
           {"spendable_at_ms", at_ms},
           {"held", false},
           {"was_pending", true},
           {"currency", "USD"},
           {"txn_id", txn},
           {"reversal_id", "R-" + txn},
           {"why", "refund"}});
  }

  void lead(const std::string& lead_id, const std::string& referrer, const std::string& name,
            const std::string& contact, std::int64_t at_ms, bool consent = true) {
    const json plain = {{"name", name}, {"contact", contact}};
    const auto sealed = must(store::seal(key(referrer), "lead:" + lead_id, plain.dump()));
    event(at_ms, "lead_captured",
          {{"lead_id", lead_id},
           {"customer_id", referrer},
           {"consent", consent},
           {"sealed", sealed},
           {"terminal_id", "till-1"},
           {"cashier_id", "cashier-1"}});
  }

 private:
  std::filesystem::path dir_;
  std::string store_id_;
  std::unique_ptr<store::Store> store_;
  std::map<std::string, store::PiiKey> keys_;
};

}  // namespace

void exec_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("cannot open " + path);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error("sqlite: " + message + " in: " + sql);
}

ExportStory build_export_story(const std::filesystem::path& dir) {
  ExportStory out;
  {
    StoreFile a(dir / "a", "store-a");
    a.consent("ana", "email", "ana@example.com", "Ana Lopez", day(-30));
    a.consent("ana", "sms", "+15550001", "Ana Lopez", day(-30));
    a.redeem_and_reward("T-0", "ANA-1", "pre-1", "ana", "store_credit", 1000, day(-3));
    a.redeem_and_reward("T-1", "ANA-1", "fri-1", "ana", "store_credit", 1000, day(4));
    a.redeem_and_reward("T-2", "ANA-1", "fri-2", "ana", "store_credit", 500, day(5));
    a.redeem_and_reward("T-3", "ANA-1", "fri-1", "ana", "points", 50, day(6));
    a.redeem_and_reward("T-F", "ANA-1", "late-1", "ana", "store_credit", 1000, day(33));

    a.consent("ben", "email", "ben@example.com", "Ben", day(-20));
    a.withdraw("ben", "email", day(2));
    a.consent("ben", "sms", "+15550002", "Ben", day(-20));
    a.withdraw("ben", "sms", day(2));
    a.consent("ben", "sms", "+15550002", "Ben", day(40));  // after the period: latest wins
    a.redeem_and_reward("T-4", "BEN-1", "fri-4", "ben", "store_credit", 1000, day(7));

    a.redeem_and_reward("T-5", "CARA-1", "fri-5", "cara", "store_credit", 1000, day(8));

    a.consent("dan", "email", "dan@example.com", "Dan", day(-20));
    a.redeem_and_reward("T-6", "DAN-1", "fri-6", "dan", "store_credit", 1000, day(9));

    a.consent("eve", "email", "eve@example.com", "Eve", day(-20));
    a.redeem_and_reward("T-7", "EVE-1", "fri-7", "eve", "store_credit", 1000, day(10), true);

    // Held before the period, released in it: thanked (eve's stays held).
    a.consent("jon", "email", "jon@example.com", "Jon", day(-20));
    a.redeem_and_reward("T-12", "JON-1", "fri-12", "jon", "store_credit", 800, day(-5), true);
    a.release_hold("T-12", "jon", "store_credit", 800, day(21));

    a.consent("fay", "email", "fay@example.com", "Fay", day(-20));
    a.redeem_and_reward("T-8", "FAY-1", "fri-8", "fay", "store_credit", 1000, day(11));
    a.reverse_reward("T-8", "fay", "store_credit", 1000, day(12));

    a.consent("gus", "sms", "+15550007", "Gus", day(-20));
    a.redeem_and_reward("T-9", "GUS-1", "fri-9", "gus", "store_credit", 1000, day(13));
    a.reverse_reward("T-9", "gus", "store_credit", 1000, day(33));

    a.consent("hal", "email", "hal@example.com", "Hal\r\nBcc: evil@example.com", day(-20));
    a.redeem_and_reward("T-10", "HAL-1", "fri-10", "hal", "recognition", 0, day(14));

    a.consent("partner:gym", "email", "gym@example.com", "City Gym", day(-20));
    a.redeem_and_reward("T-11", "GYM-1", "fri-11", "partner:gym", "points", 50, day(15));

    a.consent("ivy", "email", "ivy@example.com", "Ivy", day(-20));
    a.issue("IVY-1", "ivy", day(-20));

    a.lead("L-1", "ana", "Sam Smith", "sam@example.com", day(16));
    a.lead("L-2", "cara", "Tom", "+1 555 0102", day(17));
    a.lead("L-3", "dan", "Uma", "uma@example.com", day(18));
    a.lead("L-4", "ben", "Vic", "vic@example.com", day(19), false);
    a.lead("L-5", "ana", "Wes", "wes@example.com", day(40));  // after the period
    a.forget("dan", day(20));
    out.store_a = a.path();
    a.close();

    StoreFile b(dir / "b", "store-b");
    b.redeem_and_reward("B-1", "IVY-1", "jon", "", "store_credit", 700, day(21));
    out.store_b = b.path();
    b.close();
  }
  out.head_office = (dir / "hq.db").string();
  build_head_office_file(out.head_office, {{"store-a", out.store_a}, {"store-b", out.store_b}},
                         "NONE", "NONE");
  exec_sql(
      out.head_office,
      "CREATE TABLE pii_keys (store_id TEXT NOT NULL, subject TEXT NOT NULL, key BLOB NOT NULL "
      "CHECK (length(key) = 32), PRIMARY KEY (store_id, subject)) STRICT, WITHOUT ROWID;"
      "ATTACH DATABASE '" +
          out.store_a +
          "' AS a;"
          "INSERT INTO pii_keys SELECT 'store-a', subject, key FROM a.pii_keys;"
          "DETACH DATABASE a;");
  return out;
}

}  // namespace refpos::test
