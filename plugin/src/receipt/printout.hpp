// What prints for a committed transaction, made from its stored answer (the
// facts) and the store's printer, template and locale (the presentation).
// Because nothing here is stored, a reprint, a retried commit and a render
// call all give the same bytes, and printing can never fail a commit: the
// configuration was checked at open so that every coupon fits its QR.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "print/layout.hpp"
#include "wire/config.hpp"

namespace refpos::receipt {

// The content of the receipt of `answer` (a commit answer as stored).
Result<print::ReceiptContent> content_of(const wire::StoreConfig& config,
                                         const nlohmann::json& answer,
                                         std::vector<std::string> host_lines = {});

// The presentational members a commit answer carries on top of its facts:
//   "coupon": the code as text, share link, what each side gets, and the QR
//             as a module matrix (null when no code was issued);
//   "print":  the coupon as ESC/POS bytes (base64) for the store's printer.
void add_presentation(const wire::StoreConfig& config, nlohmann::json& answer);

// The bytes of a render call: what ("receipt" | "coupon") in format
// ("escpos" | "png" | "svg" | "text").
Result<std::string> render(const wire::StoreConfig& config, const nlohmann::json& answer,
                           std::string_view what, std::string_view format,
                           std::vector<std::string> host_lines);

}  // namespace refpos::receipt
