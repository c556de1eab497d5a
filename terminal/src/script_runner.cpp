// script_runner: see script_runner.hpp.
#include "script_runner.hpp"

#include <array>
#include <iostream>
#include <istream>
#include <ostream>
#include <set>
#include <utility>

#include "substitution.hpp"

namespace refpos::terminal {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 11> kCallOps = {
    "preview", "commit", "reverse",     "issue_code", "customer", "reprint",
    "sync",    "lead",   "ask_outcome", "contact",    "forget"};
// Ops that go through the plugin's `call` slot under their own name.
constexpr std::array<std::string_view, 4> kLoopOps = {"lead", "ask_outcome", "contact", "forget"};
constexpr std::string_view kOpList =
    "echo, preview, commit, reverse, issue_code, customer, reprint, sync, lead, ask_outcome, "
    "contact or forget";

bool is_call_op(std::string_view op) {
  for (const std::string_view known : kCallOps) {
    if (known == op) {
      return true;
    }
  }
  return false;
}

std::string_view trimmed(std::string_view line) {
  constexpr std::string_view kSpace = " \t\r\n";
  const std::size_t first = line.find_first_not_of(kSpace);
  if (first == std::string_view::npos) {
    return {};
  }
  return line.substr(first, line.find_last_not_of(kSpace) - first + 1);
}

// Turns one script line into a step, or says what is wrong with it.
// `defined` holds the names saved by earlier steps.
std::string parse_step(std::string_view line, const std::set<std::string, std::less<>>& defined,
                       ScriptStep& step) {
  json object;
  try {
    object = json::parse(line);
  } catch (const json::parse_error& e) {
    return std::string("not valid JSON: ") + e.what();
  }
  if (!object.is_object()) {
    return "expected a JSON object, got " + std::string(object.type_name());
  }
  const auto op = object.find("op");
  if (op == object.end() || !op->is_string()) {
    return "\"op\" must be a string: " + std::string(kOpList);
  }
  step.op = op->get<std::string>();
  const bool echo = step.op == "echo";
  if (!echo && !is_call_op(step.op)) {
    return "unknown op \"" + step.op + "\"; expected " + std::string(kOpList);
  }
  for (const auto& [key, value] : object.items()) {
    const bool allowed =
        key == "op" || (echo ? key == "text" : key == "request" || key == "expect" || key == "as");
    if (!allowed) {
      return "unknown member \"" + key + "\" for op " + step.op;
    }
  }
  if (echo) {
    const auto text = object.find("text");
    if (text == object.end() || !text->is_string()) {
      return "echo needs \"text\": a string";
    }
    step.text = text->get<std::string>();
    return "";
  }
  const auto request = object.find("request");
  if (request == object.end() || !request->is_object()) {
    return "\"request\" must be a JSON object";
  }
  step.request = *request;
  if (step.op == "reprint" && (step.request.size() != 1 || !step.request.contains("txn_id") ||
                               !step.request["txn_id"].is_string())) {
    return R"(reprint's "request" must be {"txn_id": "..."})";
  }
  if (const auto expect = object.find("expect"); expect != object.end()) {
    const std::optional<refpos_status> status =
        expect->is_string() ? status_from_name(expect->get<std::string>()) : std::nullopt;
    if (!status) {
      return "\"expect\" must be a status name such as OK, CODE_REJECTED or CONFLICT, got " +
             expect->dump();
    }
    step.expect = *status;
  }
  if (const auto save_as = object.find("as"); save_as != object.end()) {
    if (!save_as->is_string() || !is_valid_save_name(save_as->get<std::string>())) {
      return "\"as\" must be a name of 1 to 64 letters, digits, '_' or '-', got " + save_as->dump();
    }
    step.save_as = save_as->get<std::string>();
  }
  const PlaceholderNames names = placeholder_names(step.request);
  if (!names.error.empty()) {
    return names.error;
  }
  for (const std::string& name : names.names) {
    if (!defined.contains(name)) {
      std::string problem = "${" + name + ".…} refers to no earlier step saved with \"as\": \"";
      problem += name;
      problem += '"';
      return problem;
    }
  }
  return "";
}

std::string step_header(const Script& script, const ScriptStep& step, std::size_t number) {
  std::string header = "=== " + std::to_string(number) + ". " + step.op + "  (" +
                       script.source_name + ":" + std::to_string(step.line_number);
  if (!step.save_as.empty()) {
    header += ", as " + step.save_as;
  }
  header += ", expect " + status_name(step.expect) + ")";
  return header;
}

// A reprint's status is render's; it answers no document on success.
Reply reprint(ReceiptOutput& receipts, const json& request, bool& receipt_ok) {
  const auto txn_id = request.find("txn_id");
  if (txn_id == request.end() || !txn_id->is_string()) {
    Reply reply;
    reply.status = REFPOS_E_BAD_REQUEST;
    reply.message = "reprint: txn_id must be a string";
    return reply;
  }
  ReprintResult result = receipts.reprint(txn_id->get<std::string>());
  receipt_ok = result.files_written;
  return std::move(result.reply);
}

Reply call_store(Store& store, std::string_view op, const std::string& request) {
  if (op == "preview") {
    return store.preview(request);
  }
  if (op == "commit") {
    return store.commit(request);
  }
  if (op == "reverse") {
    return store.reverse(request);
  }
  if (op == "issue_code") {
    return store.issue_code(request);
  }
  for (const std::string_view loop_op : kLoopOps) {
    if (op == loop_op) return store.operation(std::string(op), request);
  }
  if (op == "sync") {
    // Progress on stderr, so a script's stdout stays the answers.
    return store.sync(request, [](std::string_view stage, std::int64_t done, std::int64_t total) {
      std::cerr << "sync " << stage << ": " << done << " of " << total << '\n';
    });
  }
  return store.customer(request);
}

// Runs one call step. Returns true if it returned what it expected.
bool run_call_step(Store& store, const Script& script, const ScriptStep& step, std::size_t number,
                   SavedAnswers& saved, Console& console, ReceiptOutput& receipts) {
  const std::string where = script.source_name + ":" + std::to_string(step.line_number);
  console.out() << '\n' << step_header(script, step, number) << '\n';

  const Substitution request = substitute(step.request, saved);
  if (!request.error.empty()) {
    console.error(where + ": " + request.error);
    return false;
  }
  bool receipt_ok = true;
  const Reply reply = step.op == "reprint" ? reprint(receipts, request.value, receipt_ok)
                                           : call_store(store, step.op, request.value.dump());

  json answer;  // null if the plugin gave no answer document
  if (!reply.answer.empty()) {
    try {
      answer = json::parse(reply.answer);
    } catch (const json::parse_error& e) {
      console.print_raw_answer(reply.answer);
      console.error(where + ": the plugin's answer is not JSON: " + e.what());
      return false;
    }
  }
  const bool as_expected = reply.status == step.expect;
  console.out() << "status: " << status_name(reply.status);
  if (!reply.ok() && as_expected) {
    console.out() << " (as expected): " << reply.message;
  }
  console.out() << '\n';
  if (!answer.is_null()) {
    console.print_answer(answer);
  }

  if (step.op == "commit" && reply.ok()) {
    // A retried commit answers the same document, so it prints (and
    // writes) the same receipt again: what a till reprints after a crash.
    receipt_ok = receipts.deliver(request.value, answer);
  }
  if (!step.save_as.empty()) {
    saved.insert_or_assign(step.save_as, std::move(answer));
  }
  if (!as_expected) {
    console.error(where + ": " + step.op + ": expected " + status_name(step.expect) + ", got " +
                  status_name(reply.status) +
                  (reply.message.empty() ? std::string() : ": " + reply.message));
    return false;
  }
  return receipt_ok;
}

}  // namespace

