// A story for the follow-up exports (docs/reports.md, "Follow-up exports")
// whose every answer is known by construction: two store files and a head
// office file built from them (with the pii_keys table of
// tools/hq/sqlite_storage.cpp holding store A's keys).
//
// Store A ("store-a"), January 2026 unless said otherwise:
//
//   ana  consents email and SMS; three referrer rewards (1000 + 500 store
//        credit, 50 points) from two distinct friends; one in December
//        and one in February that must not count; gave lead L-1 (e-mail).
//   ben  email: consents then withdraws; SMS: consents, withdraws,
//        consents again. One reward. Gave lead L-4 without consent.
//   cara never consents; one reward; gave lead L-2 (a phone number).
//   dan  consents email, then is forgotten; one reward; gave lead L-3
//        before he was forgotten.
//   eve  consents email; her only reward is held.
//   fay  consents email; her only reward is reversed in January.
//   gus  consents SMS; his reward is reversed in February (after the period).
//   hal  consents email with a name holding CR LF and a forged header;
//        a recognition reward (amount 0).
//   partner:gym consents email and earns points: partners get no thanks.
//   ivy  consents email at A and owns code IVY-1 issued at A; her friend
//        redeems it at store B, which records the reward with customer_id
//        null (attribute_by code): only head office can thank her.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace refpos::test {

inline constexpr std::int64_t kExportStoryJan1 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

struct ExportStory {
  std::string store_a;      // store-a's refpos.db
  std::string store_b;      // store-b's refpos.db
  std::string head_office;  // both stores' events and store-a's keys
};

// Writes the story's files under `dir` (which must exist). Throws on failure.
ExportStory build_export_story(const std::filesystem::path& dir);

// Runs `sql` on a SQLite file (read-write); throws on failure.
void exec_sql(const std::string& path, const std::string& sql);

}  // namespace refpos::test
