// printer: sends a receipt's ESC/POS bytes to a receipt printer, and
// nothing else (the bytes come from the plugin's render call).
//
// A target is either a device path (a USB or parallel printer's character
// device such as /dev/usb/lp0, a FIFO, or a plain file that collects the
// bytes) or tcp://HOST[:PORT], a network printer's raw port (9100, "JetDirect",
// when PORT is omitted). Every step has a deadline: a printer that is off,
// out of paper or unplugged must never hang the till.
//
// "Printed" here means the printer took every byte: for TCP, the printer's
// side acknowledged them all (not merely that they sat in our socket
// buffer). A failure is reported as a message naming the target; the caller
// decides what it means for the sale (for refpos-terminal: nothing, the
// commit stands and the receipt can be reprinted).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace refpos::terminal {

inline constexpr std::uint16_t kRawPrintPort = 9100;
inline constexpr std::chrono::milliseconds kDefaultPrinterTimeout{5000};
// Longer than any printer needs to accept a receipt; a larger value is a typo.
inline constexpr std::chrono::milliseconds kMaxPrinterTimeout{600'000};

struct PrinterTarget {
  enum class Kind : std::uint8_t { device, tcp };
  Kind kind = Kind::device;
  std::string path;  // device
  std::string host;  // tcp: a name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = kRawPrintPort;  // tcp
  std::string text;                    // as the operator wrote it, for messages
};

struct ParsedPrinterTarget {
  std::optional<PrinterTarget> target;
  std::string error;  // why `text` is not a target, when target is empty
};

// "tcp://printer.local", "tcp://10.0.0.7:9100", "tcp://[fe80::1]:9100" or a
// device path. Refuses other schemes, a missing host, a port outside
// 1..65535, and a device path that does not exist or is a folder. Does not
// connect: a printer that is off at startup may be on by the first sale.
ParsedPrinterTarget parse_printer_target(std::string_view text);

// Sends all of `bytes` to the printer, with `timeout` for the connection
// (opening the device, or the TCP handshake) and again for the writing (the
// longest the printer may go without taking bytes). Returns "" on success,
// else what went wrong, e.g. "connection refused" or "the printer took no
// data for 5000 ms (4096 of 9000 bytes sent)". Never throws, never raises
// SIGPIPE.
std::string print_bytes(const PrinterTarget& target, std::string_view bytes,
                        std::chrono::milliseconds timeout);

}  // namespace refpos::terminal