Script parse_script(std::istream& in, std::string source_name) {
  Script script;
  script.source_name = std::move(source_name);
  std::set<std::string, std::less<>> defined;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const std::string where = script.source_name + ":" + std::to_string(line_number);
    if (line.size() > kMaxScriptLineBytes) {
      script.error = where + ": line longer than " + std::to_string(kMaxScriptLineBytes) + " bytes";
      return script;
    }
    const std::string_view content = trimmed(line);
    if (content.empty() || content.front() == '#') {
      continue;
    }
    if (script.steps.size() == kMaxScriptSteps) {
      script.error = where + ": more than " + std::to_string(kMaxScriptSteps) + " steps";
      return script;
    }
    ScriptStep step;
    step.line_number = line_number;
    if (std::string problem = parse_step(content, defined, step); !problem.empty()) {
      script.error = where;
      script.error += ": ";
      script.error += problem;
      return script;
    }
    if (!step.save_as.empty()) {
      defined.insert(step.save_as);
    }
    script.steps.push_back(std::move(step));
  }
  if (in.bad()) {
    script.error = script.source_name + ": read error";
  }
  return script;
}

int run_script(Store& store, const Script& script, Console& console, ReceiptOutput& receipts) {
  SavedAnswers saved;
  std::size_t number = 0;
  for (const ScriptStep& step : script.steps) {
    if (step.op == "echo") {
      console.out() << '\n' << step.text << '\n';
      continue;
    }
    ++number;
    if (!run_call_step(store, script, step, number, saved, console, receipts)) {
      console.out().flush();
      return 1;
    }
  }
  console.out() << "\n"
                << script.source_name << ": " << number
                << " steps, each returned what it expected\n";
  return 0;
}

}  // namespace refpos::terminal
