// Tests of store/pii.cpp: sealed contact data opens with its key and context
// and with nothing else; any change to a sealed value is refused without a
// byte of plaintext; the limits hold at their edges; and the text format is
// what pii.hpp says, checked by decoding it with OpenSSL directly.
#include "store/pii.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

using namespace refpos;
using namespace refpos::store;

namespace {

PiiKey test_key(std::uint8_t fill) {
  PiiKey key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(fill + i * 7);
  return key;
}

std::string seal_ok(const PiiKey& key, std::string_view context, std::string_view plaintext) {
  auto sealed = seal(key, context, plaintext);
  REQUIRE(sealed.ok());
  return *sealed;
}

// Refused as pii.hpp promises: an error of kind internal, never plaintext.
void check_refused(const PiiKey& key, std::string_view context, std::string_view sealed) {
  const auto opened = open_sealed(key, context, sealed);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == ErrorKind::internal);
  const bool known_reason =
      opened.error().reason == "malformed" || opened.error().reason == "not_authentic";
  CHECK(known_reason);
}

// A base64url decoder that shares nothing with pii.cpp: translate to the
// standard alphabet, pad, and let OpenSSL decode.
std::vector<unsigned char> decode_with_openssl(std::string_view base64url) {
  std::string standard(base64url);
  std::replace(standard.begin(), standard.end(), '-', '+');
  std::replace(standard.begin(), standard.end(), '_', '/');
  const std::size_t padding = (4 - standard.size() % 4) % 4;
  standard.append(padding, '=');
  std::vector<unsigned char> bytes(standard.size() / 4 * 3);
  const int n =
      EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(standard.data()),
                      static_cast<int>(standard.size()));
  REQUIRE(n == static_cast<int>(bytes.size()));
  bytes.resize(bytes.size() - padding);
  return bytes;
}

// AES-256-GCM decryption straight from OpenSSL, with the context as AAD.
std::string decrypt_with_openssl(const PiiKey& key, std::string_view context,
                                 const std::vector<unsigned char>& nonce,
                                 std::vector<unsigned char> body) {
  REQUIRE(nonce.size() == 12);
  REQUIRE(body.size() >= 16);
  const std::size_t text_size = body.size() - 16;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  REQUIRE(ctx != nullptr);
  std::string plaintext(text_size, '\0');
  int n = 0;
  bool ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) == 1;
  ok = ok &&
       EVP_DecryptUpdate(ctx, nullptr, &n, reinterpret_cast<const unsigned char*>(context.data()),
                         static_cast<int>(context.size())) == 1;
  ok = ok &&
       (text_size == 0 || EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plaintext.data()),
                                            &n, body.data(), static_cast<int>(text_size)) == 1);
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, body.data() + text_size) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(plaintext.data()), &n) == 1;
  EVP_CIPHER_CTX_free(ctx);
  REQUIRE(ok);
  return plaintext;
}

constexpr std::string_view kLead = "Zoë Müller-Łukasiewicz, +49 151 2345 6789, zoë@example.de";

}  // namespace

TEST_CASE("pii: new keys are 32 random bytes, different every time") {
  const auto a = new_pii_key();
  const auto b = new_pii_key();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->size() == 32);
  CHECK(*a != *b);
  CHECK(*a != PiiKey{});
}

TEST_CASE("pii: sealed values open to the same bytes (empty, UTF-8, binary, 4 KiB)") {
  const PiiKey key = test_key(1);
  std::string binary_4k(kMaxPiiPlaintextBytes, '\0');
  for (std::size_t i = 0; i < binary_4k.size(); ++i) binary_4k[i] = static_cast<char>(i * 31);
  for (const std::string_view plaintext :
       {std::string_view{}, kLead, std::string_view("\0x\0", 3), std::string_view(binary_4k)}) {
    CAPTURE(plaintext.size());
    const std::string sealed = seal_ok(key, "lead:L-1", plaintext);
    const auto opened = open_sealed(key, "lead:L-1", sealed);
    REQUIRE(opened.ok());
    CHECK(*opened == plaintext);
  }
}

