// `refposctl chain init`: a new chain's CA, its empty CRL, the head office's
// TLS certificate and its Ed25519 rule-signing key (layout in chain_dir.hpp).
// ca.key is written first and never replaced, so a folder holds one chain.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "atomic_file.hpp"
#include "chain_dir.hpp"
#include "command.hpp"
#include "commands.hpp"
#include "common/pki.hpp"
#include "crypto/ed25519.hpp"

namespace refpos::ctl {
namespace {

// "<chain> refpos CA" fits the 64 bytes of a common name.
constexpr std::size_t kChainNameMax = 64 - std::string_view(" refpos CA").size();

struct ChainInitOptions {
  std::string dir;
  std::string name;
  std::vector<std::string> hosts;
  std::vector<std::string> ips;
};

bool is_ip_address(const std::string& text) {
  std::array<unsigned char, 16> address{};
  return inet_pton(AF_INET, text.c_str(), address.data()) == 1 ||
         inet_pton(AF_INET6, text.c_str(), address.data()) == 1;
}

const CLI::Validator kChainName(
    [](std::string& value) -> std::string {
      const bool printable = std::all_of(value.begin(), value.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
      });
      if (!value.empty() && value.size() <= kChainNameMax && printable) return {};
      return "must be 1 to " + std::to_string(kChainNameMax) + " printable characters";
    },
    "NAME", "chain name");

const CLI::Validator kHostName(
    [](std::string& value) -> std::string {
      const bool host_chars = std::all_of(value.begin(), value.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
      });
      if (!value.empty() && value.size() <= 253 && host_chars) return {};
      return "'" + value + "' is not a host name (letters, digits, '-', '.')";
    },
    "NAME", "host name");

const CLI::Validator kIpAddress(
    [](std::string& value) -> std::string {
      return is_ip_address(value) ? std::string() : "'" + value + "' is not an IPv4 or IPv6 address";
    },
    "ADDR", "IP address");

void write_or_fail(const std::filesystem::path& path, const std::string& content, mode_t mode) {
  if (auto written = write_file_atomically(path, content, mode, IfExists::refuse); !written) {
    fail(written.error().describe());
  }
}

void init_chain(const ChainInitOptions& options) {
  const ChainPaths paths{options.dir};
  if (std::filesystem::exists(paths.ca_key())) {
    fail(paths.ca_key().string() + " already exists: " + options.dir +
         " already holds a chain; refusing to replace its CA");
  }
  const std::int64_t now = now_unix();
  std::vector<std::string> hosts = options.hosts;
  std::vector<std::string> ips = options.ips;
  if (hosts.empty() && ips.empty()) {
    hosts = {"localhost"};
    ips = {"127.0.0.1"};
  }
  for (const auto& dir : {paths.dir, paths.ca_dir(), paths.hq_dir()}) {
    if (auto made = make_directories(dir, kPrivateDirMode); !made) fail(made.error().describe());
  }

  const std::string ca_key = must(pki::new_private_key_pem(), "making the CA key");
  write_or_fail(paths.ca_key(), ca_key, kSecretFileMode);  // claims the folder
  const ChainAuthority authority{
      must(pki::self_signed_ca_pem(ca_key, {options.name + " refpos CA", ""},
                                   validity_for_days(now, kCaDays)),
           "making the CA certificate"),
      ca_key};

  const std::string server_key = must(pki::new_private_key_pem(), "making the server key");
  const std::string server_csr =
      must(pki::make_csr_pem(server_key, {hosts.empty() ? ips.front() : hosts.front(), ""}),
           "making the server's request");
  pki::IssueOptions server_options;
  server_options.profile = pki::Profile::server;
  server_options.validity = validity_for_days(now, kServerDays);
  server_options.dns_names = hosts;
  server_options.ip_addresses = ips;
  const std::string server_cert =
      must(pki::sign_csr_pem(server_csr, authority.cert_pem, authority.key_pem, server_options),
           "signing the server certificate");

  const std::vector<IssuedCertificate> issued{
      must(record_of(authority.cert_pem, "ca"), "reading the CA certificate"),
      must(record_of(server_cert, "server"), "reading the server certificate")};
  const auto signing = must(crypto::ed25519_generate(), "making the rule-signing key");

  write_or_fail(paths.ca_cert(), authority.cert_pem, kPublicFileMode);
  write_or_fail(paths.crl(), must(crl_for(authority, issued, now), "making the CRL"),
                kPublicFileMode);
  write_or_fail(paths.serials(), "", kPublicFileMode);  // refuses a leftover from another chain
  if (auto saved = save_issued(paths, issued); !saved) fail(saved.error().describe());
  write_or_fail(paths.server_key(), server_key, kSecretFileMode);
  write_or_fail(paths.server_cert(), server_cert, kPublicFileMode);
  write_or_fail(paths.signing_key(), signing.private_hex + "\n", kSecretFileMode);
  write_or_fail(paths.signing_pub(), signing.public_hex + "\n", kPublicFileMode);
  std::cout << "chain '" << options.name << "' made in " << options.dir << "\n"
            << "  CA:          " << paths.ca_cert().string() << "\n"
            << "  head office: " << paths.server_cert().string() << "\n"
            << "  rule-signing public key (sync.signing_public_key_hex): " << signing.public_hex
            << "\n";
}

