// refposctl's commands that talk to head office (docs/sync.md, "HTTP"):
//
//   sync           one sync of a store folder, with a progress bar (the store
//                  manager's nightly command; assets/systemd runs it)
//   status         a store's sync status at head office
//   rules publish  a rule set, signed by head office for every store
//   keys put       add or rotate a code key (the active one issues codes)
//   code revoke    codes no store of the chain may accept any more
//   hq block-store head office refuses a store on every route
//   hold release / hold forfeit
//                  head office's review of referrer rewards a store held
//   customer forget
//                  a customer's contact data goes at head office and, at
//                  their next sync, at every store; money facts stay
//
// The admin commands authenticate with an admin certificate folder made by
// `refposctl admin issue` (admin.pem, admin.key, ca.pem); the URL comes from
// --url or REFPOS_HQ_URL.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/rand.h>

#include "base/clock.hpp"
#include "command.hpp"
#include "commands.hpp"
#include "crypto/ed25519.hpp"
#include "sync/https_client.hpp"
#include "sync/sync.hpp"
#include "wire/config.hpp"

namespace refpos::ctl {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;
constexpr std::chrono::milliseconds kAdminTimeout{30'000};

std::string read_small_file(const std::string& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(std::string(what) + " \"" + path + "\" is not a file");
  if (std::filesystem::file_size(path, ec) > kMaxFileBytes) {
    fail(std::string(what) + " \"" + path + "\" is larger than 4 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) fail("cannot read " + std::string(what) + " \"" + path + "\"");
  return text.str();
}

// ---- sync ------------------------------------------------------------------

struct SyncOptions {
  std::string config_file;
  bool no_progress = false;
};

// "push  1200/5000 [#######.............]  24%" on one line of stderr:
// unlike draw_progress (command.hpp), push and pull share the line, which
// ends only when the pull is done.
void draw_sync_progress(std::string_view stage, std::int64_t done, std::int64_t total) {
  constexpr int kWidth = 30;
  const double share = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int filled = static_cast<int>(share * kWidth);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\r%-5.*s %8lld/%-8lld [%s] %3d%%", static_cast<int>(stage.size()),
               stage.data(), static_cast<long long>(done), static_cast<long long>(total), bar.c_str(),
               static_cast<int>(share * 100));
  if (stage == "pull" && done == total) std::fputc('\n', stderr);
}

void run_sync_command(const SyncOptions& options) {
  const std::string text = read_small_file(options.config_file, "the store configuration");
  auto config = wire::parse_store_config(text);
  if (!config) fail_usage("the store configuration: " + config.error().describe());
  if (!config->sync) fail_usage("the store configuration has no \"sync\" section (docs/api.md)");
  if (!std::filesystem::exists(config->data_dir + "/refpos.db")) {
    fail("no store at \"" + config->data_dir + "\" yet: the plugin creates it when it first opens");
  }
  std::unique_ptr<Clock> clock;
  if (config->fixed_clock_ms) {
    clock = std::make_unique<ManualClock>(*config->fixed_clock_ms);
  } else {
    clock = std::make_unique<SystemClock>();
  }
  const bool draw = !options.no_progress && isatty(STDERR_FILENO) == 1;
  auto report = sync::sync_over_https(*config, *clock, [&](std::string_view stage, std::int64_t done,
                                                           std::int64_t total) {
    if (draw) draw_sync_progress(stage, done, total);
  });
  if (draw) std::fputc('\n', stderr);
  if (!report) fail("sync of " + config->store_id + ": " + report.error().describe());
  const json summary = json::parse(sync::report_json(*report));
  std::cout << "synced " << config->store_id << ": " << summary.dump() << "\n";
}

// ---- admin calls -------------------------------------------------------------

struct AdminTarget {
  std::string url;
  std::string admin_dir;
};

void add_admin_target(CLI::App& command, AdminTarget& target) {
  command.add_option("--url", target.url, "head office, https://host:port")
      ->envname("REFPOS_HQ_URL")
      ->required();
  command.add_option("--admin", target.admin_dir,
                     "admin certificate folder (admin.pem, admin.key, ca.pem from `admin issue`)")
      ->required();
}

// One admin request; the answer's body on 2xx, else a failure naming the
// head office's error.
json admin_call(const AdminTarget& target, std::string_view method, const std::string& path,
                const std::string& body) {
  auto endpoint = sync::parse_https_url(target.url, "--url");
  if (!endpoint) fail_usage(endpoint.error().describe());
  const std::filesystem::path dir(target.admin_dir);
  auto client = sync::HttpsClient::connect(
      *endpoint,
      sync::TlsFiles{(dir / "ca.pem").string(), (dir / "admin.pem").string(),
                     (dir / "admin.key").string()},
      kAdminTimeout);
  if (!client) fail(client.error().describe());
  auto answer = (*client)->request(method, path, body);
  if (!answer) fail(answer.error().describe());
  const json doc = json::parse(answer->body, nullptr, false);
  if (answer->status / 100 != 2) {
    std::string message = answer->body.substr(0, 300);
    if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
      message = doc["error"].value("code", "") + ": " + doc["error"].value("message", "");
    }
    fail("head office answered HTTP " + std::to_string(answer->status) + ": " + message);
  }
  return doc;
}

struct StatusOptions {
  AdminTarget target;
  std::string store_id;
};

struct PublishOptions {
  AdminTarget target;
  std::string file;
};

struct KeyOptions {
  AdminTarget target;
  int id = 0;
  bool active = false;
};

struct RevokeOptions {
  AdminTarget target;
  std::vector<std::string> codes;
};

struct BlockOptions {
  AdminTarget target;
  std::string store_id;
};

struct HoldOptions {
  AdminTarget target;
  std::string store_id;
  std::vector<std::string> txn_ids;
};

struct ForgetOptions {
  AdminTarget target;
  std::string customer_id;
};

std::string random_secret_hex() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) fail("OpenSSL's random generator failed");
  return crypto::to_hex(bytes, sizeof bytes);
}

}  // namespace

