// substitution: see substitution.hpp.
#include "substitution.hpp"

#include <charconv>
#include <optional>
#include <string_view>

namespace refpos::terminal {
namespace {

using nlohmann::json;

constexpr std::string_view kOpen = "${";
constexpr std::size_t kMaxSaveNameLength = 64;

struct Placeholder {
  std::size_t begin = 0;  // offset of "${"
  std::size_t end = 0;    // one past "}"
  std::string name;
  std::string path;  // after the first '.', e.g. "issued_code.normalized"
};

// The next placeholder in `text` at or after `from`; nullopt if none.
// Sets `error` for "${" that does not form a valid placeholder.
std::optional<Placeholder> next_placeholder(std::string_view text, std::size_t from,
                                            std::string& error) {
  const std::size_t begin = text.find(kOpen, from);
  if (begin == std::string_view::npos) {
    return std::nullopt;
  }
  const std::size_t close = text.find('}', begin);
  if (close == std::string_view::npos) {
    error = '"' + std::string(text) + R"(": "${" without a closing "}")";
    return std::nullopt;
  }
  const std::string_view inner = text.substr(begin + kOpen.size(), close - begin - kOpen.size());
  const std::size_t dot = inner.find('.');
  if (dot == std::string_view::npos || dot + 1 == inner.size() ||
      !is_valid_save_name(inner.substr(0, dot))) {
    error = "\"${" + std::string(inner) + "}\": expected ${NAME.field}, e.g. ${alice.code}";
    return std::nullopt;
  }
  return Placeholder{begin, close + 1, std::string(inner.substr(0, dot)),
                     std::string(inner.substr(dot + 1))};
}

// Follows a dotted path through objects (keys) and arrays (indices).
const json* find_path(const json& root, std::string_view path) {
  const json* node = &root;
  while (!path.empty()) {
    const std::size_t dot = path.find('.');
    const std::string_view segment = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (node->is_object()) {
      const auto found = node->find(std::string(segment));
      if (found == node->end()) {
        return nullptr;
      }
      node = &*found;
    } else if (node->is_array()) {
      std::size_t index = 0;
      const auto [end, ec] =
          std::from_chars(segment.data(), segment.data() + segment.size(), index);
      if (ec != std::errc() || end != segment.data() + segment.size() || index >= node->size()) {
        return nullptr;
      }
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

// The value a placeholder stands for, or nullptr with `error` set.
const json* resolve(const Placeholder& placeholder, const SavedAnswers& saved, std::string& error) {
  const auto answer = saved.find(placeholder.name);
  if (answer == saved.end()) {
    error = "${" + placeholder.name + "." + placeholder.path + "}: no step was saved as \"" +
            placeholder.name + "\"";
    return nullptr;
  }
  if (placeholder.path == "code") {
    // The code the step issued: a commit's issued_code, or an issue_code answer.
    if (const json* issued = find_path(answer->second, "issued_code.normalized")) {
      return issued;
    }
    if (const json* normalized = find_path(answer->second, "normalized")) {
      return normalized;
    }
    error = "${" + placeholder.name + ".code}: step \"" + placeholder.name +
            "\" issued no code (its answer has no issued_code.normalized or normalized)";
    return nullptr;
  }
  const json* value = find_path(answer->second, placeholder.path);
  if (value == nullptr) {
    error = "${" + placeholder.name + "." + placeholder.path + "}: the answer saved as \"" +
            placeholder.name + "\" has no field " + placeholder.path;
  }
  return value;
}

// One string value, resolved.
std::optional<json> substitute_text(const std::string& text, const SavedAnswers& saved,
                                    std::string& error) {
  std::optional<Placeholder> placeholder = next_placeholder(text, 0, error);
  if (!placeholder) {
    return error.empty() ? std::optional<json>(text) : std::nullopt;
  }
  if (placeholder->begin == 0 && placeholder->end == text.size()) {
    const json* value = resolve(*placeholder, saved, error);
    return value != nullptr ? std::optional<json>(*value) : std::nullopt;
  }
  std::string result;
  std::size_t copied = 0;
  while (placeholder) {
    const json* value = resolve(*placeholder, saved, error);
    if (value == nullptr) {
      return std::nullopt;
    }
    result.append(text, copied, placeholder->begin - copied);
    result += value->is_string() ? value->get<std::string>() : value->dump();
    copied = placeholder->end;
    placeholder = next_placeholder(text, copied, error);
  }
  if (!error.empty()) {
    return std::nullopt;
  }
  result.append(text, copied);
  return json(result);
}

bool substitute_in_place(json& node, const SavedAnswers& saved, std::string& error) {
  if (node.is_string()) {
    std::optional<json> value = substitute_text(node.get<std::string>(), saved, error);
    if (!value) {
      return false;
    }
    node = std::move(*value);
  } else if (node.is_structured()) {
    for (json& child : node) {
      if (!substitute_in_place(child, saved, error)) {
        return false;
      }
    }
  }
  return true;
}

void collect_names(const json& node, PlaceholderNames& out) {
  if (node.is_string()) {
    const auto& text = node.get_ref<const std::string&>();
    std::size_t from = 0;
    while (const std::optional<Placeholder> placeholder = next_placeholder(text, from, out.error)) {
      out.names.push_back(placeholder->name);
      from = placeholder->end;
    }
  } else if (node.is_structured()) {
    for (const json& child : node) {
      collect_names(child, out);
      if (!out.error.empty()) {
        return;
      }
    }
  }
}

}  // namespace

bool is_valid_save_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxSaveNameLength) {
    return false;
  }
  for (const char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!allowed) {
      return false;
    }
  }
  return true;
}

Substitution substitute(const json& request, const SavedAnswers& saved) {
  Substitution result;
  json copy = request;
  if (substitute_in_place(copy, saved, result.error)) {
    result.value = std::move(copy);
  }
  return result;
}

PlaceholderNames placeholder_names(const json& request) {
  PlaceholderNames result;
  collect_names(request, result);
  return result;
}

}  // namespace refpos::terminal
