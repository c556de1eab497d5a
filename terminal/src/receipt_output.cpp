// receipt_output: see receipt_output.hpp.
#include "receipt_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ostream>
#include <system_error>
#include <utility>

#include "receipt.hpp"

namespace refpos::terminal {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxFileStemBytes = 64;  // a txn_id's limit (docs/api.md)
// The most host_lines render takes (the plugin refuses more with
// BAD_REQUEST). A cart too long for it prints its first lines and a note;
// the text receipt keeps them all.
constexpr std::size_t kMaxRenderHostLines = 200;

std::string errno_text(int error) { return std::system_category().message(error); }

// A txn id as it appears in messages: JSON-quoted, so that control
// characters or spaces in a refused id are visible.
std::string quoted_id(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

bool is_file_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) {
      continue;
    }
    if (written <= 0) {
      return errno_text(written < 0 ? errno : EIO);
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return "";
}

// The rename is durable only once the folder's entry is on disk too.
std::string sync_folder(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return errno_text(errno);
  }
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  return synced == 0 ? "" : errno_text(error);
}

std::string render_request(const std::string& txn_id, const std::vector<std::string>& host_lines,
                           std::string_view what, std::string_view format) {
  return json{{"txn_id", txn_id}, {"what", what}, {"format", format}, {"host_lines", host_lines}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::optional<std::string> receipt_file_stem(std::string_view txn_id) {
  if (txn_id.empty() || txn_id.size() > kMaxFileStemBytes || txn_id.front() == '.') {
    return std::nullopt;
  }
  for (const char c : txn_id) {
    if (!is_file_name_char(c)) {
      return std::nullopt;
    }
  }
  return std::string(txn_id);
}

std::string write_file_atomically(const std::filesystem::path& dir, const std::string& name,
                                  std::string_view bytes) {
  // Hidden and unique to this process: another till writing to the same
  // folder never shares it, and a leftover from a crash is never mistaken
  // for a receipt.
  const std::filesystem::path partial =
      dir / ("." + name + ".partial-" + std::to_string(::getpid()));
  const std::filesystem::path target = dir / name;
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return "cannot create " + partial.string() + ": " + errno_text(errno);
  }
  std::string problem = write_all(fd, bytes);
  if (problem.empty() && ::fsync(fd) != 0) {
    problem = errno_text(errno);
  }
  if (::close(fd) != 0 && problem.empty()) {
    problem = errno_text(errno);
  }
  if (problem.empty() && ::rename(partial.c_str(), target.c_str()) != 0) {
    problem = errno_text(errno);
  }
  if (!problem.empty()) {
    ::unlink(partial.c_str());
    return "cannot write " + target.string() + ": " + problem;
  }
  if (std::string folder_problem = sync_folder(dir); !folder_problem.empty()) {
    return "cannot sync " + dir.string() + " after writing " + name + ": " + folder_problem;
  }
  return "";
}

ReceiptOutput::ReceiptOutput(ReceiptOutputOptions options, Store& store, Console& console)
    : options_(std::move(options)), store_(store), console_(console) {
  if (!store_.can_render() && (options_.receipts_dir || options_.printer)) {
    console_.error(
        "the plugin has no render (ABI 1.0): --receipts writes only <txn_id>.txt and --printer "
        "gets the text receipt without the QR coupon");
  }
}

void ReceiptOutput::remember(const std::string& txn_id, Sale sale) {
  auto [entry, inserted] = sales_.insert_or_assign(txn_id, std::move(sale));
  if (!inserted) {
    return;  // a retried commit: same sale, same place in the order
  }
  sales_order_.push_back(entry->first);
  if (sales_order_.size() > kMaxRememberedSales) {
    sales_.erase(sales_order_.front());
    sales_order_.pop_front();
  }
}

bool ReceiptOutput::deliver(const json& request, const json& answer) {
  Sale sale;
  sale.text = format_receipt(request, answer);
  sale.host_lines = host_receipt_lines(request, answer);
  if (sale.host_lines.size() > kMaxRenderHostLines) {
    const std::size_t left_out = sale.host_lines.size() - (kMaxRenderHostLines - 1);
    sale.host_lines.resize(kMaxRenderHostLines - 1);
    sale.host_lines.push_back("(" + std::to_string(left_out) + " more lines on the till's copy)");
  }
  const auto issued = answer.find("issued_code");
  sale.has_coupon = issued != answer.end() && issued->is_object();
  console_.out() << sale.text;

  const auto txn = answer.find("txn_id");
  const std::string txn_id = txn != answer.end() && txn->is_string() ? txn->get<std::string>() : "";
  const bool files_ok = produce(txn_id, sale);
  remember(txn_id, std::move(sale));
  return files_ok;
}

ReprintResult ReceiptOutput::reprint(const std::string& txn_id) {
  ReprintResult result;
  const auto known = sales_.find(txn_id);
  Sale sale;
  if (known != sales_.end()) {
    sale = known->second;
  } else {
    // Not sold in this session: the plugin still has the answer, but the
    // cart lines were the till's own.
    sale.host_lines = {"Reprint of txn " + txn_id};
  }
  if (!sale.text.empty()) {
    console_.out() << sale.text;
    result.reply.status = REFPOS_OK;
  } else {
    result.reply = store_.render(render_request(txn_id, sale.host_lines, "receipt", "text"));
    if (!result.reply.ok()) {
      return result;
    }
    console_.out() << result.reply.answer;
    if (!result.reply.answer.empty() && result.reply.answer.back() != '\n') {
      console_.out() << '\n';
    }
    result.reply.answer.clear();  // stdout had it; the caller gets no document
  }
  result.files_written = produce(txn_id, sale);
  return result;
}

bool ReceiptOutput::produce(const std::string& txn_id, const Sale& sale) {
  std::optional<std::string> escpos;
  if (store_.can_render() && (options_.receipts_dir || options_.printer)) {
    escpos = render(txn_id, sale, "receipt", "escpos");
  }
  const bool files_ok = !options_.receipts_dir || write_files(txn_id, sale, escpos);
  if (options_.printer) {
    send_to_printer(txn_id, sale, escpos);
  }
  return files_ok;
}

std::optional<std::string> ReceiptOutput::render(const std::string& txn_id, const Sale& sale,
                                                 std::string_view what, std::string_view format) {
  const Reply reply = store_.render(render_request(txn_id, sale.host_lines, what, format));
  if (reply.ok()) {
    return reply.answer;
  }
  console_.error("cannot render the " + std::string(what) + " of txn " + quoted_id(txn_id) +
                 " as " + std::string(format) + ": " + status_name(reply.status) + ": " +
                 reply.message);
  return std::nullopt;
}

bool ReceiptOutput::write_files(const std::string& txn_id, const Sale& sale,
                                const std::optional<std::string>& escpos) {
  const std::optional<std::string> stem = receipt_file_stem(txn_id);
  if (!stem) {
    console_.error("txn id " + quoted_id(txn_id) +
                   " cannot name a receipt file (1 to 64 of A-Z a-z 0-9 . _ -, not starting "
                   "with '.'); its receipt files are not written");
    return false;
  }
  const std::filesystem::path& dir = *options_.receipts_dir;
  bool ok = true;
  const auto write_in = [&](const std::filesystem::path& folder, const std::string& name,
                            const std::optional<std::string>& bytes) {
    if (!bytes) {
      ok = false;  // render said why
      return;
    }
    if (std::string problem = write_file_atomically(folder, name, *bytes); !problem.empty()) {
      console_.error(problem);
      ok = false;
    }
  };
  const auto write = [&](const std::string& name, const std::optional<std::string>& bytes) {
    write_in(dir, name, bytes);
  };
  if (!sale.text.empty()) {
    write(*stem + ".txt", sale.text);
  }
  if (!store_.can_render()) {
    return ok;
  }
  write(*stem + ".escpos", escpos);
  write(*stem + ".png", render(txn_id, sale, "receipt", "png"));
  if (sale.has_coupon) {
    // In a folder of their own: any suffix could also be a transaction id
    // ("X-coupon"), a folder cannot.
    const std::filesystem::path coupons = dir / "coupons";
    std::error_code ec;
    std::filesystem::create_directories(coupons, ec);
    if (ec) {
      console_.error("cannot create " + coupons.string() + ": " + ec.message());
      return false;
    }
    write_in(coupons, *stem + ".png", render(txn_id, sale, "coupon", "png"));
    write_in(coupons, *stem + ".svg", render(txn_id, sale, "coupon", "svg"));
  }
  return ok;
}

void ReceiptOutput::send_to_printer(const std::string& txn_id, const Sale& sale,
                                    const std::optional<std::string>& escpos) {
  const PrinterTarget& printer = *options_.printer;
  std::string problem;
  if (escpos) {
    problem = print_bytes(printer, *escpos, options_.printer_timeout);
  } else if (!store_.can_render() && !sale.text.empty()) {
    // An ESC/POS printer prints plain lines as they come; feed the paper
    // past the tear bar.
    problem = print_bytes(printer, sale.text + "\n\n\n\n", options_.printer_timeout);
  } else {
    problem = "nothing to print (the receipt could not be rendered)";
  }
  if (problem.empty()) {
    return;
  }
  ++print_failures_;
  console_.error("printer " + printer.text + ": the receipt of txn " + quoted_id(txn_id) +
                 " was not printed: " + problem +
                 ". The sale is recorded; reprint it with "
                 "\"reprint " +
                 txn_id + "\" once the printer is back");
}

}  // namespace refpos::terminal
