// The follow-up exports (tools/report/exports.hpp) on store files and a
// head-office file whose answers are known by construction (export_story.hpp
// tells the story), the templates' grammar and errors, and the CSV and JSON.
#include <doctest/doctest.h>
#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "export_story.hpp"
#include "exports.hpp"
#include "report.hpp"
#include "temp_dir.hpp"

using namespace refpos;
using namespace refpos::test;
using nlohmann::json;
using report::Channel;
using report::ExportKind;

namespace {

template <typename T>
T must(Result<T> r) {
  if (!r) FAIL(r.error().describe());
  return std::move(r).value();
}

struct Story {
  TempDir dir;
  ExportStory files = build_export_story(dir.path());
};

const ExportStory& story() {
  static Story s;
  return s.files;
}

report::TemplateSet simple_templates(ExportKind kind) {
  report::TemplateSet set;
  if (kind == ExportKind::thanks) {
    set.email = must(report::parse_template(
        "thanks.email.txt",
        "Subject: Thanks {{first_name}}\n\nDear {{name}}: {{friends}} friends, {{reward}}, "
        "{{store_id}} {{from}}..{{to}}\n",
        kind, Channel::email));
    set.sms = must(report::parse_template("thanks.sms.txt", "Hi {{first_name}}: {{reward}}", kind,
                                          Channel::sms));
  } else {
    set.email = must(report::parse_template(
        "lead.email.txt",
        "Subject: {{referrer_first_name}} sent you\n\nHi {{friend_first_name}} ({{friend_name}}), "
        "{{lead_id}} at {{store_id}}",
        kind, Channel::email));
    set.sms = must(report::parse_template(
        "lead.sms.txt", "Hi {{friend_first_name}}, {{referrer_first_name}} says hi", kind,
        Channel::sms));
  }
  return set;
}

report::Export run(const std::string& path, ExportKind kind,
                   std::optional<std::string> store = std::nullopt,
                   std::vector<Channel> channels = {Channel::email, Channel::sms},
                   const char* from = "2026-01-01", const char* to = "2026-02-01") {
  report::ExportRequest request;
  request.path = path;
  request.kind = kind;
  request.period = must(report::parse_period(from, to, ""));
  request.store_id = std::move(store);
  request.channels = std::move(channels);
  request.templates = simple_templates(kind);
  return must(report::build_export(request));
}

const report::ExportMessage* find(const report::Export& e, const std::string& recipient,
                                  Channel channel) {
  for (const auto& m : e.messages) {
    if (m.recipient_id == recipient && m.channel == channel) return &m;
  }
  return nullptr;
}

std::vector<std::string> keys_of(const report::Export& e) {
  std::vector<std::string> out;
  for (const auto& m : e.messages) {
    out.push_back(m.store_id + "/" + m.recipient_id + "/" +
                  std::string(report::name_of(m.channel)));
  }
  return out;
}

}  // namespace

TEST_CASE("export thanks: consent, withdrawal, forgetting, holds, reversals and partners") {
  const auto e = run(story().store_a, ExportKind::thanks);
  CHECK(keys_of(e) == std::vector<std::string>{"store-a/ana/email", "store-a/ana/sms",
                                               "store-a/ben/sms", "store-a/gus/sms",
                                               "store-a/hal/email", "store-a/jon/email"});
  // cara email+sms, dan sms, gus email, hal sms, jon sms never consented;
  // eve's reward is held, jon's was released in the period.
  CHECK(e.skipped.no_consent == 6);
  const auto* jon = find(e, "jon", Channel::email);
  REQUIRE(jon != nullptr);
  CHECK(jon->body.find("$8.00 in store credit") != std::string::npos);
  CHECK(find(e, "eve", Channel::email) == nullptr);
  CHECK(e.skipped.withdrawn == 1);  // ben email
  CHECK(e.skipped.forgotten == 1);  // dan email
  CHECK(e.skipped.unreadable == 0);
  CHECK(e.skipped.other_channel == 0);
  CHECK(e.source == report::SourceKind::store);
}

