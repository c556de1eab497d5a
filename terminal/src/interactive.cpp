// interactive: see interactive.hpp.
#include "interactive.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <istream>
#include <optional>
#include <ostream>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "receipt.hpp"

namespace refpos::terminal {
namespace {

using nlohmann::json;
using Words = std::vector<std::string>;

constexpr std::string_view kPrompt = "refpos> ";

Words split_words(std::string_view line) {
  Words words;
  std::size_t position = 0;
  while (position < line.size()) {
    const std::size_t begin = line.find_first_not_of(" \t\r", position);
    if (begin == std::string_view::npos) {
      break;
    }
    const std::size_t end = std::min(line.find_first_of(" \t\r", begin), line.size());
    words.emplace_back(line.substr(begin, end - begin));
    position = end;
  }
  return words;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

class Till {
 public:
  Till(Store& store, const TillIdentity& identity, Console& console, ReceiptOutput& receipts)
      : store_(store), identity_(identity), console_(console), receipts_(receipts) {}

  // Runs one command line; false once the cashier quits.
  bool run(const Words& words);

 private:
  struct Command {
    std::string_view name;
    std::string_view arguments;
    std::string_view help;
    std::size_t min_words;  // arguments, not counting the command
    std::size_t max_words;
    void (Till::*run)(const Words&);
  };
  static const std::array<Command, 15> kCommands;

  void help(const Words& words);
  void set_customer(const Words& words);
  void add_line(const Words& words);
  void set_code(const Words& words);
  void show(const Words& words);
  void preview(const Words& words);
  void pay(const Words& words);
  void reprint(const Words& words);
  void void_txn(const Words& words) { reverse("void", words); }
  void refund(const Words& words) { reverse("refund", words); }
  void lookup(const Words& words);
  void issue(const Words& words);
  void clear(const Words& words);
  void quit(const Words& /*words*/) { quitting_ = true; }

  void reverse(std::string_view kind, const Words& words);
  json identity_request() const;
  json cart_request() const;
  // Prints the answer (unless quiet) or the failure; the answer is returned
  // parsed (null if absent or not JSON).
  json report(const Reply& reply);

  Store& store_;
  const TillIdentity& identity_;
  Console& console_;
  ReceiptOutput& receipts_;
  std::string customer_id_;
  std::string code_;
  json lines_ = json::array();
  bool quitting_ = false;
};

const std::array<Till::Command, 15> Till::kCommands = {{
    {"help", "", "this list", 0, 0, &Till::help},
    {"customer", "ID", "set the cart's customer (no ID: none)", 0, 1, &Till::set_customer},
    {"line", "SKU CATEGORY QTY PRICE_MINOR", "add a cart line (price in minor units)", 4, 4,
     &Till::add_line},
    {"code", "CODE", "present a referral code (no CODE: remove it)", 0, 8, &Till::set_code},
    {"show", "", "show the cart", 0, 0, &Till::show},
    {"preview", "", "what the code would give, changing nothing", 0, 0, &Till::preview},
    {"pay", "TXN_ID", "commit the paid cart, print the receipt, start a new cart", 1, 1,
     &Till::pay},
    {"reprint", "TXN_ID", "print a committed sale's receipt again", 1, 1, &Till::reprint},
    {"void", "TXN_ID [REVERSAL_ID]", "void a committed transaction", 1, 2, &Till::void_txn},
    {"refund", "TXN_ID [REVERSAL_ID]", "refund a committed transaction in full", 1, 2,
     &Till::refund},
    {"lookup", "CUSTOMER_ID", "a customer's wallet and codes", 1, 1, &Till::lookup},
    {"issue", "CUSTOMER_ID", "issue (or show) a customer's referral code", 1, 1, &Till::issue},
    {"clear", "", "empty the cart", 0, 0, &Till::clear},
    {"quit", "", "leave (end of input does the same)", 0, 0, &Till::quit},
    {"exit", "", "same as quit", 0, 0, &Till::quit},
}};

bool Till::run(const Words& words) {
  if (words.empty()) {
    return true;
  }
  for (const Command& command : kCommands) {
    if (command.name != words[0]) {
      continue;
    }
    const std::size_t arguments = words.size() - 1;
    if (arguments < command.min_words || arguments > command.max_words) {
      console_.error("usage: " + std::string(command.name) + " " + std::string(command.arguments));
      return true;
    }
    (this->*command.run)(words);
    return !quitting_;
  }
  console_.error("unknown command \"" + words[0] + "\"; type help");
  return true;
}

void Till::help(const Words& /*words*/) {
  for (const Command& command : kCommands) {
    std::string usage = std::string(command.name) + " " + std::string(command.arguments);
    usage.resize(std::max<std::size_t>(usage.size(), 38), ' ');
    console_.out() << "  " << usage << command.help << '\n';
  }
}

void Till::set_customer(const Words& words) { customer_id_ = words.size() > 1 ? words[1] : ""; }

void Till::add_line(const Words& words) {
  const std::optional<std::int64_t> quantity = parse_integer(words[3]);
  const std::optional<std::int64_t> unit_price = parse_integer(words[4]);
  if (!quantity || !unit_price) {
    console_.error("QTY and PRICE_MINOR must be integers (price in minor units: 1250 for 12.50)");
    return;
  }
  // Limits (quantity, price, lines per cart) are the plugin's to check: it
  // answers with a message naming the line, shown at preview or pay.
  lines_.push_back({{"sku", words[1]},
                    {"category", words[2]},
                    {"quantity", *quantity},
                    {"unit_price_minor", *unit_price}});
}

void Till::set_code(const Words& words) {
  // A code may be typed in groups separated by spaces; the plugin
  // normalises spaces, dashes and case.
  code_.clear();
  for (std::size_t i = 1; i < words.size(); ++i) {
    code_ += (i > 1 ? " " : "") + words[i];
  }
}

void Till::show(const Words& /*words*/) {
  std::ostream& out = console_.out();
  out << "customer: " << (customer_id_.empty() ? "(none)" : customer_id_) << '\n';
  out << "code:     " << (code_.empty() ? "(none)" : code_) << '\n';
  std::int64_t subtotal = 0;
  bool overflow = false;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    const json& line = lines_[i];
    const auto quantity = line["quantity"].get<std::int64_t>();
    const auto unit_price = line["unit_price_minor"].get<std::int64_t>();
    std::int64_t amount = 0;
    overflow = overflow || __builtin_mul_overflow(quantity, unit_price, &amount) ||
               __builtin_add_overflow(subtotal, amount, &subtotal);
    out << "  " << i + 1 << ". " << line["sku"].get<std::string>() << " ("
        << line["category"].get<std::string>() << ") " << quantity << " x "
        << format_money(unit_price, identity_.currency) << " = "
        << format_money(amount, identity_.currency) << '\n';
  }
  out << (lines_.empty() ? "  (no lines)\n" : "");
  out << "subtotal: " << (overflow ? "(too large)" : format_money(subtotal, identity_.currency))
      << ' ' << identity_.currency << '\n';
}

json Till::identity_request() const {
  json request = {{"terminal_id", identity_.terminal_id}};
  if (!identity_.cashier_id.empty()) {
    request["cashier_id"] = identity_.cashier_id;
  }
  return request;
}

json Till::cart_request() const {
  json request = identity_request();
  if (!customer_id_.empty()) {
    request["customer_id"] = customer_id_;
  }
  if (!identity_.currency.empty()) {
    request["currency"] = identity_.currency;
  }
  request["lines"] = lines_;
  if (!code_.empty()) {
    request["code"] = code_;
  }
  return request;
}

json Till::report(const Reply& reply) {
  json answer;
  if (!reply.answer.empty()) {
    answer = json::parse(reply.answer, nullptr, /*allow_exceptions=*/false);
    if (answer.is_discarded()) {
      console_.print_raw_answer(reply.answer);
      console_.error("the plugin's answer is not JSON");
      answer = nullptr;
    } else {
      console_.print_answer(answer);
    }
  }
  if (!reply.ok()) {
    console_.error(status_name(reply.status) + ": " + reply.message);
  }
  return answer;
}

void Till::preview(const Words& /*words*/) {
  const Reply reply = store_.preview(cart_request().dump());
  const json answer = report(reply);
  if (reply.ok() || reply.status == REFPOS_E_CODE_REJECTED) {
    // A rejected code still prices the cart; the cashier reads the reason
    // from the code line and may remove the code and go on.
    console_.out() << format_totals(answer);
  }
}

void Till::pay(const Words& words) {
  json request = cart_request();
  request["txn_id"] = words[1];
  // Integration point: call commit only after the payment succeeded. If the
  // till crashes or commit fails with STORAGE, commit the same request with
  // the same txn_id again: a retry changes nothing and returns the same
  // answer, so the receipt can be reprinted safely.
  const Reply reply = store_.commit(request.dump());
  const json answer = report(reply);
  if (!reply.ok()) {
    if (reply.status == REFPOS_E_STORAGE) {
      console_.error("nothing was recorded; fix the cause, then pay " + words[1] +
                     " again (a retry with the same id is safe)");
    } else if (reply.status == REFPOS_E_CODE_REJECTED) {
      console_.error("remove the code (\"code\") or correct it, then pay again");
    }
    return;
  }
  receipts_.deliver(request, answer);
  customer_id_.clear();
  code_.clear();
  lines_ = json::array();
}

void Till::reprint(const Words& words) {
  const ReprintResult result = receipts_.reprint(words[1]);
  if (!result.reply.ok()) {
    report(result.reply);
  }
}

void Till::reverse(std::string_view kind, const Words& words) {
  json request = identity_request();
  request["txn_id"] = words[1];
  request["kind"] = kind;
  // A fixed default reversal id makes a repeated void a safe retry rather
  // than a second reversal attempt.
  request["reversal_id"] = words.size() > 2 ? words[2] : std::string(kind) + "-" + words[1];
  const Reply reply = store_.reverse(request.dump());
  const json answer = report(reply);
  if (reply.ok()) {
    console_.out() << kind << " of " << words[1] << " recorded\n";
  }
}

void Till::lookup(const Words& words) {
  const Reply reply = store_.customer(json{{"customer_id", words[1]}}.dump());
  const json answer = report(reply);
  if (reply.ok() && answer.is_object() && answer.contains("wallet") &&
      answer["wallet"].is_object()) {
    const json& wallet = answer["wallet"];
    const std::string currency = wallet.value("currency", identity_.currency);
    console_.out() << words[1] << ": balance "
                   << format_money(wallet.value("balance_minor", std::int64_t{0}), currency) << ' '
                   << currency << '\n';
  }
}

void Till::issue(const Words& words) {
  json request = identity_request();
  request["customer_id"] = words[1];
  const Reply reply = store_.issue_code(request.dump());
  const json answer = report(reply);
  if (reply.ok() && answer.is_object()) {
    console_.out() << words[1] << ": " << answer.value("code", "") << "  "
                   << answer.value("message", "") << '\n';
  }
}

void Till::clear(const Words& /*words*/) {
  customer_id_.clear();
  code_.clear();
  lines_ = json::array();
}

}  // namespace

int run_interactive(Store& store, const TillIdentity& till, std::istream& in, bool echo_commands,
                    Console& console, ReceiptOutput& receipts) {
  Till session(store, till, console, receipts);
  if (!console.quiet()) {
    console.out() << "Type help for the commands.\n";
  }
  std::string line;
  while (true) {
    console.out() << kPrompt << std::flush;
    if (!std::getline(in, line)) {
      console.out() << '\n';
      break;
    }
    if (echo_commands) {
      console.out() << line << '\n';
    }
    if (!session.run(split_words(line))) {
      break;
    }
  }
  return 0;
}

}  // namespace refpos::terminal