TEST_CASE("pii: sealing the same text twice gives different values (fresh nonce)") {
  const PiiKey key = test_key(2);
  const std::string first = seal_ok(key, "lead:L-1", kLead);
  const std::string second = seal_ok(key, "lead:L-1", kLead);
  CHECK(first != second);
  CHECK(first.substr(0, 19) != second.substr(0, 19));  // the nonces differ
  CHECK(open_sealed(key, "lead:L-1", first).value() == kLead);
  CHECK(open_sealed(key, "lead:L-1", second).value() == kLead);
}

TEST_CASE("pii: another key or another context does not open a sealed value") {
  const PiiKey key = test_key(3);
  const std::string sealed = seal_ok(key, "lead:L-1", kLead);
  PiiKey one_bit_off = key;
  one_bit_off[31] ^= 0x01;
  check_refused(test_key(4), "lead:L-1", sealed);
  check_refused(one_bit_off, "lead:L-1", sealed);
  check_refused(key, "lead:L-2", sealed);
  check_refused(key, "lead:L-10", sealed);
  check_refused(key, "lead:L-", sealed);
  check_refused(key, "customer:L-1", sealed);
  CHECK(open_sealed(key, "lead:L-2", sealed).error().reason == "not_authentic");
  // The message says what went wrong without a byte of the contact data.
  const auto refused = open_sealed(test_key(4), "lead:L-1", sealed);
  CHECK(refused.error().describe().find("Zo") == std::string::npos);
}

TEST_CASE("pii: every flipped bit and every changed character of a sealed value is refused") {
  const PiiKey key = test_key(5);
  // Plaintext sizes 0, 1 and 2 give ciphertext+tag lengths of each
  // remainder mod 3, so the last character has 0, 4 and 2 unused bits.
  for (const std::string_view plaintext : {"", "A", "An", "Ann +1 555 0100"}) {
    CAPTURE(plaintext);
    const std::string sealed = seal_ok(key, "lead:L-1", plaintext);
    REQUIRE(open_sealed(key, "lead:L-1", sealed).ok());
    for (std::size_t pos = 0; pos < sealed.size(); ++pos) {
      CAPTURE(pos);
      for (int bit = 0; bit < 8; ++bit) {
        std::string altered = sealed;
        altered[pos] = static_cast<char>(altered[pos] ^ (1 << bit));
        check_refused(key, "lead:L-1", altered);
      }
      for (int c = 1; c < 256; ++c) {
        if (static_cast<char>(c) == sealed[pos]) continue;
        std::string altered = sealed;
        altered[pos] = static_cast<char>(c);
        check_refused(key, "lead:L-1", altered);
      }
    }
  }
}

TEST_CASE("pii: truncated, extended and garbage values are refused") {
  const PiiKey key = test_key(6);
  const std::string sealed = seal_ok(key, "lead:L-1", kLead);
  for (std::size_t size = 0; size < sealed.size(); ++size) {
    CAPTURE(size);
    check_refused(key, "lead:L-1", sealed.substr(0, size));
  }
  for (const char* tail : {"A", "AA", "AAA", "AAAA", "=", "==", ".", " ", "\n"}) {
    CAPTURE(tail);
    check_refused(key, "lead:L-1", sealed + tail);
  }
  check_refused(key, "lead:L-1", sealed + std::string(1, '\0'));
  check_refused(key, "lead:L-1", " " + sealed);
  const std::string garbage[] = {
      "",
      "v1",
      "v1.",
      "v1..",
      "v1.AAAAAAAAAAAAAAAA.",
      "v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",  // 16 zero bytes: a tag that is wrong
      "v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAA",   // 15 bytes and a bit: too short
      "v1.AAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
      "v1.AAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
      "v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AA",
      "v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA==",
      "v1.AAAAAAAAAAAAAAAA.AAAAAAAAAA+AAAAAAAAAAA",  // the standard, not the url alphabet
      "hello, world",
      std::string(kLead),
      std::string(100000, 'A'),
      "v1." + std::string(100000, 'A'),
  };
  for (const std::string& text : garbage) {
    CAPTURE(text.substr(0, 60));
    check_refused(key, "lead:L-1", text);
  }
  CHECK(open_sealed(key, "lead:L-1", "v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA").error().reason ==
        "not_authentic");
  CHECK(open_sealed(key, "lead:L-1", "v1.").error().reason == "malformed");
}

