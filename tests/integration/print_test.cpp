// Receipts and QR coupons through the real librefpos.so: the commit answer's
// coupon (text, link, module matrix, ESC/POS), and the render call's ESC/POS,
// PNG, SVG and text for 58 and 80 mm printers, native QR and raster. Every
// picture is decoded by the real zbarimg and must give back exactly the
// share link; ESC/POS bytes are read by the independent parser in
// tests/support/escpos_parser.
#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <fstream>

#include "escpos_parser.hpp"
#include "plugin.hpp"
#include "temp_dir.hpp"
#include "zbar.hpp"

using namespace refpos::test;

namespace {

struct Rendered {
  refpos_status status = REFPOS_E_INTERNAL;
  std::string bytes;
  std::string message;
};

Rendered render(StoreHandle& store, const json& request) {
  const std::string text = request.dump();
  char* out = nullptr;
  size_t len = 0;
  Rendered r;
  r.status = plugin_api().render(store.raw(), text.data(), text.size(), &out, &len);
  if (out != nullptr) r.bytes.assign(out, len);
  plugin_api().free_buffer(out);
  r.message = plugin_api().last_error(store.raw());
  return r;
}

std::string write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

std::string unbase64(const std::string& text) {
  std::string out(3 * text.size() / 4 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  REQUIRE(n >= 0);
  // EVP_DecodeBlock counts padding as decoded zero bytes.
  const std::size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

EscPosDocument parse(const std::string& bytes) {
  std::string error;
  auto doc = parse_escpos(bytes, error);
  INFO(error);
  REQUIRE(doc.has_value());
  return *doc;
}

struct PrintFixture {
  TempDir dir;
  json config;
  std::unique_ptr<StoreHandle> store;
  json answer;
  std::string link;

  explicit PrintFixture(const json& printer = json::object()) {
    config = default_config((dir.path() / "data").string());
    std::filesystem::create_directories(dir.path() / "data");
    if (!printer.empty()) config["printer"] = printer;
    store = std::make_unique<StoreHandle>(config);
    auto r = store->commit(cart("T-1", "alice", {5000}));
    REQUIRE(r.status == REFPOS_OK);
    answer = r.body;
    link = answer["issued_code"]["share_link"].get<std::string>();
  }
};

}  // namespace

TEST_CASE("print: the commit answer carries the coupon, its QR matrix and ESC/POS") {
  PrintFixture f;
  const json& coupon = f.answer["coupon"];
  REQUIRE(coupon.is_object());
  CHECK(coupon["code_text"] == f.answer["issued_code"]["code"]);
  CHECK(coupon["code_text"].get<std::string>().size() == 19);  // XXXX-XXXX-XXXX-XXXX
  CHECK(coupon["share_link"] == f.link);
  CHECK(coupon["friend_gets"] == "20% off (up to $50.00)");
  CHECK(coupon["referrer_gets"] == "$10.00");
  CHECK(coupon["message"] == "Give this to a friend: they get 20% off (up to $50.00), you get $10.00");

  // The module matrix, drawn by a host (here: into a PBM), scans.
  const json& qr = coupon["qr"];
  CHECK(qr["payload"] == f.link);
  CHECK(qr["ecc"] == "M");
  const int size = qr["size"].get<int>();
  CHECK(size == 17 + 4 * qr["version"].get<int>());
  REQUIRE(qr["rows"].size() == static_cast<std::size_t>(size));
  const int quiet = qr["quiet_zone"].get<int>();
  const int scale = 4;
  const int side = (size + 2 * quiet) * scale;
  std::string pbm = "P1\n" + std::to_string(side) + " " + std::to_string(side) + "\n";
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      const int mx = x / scale - quiet;
      const int my = y / scale - quiet;
      const bool dark = mx >= 0 && my >= 0 && mx < size && my < size &&
                        qr["rows"][static_cast<std::size_t>(my)].get<std::string>()[static_cast<std::size_t>(mx)] == '1';
      pbm += dark ? "1 " : "0 ";
    }
    pbm += "\n";
  }
  CHECK(zbar_decode(write_file(f.dir.path() / "matrix.pbm", pbm)) == f.link);

