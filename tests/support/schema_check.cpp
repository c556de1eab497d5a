#include "schema_check.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <set>
#include <string_view>

namespace refpos::test {
namespace {

using nlohmann::json;
using Pointer = json::json_pointer;

constexpr std::string_view kDraft = "https://json-schema.org/draft/2020-12/schema";
// $ref chains that never reach the instance (a -> b -> a) stop here.
constexpr int kMaxRefDepth = 64;

const std::set<std::string, std::less<>> kAnnotations = {
    "$schema", "$id", "$comment", "title", "description", "default", "examples"};
const std::set<std::string, std::less<>> kTypeNames = {"null",   "boolean", "object", "array",
                                                       "number", "integer", "string"};

std::string where(const Pointer& p) {
  const auto s = p.to_string();
  return s.empty() ? "(root)" : s;
}

[[noreturn]] void unsupported(const Pointer& at, const std::string& what) {
  throw UnsupportedSchema("schema " + where(at) + ": " + what);
}

// A short rendering of a value for a message.
std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::binary:
    case json::value_t::discarded:
      break;
  }
  return "unknown";
}

bool is_integer(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::trunc(d) == d;
}

bool has_type(const json& v, std::string_view name) {
  if (name == "null") return v.is_null();
  if (name == "boolean") return v.is_boolean();
  if (name == "object") return v.is_object();
  if (name == "array") return v.is_array();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return is_integer(v);
  return false;
}

// Exact comparison of two JSON numbers: -1, 0 or 1. Integers are compared
// as integers (no rounding through double near 2^63); a float on either side
// compares as long double.
int compare_numbers(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    const bool a_neg = !a.is_number_unsigned() && a.get<std::int64_t>() < 0;
    const bool b_neg = !b.is_number_unsigned() && b.get<std::int64_t>() < 0;
    if (a_neg != b_neg) return a_neg ? -1 : 1;
    if (a_neg) {
      const auto x = a.get<std::int64_t>();
      const auto y = b.get<std::int64_t>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const auto x = a.get<std::uint64_t>();
    const auto y = b.get<std::uint64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const auto x = a.get<long double>();
  const auto y = b.get<long double>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

// Unicode code points in a UTF-8 string (continuation bytes do not count).
std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) ++n;
  }
  return n;
}

bool is_count(const json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
}

class Validator {
 public:
  explicit Validator(const json& root) : root_(root) {}

  // --- the schema itself -------------------------------------------------

  void check(const json& schema, const Pointer& at) {
    if (schema.is_boolean()) return;
    if (!schema.is_object()) unsupported(at, "a schema must be an object or a boolean");
    for (const auto& [key, value] : schema.items()) {
      const Pointer here = at / key;
      if (key == "$schema") {
        if (value != kDraft) unsupported(here, "only " + std::string(kDraft) + " is supported");
      } else if (kAnnotations.count(key) != 0) {
        // Annotation: no effect on validation.
      } else if (key == "$defs" || key == "properties") {
        if (!value.is_object()) unsupported(here, "must be an object of schemas");
        for (const auto& [name, sub] : value.items()) check(sub, here / name);
      } else if (key == "$ref") {
        if (!value.is_string()) unsupported(here, "must be a string");
        resolve(value.get<std::string>(), here);
      } else if (key == "type") {
        check_type_keyword(value, here);
      } else if (key == "enum") {
        if (!value.is_array() || value.empty()) unsupported(here, "must be a non-empty array");
      } else if (key == "const") {
        // Any value.
      } else if (key == "required") {
        if (!value.is_array()) unsupported(here, "must be an array of member names");
        std::set<std::string> names;
        for (const auto& name : value) {
          if (!name.is_string() || !names.insert(name.get<std::string>()).second) {
            unsupported(here, "must be an array of distinct member names");
          }
        }
      } else if (key == "additionalProperties") {
        if (!value.is_boolean()) unsupported(here, "only true or false is supported");
      } else if (key == "items") {
        if (!value.is_object() && !value.is_boolean()) {
          unsupported(here, "must be one schema (the array form is prefixItems in 2020-12)");
        }
        check(value, here);
      } else if (key == "minimum" || key == "maximum") {
        if (!value.is_number()) unsupported(here, "must be a number");
      } else if (key == "minLength" || key == "maxLength" || key == "minItems" ||
                 key == "maxItems") {
        if (!is_count(value)) unsupported(here, "must be a non-negative integer");
      } else if (key == "oneOf" || key == "anyOf") {
        if (!value.is_array() || value.empty()) unsupported(here, "must be a non-empty array");
        for (std::size_t i = 0; i < value.size(); ++i) check(value[i], here / i);
      } else {
        unsupported(here, "keyword \"" + key + "\" is not supported by schema_check");
      }
    }
  }