TEST_CASE("pii: only the v1 prefix is accepted") {
  const PiiKey key = test_key(7);
  const std::string sealed = seal_ok(key, "lead:L-1", kLead);
  const std::string rest = sealed.substr(3);
  for (const char* prefix : {"v2.", "v0.", "V1.", "v1:", "1.", "v10.", "", ".", "v1.v1."}) {
    CAPTURE(prefix);
    check_refused(key, "lead:L-1", prefix + rest);
    CHECK(open_sealed(key, "lead:L-1", prefix + rest).error().reason == "malformed");
  }
}

TEST_CASE("pii: limits on plaintext and context, at their edges") {
  const PiiKey key = test_key(8);
  const std::string at_limit(kMaxPiiPlaintextBytes, 'x');
  CHECK(seal(key, "lead:L-1", at_limit).ok());
  const auto too_long = seal(key, "lead:L-1", at_limit + "x");
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.error().kind == ErrorKind::bad_request);
  CHECK(too_long.error().field == "plaintext");
  CHECK(too_long.error().message == "must be at most 4096 bytes, got 4097");

  const std::string context_at_limit(kMaxPiiContextBytes, 'c');
  const std::string sealed = seal_ok(key, context_at_limit, kLead);
  CHECK(open_sealed(key, context_at_limit, sealed).value() == kLead);
  for (const std::string& context : {std::string(), context_at_limit + "c"}) {
    CAPTURE(context.size());
    const auto sealed_bad = seal(key, context, kLead);
    REQUIRE_FALSE(sealed_bad.ok());
    CHECK(sealed_bad.error().kind == ErrorKind::bad_request);
    CHECK(sealed_bad.error().field == "context");
    const auto opened_bad = open_sealed(key, context, sealed);
    REQUIRE_FALSE(opened_bad.ok());
    CHECK(opened_bad.error().kind == ErrorKind::bad_request);
  }
}

TEST_CASE("pii: the format is v1.<16-char nonce>.<ciphertext+tag>, and OpenSSL alone opens it") {
  const PiiKey key = test_key(9);
  const std::string_view url_alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (const std::string_view plaintext : {std::string_view{}, std::string_view("A"), kLead}) {
    CAPTURE(plaintext);
    const std::string sealed = seal_ok(key, "lead:L-1", plaintext);
    REQUIRE(sealed.substr(0, 3) == "v1.");
    REQUIRE(sealed.size() > 20);
    REQUIRE(sealed[19] == '.');
    const std::string nonce_text = sealed.substr(3, 16);
    const std::string body_text = sealed.substr(20);
    CHECK(nonce_text.find_first_not_of(url_alphabet) == std::string::npos);
    CHECK(body_text.find_first_not_of(url_alphabet) == std::string::npos);
    // Unpadded base64url of plaintext + 16 tag bytes.
    CHECK(body_text.size() == ((plaintext.size() + 16) * 4 + 2) / 3);
    const auto nonce = decode_with_openssl(nonce_text);
    const auto body = decode_with_openssl(body_text);
    CHECK(body.size() == plaintext.size() + 16);
    CHECK(decrypt_with_openssl(key, "lead:L-1", nonce, body) == plaintext);
  }
}
