// Follow-up exports (docs/reports.md, "Follow-up exports"): the messages a
// referral program sends after the till, rendered from text templates, for
// contacts that consented only, as CSV or JSON for a mailer or SMS gateway.
//
//   thanks  one message per (referrer, channel) to each referrer who earned a
//           referrer reward in the period that still stands, on each channel
//           their latest consent event says yes to;
//   leads   one message per lead captured in the period (a friend's contact
//           given at the till, with consent), on the channel of its contact.
//
// Contact data exists in the log only sealed with a per-person key
// (plugin/src/store/pii.hpp); the keys are read from the same file
// (`pii_keys`). A person without a key was forgotten (or their key never
// reached head office): they are skipped and counted, never an error.
// Errors and counts name ids only, never an address or a name.
//
// The same engine reads a store's refpos.db and a head office's file
// (event_source.hpp), read-only, in one read transaction; a head office on
// PostgreSQL feeds ExportFold (below) from its own storage instead
// (tools/hq/storage_reports.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "report.hpp"
#include "store/pii.hpp"

namespace refpos::report {

// Largest template file read.
inline constexpr std::size_t kTemplateBytesMax = 64 * 1024;

enum class ExportKind { thanks, leads };
enum class Channel { email, sms };

std::string_view name_of(ExportKind kind);  // "thanks", "leads"
std::string_view name_of(Channel channel);  // "email", "sms"
// "thanks"/"leads", "email"/"sms"; nullopt for anything else.
std::optional<ExportKind> parse_export_kind(std::string_view text);
std::optional<Channel> parse_channel(std::string_view text);

// ---- templates ---------------------------------------------------------------

// A template parsed once: literal text and placeholders, in order.
struct TemplatePart {
  bool placeholder = false;
  std::string text;  // the literal, or the placeholder's name
};

struct MessageTemplate {
  std::string file;                   // for messages: "thanks.email.txt"
  std::vector<TemplatePart> subject;  // e-mail only; empty for SMS
  std::vector<TemplatePart> body;
};

struct TemplateSet {
  std::optional<MessageTemplate> email;
  std::optional<MessageTemplate> sms;
};

// "thanks.email.txt", "lead.sms.txt": the file a kind and channel read.
std::string template_file_name(ExportKind kind, Channel channel);

// The placeholders a kind's templates may use.
const std::vector<std::string_view>& placeholders_of(ExportKind kind);

// Parses one template. An e-mail template is "Subject: <text>", an empty
// line, then the body; an SMS template is all body. CRLF is read as LF and
// trailing line ends are dropped. Fails with ErrorKind::bad_request, naming
// `file_name` and the line, for: a placeholder the kind does not know, a
// "{{" not closed by "}}" on its line, an e-mail template whose first line
// is not a Subject line or whose second line is not empty, or a text over
// kTemplateBytesMax.
Result<MessageTemplate> parse_template(std::string_view file_name, std::string_view text,
                                       ExportKind kind, Channel channel);

// Reads and parses `<dir>/<template_file_name>` for each channel.
// ErrorKind::bad_request for a missing, unreadable or invalid file.
Result<TemplateSet> load_templates(const std::string& dir, ExportKind kind,
                                   const std::vector<Channel>& channels);

// The template with every placeholder replaced by its value (a missing
// value is empty). Values are inserted verbatim except that control
// characters (C0, DEL, C1, U+2028, U+2029) become spaces, so that a value
// never adds a line to a header or a message.
std::string fill(const std::vector<TemplatePart>& parts,
                 const std::vector<std::pair<std::string, std::string>>& values);
// `text` with control characters replaced by spaces, as fill() inserts it.
std::string neutralise_controls(std::string_view text);

// ---- the export --------------------------------------------------------------

struct ExportRequest {
  std::string path;  // a store's refpos.db or a head office file
  ExportKind kind = ExportKind::thanks;
  Period period;
  std::optional<std::string> store_id;  // nullopt: every store in the file
  std::vector<Channel> channels = {Channel::email, Channel::sms};
  TemplateSet templates;         // one for each channel in `channels`
  std::string locale = "en-US";  // money in {{reward}} (plugin/src/money/format.hpp)
  ProgressFn progress;           // may be empty
};

struct ExportMessage {
  Channel channel = Channel::email;
  std::string store_id;
  std::string recipient_id;  // thanks: the customer_id; leads: the lead_id
  std::string to;            // the e-mail address or phone number
  std::string subject;       // "" for SMS
  std::string body;
};

// Would-be messages left out, and why (docs/reports.md).
struct SkippedCounts {
  std::int64_t no_consent = 0;  // never consented on the channel (thanks); a lead without consent
  std::int64_t withdrawn = 0;   // latest consent event for the channel withdraws it (thanks)
  std::int64_t forgotten = 0;   // forgotten, or no key in the file
  std::int64_t unreadable = 0;  // sealed data that does not open with the key on file
  std::int64_t other_channel = 0;  // leads whose contact is on a channel not asked for
};

struct Export {
  ExportKind kind = ExportKind::thanks;
  SourceKind source = SourceKind::store;
  std::string scope;  // the store id, or "" for every store
  Period period;
  std::vector<Channel> channels;
  std::vector<ExportMessage> messages;  // by store_id, recipient_id, channel
  SkippedCounts skipped;
};

// Errors: storage (cannot open or read the file, a body that is not JSON),
// bad_request (not a refpos file, no template for a channel, an unknown
// locale), not_found (a store id the file does not hold).
Result<Export> build_export(const ExportRequest& request);

// ---- folding events read elsewhere ---------------------------------------------

// The request as build_export runs it: channels sorted and without repeats,
// a template for each, a known locale. bad_request otherwise.
Result<ExportRequest> checked_export_request(const ExportRequest& request);

// A person's sealing key as the source holds it: (store_id, subject) at
// head office, (any, subject) in a store's file. nullopt when there is none
// (forgotten, never uploaded) or it is not a key's length; an error only
// when the source cannot be read.
using KeyLookup = std::function<Result<std::optional<store::PiiKey>>(const std::string& store_id,
                                                                     const std::string& subject)>;

// The fold build_export runs, for a caller that reads the events and the
// keys itself (a head office on PostgreSQL), with build_export's answers.
class ExportFold {
 public:
  // `request`: checked_export_request's; it must outlive the fold.
  explicit ExportFold(const ExportRequest& request);
  ~ExportFold();
  ExportFold(const ExportFold&) = delete;
  ExportFold& operator=(const ExportFold&) = delete;

  // Every event of EVERY store whatever its time (consent is the latest
  // state), each store's in seq order. Fails (ErrorKind::storage) on a body
  // that is not a JSON object.
  Status add(const EventRow& event);
  // The messages and the skipped counts into `out`, each person's key
  // looked up once (and wiped from memory at the end); call once.
  Status finish(const KeyLookup& keys, Export& out);

 private:
  class Facts;
  std::unique_ptr<Facts> facts_;
};

// RFC 4180 (CRLF record ends), header kind,channel,store_id,recipient_id,to,subject,body.
std::string render_export_csv(const Export& exported);
// {"schema":"refpos/1","kind":...,"messages":[...],"skipped":{...},...}
std::string render_export_json(const Export& exported);

}  // namespace refpos::report
