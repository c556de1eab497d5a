#include "crypto/ed25519.hpp"

#include <doctest/doctest.h>

using namespace refpos::crypto;

namespace {
// RFC 8032, section 7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
constexpr const char* kSecret1 = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr const char* kPublic1 = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr const char* kSignature1 =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
constexpr const char* kSecret2 = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
constexpr const char* kPublic2 = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
constexpr const char* kSignature2 =
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";
}  // namespace

TEST_CASE("ed25519: RFC 8032 test vectors sign and verify") {
  CHECK(*ed25519_public_of(kSecret1) == kPublic1);
  CHECK(*ed25519_sign(kSecret1, "") == kSignature1);
  CHECK(ed25519_verify(kPublic1, "", kSignature1));
  CHECK(*ed25519_public_of(kSecret2) == kPublic2);
  CHECK(*ed25519_sign(kSecret2, "r") == kSignature2);
  CHECK(ed25519_verify(kPublic2, "r", kSignature2));
}

TEST_CASE("ed25519: a changed message, key or signature does not verify") {
  CHECK_FALSE(ed25519_verify(kPublic2, "s", kSignature2));
  CHECK_FALSE(ed25519_verify(kPublic1, "r", kSignature2));
  std::string flipped = kSignature2;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  CHECK_FALSE(ed25519_verify(kPublic2, "r", flipped));
}

TEST_CASE("ed25519: malformed keys and signatures are refused, not crashed on") {
  CHECK_FALSE(ed25519_verify("", "r", kSignature2));
  CHECK_FALSE(ed25519_verify(kPublic2, "r", "zz"));
  CHECK_FALSE(ed25519_verify(std::string(64, 'g'), "r", kSignature2));
  auto bad = ed25519_sign("abc", "r");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("64 hex digits") != std::string::npos);
}

TEST_CASE("ed25519: generated pairs are fresh and work") {
  auto a = ed25519_generate();
  auto b = ed25519_generate();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->private_hex != b->private_hex);
  auto sig = ed25519_sign(a->private_hex, "{\"version\":4}");
  REQUIRE(sig.ok());
  CHECK(ed25519_verify(a->public_hex, "{\"version\":4}", *sig));
  CHECK_FALSE(ed25519_verify(b->public_hex, "{\"version\":4}", *sig));
}
