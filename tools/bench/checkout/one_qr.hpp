// The other physical limit of a commit that issues a code: one QR encode of
// a share link as long as the plugin's, by qrcodegen itself (no refpos code).
// DESIGN.md section 7: a commit's p99 is held to one fsync'd SQLite commit
// plus one QR encode.
#pragma once

#include <cstdint>

namespace refpos::bench {

// Encodes "https://example.com/r/" + a fresh 16-symbol code at ECC M and
// returns the time it took.
std::int64_t timed_qr_encode();

}  // namespace refpos::bench
