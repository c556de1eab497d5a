// script_runner: runs a checkout script against an open store.
//
// Format: JSON lines (one object per line); blank lines and lines starting
// with '#' are ignored.
//
//   {"op": "preview"|"commit"|"reverse"|"issue_code"|"customer"
//          |"lead"|"ask_outcome"|"contact"|"forget"|"sync",
//    "request": {...},          the JSON request of that call (docs/api.md;
//                               the loop ops go through call, ABI 1.2, and
//                               sync through sync, ABI 1.3, with its
//                               progress on stderr)
//    "expect": "OK",            optional: the status this step must return
//                               (a status name of refpos.h without REFPOS_E_:
//                               OK, CODE_REJECTED, CONFLICT, BAD_REQUEST, ...)
//    "as": "alice"}             optional: save the answer for placeholders
//   {"op": "reprint", "request": {"txn_id": "T-1"}, "expect": ..., "as": ...}
//                               prints the receipt of a committed sale again
//                               (stdout, --receipts files, --printer); the
//                               status is the plugin's render status
//   {"op": "echo", "text": "..."}   prints the text
//
// Strings in a request may hold ${NAME.code} or ${NAME.dotted.path}
// placeholders (see substitution.hpp). The whole script is read and checked
// (JSON, members, ops, placeholders naming earlier steps) before the first
// step runs, so a broken script changes nothing in the store.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "console.hpp"
#include "plugin_handle.hpp"
#include "receipt_output.hpp"

namespace refpos::terminal {

inline constexpr std::size_t kMaxScriptLineBytes =
    std::size_t{512} * 1024;  // requests are <= 256 KiB
inline constexpr std::size_t kMaxScriptSteps = 100'000;

// clang-tidy 14 reports a false exception-escape on structs holding
// nlohmann::json (their implicit constructors do not throw).
struct ScriptStep {  // NOLINT(bugprone-exception-escape)
  std::size_t line_number = 0;
  std::string op;
  refpos_status expect = REFPOS_OK;
  std::string save_as;     // "" if the answer is not saved
  std::string text;        // echo only
  nlohmann::json request;  // not for echo
};

struct Script {
  std::string source_name;  // file name, or "stdin", for messages
  std::vector<ScriptStep> steps;
  std::string error;  // why the script was refused; steps unusable then
};

Script parse_script(std::istream& in, std::string source_name);

// Runs every step in order and stops at the first step whose status differs
// from its "expect" (or whose receipt files could not be written). Returns
// the process exit code: 0 if every step returned what it expected, 1
// otherwise. A receipt that could not be printed does not stop the run; it
// is counted by `receipts`.
int run_script(Store& store, const Script& script, Console& console, ReceiptOutput& receipts);

}  // namespace refpos::terminal
