// A small JSON Schema (draft 2020-12) validator for the subset of keywords
// that sdk/schema/v1/*.schema.json use, so that tests can check requests and
// the plugin's answers against the published schemas without a third-party
// validator.
//
// Supported keywords:
//   annotations (ignored): $schema (must name draft 2020-12), $id, $comment,
//     title, description, default, examples
//   $defs; $ref to a JSON pointer inside the same document ("#/$defs/x" or
//     "#"), resolved against the schema passed to validate(); a $ref may have
//     sibling keywords, which apply as well (2020-12 semantics)
//   type (a name or an array of names), enum, const
//   properties, required, additionalProperties (true or false only)
//   items (one schema for every item)
//   minimum, maximum
//   minLength, maxLength: count Unicode code points, as the standard says
//     (not bytes: the plugin's byte limits are stricter for non-ASCII text);
//     strings are taken to be UTF-8 (nlohmann does not check): every byte
//     that is not a continuation byte (10xxxxxx) counts as one
//   minItems, maxItems
//   oneOf, anyOf
//   boolean schemas (true, false)
// Anything else (pattern, format, if/then/else, allOf, prefixItems,
// exclusiveMinimum, patternProperties, a remote $ref, ...) makes check_schema()
// and validate() throw UnsupportedSchema, so a schema can never rely on a
// keyword that the tests silently skip.
//
// "integer" follows the standard: a number with a zero fractional part (2.0)
// is an integer. The plugin itself is stricter and refuses 2.0 where it wants
// an integer; sdk/schema/README.md lists such gaps.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace refpos::test {

// The schema uses a keyword, a keyword value or a $ref this validator does not
// support. what() names the keyword and its JSON pointer within the schema.
class UnsupportedSchema : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Walks the whole schema (every subschema, $defs included, used or not) and
// throws UnsupportedSchema at the first unsupported or malformed keyword or
// unresolvable $ref.
void check_schema(const nlohmann::json& schema);

// Validates `doc` against `schema` (after check_schema(schema)). Returns one
// message per violation, "<JSON pointer into doc>: <what is wrong>" with
// "(root)" for the document itself, e.g.
//   "/lines/0/quantity: -2 is less than the minimum 1".
// An empty vector means the document is valid.
std::vector<std::string> validate(const nlohmann::json& schema, const nlohmann::json& doc);

}  // namespace refpos::test
