// Ed25519 signatures for what head office publishes (rule sets): the head
// office signs with the chain's signing key, stores verify with its public
// key pinned in their configuration (docs/sync.md, "Trust").
//
// Keys travel as lower-case hex: 32 bytes of private seed, 32 bytes of
// public key; signatures are 64 bytes. OpenSSL does the arithmetic.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace refpos::crypto {

struct Ed25519KeyPair {
  std::string private_hex;  // 64 hex digits (the seed); a secret: never log it
  std::string public_hex;   // 64 hex digits
};

// A fresh key pair from OpenSSL's random generator.
Result<Ed25519KeyPair> ed25519_generate();

// The public key of a private seed (64 hex digits).
Result<std::string> ed25519_public_of(std::string_view private_hex);

// The signature (128 hex digits) of `message`.
Result<std::string> ed25519_sign(std::string_view private_hex, std::string_view message);

// True when `signature_hex` is `public_hex`'s signature of `message`; false
// for a wrong signature, and for a key or signature that is not well-formed
// hex of the right length.
bool ed25519_verify(std::string_view public_hex, std::string_view message,
                    std::string_view signature_hex);

// Lower-case hex of bytes, and back (nullopt-like failure as an Error naming
// `what`).
std::string to_hex(const unsigned char* data, std::size_t size);
Result<std::string> from_hex(std::string_view hex, std::size_t bytes, std::string_view what);

}  // namespace refpos::crypto