// The CRL is valid for kCrlDays: a head office checking client certificates
// against an expired CRL refuses every store, so it is re-signed at least
// weekly (from a timer) with the same revoked serials.
void refresh_crl(const std::string& dir) {
  const ChainPaths paths{dir};
  const std::int64_t now = now_unix();
  const ChainAuthority authority = must(load_authority(paths), "reading the chain's CA");
  const ChainLock lock = must(ChainLock::acquire(paths), "locking the chain");
  const auto issued = must(load_issued(paths), "reading the issued certificates");
  if (auto written = write_file_atomically(paths.crl(), must(crl_for(authority, issued, now),
                                                             "making the CRL"),
                                           kPublicFileMode);
      !written) {
    fail(written.error().describe());
  }
  std::cout << paths.crl().string() << " re-signed, valid for " << kCrlDays
            << " days (reload the head office: SIGHUP)\n";
}

}  // namespace

void add_chain_commands(CLI::App& app) {
  CLI::App& chain = command_group(app, "chain", "The chain's CA and head-office credentials");
  auto options = std::make_shared<ChainInitOptions>();
  CLI::App& init = add_command(
      chain, "init",
      "Make a chain: DIR/ca (CA key and certificate, empty CRL, serials.json) and DIR/hq "
      "(the head office's TLS key and certificate, the Ed25519 rule-signing key). "
      "Refuses a DIR that already has ca/ca.key.");
  init.add_option("--dir", options->dir, "The chain's folder (made if missing)")->required();
  init.add_option("--name", options->name, "The chain's name; the CA is \"<name> refpos CA\"")
      ->required()
      ->check(kChainName);
  init.add_option("--host", options->hosts,
                  "A DNS name of the head office (repeatable; default localhost when no "
                  "--host or --ip is given)")
      ->check(kHostName);
  init.add_option("--ip", options->ips,
                  "An IP address of the head office (repeatable; default 127.0.0.1)")
      ->check(kIpAddress);
  init.callback([options] { init_chain(*options); });

  auto crl_dir = std::make_shared<std::string>();
  CLI::App& crl = add_command(
      chain, "crl",
      "Re-sign DIR/ca/crl.pem with every revoked serial, valid 7 more days. The head office "
      "refuses every client once its CRL has expired: run this at least weekly.");
  crl.add_option("--dir", *crl_dir, "The chain's folder")->required()->check(CLI::ExistingDirectory);
  crl.callback([crl_dir] { refresh_crl(*crl_dir); });
}

}  // namespace refpos::ctl
