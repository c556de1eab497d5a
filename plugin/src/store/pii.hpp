// Sealing contact data (PII) so that it can be forgotten in an append-only log.
//
// Why: the event log can never be updated or deleted (its rows are
// hash-chained and the head office checks the chain), yet a friend's name and
// phone number handed over at the till, or a customer's contact and payment
// token hashes, must be removable on request while every money fact stays.
//
// How (crypto-shredding): each data subject gets its own random 256-bit key,
// kept in a table that *can* be deleted from. Events carry contact data only
// as values sealed with that key. To forget a subject, delete its key (with
// PRAGMA secure_delete on, so the page is overwritten rather than freed): the
// sealed bytes in the log turn into noise nobody can open, while the log's
// bytes, and so its hash chain, stay exactly as they were.
//
// Sealed format, one line of JSON-safe ASCII:
//
//   "v1." base64url(nonce) "." base64url(ciphertext || tag)
//
//   nonce       12 bytes from RAND_bytes, fresh for every seal (16 characters)
//   ciphertext  AES-256-GCM of the plaintext, as long as the plaintext
//   tag         the 16-byte GCM tag
//   AAD         the context bytes exactly, e.g. "lead:<lead_id>": a value
//               sealed for one event does not open under another context
//
// base64url is RFC 4648 section 5 without padding, decoded strictly (no
// padding, no white space, unused bits zero), so every sealed value has one
// spelling and any change to it is refused. The version is not in the AAD
// because "v1." is the only prefix accepted; a later format that reuses the
// same keys must put its version into its AAD.
//
// Random 96-bit nonces are safe here: a key seals a handful of values for one
// person, far below the 2^32 seals per key where GCM nonce collisions matter.
// What a sealed value does not hide: its length (the plaintext's length).
//
// open_sealed() failures are ErrorKind::internal: a sealed value comes from
// our own log and its key from our own key table, so one that does not parse
// (reason "malformed") or does not authenticate (reason "not_authentic": wrong
// key, wrong context, or altered bytes; GCM cannot tell these apart) is a
// broken invariant or a tampered file, not bad input from a caller. No
// plaintext, partial or whole, is ever returned with an error, and messages
// never contain the plaintext or the key. A forgotten subject has no key at
// all: the caller notices that before calling open_sealed().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace refpos::store {

inline constexpr std::size_t kPiiKeyBytes = 32;
using PiiKey = std::array<std::uint8_t, kPiiKeyBytes>;

// Limits: a plaintext (a name, a phone number, an e-mail address, a hash in
// hex) and a context ("lead:<id>"). Beyond them seal() answers bad_request.
inline constexpr std::size_t kMaxPiiPlaintextBytes = 4096;
inline constexpr std::size_t kMaxPiiContextBytes = 256;

// A fresh key from OpenSSL's RAND_bytes; internal if the generator fails.
Result<PiiKey> new_pii_key();

// Seals `plaintext` (any bytes, at most kMaxPiiPlaintextBytes) under `key`,
// bound to `context` (1..kMaxPiiContextBytes bytes). bad_request for a
// plaintext or context out of its limits, internal if OpenSSL fails.
Result<std::string> seal(const PiiKey& key, std::string_view context, std::string_view plaintext);

// The plaintext of a value seal() made with the same key and context;
// internal (reason "malformed" or "not_authentic") for anything else, and
// bad_request for a context out of its limits (as in seal()).
Result<std::string> open_sealed(const PiiKey& key, std::string_view context,
                                std::string_view sealed);

}  // namespace refpos::store