  // The ESC/POS coupon for the store's printer (80 mm, native QR by default).
  const json& print = f.answer["print"];
  CHECK(print["printer"]["paper"] == "80mm");
  CHECK(print["printer"]["qr"] == "native");
  const auto doc = parse(unbase64(print["coupon_escpos_base64"].get<std::string>()));
  REQUIRE(doc.qrs.size() == 1);
  CHECK(doc.qrs[0].payload == f.link);
  CHECK(doc.qrs[0].ecc == 'M');
  CHECK(doc.qrs[0].printed);
  CHECK(doc.cuts == 0);  // a coupon is spliced into the host's receipt
}

TEST_CASE("print: a retried commit returns the identical answer, presentation included") {
  PrintFixture f;
  auto again = f.store->commit(cart("T-1", "alice", {5000}));
  REQUIRE(again.status == REFPOS_OK);
  CHECK(again.body == f.answer);
  auto third = f.store->commit(cart("T-1", "alice", {5000}));
  CHECK(third.text == again.text);
}

TEST_CASE("print: a commit without a code has no coupon") {
  PrintFixture f;
  auto r = f.store->commit(cart("T-2", "", {5000}));  // anonymous: no code issued
  REQUIRE(r.status == REFPOS_OK);
  CHECK(r.body["coupon"].is_null());
  CHECK(r.body["print"].is_null());
  auto coupon = render(*f.store, {{"txn_id", "T-2"}, {"what", "coupon"}, {"format", "png"}});
  CHECK(coupon.status == REFPOS_E_NOT_FOUND);
  CHECK(coupon.message.find("no referral code was issued") != std::string::npos);
  auto receipt = render(*f.store, {{"txn_id", "T-2"}, {"what", "receipt"}, {"format", "text"}});
  CHECK(receipt.status == REFPOS_OK);
  CHECK(receipt.bytes.find("GIVE A FRIEND") == std::string::npos);
}

TEST_CASE("print: every picture and raster of both widths and QR modes scans as the link") {
  for (const int mm : {58, 80}) {
    for (const std::string mode : {"native", "raster"}) {
      CAPTURE(mm);
      CAPTURE(mode);
      PrintFixture f({{"paper_mm", mm}, {"qr", mode}});
      const int width = mm == 58 ? 384 : 576;
      const json host = json::array({"Coffee beans 1kg           12.00", "TOTAL 12.00"});

      auto png = render(*f.store, {{"txn_id", "T-1"}, {"what", "receipt"}, {"format", "png"},
                                   {"host_lines", host}});
      REQUIRE(png.status == REFPOS_OK);
      REQUIRE(png.bytes.size() > 24);
      CHECK(png.bytes.substr(1, 3) == "PNG");
      // IHDR width (big-endian at offset 16): 2 pixels per printer dot.
      const auto u8 = [&](std::size_t i) { return static_cast<unsigned char>(png.bytes[i]); };
      CHECK((u8(16) << 24 | u8(17) << 16 | u8(18) << 8 | u8(19)) == 2 * width);
      const std::string png_name = "receipt-" + std::to_string(mm) + mode + ".png";
      CHECK(zbar_decode(write_file(f.dir.path() / png_name, png.bytes)) == f.link);

      auto coupon = render(*f.store, {{"txn_id", "T-1"}, {"what", "coupon"}, {"format", "png"}});
      REQUIRE(coupon.status == REFPOS_OK);
      CHECK(zbar_decode(write_file(f.dir.path() / "coupon.png", coupon.bytes)) == f.link);

      auto escpos = render(*f.store, {{"txn_id", "T-1"}, {"what", "receipt"},
                                      {"format", "escpos"}, {"host_lines", host}});
      REQUIRE(escpos.status == REFPOS_OK);
      const auto doc = parse(escpos.bytes);
      CHECK(doc.initialized);
      CHECK(doc.cuts == 1);
      bool host_line_printed = false;
      for (const auto& l : doc.lines) {
        CHECK(static_cast<int>(l.size()) <= width / 12);
        host_line_printed = host_line_printed || l.find("Coffee beans 1kg") != std::string::npos;
      }
      CHECK(host_line_printed);
      if (mode == "native") {
        REQUIRE(doc.qrs.size() == 1);
        CHECK(doc.qrs[0].payload == f.link);
        CHECK(doc.qrs[0].module_dots >= 3);
      } else {
        CHECK(doc.qrs.empty());
        // The rasters are the logo and the QR: the QR one scans.
        REQUIRE(doc.rasters.size() == 2);
        for (const auto& r : doc.rasters) CHECK(r.width_dots <= width);
        CHECK(zbar_decode(write_file(f.dir.path() / "raster.pbm", doc.rasters[1].to_pbm())) ==
              f.link);
      }

      auto text = render(*f.store, {{"txn_id", "T-1"}, {"what", "receipt"}, {"format", "text"}});
      REQUIRE(text.status == REFPOS_OK);
      CHECK(text.bytes.find(f.answer["coupon"]["code_text"].get<std::string>()) !=
            std::string::npos);

      // A reprint is the same bytes.
      auto again = render(*f.store, {{"txn_id", "T-1"}, {"what", "receipt"},
                                     {"format", "escpos"}, {"host_lines", host}});
      CHECK(again.bytes == escpos.bytes);
    }
  }
}