TEST_CASE("export thanks: placeholders are filled from the sealed contact and the rewards") {
  const auto e = run(story().store_a, ExportKind::thanks);
  const auto* ana = find(e, "ana", Channel::email);
  REQUIRE(ana != nullptr);
  CHECK(ana->to == "ana@example.com");
  CHECK(ana->subject == "Thanks Ana");
  CHECK(ana->body ==
        "Dear Ana Lopez: 2 friends, $15.00 in store credit and 50 points, store-a "
        "2026-01-01..2026-02-01");
  const auto* ana_sms = find(e, "ana", Channel::sms);
  REQUIRE(ana_sms != nullptr);
  CHECK(ana_sms->to == "+15550001");
  CHECK(ana_sms->subject.empty());
  CHECK(ana_sms->body == "Hi Ana: $15.00 in store credit and 50 points");
  const auto* gus = find(e, "gus", Channel::sms);
  REQUIRE(gus != nullptr);  // reversed only after the period
  CHECK(gus->body == "Hi Gus: $10.00 in store credit");
}

TEST_CASE("export thanks: control characters in a value cannot forge a header line") {
  const auto e = run(story().store_a, ExportKind::thanks);
  const auto* hal = find(e, "hal", Channel::email);
  REQUIRE(hal != nullptr);
  CHECK(hal->subject == "Thanks Hal");
  CHECK(hal->body.find('\r') == std::string::npos);
  CHECK(hal->body.find('\n') == std::string::npos);
  CHECK(hal->body.find("Dear Hal  Bcc: evil@example.com: 1 friends, our thanks") == 0);
  CHECK(report::neutralise_controls("a\tb\x7f"
                                    "c\xc2\x85"
                                    "d\xe2\x80\xa8"
                                    "e\xc3\xa9") == "a b c d e\xc3\xa9");
}

TEST_CASE("export thanks: a channel at a time, and a scope") {
  const auto e = run(story().store_a, ExportKind::thanks, "store-a", {Channel::sms});
  CHECK(keys_of(e) ==
        std::vector<std::string>{"store-a/ana/sms", "store-a/ben/sms", "store-a/gus/sms"});
  CHECK(e.skipped.no_consent == 4);  // cara, dan, hal, jon
  CHECK(e.skipped.withdrawn == 0);
  CHECK(e.scope == "store-a");
}

TEST_CASE("export thanks at head office: a reward attributed by code thanks the code's owner") {
  const auto all = run(story().head_office, ExportKind::thanks);
  CHECK(all.source == report::SourceKind::head_office);
  const auto* ivy = find(all, "ivy", Channel::email);
  REQUIRE(ivy != nullptr);
  CHECK(ivy->store_id == "store-b");  // where she earned it; opened with store A's key
  CHECK(ivy->to == "ivy@example.com");
  CHECK(ivy->body.find("1 friends, $7.00 in store credit, store-b") != std::string::npos);
  CHECK(all.messages.size() == 7);

  const auto b_only = run(story().head_office, ExportKind::thanks, "store-b");
  CHECK(keys_of(b_only) == std::vector<std::string>{"store-b/ivy/email"});
  // Store B's own file cannot tell whose code IVY-1 is: nobody to thank.
  CHECK(run(story().store_b, ExportKind::thanks).messages.empty());
}

TEST_CASE("export at head office: a key that never arrived means skipped, not an error") {
  TempDir dir;
  const auto copy = (dir.path() / "hq.db").string();
  std::filesystem::copy_file(story().head_office, copy);
  exec_sql(copy, "DELETE FROM pii_keys WHERE subject = 'ana'");
  const auto e = run(copy, ExportKind::thanks, "store-a");
  CHECK(find(e, "ana", Channel::email) == nullptr);
  CHECK(e.skipped.forgotten == 3);  // dan email, ana email and sms
  const auto leads = run(copy, ExportKind::leads, "store-a");
  CHECK(find(leads, "L-1", Channel::email) == nullptr);

  exec_sql(copy, "DROP TABLE pii_keys");  // a head office from before keys were uploaded
  const auto none = run(copy, ExportKind::thanks);
  CHECK(none.messages.empty());
  CHECK(none.skipped.forgotten == 8);  // every consent, ivy's too
}

