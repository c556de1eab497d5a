// The C boundary, and nothing else: turns C calls into Checkout calls and
// answers into plugin-owned buffers. Every exported function catches
// everything (no exception crosses into the host), checks its pointers, and
// serialises calls on one handle with the handle's mutex.
//
// Handles are tracked in a registry so that a closed or foreign pointer is
// answered with REFPOS_E_BAD_HANDLE instead of being dereferenced, as far as
// that can be told in C (a freed address reused by a new handle cannot).
#include <openssl/crypto.h>
#include <sqlite3.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "checkout/checkout.hpp"
#include "refpos/refpos.h"
#include "sync/sync.hpp"
#include "wire/answers.hpp"
#include "wire/config.hpp"

struct refpos_store {
  std::mutex mutex;
  // One sync at a time per handle; held across the network, unlike `mutex`.
  std::mutex sync_mutex;
  std::unique_ptr<refpos::checkout::Checkout> checkout;
  // The last message per calling thread (refpos_last_error's contract).
  std::mutex errors_mutex;
  std::map<std::thread::id, std::string> last_errors;
};

namespace {

using refpos::ErrorKind;

std::mutex g_registry_mutex;
std::set<const refpos_store*>& registry() {
  static std::set<const refpos_store*> handles;
  return handles;
}

bool is_live(const refpos_store* store) {
  std::lock_guard lock(g_registry_mutex);
  return registry().count(store) != 0;
}

// A NUL-terminated copy the host releases with free_buffer().
char* to_buffer(std::string_view s) {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

refpos_status as_status(ErrorKind kind) {
  return static_cast<refpos_status>(refpos::wire::status_number(kind));
}

void set_last_error(refpos_store* store, std::string message) {
  std::lock_guard lock(store->errors_mutex);
  store->last_errors[std::this_thread::get_id()] = std::move(message);
}

// A bug surfaced as an exception: tell the host in both places it looks.
void report_internal(refpos_store* store, char** answer, const char* what) noexcept {
  try {
    const auto error = refpos::make_error(ErrorKind::internal, "", std::string("internal error: ") + what);
    set_last_error(store, error.describe());
    if (answer != nullptr && *answer == nullptr) {
      *answer = to_buffer(refpos::wire::error_document(error).dump());
    }
  } catch (...) {
  }
}

// Runs one operation on a live handle: checks arguments, serialises, hands
// the answer to the host, records the message. Never throws.
template <typename Operation>
refpos_status call(refpos_store* store, const char* request, size_t request_len, char** answer,
                   Operation operation, size_t* answer_len = nullptr) noexcept {
  try {
    if (answer != nullptr) *answer = nullptr;
    if (answer_len != nullptr) *answer_len = 0;
    if (store == nullptr || !is_live(store)) return REFPOS_E_BAD_HANDLE;
    if (answer == nullptr || (request == nullptr && request_len != 0)) {
      set_last_error(store, "invalid argument: answer must not be NULL, nor request with a length");
      return REFPOS_E_INVALID_ARGUMENT;
    }
    const std::string_view text(request != nullptr ? request : "", request_len);
    refpos::checkout::Answer result;
    {
      std::lock_guard lock(store->mutex);
      result = operation(*store->checkout, text);
    }
    set_last_error(store, result.error ? result.error->describe() : std::string());
    *answer = to_buffer(result.json);
    if (*answer == nullptr) return REFPOS_E_INTERNAL;
    if (answer_len != nullptr) *answer_len = result.json.size();
    return result.error ? as_status(result.error->kind) : REFPOS_OK;
  } catch (const std::bad_alloc&) {
    return REFPOS_E_INTERNAL;
  } catch (const std::exception& e) {
    report_internal(store, answer, e.what());
    if (answer_len != nullptr && answer != nullptr && *answer != nullptr) {
      *answer_len = std::strlen(*answer);
    }
    return REFPOS_E_INTERNAL;
  } catch (...) {
    report_internal(store, answer, "unknown exception");
    if (answer_len != nullptr && answer != nullptr && *answer != nullptr) {
      *answer_len = std::strlen(*answer);
    }
    return REFPOS_E_INTERNAL;
  }
}

const char* version_json() noexcept {
  static const std::string doc = [] {
    try {
      return nlohmann::json{{"plugin", REFPOS_VERSION},
                            {"abi", std::to_string(REFPOS_ABI_VERSION_MAJOR) + "." +
                                        std::to_string(REFPOS_ABI_VERSION_MINOR)},
                            {"schema", refpos::wire::kAnswerSchema},
                            {"sqlite", sqlite3_libversion()},
                            {"openssl", OpenSSL_version(OPENSSL_VERSION)}}
          .dump();
    } catch (...) {
      return std::string("{}");
    }
  }();
  return doc.c_str();
}

refpos_status open_store(const char* config_json, size_t config_len, refpos_store** out_store,
                         char** out_error) noexcept {
  if (out_error != nullptr) *out_error = nullptr;
  if (out_store == nullptr) return REFPOS_E_INVALID_ARGUMENT;
  *out_store = nullptr;
  if (config_json == nullptr && config_len != 0) return REFPOS_E_INVALID_ARGUMENT;
  auto report = [out_error](const refpos::Error& e) {
    if (out_error != nullptr) *out_error = to_buffer(e.describe());
    return as_status(e.kind);
  };
  try {
    auto config = refpos::wire::parse_store_config(
        std::string_view(config_json != nullptr ? config_json : "", config_len));
    if (!config) return report(config.error());
    auto checkout = refpos::checkout::Checkout::open(std::move(*config));
    if (!checkout) return report(checkout.error());
    auto store = std::make_unique<refpos_store>();
    store->checkout = std::move(*checkout);
    {
      std::lock_guard lock(g_registry_mutex);
      registry().insert(store.get());
    }
    *out_store = store.release();
    return REFPOS_OK;
  } catch (const std::exception& e) {
    return report(refpos::make_error(ErrorKind::internal, "", std::string("internal error: ") + e.what()));
  } catch (...) {
    return REFPOS_E_INTERNAL;
  }
}

refpos_status close_store(refpos_store* store) noexcept {
  if (store == nullptr) return REFPOS_OK;
  {
    std::lock_guard lock(g_registry_mutex);
    if (registry().erase(store) == 0) return REFPOS_E_BAD_HANDLE;
  }
  try {
    delete store;
  } catch (...) {
    return REFPOS_E_INTERNAL;
  }
  return REFPOS_OK;
}

const char* last_error(const refpos_store* store) noexcept {
  if (store == nullptr) return "invalid argument: NULL handle";
  if (!is_live(store)) return "invalid handle: closed or not opened by this plugin";
  auto* s = const_cast<refpos_store*>(store);
  try {
    std::lock_guard lock(s->errors_mutex);
    auto it = s->last_errors.find(std::this_thread::get_id());
    return it == s->last_errors.end() ? "" : it->second.c_str();
  } catch (...) {
    return "";
  }
}

refpos_status preview(refpos_store* s, const char* r, size_t n, char** a) noexcept {
  return call(s, r, n, a, [](auto& c, std::string_view t) { return c.preview(t); });
}
refpos_status commit(refpos_store* s, const char* r, size_t n, char** a) noexcept {
  return call(s, r, n, a, [](auto& c, std::string_view t) { return c.commit(t); });
}
refpos_status reverse(refpos_store* s, const char* r, size_t n, char** a) noexcept {
  return call(s, r, n, a, [](auto& c, std::string_view t) { return c.reverse(t); });
}
refpos_status issue_code(refpos_store* s, const char* r, size_t n, char** a) noexcept {
  return call(s, r, n, a, [](auto& c, std::string_view t) { return c.issue_code(t); });
}
refpos_status customer(refpos_store* s, const char* r, size_t n, char** a) noexcept {
  return call(s, r, n, a, [](auto& c, std::string_view t) { return c.customer(t); });
}

refpos_status render(refpos_store* s, const char* r, size_t n, char** out,
                     size_t* out_len) noexcept {
  if (out_len == nullptr) {
    if (out != nullptr) *out = nullptr;
    if (s != nullptr && is_live(s)) {
      try {
        set_last_error(s, "invalid argument: out_len must not be NULL (rendered bytes are binary)");
      } catch (...) {
      }
    }
    return s == nullptr || !is_live(s) ? REFPOS_E_BAD_HANDLE : REFPOS_E_INVALID_ARGUMENT;
  }
  return call(s, r, n, out, [](auto& c, std::string_view t) { return c.render(t); }, out_len);
}

refpos_status call_operation(refpos_store* s, const char* operation, const char* r, size_t n,
                             char** a) noexcept {
  using Op = refpos::checkout::Answer (refpos::checkout::Checkout::*)(std::string_view);
  static constexpr std::pair<std::string_view, Op> kOperations[] = {
      {"ask_outcome", &refpos::checkout::Checkout::ask_outcome},
      {"lead", &refpos::checkout::Checkout::lead},
      {"contact", &refpos::checkout::Checkout::contact},
      {"forget", &refpos::checkout::Checkout::forget},
      {"install_rules", &refpos::checkout::Checkout::install_rules},
  };
  Op op = nullptr;
  if (operation != nullptr) {
    const std::string_view name(operation, strnlen(operation, 32));
    for (const auto& [known, member] : kOperations) {
      if (known == name) op = member;
    }
  }
  if (op == nullptr) {
    return call(s, r, n, a, [](auto&, std::string_view) {
      auto e = refpos::make_error(ErrorKind::bad_request, "operation",
                          "must be one of \"ask_outcome\", \"lead\", \"contact\", \"forget\", "
                          "\"install_rules\"");
      auto doc = refpos::wire::error_document(e).dump();
      return refpos::checkout::Answer{std::move(e), std::move(doc)};
    });
  }
  return call(s, r, n, a, [op](auto& c, std::string_view t) { return (c.*op)(t); });
}

// ABI 1.3. The handle's lock is taken to read the configuration and again
// to take in what the sync installed, never across the network: the till
// keeps selling while a large backlog goes up.
refpos_status sync_store(refpos_store* s, const char* r, size_t n, refpos_progress_fn progress,
                         void* user_data, char** a) noexcept {
  if (s == nullptr || !is_live(s)) {
    if (a != nullptr) *a = nullptr;
    return REFPOS_E_BAD_HANDLE;
  }
  std::unique_lock running(s->sync_mutex, std::try_to_lock);
  if (!running.owns_lock()) {
    return call(s, r, n, a, [](auto&, std::string_view) {
      auto e = refpos::make_error(ErrorKind::conflict, "sync",
                                  "a sync is already running on this handle");
      auto doc = refpos::wire::error_document(e).dump();
      return refpos::checkout::Answer{std::move(e), std::move(doc)};
    });
  }
  // Step 1 (locked): the request and the configuration as it is now.
  std::optional<refpos::Result<refpos::wire::StoreConfig>> config;
  const refpos_status begun = call(s, r, n, a, [&](auto& c, std::string_view t) {
    config.emplace(c.begin_sync(t));
    if (!*config) {
      return refpos::checkout::Answer{config->error(),
                                      refpos::wire::error_document(config->error()).dump()};
    }
    return refpos::checkout::Answer{std::nullopt, "{}"};
  });
  if (begun != REFPOS_OK) return begun;
  std::free(*a);
  *a = nullptr;
  // Step 2 (unlocked): the network and the sync's own connection.
  refpos::Result<std::string> outcome = std::string();
  try {
    const refpos::Clock& clock = s->checkout->clock();
    auto report = refpos::sync::sync_over_https(
        config->value(), clock, [&](std::string_view stage, std::int64_t done, std::int64_t total) {
          if (progress != nullptr) progress(user_data, std::string(stage).c_str(), done, total);
        });
    outcome = report ? refpos::Result<std::string>(refpos::sync::report_json(*report))
                     : refpos::Result<std::string>(report.error());
  } catch (const std::exception& e) {
    outcome = refpos::make_error(ErrorKind::internal, "", std::string("internal error: ") + e.what());
  }
  // Step 3 (locked): take in what was installed, answer.
  return call(s, "", 0, a, [&](auto& c, std::string_view) { return c.finish_sync(outcome); });
}

void free_buffer(char* buffer) noexcept { std::free(buffer); }

// Status numbers are part of the ABI: the core's mapping must match them.
static_assert(REFPOS_E_BAD_REQUEST == 2 && REFPOS_E_CODE_REJECTED == 3 &&
              REFPOS_E_NOT_FOUND == 4 && REFPOS_E_CONFLICT == 5 && REFPOS_E_STORAGE == 6 &&
              REFPOS_E_CONFIG == 8 && REFPOS_E_RATE_LIMITED == 10 && REFPOS_E_INTERNAL == 11);

// Designated, so that each function lands in its named slot whatever the
// header's order: a reordered header then moves the bytes too, and the
// frozen-1.0-header host (tests/abi/old_host.c) catches it.
const refpos_api kApi = {
    .struct_size = sizeof(refpos_api),
    .abi_version = REFPOS_ABI_VERSION,
    .version = version_json,
    .open = open_store,
    .close = close_store,
    .last_error = last_error,
    .preview = preview,
    .commit = commit,
    .reverse = reverse,
    .issue_code = issue_code,
    .customer = customer,
    .free_buffer = free_buffer,
    // 1.1
    .render = render,
    // 1.2
    .call = call_operation,
    // 1.3
    .sync = sync_store,
};

}  // namespace

extern "C" REFPOS_EXPORT refpos_status refpos_get_api(uint32_t wanted_abi_version,
                                                      const refpos_api** out_api) {
  if (out_api == nullptr) return REFPOS_E_INVALID_ARGUMENT;
  *out_api = nullptr;
  const uint32_t wanted_major = wanted_abi_version >> 16;
  const uint32_t wanted_minor = wanted_abi_version & 0xffffU;
  if (wanted_major != REFPOS_ABI_VERSION_MAJOR || wanted_minor > REFPOS_ABI_VERSION_MINOR) {
    return REFPOS_E_VERSION;
  }
  *out_api = &kApi;
  return REFPOS_OK;
}
