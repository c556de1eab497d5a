// interactive: the till as a cashier uses it. One command per line at the
// "refpos> " prompt builds a cart, previews a code, pays, voids and looks up
// customers; `help` lists the commands. Reads until `quit` or end of input,
// so it also runs from a pipe.
#pragma once

#include <iosfwd>
#include <string>

#include "console.hpp"
#include "plugin_handle.hpp"
#include "receipt_output.hpp"

namespace refpos::terminal {

// Who and where: sent with every request this till makes.
struct TillIdentity {
  std::string terminal_id = "till-1";
  std::string cashier_id;  // omitted from requests when empty
  std::string currency;    // the store's, from its config; "" if unknown
};

// Runs the prompt loop. Failed commands are reported and the loop goes on.
// `echo_commands`: print each command after the prompt, for input from a
// pipe or file (not on screen), so that the output reads as a transcript.
// Returns the process exit code (0); receipts that could not be printed are
// counted by `receipts`.
int run_interactive(Store& store, const TillIdentity& till, std::istream& in, bool echo_commands,
                    Console& console, ReceiptOutput& receipts);

}  // namespace refpos::terminal
