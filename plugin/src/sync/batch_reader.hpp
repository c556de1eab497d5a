// The push batch's fast reader (docs/sync.md, "Push"): head office reads
// every batch a store sends, 500 events and a quarter of a megabyte at a
// time, and building a JSON document of it cost more than storing it.
//
// read_batch_fast() scans the text once, without a document, and accepts
// only the usual shape: valid UTF-8 within the size limit, one object with
// "store_id" and "events", each event an object with exactly its seven
// members, integers without fraction or exponent, strings whose only escapes
// are the short ones (\" \\ \/ \b \f \n \r \t), bodies that are JSON objects
// of ordinary depth. Anything else, well-formed or not, gives nullopt and
// parse_batch() reads the text with the general reader, which names the
// field that is wrong. The contract (tests/hq/protocol_test.cpp checks it on
// mutated batches): whatever the fast reader accepts, the general reader
// accepts too, with the same result.
#pragma once

#include <optional>
#include <string_view>

#include "sync/protocol.hpp"

namespace refpos::sync {

std::optional<PushBatch> read_batch_fast(std::string_view text);

// The check the general reader makes of an event's body (nlohmann's accept
// and a leading '{'), as a scan: true only for a JSON object text both agree
// on; false for anything it is not sure of, invalid or not.
bool is_plain_json_object(std::string_view text);

}  // namespace refpos::sync