void add_hq_commands(CLI::App& app) {
  {
    auto options = std::make_shared<SyncOptions>();
    auto& cmd = add_command(app, "sync",
                            "one sync of a store with head office: events up, rules, keys, "
                            "revocations and balances down (docs/sync.md)");
    cmd.add_option("--config", options->config_file,
                   "the store's configuration file (the JSON the plugin opens)")
        ->required();
    cmd.add_flag("--no-progress", options->no_progress,
                 "no progress bar (it is drawn only when stderr is a terminal)");
    cmd.callback([options] { run_sync_command(*options); });
  }
  {
    auto options = std::make_shared<StatusOptions>();
    auto& cmd = add_command(app, "status", "a store's sync status at head office (JSON)");
    add_admin_target(cmd, options->target);
    cmd.add_option("--store-id", options->store_id, "the store")->required();
    cmd.callback([options] {
      std::cout << admin_call(options->target, "GET", "/v1/status?store_id=" + options->store_id, "")
                       .dump(2)
                << "\n";
    });
  }
  {
    auto& group = command_group(app, "rules", "rule sets for every store of the chain");
    auto options = std::make_shared<PublishOptions>();
    auto& cmd = add_command(group, "publish",
                            "publish a rule set (docs/rules.md); its version must be newer");
    add_admin_target(cmd, options->target);
    cmd.add_option("file", options->file, "the rule set (JSON)")->required();
    cmd.callback([options] {
      const std::string text = read_small_file(options->file, "the rule set");
      const json doc = json::parse(text, nullptr, false);
      if (!doc.is_object()) fail_usage("the rule set \"" + options->file + "\" is not a JSON object");
      std::cout << admin_call(options->target, "POST", "/v1/admin/rules", doc.dump()).dump() << "\n";
    });
  }
  {
    auto& group = command_group(app, "keys", "code keys (docs/codes.md, rotation)");
    auto options = std::make_shared<KeyOptions>();
    auto& cmd = add_command(group, "put",
                            "add a fresh random code key under --id (--active: new codes use it; "
                            "older keys still verify the codes they made)");
    add_admin_target(cmd, options->target);
    cmd.add_option("--id", options->id, "key id, 1 to 31")->required()->check(CLI::Range(1, 31));
    cmd.add_flag("--active", options->active, "make it the key that issues codes");
    cmd.callback([options] {
      // The secret is made here and sent once; it is never printed.
      const json body = {{"id", options->id}, {"secret_hex", random_secret_hex()}, {"active", options->active}};
      std::cout << admin_call(options->target, "POST", "/v1/admin/code_keys", body.dump()).dump() << "\n";
    });
  }
  {
    auto& group = command_group(app, "code", "referral codes across the chain");
    auto options = std::make_shared<RevokeOptions>();
    auto& cmd = add_command(group, "revoke", "codes no store may accept any more (after the next sync)");
    add_admin_target(cmd, options->target);
    cmd.add_option("codes", options->codes, "the codes, as printed or typed")->required();
    cmd.callback([options] {
      const json body = {{"codes", options->codes}};
      std::cout << admin_call(options->target, "POST", "/v1/admin/revocations", body.dump()).dump() << "\n";
    });
  }
  {
    auto& group = command_group(app, "hold", "referrer rewards a store held for review (fraud rules)");
    for (const char* decision : {"release", "forfeit"}) {
      const std::string what = std::string(decision) == "release"
                                   ? "make held rewards spendable (at the store after its next sync)"
                                   : "take held rewards back (at the store after its next sync)";
      auto options = std::make_shared<HoldOptions>();
      auto& cmd = add_command(group, decision, what);
      add_admin_target(cmd, options->target);
      cmd.add_option("--store-id", options->store_id, "the store that held them")->required();
      cmd.add_option("txn_ids", options->txn_ids, "the transactions whose referrer reward is held")
          ->required();
      cmd.callback([options, decision] {
        const json body = {{"store_id", options->store_id}, {"txn_ids", options->txn_ids},
                           {"decision", decision}};
        std::cout << admin_call(options->target, "POST", "/v1/admin/holds", body.dump()).dump() << "\n";
      });
    }
  }
  {
    auto& group = command_group(app, "customer", "a customer's data across the chain");
    auto options = std::make_shared<ForgetOptions>();
    auto& cmd = add_command(group, "forget",
                            "remove the customer's contact data (their own contacts, their leads' "
                            "contacts) at head office now and at every store after its next sync; "
                            "money facts (wallet, redemptions, sales) stay");
    add_admin_target(cmd, options->target);
    cmd.add_option("customer_id", options->customer_id, "the customer")->required();
    cmd.callback([options] {
      const json body = {{"customer_id", options->customer_id}};
      std::cout << admin_call(options->target, "POST", "/v1/admin/forget", body.dump()).dump() << "\n";
    });
  }
  {
    auto& group = command_group(app, "hq", "head office's own records");
    auto options = std::make_shared<BlockOptions>();
    auto& cmd = add_command(group, "block-store",
                            "head office refuses the store on every route (a lost or stolen till; "
                            "`store revoke` also puts its certificate on the CRL)");
    add_admin_target(cmd, options->target);
    cmd.add_option("--store-id", options->store_id, "the store")->required();
    cmd.callback([options] {
      const json body = {{"store_id", options->store_id}};
      std::cout << admin_call(options->target, "POST", "/v1/admin/revocations", body.dump()).dump() << "\n";
    });
  }
}

}  // namespace refpos::ctl
