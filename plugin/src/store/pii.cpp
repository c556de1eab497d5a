// Sealing contact data with AES-256-GCM, in the format documented at the top
// of pii.hpp. OpenSSL's EVP interface does the cipher; this file owns the
// text format (a strict base64url) and makes sure that a value which does not
// authenticate never leaves a plaintext byte behind.
#include "store/pii.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace refpos::store {
namespace {

constexpr std::string_view kVersionPrefix = "v1.";
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kMaxSealedBodyBytes = kMaxPiiPlaintextBytes + kTagBytes;

constexpr std::size_t base64url_chars(std::size_t bytes) { return (bytes * 4 + 2) / 3; }

constexpr std::size_t kNonceChars = base64url_chars(kNonceBytes);
constexpr std::size_t kMaxSealedChars =
    kVersionPrefix.size() + kNonceChars + 1 + base64url_chars(kMaxSealedBodyBytes);
static_assert(kNonceChars == 16 && kNonceBytes % 3 == 0, "the nonce has no unused bits");

constexpr std::string_view kBase64urlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kNotBase64url = 0xFF;

constexpr std::array<std::uint8_t, 256> make_base64url_values() {
  std::array<std::uint8_t, 256> values{};
  values.fill(kNotBase64url);
  for (std::size_t i = 0; i < kBase64urlAlphabet.size(); ++i) {
    values[static_cast<unsigned char>(kBase64urlAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return values;
}
constexpr auto kBase64urlValues = make_base64url_values();

std::string base64url_encode(const unsigned char* bytes, std::size_t size) {
  std::string out;
  out.reserve(base64url_chars(size));
  std::uint32_t bits = 0;
  int pending = 0;  // bits in `bits` not yet written
  for (std::size_t i = 0; i < size; ++i) {
    bits = (bits << 8) | bytes[i];
    pending += 8;
    while (pending >= 6) {
      pending -= 6;
      out.push_back(kBase64urlAlphabet[(bits >> pending) & 63U]);
    }
  }
  if (pending > 0) out.push_back(kBase64urlAlphabet[(bits << (6 - pending)) & 63U]);
  return out;
}

// Strict: alphabet characters only, no padding, and the unused low bits of
// the last character zero, so that every byte string has exactly one text.
std::optional<std::vector<unsigned char>> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;  // 6 bits cannot end a byte
  std::vector<unsigned char> bytes;
  bytes.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int pending = 0;
  for (char c : text) {
    const std::uint8_t value = kBase64urlValues[static_cast<unsigned char>(c)];
    if (value == kNotBase64url) return std::nullopt;
    bits = (bits << 6) | value;
    pending += 6;
    if (pending >= 8) {
      pending -= 8;
      bytes.push_back(static_cast<unsigned char>((bits >> pending) & 0xFFU));
    }
  }
  if ((bits & ((1U << pending) - 1)) != 0) return std::nullopt;
  return bytes;
}

struct CipherContextFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextFree>;

// Bytes that may hold plaintext: wiped when they go, whatever the path.
class PlaintextBuffer {
 public:
  explicit PlaintextBuffer(std::size_t size) : bytes_(size) {}
  PlaintextBuffer(const PlaintextBuffer&) = delete;
  PlaintextBuffer& operator=(const PlaintextBuffer&) = delete;
  ~PlaintextBuffer() {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  }
  unsigned char* data() { return bytes_.data(); }
  [[nodiscard]] std::size_t size() const { return bytes_.size(); }

 private:
  std::vector<unsigned char> bytes_;
};

const unsigned char* as_bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// A GCM context keyed for one nonce, with the AAD already fed in; null if
// OpenSSL fails. `encrypt` picks the direction.
CipherContext start_gcm(bool encrypt, const PiiKey& key, const unsigned char* nonce,
                        std::string_view aad) {
  CipherContext ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return nullptr;
  const int enc = encrypt ? 1 : 0;
  int ignored = 0;
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes),
                          nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce, enc) != 1 ||
      EVP_CipherUpdate(ctx.get(), nullptr, &ignored, as_bytes(aad), static_cast<int>(aad.size())) !=
          1) {
    return nullptr;
  }
  return ctx;
}

// ciphertext || tag; nullopt if OpenSSL fails.
std::optional<std::vector<unsigned char>> gcm_encrypt(const PiiKey& key, const unsigned char* nonce,
                                                      std::string_view aad,
                                                      std::string_view plaintext) {
  const auto ctx = start_gcm(true, key, nonce, aad);
  if (!ctx) return std::nullopt;
  std::vector<unsigned char> body(plaintext.size() + kTagBytes);
  int written = 0;
  if (!plaintext.empty() &&
      (EVP_EncryptUpdate(ctx.get(), body.data(), &written, as_bytes(plaintext),
                         static_cast<int>(plaintext.size())) != 1 ||
       static_cast<std::size_t>(written) != plaintext.size())) {
    return std::nullopt;
  }
  int final_written = 0;  // GCM is a stream mode: nothing is held back
  if (EVP_EncryptFinal_ex(ctx.get(), body.data() + plaintext.size(), &final_written) != 1 ||
      final_written != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          body.data() + plaintext.size()) != 1) {
    return std::nullopt;
  }
  return body;
}