TEST_CASE("print: the coupon as SVG is a standalone picture of the same symbol") {
  PrintFixture f;
  auto svg = render(*f.store, {{"txn_id", "T-1"}, {"what", "coupon"}, {"format", "svg"}});
  REQUIRE(svg.status == REFPOS_OK);
  CHECK(svg.bytes.rfind("<?xml", 0) == 0);
  CHECK(svg.bytes.find("<svg") != std::string::npos);
  CHECK(svg.bytes.find("</svg>") != std::string::npos);
  CHECK(svg.bytes.find(f.link) != std::string::npos);  // the <title>
}

TEST_CASE("print: bad render requests are refused and change nothing") {
  PrintFixture f;
  const auto before = snapshot_of(f.config["data_dir"].get<std::string>());
  const auto status_of = [&](const json& request) { return render(*f.store, request).status; };
  CHECK(status_of({{"txn_id", "T-404"}, {"what", "receipt"}, {"format", "png"}}) ==
        REFPOS_E_NOT_FOUND);
  CHECK(status_of({{"txn_id", "T-1"}, {"what", "flyer"}, {"format", "png"}}) ==
        REFPOS_E_BAD_REQUEST);
  CHECK(status_of({{"txn_id", "T-1"}, {"what", "receipt"}, {"format", "pdf"}}) ==
        REFPOS_E_BAD_REQUEST);
  CHECK(status_of({{"txn_id", "T-1"}, {"what", "receipt"}, {"format", "svg"}}) ==
        REFPOS_E_BAD_REQUEST);
  CHECK(status_of({{"txn_id", "T-1"}, {"what", "receipt"}, {"format", "text"},
                   {"host_lines", {1, 2}}}) == REFPOS_E_BAD_REQUEST);
  CHECK(status_of({{"txn_id", "T-1"}, {"what", "receipt"}, {"format", "text"},
                   {"host_lines", {std::string(401, 'x')}}}) == REFPOS_E_BAD_REQUEST);
  // NULL out_len: the length of binary output has nowhere to go.
  const std::string request = R"({"txn_id":"T-1","what":"receipt","format":"png"})";
  char* out = nullptr;
  CHECK(plugin_api().render(f.store->raw(), request.data(), request.size(), &out, nullptr) ==
        REFPOS_E_INVALID_ARGUMENT);
  CHECK(out == nullptr);
  CHECK(snapshot_of(f.config["data_dir"].get<std::string>()) == before);
}

TEST_CASE("print: text outside the code page is transliterated, per page") {
  TempDir dir;
  auto config = default_config(dir.str());
  config["currency"] = "EUR";
  config["locale"] = "de-DE";
  config["store_name"] = "Bäckerei Müller";
  config["rules"]["referee"]["cap_minor"] = 5000;
  for (const std::string page : {"cp437", "cp858", "cp1252"}) {
    CAPTURE(page);
    TempDir data;
    config["data_dir"] = data.str();
    config["printer"] = {{"code_page", page}};
    StoreHandle store(config);
    auto request = cart("T-1", "alice", {5000});
    request["currency"] = "EUR";
    auto r = store.commit(request);
    REQUIRE(r.status == REFPOS_OK);
    CHECK(r.body["coupon"]["referrer_gets"] == "10,00 €");
    auto escpos = render(store, {{"txn_id", "T-1"}, {"what", "receipt"}, {"format", "escpos"}});
    REQUIRE(escpos.status == REFPOS_OK);
    const auto doc = parse(escpos.bytes);
    std::string all;
    for (const auto& l : doc.lines) all += l + "\n";
    if (page == "cp437") {
      CHECK(doc.code_page == 0);
      CHECK(all.find("10,00 EUR") != std::string::npos);
      CHECK(all.find("B\x84" "ckerei M\x81ller") != std::string::npos);  // ä ü in CP437
    } else if (page == "cp858") {
      CHECK(doc.code_page == 19);
      CHECK(all.find("10,00 \xD5") != std::string::npos);
    } else {
      CHECK(doc.code_page == 16);
      CHECK(all.find("10,00 \x80") != std::string::npos);
      CHECK(all.find("B\xE4" "ckerei M\xFCller") != std::string::npos);
    }
  }
}