TEST_CASE("export leads: one message per consented lead whose referrer can still be read") {
  const auto e = run(story().store_a, ExportKind::leads);
  CHECK(keys_of(e) == std::vector<std::string>{"store-a/L-1/email", "store-a/L-2/sms"});
  CHECK(e.skipped.no_consent == 1);  // L-4
  CHECK(e.skipped.forgotten == 1);   // L-3: dan was forgotten
  const auto* l1 = find(e, "L-1", Channel::email);
  REQUIRE(l1 != nullptr);
  CHECK(l1->to == "sam@example.com");
  CHECK(l1->subject == "Ana sent you");
  CHECK(l1->body == "Hi Sam (Sam Smith), L-1 at store-a");
  const auto* l2 = find(e, "L-2", Channel::sms);
  REQUIRE(l2 != nullptr);
  CHECK(l2->to == "+1 555 0102");
  CHECK(l2->body == "Hi Tom, a friend says hi");  // cara never consented: no name

  const auto email_only = run(story().store_a, ExportKind::leads, std::nullopt, {Channel::email});
  CHECK(keys_of(email_only) == std::vector<std::string>{"store-a/L-1/email"});
  CHECK(email_only.skipped.other_channel == 1);
}

TEST_CASE("export: an empty period is a valid, empty export") {
  const auto e = run(story().store_a, ExportKind::thanks, std::nullopt,
                     {Channel::email, Channel::sms}, "2025-06-01", "2025-07-01");
  CHECK(e.messages.empty());
  const json j = json::parse(report::render_export_json(e));
  CHECK(j["empty"] == true);
  CHECK(j["messages"].empty());
  CHECK(j["schema"] == "refpos/1");
  CHECK(report::render_export_csv(e) == "kind,channel,store_id,recipient_id,to,subject,body\r\n");
}

TEST_CASE("export: an unknown store is not_found, a missing template bad_request") {
  report::ExportRequest request;
  request.path = story().store_a;
  request.period = must(report::parse_period("2026-01-01", "2026-02-01", ""));
  request.templates = simple_templates(ExportKind::thanks);
  request.store_id = "store-404";
  auto r = report::build_export(request);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::not_found);
  CHECK(r.error().message.find("store-404") != std::string::npos);

  request.store_id.reset();
  request.templates.sms.reset();
  r = report::build_export(request);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::bad_request);
  CHECK(r.error().message.find("thanks.sms.txt") != std::string::npos);

  request.templates = simple_templates(ExportKind::thanks);
  request.locale = "xx-XX";
  r = report::build_export(request);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::bad_request);
}

TEST_CASE("export: CSV is RFC 4180 and JSON carries the messages and the counts") {
  const auto e = run(story().store_a, ExportKind::thanks);
  const auto csv = report::render_export_csv(e);
  CHECK(csv.starts_with("kind,channel,store_id,recipient_id,to,subject,body\r\n"));
  // A body with a comma is quoted; one without is not.
  CHECK(csv.find("\r\nthanks,email,store-a,ana,ana@example.com,Thanks Ana,\"Dear Ana Lopez: 2 "
                 "friends, $15.00 in store credit and 50 points, store-a "
                 "2026-01-01..2026-02-01\"\r\n") != std::string::npos);
  CHECK(csv.find("\r\nthanks,sms,store-a,ana,+15550001,,Hi Ana: $15.00 in store credit and 50 "
                 "points\r\n") != std::string::npos);
  report::Export quoted;
  quoted.messages.push_back({Channel::email, "s", "c\"1", "x@y", "S", "line 1\nsaid \"hi\", ok"});
  CHECK(report::render_export_csv(quoted) ==
        "kind,channel,store_id,recipient_id,to,subject,body\r\n"
        "thanks,email,s,\"c\"\"1\",x@y,S,\"line 1\nsaid \"\"hi\"\", ok\"\r\n");

  const json j = json::parse(report::render_export_json(e));
  CHECK(j["kind"] == "thanks");
  CHECK(j["empty"] == false);
  CHECK(j["scope"].is_null());
  CHECK(j["messages"].size() == 6);
  CHECK(j["messages"][0]["recipient_id"] == "ana");
  CHECK(j["messages"][1]["subject"].is_null());  // SMS
  CHECK(j["skipped"] == json{{"no_consent", 6},
                             {"withdrawn", 1},
                             {"forgotten", 1},
                             {"unreadable", 0},
                             {"other_channel", 0}});
}