enum class Decrypted { opened, not_authentic, openssl_failed };

// Decrypts body = ciphertext || tag into `out` (sized for the ciphertext).
// Anything but `opened` leaves `out` for its owner to wipe, unread.
Decrypted gcm_decrypt(const PiiKey& key, const unsigned char* nonce, std::string_view aad,
                      std::vector<unsigned char>& body, PlaintextBuffer& out) {
  assert(body.size() == out.size() + kTagBytes);
  const auto ctx = start_gcm(false, key, nonce, aad);
  if (!ctx) return Decrypted::openssl_failed;
  int written = 0;
  if (out.size() > 0 && (EVP_DecryptUpdate(ctx.get(), out.data(), &written, body.data(),
                                           static_cast<int>(out.size())) != 1 ||
                         static_cast<std::size_t>(written) != out.size())) {
    return Decrypted::openssl_failed;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                          body.data() + out.size()) != 1) {
    return Decrypted::openssl_failed;
  }
  int final_written = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + out.size(), &final_written) != 1) {
    return Decrypted::not_authentic;
  }
  return final_written == 0 ? Decrypted::opened : Decrypted::openssl_failed;
}

Status check_context(std::string_view context) {
  if (context.empty() || context.size() > kMaxPiiContextBytes) {
    return make_error(ErrorKind::bad_request, "context",
                      "must be 1.." + std::to_string(kMaxPiiContextBytes) + " bytes, got " +
                          std::to_string(context.size()));
  }
  return ok_status();
}

Error malformed(std::string message) {
  return make_error(ErrorKind::internal, "sealed", std::move(message), "malformed");
}

}  // namespace

Result<PiiKey> new_pii_key() {
  PiiKey key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    OPENSSL_cleanse(key.data(), key.size());
    return make_error(ErrorKind::internal, "", "OpenSSL RAND_bytes failed to make a PII key");
  }
  return key;
}

Result<std::string> seal(const PiiKey& key, std::string_view context, std::string_view plaintext) {
  if (auto status = check_context(context); !status) return status.error();
  if (plaintext.size() > kMaxPiiPlaintextBytes) {
    return make_error(ErrorKind::bad_request, "plaintext",
                      "must be at most " + std::to_string(kMaxPiiPlaintextBytes) + " bytes, got " +
                          std::to_string(plaintext.size()));
  }
  std::array<unsigned char, kNonceBytes> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    return make_error(ErrorKind::internal, "", "OpenSSL RAND_bytes failed to make a nonce");
  }
  const auto body = gcm_encrypt(key, nonce.data(), context, plaintext);
  if (!body) return make_error(ErrorKind::internal, "", "OpenSSL AES-256-GCM failed to seal");
  std::string sealed(kVersionPrefix);
  sealed.append(base64url_encode(nonce.data(), nonce.size()));
  sealed.push_back('.');
  sealed.append(base64url_encode(body->data(), body->size()));
  assert(sealed.size() <= kMaxSealedChars);
  return sealed;
}

Result<std::string> open_sealed(const PiiKey& key, std::string_view context,
                                std::string_view sealed) {
  if (auto status = check_context(context); !status) return status.error();
  if (sealed.size() > kMaxSealedChars) {
    return malformed("must be at most " + std::to_string(kMaxSealedChars) + " characters, got " +
                     std::to_string(sealed.size()));
  }
  if (sealed.substr(0, kVersionPrefix.size()) != kVersionPrefix) {
    return malformed("must start with \"v1.\" (the only sealed format this plugin knows)");
  }
  const std::string_view rest = sealed.substr(kVersionPrefix.size());
  const std::size_t dot = rest.find('.');
  if (dot != kNonceChars) {
    return malformed("must be \"v1.\", a 16-character nonce, '.' and the ciphertext");
  }
  const auto nonce = base64url_decode(rest.substr(0, dot));
  auto body = base64url_decode(rest.substr(dot + 1));
  if (!nonce || !body) return malformed("nonce and ciphertext must be unpadded base64url");
  assert(nonce->size() == kNonceBytes);
  if (body->size() < kTagBytes || body->size() > kMaxSealedBodyBytes) {
    return malformed("ciphertext must be " + std::to_string(kTagBytes) + ".." +
                     std::to_string(kMaxSealedBodyBytes) + " bytes, got " +
                     std::to_string(body->size()));
  }
  PlaintextBuffer plaintext(body->size() - kTagBytes);
  switch (gcm_decrypt(key, nonce->data(), context, *body, plaintext)) {
    case Decrypted::opened:
      return std::string(reinterpret_cast<const char*>(plaintext.data()), plaintext.size());
    case Decrypted::not_authentic:
      return make_error(ErrorKind::internal, "sealed",
                        "does not authenticate: wrong key, wrong context or altered bytes",
                        "not_authentic");
    case Decrypted::openssl_failed:
      break;
  }
  return make_error(ErrorKind::internal, "", "OpenSSL AES-256-GCM failed to open a sealed value");
}

}  // namespace refpos::store
