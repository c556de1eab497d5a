#include "crypto/ed25519.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <memory>

namespace refpos::crypto {
namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kSignatureBytes = 64;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

const unsigned char* bytes_of(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Error crypto_error(std::string message) {
  return make_error(ErrorKind::internal, "", "Ed25519: " + std::move(message));
}

Result<Pkey> private_key(std::string_view private_hex) {
  auto seed = from_hex(private_hex, kKeyBytes, "Ed25519 private key");
  if (!seed) return seed.error();
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes_of(*seed), seed->size()));
  if (!key) return crypto_error("OpenSSL refused the private key");
  return key;
}

}  // namespace

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0f]);
  }
  return out;
}

Result<std::string> from_hex(std::string_view hex, std::size_t bytes, std::string_view what) {
  if (hex.size() != bytes * 2) {
    return make_error(ErrorKind::bad_request, "",
                      std::string(what) + " must be " + std::to_string(bytes * 2) +
                          " hex digits, got " + std::to_string(hex.size()) + " characters");
  }
  std::string out(bytes, '\0');
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) {
      return make_error(ErrorKind::bad_request, "",
                        std::string(what) + " must be hex digits; character " +
                            std::to_string(i + 1) + " is not one");
    }
    auto& byte = reinterpret_cast<unsigned char&>(out[i / 2]);
    byte = static_cast<unsigned char>((i % 2 == 0) ? (v << 4) : (byte | v));
  }
  return out;
}

Result<Ed25519KeyPair> ed25519_generate() {
  std::array<unsigned char, kKeyBytes> seed{};
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) {
    return crypto_error("the random generator failed");
  }
  const std::string private_hex = to_hex(seed.data(), seed.size());
  auto pub = ed25519_public_of(private_hex);
  if (!pub) return pub.error();
  return Ed25519KeyPair{private_hex, *pub};
}

Result<std::string> ed25519_public_of(std::string_view private_hex) {
  auto key = private_key(private_hex);
  if (!key) return key.error();
  std::array<unsigned char, kKeyBytes> pub{};
  std::size_t n = pub.size();
  if (EVP_PKEY_get_raw_public_key(key->get(), pub.data(), &n) != 1 || n != pub.size()) {
    return crypto_error("could not derive the public key");
  }
  return to_hex(pub.data(), pub.size());
}

Result<std::string> ed25519_sign(std::string_view private_hex, std::string_view message) {
  auto key = private_key(private_hex);
  if (!key) return key.error();
  MdCtx ctx(EVP_MD_CTX_new());
  std::array<unsigned char, kSignatureBytes> sig{};
  std::size_t n = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key->get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &n,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return crypto_error("signing failed");
  }
  return to_hex(sig.data(), n);
}

bool ed25519_verify(std::string_view public_hex, std::string_view message,
                    std::string_view signature_hex) {
  auto pub = from_hex(public_hex, kKeyBytes, "Ed25519 public key");
  auto sig = from_hex(signature_hex, kSignatureBytes, "Ed25519 signature");
  if (!pub || !sig) return false;
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(*pub), pub->size()));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), bytes_of(*sig), sig->size(),
                          reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

}  // namespace refpos::crypto