TEST_CASE("templates: errors name the file, the line and the placeholder") {
  auto r = report::parse_template("thanks.email.txt", "Subject: Hi\n\nline 3\nHi {{frist_name}}",
                                  ExportKind::thanks, Channel::email);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::bad_request);
  CHECK(r.error().message.find("thanks.email.txt:4:") == 0);
  CHECK(r.error().message.find("{{frist_name}}") != std::string::npos);

  r = report::parse_template("lead.sms.txt", "Hi {{friend_name}", ExportKind::leads, Channel::sms);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("lead.sms.txt:1:") == 0);
  CHECK(r.error().message.find("not closed") != std::string::npos);

  r = report::parse_template("lead.sms.txt", "Hi {{friend_name\n}}", ExportKind::leads,
                             Channel::sms);
  REQUIRE_FALSE(r.ok());

  // A lead placeholder is unknown to a thanks template.
  r = report::parse_template("thanks.sms.txt", "{{lead_id}}", ExportKind::thanks, Channel::sms);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("{{lead_id}}") != std::string::npos);

  r = report::parse_template("lead.email.txt", "Hello\n\nbody", ExportKind::leads, Channel::email);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("lead.email.txt:1:") == 0);
  CHECK(r.error().message.find("Subject") != std::string::npos);

  r = report::parse_template("lead.email.txt", "Subject: x\nbody", ExportKind::leads,
                             Channel::email);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("lead.email.txt:2:") == 0);

  auto ok = report::parse_template("t", "Subject: {{ lead_id }}\r\n\r\nA\r\nB\r\n",
                                   ExportKind::leads, Channel::email);
  REQUIRE(ok.ok());
  CHECK(report::fill(ok->subject, {{"lead_id", "L\n1"}}) == "L 1");
  CHECK(report::fill(ok->body, {}) == "A\nB");
}

TEST_CASE("templates: the shipped ones load, and SMS fit 160 characters with typical values") {
  for (const auto kind : {ExportKind::thanks, ExportKind::leads}) {
    const auto set = must(
        report::load_templates(REFPOS_EXPORT_ASSETS_DIR, kind, {Channel::email, Channel::sms}));
    REQUIRE(set.email);
    REQUIRE(set.sms);
    CHECK_FALSE(set.email->subject.empty());
    const std::vector<std::pair<std::string, std::string>> typical = {
        {"first_name", "Maria"},
        {"name", "Maria Gonzalez"},
        {"friends", "2"},
        {"reward", "$10.00 in store credit and 500 points"},
        {"store_id", "store-001"},
        {"from", "2026-01-01"},
        {"to", "2026-02-01"},
        {"friend_first_name", "Alexander"},
        {"friend_name", "Alexander Kim"},
        {"referrer_first_name", "Maria"},
        {"lead_id", "lead-000123"}};
    const auto sms = report::fill(set.sms->body, typical);
    CHECK(sms.size() <= 160);
    CHECK(sms.find("Reply STOP to opt out") != std::string::npos);
  }
  auto missing =
      report::load_templates("/nonexistent-refpos-dir", ExportKind::thanks, {Channel::email});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("thanks.email.txt") != std::string::npos);
}
