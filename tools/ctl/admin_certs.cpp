// `refposctl admin issue`: an administrator's TLS client certificate
// (OU=admin, CN=<name>, 30 days) with its key, for the admin routes of the
// head office (docs/sync.md, "HTTP").
#include <iostream>
#include <memory>
#include <string>

#include "atomic_file.hpp"
#include "chain_dir.hpp"
#include "command.hpp"
#include "commands.hpp"
#include "common/pki.hpp"

namespace refpos::ctl {
namespace {

struct AdminIssueOptions {
  std::string chain_dir;
  std::string name;
  std::string out_dir;
};

void write_or_fail(const std::filesystem::path& path, const std::string& content, mode_t mode,
                   IfExists if_exists) {
  if (auto written = write_file_atomically(path, content, mode, if_exists); !written) {
    fail(written.error().describe());
  }
}

void issue_admin(const AdminIssueOptions& options) {
  const ChainPaths paths{options.chain_dir};
  const std::filesystem::path out(options.out_dir);
  const std::int64_t now = now_unix();
  const ChainAuthority authority = must(load_authority(paths), "reading the chain's CA");
  if (std::filesystem::exists(out / "admin.key")) {
    fail((out / "admin.key").string() + " already exists; refusing to replace a key (use "
         "another --out)");
  }
  const ChainLock lock = must(ChainLock::acquire(paths), "locking the chain");
  auto issued = must(load_issued(paths), "reading the issued certificates");

  const std::string key = must(pki::new_private_key_pem(), "making the admin key");
  const std::string csr =
      must(pki::make_csr_pem(key, {options.name, "admin"}), "making the admin's request");
  pki::IssueOptions issue;
  issue.profile = pki::Profile::client;
  issue.validity = validity_for_days(now, kAdminDays);
  const std::string cert = must(pki::sign_csr_pem(csr, authority.cert_pem, authority.key_pem, issue),
                                "signing the admin certificate");
  issued.push_back(must(record_of(cert, "admin"), "reading the admin certificate"));
  if (auto saved = save_issued(paths, issued); !saved) fail(saved.error().describe());

  if (auto made = make_directories(out, kPrivateDirMode); !made) fail(made.error().describe());
  write_or_fail(out / "admin.key", key, kSecretFileMode, IfExists::refuse);
  write_or_fail(out / "admin.pem", cert, kPublicFileMode, IfExists::replace);
  write_or_fail(out / "ca.pem", authority.cert_pem, kPublicFileMode, IfExists::replace);
  std::cout << "admin '" << options.name << "' issued: " << (out / "admin.pem").string()
            << " (serial " << issued.back().serial_hex << ")\n";
}

}  // namespace

void add_admin_commands(CLI::App& app) {
  CLI::App& admin = command_group(app, "admin", "Administrators' credentials");
  auto options = std::make_shared<AdminIssueOptions>();
  CLI::App& issue = add_command(
      admin, "issue",
      "Make an administrator's key and certificate (OU=admin, CN=<name>, 30 days, clientAuth) "
      "into OUT/admin.key (0600), OUT/admin.pem and OUT/ca.pem.");
  issue.add_option("--chain", options->chain_dir, "The chain's folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  issue.add_option("--name", options->name, "The administrator: 1 to 64 of A-Z a-z 0-9 . _ -")
      ->required()
      ->check(kIdentifier);
  issue.add_option("--out", options->out_dir, "Where to write the key and certificates")
      ->required();
  issue.callback([options] { issue_admin(*options); });
}

}  // namespace refpos::ctl
