// substitution: "${NAME.path}" placeholders in scripted requests.
//
// A script step saved with "as": "NAME" keeps its answer. A later request
// may use, in any string value:
//
//   ${NAME.code}             the code that step issued, normalised: a
//                            commit's issued_code.normalized, or an
//                            issue_code answer's normalized
//   ${NAME.a.b.0.c}          any field of the saved answer, by a dotted path
//                            (numbers index arrays), e.g.
//                            ${alice.issued_code.share_link}
//
// A string that is exactly one placeholder takes the field's JSON value (so
// "${t.total_minor}" stays a number); a placeholder inside longer text is
// replaced by the value's text.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace refpos::terminal {

using SavedAnswers = std::map<std::string, nlohmann::json, std::less<>>;

// clang-tidy 14 reports a false exception-escape on structs holding
// nlohmann::json (their implicit constructors do not throw).
struct Substitution {  // NOLINT(bugprone-exception-escape)
  std::string error;   // what could not be resolved; value is unset then
  nlohmann::json value;
};

// `request` with every placeholder resolved from `saved`.
Substitution substitute(const nlohmann::json& request, const SavedAnswers& saved);

// The NAMEs `request` refers to, or an error for a malformed placeholder
// ("${" without "}", no path): lets a script be checked before it runs.
struct PlaceholderNames {
  std::vector<std::string> names;
  std::string error;
};
PlaceholderNames placeholder_names(const nlohmann::json& request);

// True for names a step may be saved as: 1-64 of [A-Za-z0-9_-].
bool is_valid_save_name(std::string_view name);

}  // namespace refpos::terminal