TEST_CASE("print: printer and template mistakes are refused at open, naming the field") {
  TempDir dir;
  const auto open_error = [&](const json& config) {
    char* error = nullptr;
    refpos_store* handle = nullptr;
    const std::string text = config.dump();
    const auto status = plugin_api().open(text.data(), text.size(), &handle, &error);
    std::string message = error != nullptr ? error : "";
    plugin_api().free_buffer(error);
    plugin_api().close(handle);
    CHECK(status == REFPOS_E_CONFIG);
    return message;
  };
  auto config = default_config(dir.str());
  config["printer"] = {{"paper_mm", 76}};
  CHECK(open_error(config).find("printer.paper_mm") != std::string::npos);
  config["printer"] = {{"code_page", "utf8"}};
  CHECK(open_error(config).find("printer.code_page") != std::string::npos);
  config["printer"] = {{"qr_ecc", "H"}};
  config["share_link_template"] = "https://example.com/" + std::string(150, 'r') + "/{code}";
  const auto too_long = open_error(config);
  CHECK(too_long.find("share_link_template") != std::string::npos);
  CHECK(too_long.find("error correction H") != std::string::npos);
  config = default_config(dir.str());
  config["locale"] = "tlh-KL";
  CHECK(open_error(config).find("locale") != std::string::npos);
  config = default_config(dir.str());
  config["receipt_template"] = (dir.path() / "missing.json").string();
  CHECK(open_error(config).find("cannot read") != std::string::npos);
  config["receipt_template"] = dir.str();  // a folder: never read, never blocks
  CHECK(open_error(config).find("not a regular file") != std::string::npos);
  write_file(dir.path() / "bad.json",
             R"({"schema":"refpos.receipt/1","footer":[{"text":"Bye {customer_name}"}]})");
  config["receipt_template"] = (dir.path() / "bad.json").string();
  CHECK(open_error(config).find("{customer_name}") != std::string::npos);
  // Nothing was created for a store that did not open.
  CHECK_FALSE(std::filesystem::exists(dir.path() / "refpos.db"));
}

TEST_CASE("print: a store's own template and logo are used") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "data");
  write_file(dir.path() / "logo.pbm", "P1\n8 2\n1 1 1 1 1 1 1 1\n1 0 0 0 0 0 0 1\n");
  write_file(dir.path() / "mine.json", R"({
    "schema": "refpos.receipt/1", "logo": "logo.pbm",
    "header": [{"text": "*** {store_name} ***", "align": "center"}],
    "coupon": [{"text": "Bring a friend: {friend_gets}"}, {"qr": true}, {"text": "{code}"}],
    "footer": [{"text": "See you soon", "align": "right"}]})");
  auto config = default_config((dir.path() / "data").string());
  config["receipt_template"] = (dir.path() / "mine.json").string();
  config["store_name"] = "Corner Shop";
  StoreHandle store(config);
  auto r = store.commit(cart("T-1", "alice", {5000}));
  REQUIRE(r.status == REFPOS_OK);
  auto text = render(store, {{"txn_id", "T-1"}, {"what", "receipt"}, {"format", "text"}});
  REQUIRE(text.status == REFPOS_OK);
  CHECK(text.bytes.find("*** Corner Shop ***") != std::string::npos);
  CHECK(text.bytes.find("Bring a friend: 20% off (up to $50.00)") != std::string::npos);
  CHECK(text.bytes.find("See you soon\n") != std::string::npos);
  auto escpos = render(store, {{"txn_id", "T-1"}, {"what", "receipt"}, {"format", "escpos"}});
  const auto doc = parse(escpos.bytes);
  REQUIRE_FALSE(doc.rasters.empty());
  CHECK(doc.rasters[0].height_dots == 2);  // the store's logo
}