  // --- a document --------------------------------------------------------

  void validate(const json& schema, const json& doc, const Pointer& at,
                std::vector<std::string>& errors, int ref_depth) {
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) errors.push_back(where(at) + ": no value is allowed here");
      return;
    }
    if (const auto ref = schema.find("$ref"); ref != schema.end()) {
      if (ref_depth >= kMaxRefDepth) {
        unsupported(Pointer(), "$ref chain deeper than " + std::to_string(kMaxRefDepth));
      }
      validate(resolve(ref->get<std::string>(), Pointer()), doc, at, errors, ref_depth + 1);
    }
    if (const auto type = schema.find("type"); type != schema.end()) {
      if (!matches_type(*type, doc)) {
        errors.push_back(where(at) + ": expected " + type_list(*type) + ", got " + type_of(doc) +
                         " " + shown(doc));
        return;  // the other keywords would only repeat the point
      }
    }
    if (const auto e = schema.find("enum"); e != schema.end()) {
      bool found = false;
      for (const auto& allowed : *e) found = found || allowed == doc;
      if (!found) errors.push_back(where(at) + ": " + shown(doc) + " is not one of " + shown(*e));
    }
    if (const auto c = schema.find("const"); c != schema.end() && *c != doc) {
      errors.push_back(where(at) + ": expected " + shown(*c) + ", got " + shown(doc));
    }
    if (doc.is_object()) validate_object(schema, doc, at, errors, ref_depth);
    if (doc.is_array()) validate_array(schema, doc, at, errors, ref_depth);
    if (doc.is_string()) validate_string(schema, doc, at, errors);
    if (doc.is_number()) validate_number(schema, doc, at, errors);
    if (const auto one = schema.find("oneOf"); one != schema.end()) {
      validate_alternatives(*one, "oneOf", doc, at, errors, ref_depth);
    }
    if (const auto any = schema.find("anyOf"); any != schema.end()) {
      validate_alternatives(*any, "anyOf", doc, at, errors, ref_depth);
    }
  }

 private:
  static void check_type_keyword(const json& value, const Pointer& at) {
    if (value.is_string()) {
      if (kTypeNames.count(value.get<std::string>()) == 0) unsupported(at, "unknown type name");
      return;
    }
    if (!value.is_array() || value.empty()) {
      unsupported(at, "must be a type name or a non-empty array of them");
    }
    std::set<std::string> names;
    for (const auto& name : value) {
      if (!name.is_string() || kTypeNames.count(name.get<std::string>()) == 0 ||
          !names.insert(name.get<std::string>()).second) {
        unsupported(at, "must be an array of distinct type names");
      }
    }
  }

  static bool matches_type(const json& type, const json& doc) {
    if (type.is_string()) return has_type(doc, type.get<std::string>());
    for (const auto& name : type) {
      if (has_type(doc, name.get<std::string>())) return true;
    }
    return false;
  }

  static std::string type_list(const json& type) {
    if (type.is_string()) return type.get<std::string>();
    std::string out;
    for (std::size_t i = 0; i < type.size(); ++i) {
      if (i > 0) out += i + 1 == type.size() ? " or " : ", ";
      out += type[i].get<std::string>();
    }
    return out;
  }

  // "#" or "#/json/pointer" into the root schema; nothing else.
  const json& resolve(const std::string& ref, const Pointer& at) const {
    if (ref.empty() || ref[0] != '#') {
      unsupported(at, "$ref \"" + ref +
                          "\": only references inside the document (\"#/...\") are supported");
    }
    const std::string fragment = ref.substr(1);
    if (!fragment.empty() && fragment[0] != '/') {
      unsupported(at, "$ref \"" + ref + "\": anchors are not supported, use a JSON pointer");
    }
    try {
      const Pointer target(fragment);
      if (!root_.contains(target)) unsupported(at, "$ref \"" + ref + "\" does not resolve");
      return root_.at(target);
    } catch (const json::exception& e) {
      unsupported(at, "$ref \"" + ref + "\" is not a valid JSON pointer: " + e.what());
    }
  }

  void validate_object(const json& schema, const json& doc, const Pointer& at,
                       std::vector<std::string>& errors, int ref_depth) {
    if (const auto req = schema.find("required"); req != schema.end()) {
      for (const auto& name : *req) {
        if (!doc.contains(name.get<std::string>())) {
          errors.push_back(where(at) + ": missing required member " + shown(name));
        }
      }
    }
    const auto props = schema.find("properties");
    const auto extra = schema.find("additionalProperties");
    const bool closed = extra != schema.end() && !extra->get<bool>();
    for (const auto& [key, value] : doc.items()) {
      if (props != schema.end()) {
        if (const auto sub = props->find(key); sub != props->end()) {
          validate(*sub, value, at / key, errors, ref_depth);
          continue;
        }
      }
      if (closed)
        errors.push_back(where(at / key) + ": member not allowed (additionalProperties is false)");
    }
  }

  void validate_array(const json& schema, const json& doc, const Pointer& at,
                      std::vector<std::string>& errors, int ref_depth) {
    const auto count = doc.size();
    if (const auto m = schema.find("minItems");
        m != schema.end() && count < m->get<std::size_t>()) {
      errors.push_back(where(at) + ": " + std::to_string(count) + " items, fewer than minItems " +
                       shown(*m));
    }
    if (const auto m = schema.find("maxItems");
        m != schema.end() && count > m->get<std::size_t>()) {
      errors.push_back(where(at) + ": " + std::to_string(count) + " items, more than maxItems " +
                       shown(*m));
    }
    if (const auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < count; ++i) validate(*items, doc[i], at / i, errors, ref_depth);
    }
  }

  static void validate_string(const json& schema, const json& doc, const Pointer& at,
                              std::vector<std::string>& errors) {
    const auto length = code_points(doc.get_ref<const std::string&>());
    if (const auto m = schema.find("minLength");
        m != schema.end() && length < m->get<std::size_t>()) {
      errors.push_back(where(at) + ": string of " + std::to_string(length) +
                       " characters, shorter than minLength " + shown(*m));
    }
    if (const auto m = schema.find("maxLength");
        m != schema.end() && length > m->get<std::size_t>()) {
      errors.push_back(where(at) + ": string of " + std::to_string(length) +
                       " characters, longer than maxLength " + shown(*m));
    }
  }

  static void validate_number(const json& schema, const json& doc, const Pointer& at,
                              std::vector<std::string>& errors) {
    if (const auto m = schema.find("minimum"); m != schema.end() && compare_numbers(doc, *m) < 0) {
      errors.push_back(where(at) + ": " + shown(doc) + " is less than the minimum " + shown(*m));
    }
    if (const auto m = schema.find("maximum"); m != schema.end() && compare_numbers(doc, *m) > 0) {
      errors.push_back(where(at) + ": " + shown(doc) + " is greater than the maximum " + shown(*m));
    }
  }

  void validate_alternatives(const json& alternatives, std::string_view keyword, const json& doc,
                             const Pointer& at, std::vector<std::string>& errors, int ref_depth) {
    std::vector<std::size_t> matched;
    std::string why;
    for (std::size_t i = 0; i < alternatives.size(); ++i) {
      std::vector<std::string> branch;
      validate(alternatives[i], doc, at, branch, ref_depth);
      if (branch.empty()) {
        matched.push_back(i);
      } else {
        why += "; [" + std::to_string(i) + "] " + branch.front();
      }
    }
    if (matched.empty()) {
      errors.push_back(where(at) + ": matches none of the " + std::to_string(alternatives.size()) +
                       " alternatives of " + std::string(keyword) + why);
    } else if (keyword == "oneOf" && matched.size() > 1) {
      errors.push_back(where(at) + ": matches alternatives " + std::to_string(matched[0]) +
                       " and " + std::to_string(matched[1]) + " of oneOf; exactly one must match");
    }
  }

  const json& root_;
};

}  // namespace

void check_schema(const json& schema) {
  Validator v(schema);
  v.check(schema, Pointer());
}

std::vector<std::string> validate(const json& schema, const json& doc) {
  check_schema(schema);
  std::vector<std::string> errors;
  Validator v(schema);
  v.validate(schema, doc, Pointer(), errors, 0);
  return errors;
}

}  // namespace refpos::test
