// See batch_reader.hpp. Every "return false" / nullopt below means "not the
// usual shape": the general reader then gives the answer, so this file never
// writes an error message and never has to be right about one.
#include "sync/batch_reader.hpp"

#include <cstdint>
#include <string>

#include "wire/json_input.hpp"

namespace refpos::sync {
namespace {

// Deeper bodies are legal JSON; the general reader takes them.
constexpr int kMaxBodyDepth = 64;
// Up to 18 digits an integer fits an int64 and a decimal a finite double.
constexpr std::size_t kMaxDigits = 18;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Scanner {
 public:
  explicit Scanner(std::string_view text) : t_(text) {}

  void skip_ws() {
    while (i_ < t_.size() && is_ws(t_[i_])) ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < t_.size() && t_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool at_end() {
    skip_ws();
    return i_ == t_.size();
  }

  // A string whose escapes are the short ones, unescaped into `out`.
  bool string(std::string& out) {
    out.clear();
    if (!eat('"')) return false;
    for (;;) {
      const std::size_t start = i_;
      while (i_ < t_.size()) {
        const auto c = static_cast<unsigned char>(t_[i_]);
        if (c == '"' || c == '\\' || c < 0x20) break;
        ++i_;
      }
      out.append(t_.data() + start, i_ - start);
      if (i_ >= t_.size()) return false;
      const char c = t_[i_++];
      if (c == '"') return true;
      if (c != '\\' || i_ >= t_.size()) return false;  // a raw control character
      switch (t_[i_++]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        default: return false;  // \u (and invalid escapes)
      }
    }
  }

  // A non-negative integer: digits only, no sign, fraction or exponent.
  bool integer(std::int64_t& out) {
    skip_ws();
    const std::size_t start = i_;
    std::int64_t v = 0;
    while (i_ < t_.size() && is_digit(t_[i_])) {
      if (i_ - start == kMaxDigits) return false;
      v = v * 10 + (t_[i_] - '0');
      ++i_;
    }
    if (i_ == start || (i_ - start > 1 && t_[start] == '0')) return false;
    if (i_ < t_.size() && (t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E')) return false;
    out = v;
    return true;
  }

 private:
  std::string_view t_;
  std::size_t i_ = 0;
};

// A JSON value grammar check, without building anything.
class Validator {
 public:
  explicit Validator(std::string_view text) : t_(text) {}

  bool object_text() {
    skip_ws();
    if (i_ >= t_.size() || t_[i_] != '{') return false;
    if (!value(0)) return false;
    skip_ws();
    return i_ == t_.size();
  }

 private:
  void skip_ws() {
    while (i_ < t_.size() && is_ws(t_[i_])) ++i_;
  }
  bool peek(char c) {
    skip_ws();
    return i_ < t_.size() && t_[i_] == c;
  }

  bool value(int depth) {
    skip_ws();
    if (i_ >= t_.size()) return false;
    switch (t_[i_]) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  bool object(int depth) {
    if (depth > kMaxBodyDepth) return false;
    ++i_;  // '{'
    if (peek('}')) {
      ++i_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (!string() || !peek(':')) return false;
      ++i_;
      if (!value(depth)) return false;
      if (peek(',')) {
        ++i_;
        continue;
      }
      if (!peek('}')) return false;
      ++i_;
      return true;
    }
  }

  bool array(int depth) {
    if (depth > kMaxBodyDepth) return false;
    ++i_;  // '['
    if (peek(']')) {
      ++i_;
      return true;
    }
    for (;;) {
      if (!value(depth)) return false;
      if (peek(',')) {
        ++i_;
        continue;
      }
      if (!peek(']')) return false;
      ++i_;
      return true;
    }
  }

  bool string() {
    if (i_ >= t_.size() || t_[i_] != '"') return false;
    ++i_;
    while (i_ < t_.size()) {
      const auto c = static_cast<unsigned char>(t_[i_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (i_ >= t_.size()) return false;
        switch (t_[i_++]) {
          case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
          default: return false;  // \u: surrogate rules are the general reader's
        }
      }
    }
    return false;
  }

  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  bool number() {
    std::size_t digits = 0;
    if (i_ < t_.size() && t_[i_] == '-') ++i_;
    if (i_ >= t_.size() || !is_digit(t_[i_])) return false;
    if (t_[i_] == '0') {
      ++i_;
      ++digits;
    } else {
      while (i_ < t_.size() && is_digit(t_[i_])) {
        ++i_;
        ++digits;
      }
    }
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      const std::size_t before = digits;
      while (i_ < t_.size() && is_digit(t_[i_])) {
        ++i_;
        ++digits;
      }
      if (digits == before) return false;
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) return false;
    return digits <= kMaxDigits;
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

bool read_hash(Scanner& s, std::string& scratch, store::Hash& out) {
  if (!s.string(scratch)) return false;
  auto hash = parse_hash_hex(scratch);
  if (!hash) return false;
  out = *hash;
  return true;
}

bool read_event(Scanner& s, WireEvent& e, std::string& key, std::string& scratch) {
  if (!s.eat('{')) return false;
  unsigned seen = 0;
  for (;;) {
    if (!s.string(key) || !s.eat(':')) return false;
    unsigned bit = 0;
    bool ok = false;
    if (key == "seq") {
      bit = 1U;
      ok = s.integer(e.seq) && e.seq >= 1;
    } else if (key == "type") {
      bit = 2U;
      ok = s.string(e.type) && wire::is_clean_text(e.type, kMaxEventTypeBytes);
    } else if (key == "at_ms") {
      bit = 4U;
      ok = s.integer(e.at_ms);
    } else if (key == "ruleset_version") {
      bit = 8U;
      ok = s.integer(e.ruleset_version);
    } else if (key == "body") {
      bit = 16U;
      // The whole text is valid UTF-8 and unescaping adds only ASCII.
      ok = s.string(e.body) && wire::is_clean_text(e.body, kMaxEventBodyBytes) &&
           Validator(e.body).object_text();
    } else if (key == "prev_hash") {
      bit = 32U;
      ok = read_hash(s, scratch, e.prev_hash);
    } else if (key == "hash") {
      bit = 64U;
      ok = read_hash(s, scratch, e.hash);
    }
    if (!ok || (seen & bit) != 0) return false;
    seen |= bit;
    if (s.eat(',')) continue;
    if (!s.eat('}')) return false;
    return seen == 127U;
  }
}

bool read_events(Scanner& s, std::vector<WireEvent>& events, std::string& key,
                 std::string& scratch) {
  if (!s.eat('[') || s.eat(']')) return false;  // an empty batch: the general reader says so
  do {
    if (events.size() == kMaxBatchEvents) return false;
    WireEvent e;
    if (!read_event(s, e, key, scratch)) return false;
    if (!events.empty() &&
        e.seq != events.front().seq + static_cast<std::int64_t>(events.size())) {
      return false;
    }
    events.push_back(std::move(e));
  } while (s.eat(','));
  return s.eat(']');
}

}  // namespace

bool is_plain_json_object(std::string_view text) {
  if (wire::first_invalid_utf8(text) != std::string_view::npos) return false;
  return Validator(text).object_text();
}

std::optional<PushBatch> read_batch_fast(std::string_view text) {
  if (text.size() > kMaxBodyBytes || wire::first_invalid_utf8(text) != std::string_view::npos) {
    return std::nullopt;
  }
  Scanner s(text);
  PushBatch batch;
  bool have_store = false;
  bool have_events = false;
  std::string key;
  std::string scratch;
  if (!s.eat('{')) return std::nullopt;
  for (;;) {
    if (!s.string(key) || !s.eat(':')) return std::nullopt;
    if (key == "store_id" && !have_store) {
      if (!s.string(batch.store_id) || !wire::is_clean_text(batch.store_id, wire::kMaxIdBytes)) {
        return std::nullopt;
      }
      have_store = true;
    } else if (key == "events" && !have_events) {
      if (!read_events(s, batch.events, key, scratch)) return std::nullopt;
      have_events = true;
    } else {
      return std::nullopt;
    }
    if (s.eat(',')) continue;
    if (!s.eat('}')) return std::nullopt;
    break;
  }
  if (!have_store || !have_events || !s.at_end()) return std::nullopt;
  return batch;
}

}  // namespace refpos::sync
