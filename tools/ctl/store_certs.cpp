// `refposctl store provision` and `store revoke`: a store's TLS client
// certificate (OU=store, CN=<store id>) and its revocation. The store's key
// is made inside the store's own folder and never read back by the chain:
// the CA sees only the CSR written beside it (docs/sync.md, "Trust").
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

constexpr std::size_t kPemFileBytesMax = 1 << 20;

struct ProvisionOptions {
  std::string chain_dir;
  std::string store_dir;
  std::string store_id;
  bool renew = false;
};

struct RevokeOptions {
  std::string chain_dir;
  std::string store_id;
};

// The store's key: a new one, or with --renew the one already in the folder.
std::string store_key(const std::filesystem::path& key_path, bool renew) {
  if (renew) {
    if (!std::filesystem::exists(key_path)) {
      fail(key_path.string() + " does not exist: --renew keeps a provisioned store's key; "
           "provision without --renew first");
    }
    return must(read_file(key_path, kPemFileBytesMax), "reading the store key");
  }
  if (std::filesystem::exists(key_path)) {
    fail(key_path.string() + " already exists: the store is provisioned; use --renew for a new "
         "certificate with the same key");
  }
  std::string key = must(pki::new_private_key_pem(), "making the store key");
  if (auto written = write_file_atomically(key_path, key, kSecretFileMode, IfExists::refuse);
      !written) {
    fail(written.error().describe());
  }
  return key;
}

void write_or_fail(const std::filesystem::path& path, const std::string& content, mode_t mode) {
  if (auto written = write_file_atomically(path, content, mode); !written) {
    fail(written.error().describe());
  }
}

void provision_store(const ProvisionOptions& options) {
  const ChainPaths paths{options.chain_dir};
  const std::int64_t now = now_unix();
  const ChainAuthority authority = must(load_authority(paths), "reading the chain's CA");
  const ChainLock lock = must(ChainLock::acquire(paths), "locking the chain");
  auto issued = must(load_issued(paths), "reading the issued certificates");

  const std::filesystem::path tls = std::filesystem::path(options.store_dir) / "tls";
  if (auto made = make_directories(tls, kPrivateDirMode); !made) fail(made.error().describe());
  const std::string key = store_key(tls / "store.key", options.renew);
  const std::string csr =
      must(pki::make_csr_pem(key, {options.store_id, "store"}), "making the store's request");
  write_or_fail(tls / "store.csr", csr, kPublicFileMode);

  pki::IssueOptions issue;
  issue.profile = pki::Profile::client;
  issue.validity = validity_for_days(now, kStoreDays);
  const std::string cert = must(pki::sign_csr_pem(csr, authority.cert_pem, authority.key_pem, issue),
                                "signing the store certificate");
  // Recorded before it is handed out, so every certificate can be revoked.
  issued.push_back(must(record_of(cert, "store"), "reading the store certificate"));
  if (auto saved = save_issued(paths, issued); !saved) fail(saved.error().describe());
  write_or_fail(tls / "store.pem", cert, kPublicFileMode);
  write_or_fail(tls / "ca.pem", authority.cert_pem, kPublicFileMode);
  std::cout << "store '" << options.store_id << "' provisioned: " << (tls / "store.pem").string()
            << " (serial " << issued.back().serial_hex << ")\n";
}

void revoke_store(const RevokeOptions& options) {
  const ChainPaths paths{options.chain_dir};
  const std::int64_t now = now_unix();
  const ChainAuthority authority = must(load_authority(paths), "reading the chain's CA");
  const ChainLock lock = must(ChainLock::acquire(paths), "locking the chain");
  auto issued = must(load_issued(paths), "reading the issued certificates");
  std::size_t revoked_now = 0;
  std::size_t held = 0;
  for (auto& record : issued) {
    if (record.role != "store" || record.name != options.store_id) continue;
    ++held;
    if (!record.revoked) ++revoked_now;
    record.revoked = true;
  }
  if (held == 0) {
    fail("no certificate was issued to store '" + options.store_id + "' by the chain in " +
         options.chain_dir);
  }
  const std::string crl = must(crl_for(authority, issued, now), "making the CRL");
  if (auto saved = save_issued(paths, issued); !saved) fail(saved.error().describe());
  write_or_fail(paths.crl(), crl, kPublicFileMode);
  std::cout << "store '" << options.store_id << "': " << revoked_now
            << " certificate(s) newly revoked, " << held << " in all; " << paths.crl().string()
            << " rewritten (reload the head office: SIGHUP)\n";
}

}  // namespace

void add_store_commands(CLI::App& app) {
  CLI::App& store = command_group(app, "store", "Stores' TLS certificates");

  auto provision_options = std::make_shared<ProvisionOptions>();
  CLI::App& provision = add_command(
      store, "provision",
      "Make a store's key in STORE_DIR/tls/store.key (0600; it never leaves the store folder), "
      "its request store.csr, and sign it with the chain's CA into store.pem (OU=store, "
      "CN=<store id>, 90 days, clientAuth); copies the CA to STORE_DIR/tls/ca.pem.");
  provision.add_option("--chain", provision_options->chain_dir, "The chain's folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  provision.add_option("--store-dir", provision_options->store_dir, "The store's folder")
      ->required();
  provision.add_option("--store-id", provision_options->store_id,
                       "The store's id: 1 to 64 of A-Z a-z 0-9 . _ -")
      ->required()
      ->check(kIdentifier);
  provision.add_flag("--renew", provision_options->renew,
                     "Keep the store's existing key and issue a new certificate for it");
  provision.callback([provision_options] { provision_store(*provision_options); });

  auto revoke_options = std::make_shared<RevokeOptions>();
  CLI::App& revoke = add_command(
      store, "revoke",
      "Revoke every certificate issued to a store: marks them in CHAIN/ca/serials.json and "
      "rewrites CHAIN/ca/crl.pem (valid 7 days) with every revoked serial.");
  revoke.add_option("--chain", revoke_options->chain_dir, "The chain's folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  revoke.add_option("--store-id", revoke_options->store_id, "The store's id")
      ->required()
      ->check(kIdentifier);
  revoke.callback([revoke_options] { revoke_store(*revoke_options); });
}

}  // namespace refpos::ctl
