// Follow-up export templates (docs/reports.md, "Templates"): plain text with
// {{placeholder}} fields, parsed once and checked before any event is read,
// so a typo fails the export at once, naming the file and line, instead of
// sending thousands of messages with a hole in them.
#include <algorithm>
#include <fstream>

#include "exports.hpp"

namespace refpos::report {
namespace {

constexpr std::string_view kSubjectPrefix = "Subject:";
// Longest placeholder text an error message quotes.
constexpr std::size_t kQuotedPlaceholderMax = 40;

Error template_error(std::string_view file, int line, const std::string& what) {
  return make_error(ErrorKind::bad_request, "templates",
                    std::string(file) + ":" + std::to_string(line) + ": " + what);
}

std::string known_list(ExportKind kind) {
  std::string out;
  for (const auto name : placeholders_of(kind)) {
    if (!out.empty()) out += ", ";
    out += "{{" + std::string(name) + "}}";
  }
  return out;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Appends the literals and placeholders of `text` (which starts on line
// `line`) to `out`.
Status parse_parts(std::string_view file, std::string_view text, int line, ExportKind kind,
                   std::vector<TemplatePart>& out) {
  const auto& known = placeholders_of(kind);
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "{{") != 0) {
      if (text[i] == '\n') ++line;
      literal += text[i++];
      continue;
    }
    const auto line_end = std::min(text.find('\n', i), text.size());
    const auto close = text.find("}}", i + 2);
    if (close == std::string_view::npos || close > line_end) {
      return template_error(file, line, "\"{{\" is not closed by \"}}\" on its line");
    }
    const auto name = trimmed(text.substr(i + 2, close - i - 2));
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      const std::string quoted(name.substr(0, kQuotedPlaceholderMax));
      return template_error(file, line,
                            "unknown placeholder {{" + quoted + "}} for " +
                                std::string(name_of(kind)) + "; known: " + known_list(kind));
    }
    if (!literal.empty()) out.push_back({false, std::move(literal)});
    literal.clear();
    out.push_back({true, std::string(name)});
    i = close + 2;
  }
  if (!literal.empty()) out.push_back({false, std::move(literal)});
  return ok_status();
}

std::string normalised_line_ends(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::string_view name_of(ExportKind kind) {
  return kind == ExportKind::thanks ? "thanks" : "leads";
}
std::string_view name_of(Channel channel) { return channel == Channel::email ? "email" : "sms"; }

std::optional<ExportKind> parse_export_kind(std::string_view text) {
  if (text == "thanks") return ExportKind::thanks;
  if (text == "leads") return ExportKind::leads;
  return std::nullopt;
}

std::optional<Channel> parse_channel(std::string_view text) {
  if (text == "email") return Channel::email;
  if (text == "sms") return Channel::sms;
  return std::nullopt;
}

std::string template_file_name(ExportKind kind, Channel channel) {
  return std::string(kind == ExportKind::thanks ? "thanks." : "lead.") +
         std::string(name_of(channel)) + ".txt";
}

const std::vector<std::string_view>& placeholders_of(ExportKind kind) {
  static const std::vector<std::string_view> kThanks = {"first_name", "name", "friends", "reward",
                                                        "store_id",   "from", "to"};
  static const std::vector<std::string_view> kLeads = {
      "friend_first_name", "friend_name", "referrer_first_name", "store_id", "lead_id"};
  return kind == ExportKind::thanks ? kThanks : kLeads;
}

Result<MessageTemplate> parse_template(std::string_view file_name, std::string_view text,
                                       ExportKind kind, Channel channel) {
  if (text.size() > kTemplateBytesMax) {
    return template_error(file_name, 1,
                          "the template is over " + std::to_string(kTemplateBytesMax) + " bytes");
  }
  const std::string all = normalised_line_ends(text);
  MessageTemplate t;
  t.file = std::string(file_name);
  std::string_view body = all;
  int body_line = 1;
  if (channel == Channel::email) {
    const auto first_end = std::min(body.find('\n'), body.size());
    const auto first = body.substr(0, first_end);
    if (!first.starts_with(kSubjectPrefix) ||
        trimmed(first.substr(kSubjectPrefix.size())).empty()) {
      return template_error(file_name, 1,
                            "an e-mail template starts with a line \"Subject: <text>\", then an "
                            "empty line, then the body");
    }
    if (auto st = parse_parts(file_name, trimmed(first.substr(kSubjectPrefix.size())), 1, kind,
                              t.subject);
        !st) {
      return st.error();
    }
    const auto rest = first_end < body.size() ? body.substr(first_end + 1) : std::string_view();
    const auto second_end = std::min(rest.find('\n'), rest.size());
    if (rest.empty() || !trimmed(rest.substr(0, second_end)).empty()) {
      return template_error(file_name, 2,
                            "the Subject line is followed by an empty line, then the body");
    }
    body = second_end < rest.size() ? rest.substr(second_end + 1) : std::string_view();
    body_line = 3;
  }
  if (auto st = parse_parts(file_name, body, body_line, kind, t.body); !st) return st.error();
  return t;
}

Result<TemplateSet> load_templates(const std::string& dir, ExportKind kind,
                                   const std::vector<Channel>& channels) {
  TemplateSet set;
  for (const Channel channel : channels) {
    const std::string name = template_file_name(kind, channel);
    const std::string path = dir + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return make_error(ErrorKind::bad_request, "templates",
                        "cannot read \"" + path + "\"; the " + std::string(name_of(kind)) +
                            " export on " + std::string(name_of(channel)) + " needs it");
    }
    std::string text(kTemplateBytesMax + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    auto parsed = parse_template(path, text, kind, channel);
    if (!parsed) return parsed.error();
    parsed->file = name;
    (channel == Channel::email ? set.email : set.sms) = std::move(*parsed);
  }
  return set;
}

std::string neutralise_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      out += ' ';
    } else if (c == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += ' ';  // C1 controls, U+0080..U+009F (NEL among them)
      ++i;
    } else if (c == 0xE2 && i + 2 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(text[i + 2]) == 0xA8 ||
                static_cast<unsigned char>(text[i + 2]) == 0xA9)) {
      out += ' ';  // U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string fill(const std::vector<TemplatePart>& parts,
                 const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  for (const auto& part : parts) {
    if (!part.placeholder) {
      out += part.text;
      continue;
    }
    const auto it = std::find_if(values.begin(), values.end(),
                                 [&](const auto& v) { return v.first == part.text; });
    if (it != values.end()) out += neutralise_controls(it->second);
  }
  return out;
}

}  // namespace refpos::report
