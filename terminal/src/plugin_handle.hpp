// plugin_handle: every use of the refpos C ABI (sdk/include/refpos/refpos.h)
// in one place, small enough for a POS vendor to copy into their own host.
//
//   Plugin  loads librefpos.so with dlopen, finds the one exported symbol,
//           asks for the oldest ABI this host works with (1.0) and checks
//           the table it gets back (size, version, every slot present).
//           Slots newer than 1.0 (render, ABI 1.1) are used only when the
//           table reaches them: the host degrades instead of refusing an
//           older plugin.
//   Store   an open store handle; each call returns a Reply (status, answer
//           JSON or rendered bytes, message) and releases the plugin's
//           buffer with the plugin's own free_buffer, never the host's
//           free().
//
// Lifetimes: a Store holds a share of the loaded library, so the library is
// unloaded (dlclose) only after the last Store is closed, whatever order the
// host destroys things in. Threads: the plugin serialises calls on one store
// handle, so a Store may be shared; last_error() is per thread, which is why
// a Reply captures the message right after the failing call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "refpos/refpos.h"

namespace refpos::terminal {

// The ABI this host is compiled against. (REFPOS_ABI_VERSION itself expands
// to a C-style cast, which C++ builds with -Wold-style-cast refuse.)
inline constexpr std::uint32_t kHostAbiVersion =
    (std::uint32_t{REFPOS_ABI_VERSION_MAJOR} << 16U) | std::uint32_t{REFPOS_ABI_VERSION_MINOR};
// The oldest ABI it works with: everything but render (1.1), which is
// optional (Store::can_render()).
inline constexpr std::uint32_t kHostMinAbiVersion = std::uint32_t{REFPOS_ABI_VERSION_MAJOR} << 16U;

// "OK", "CODE_REJECTED", ...: the status names used by answers' error.code
// and by scripts' "expect". Unknown numbers read "STATUS_<n>".
std::string status_name(refpos_status status);
std::optional<refpos_status> status_from_name(std::string_view name);

// "1.0" from 0x00010000.
std::string abi_version_text(std::uint32_t abi_version);

struct Reply {
  refpos_status status = REFPOS_E_INTERNAL;
  // The answer document on success (for render: the rendered bytes, which
  // may be binary); on failure the plugin's error document ({"error":
  // {...}}, sometimes with more, e.g. a rejected code's preview). Empty only
  // if the plugin returned no buffer at all.
  std::string answer;
  // refpos last_error() on failure, "" on success.
  std::string message;

  [[nodiscard]] bool ok() const { return status == REFPOS_OK; }
};

class Store;
struct LoadResult;
struct OpenResult;

class Plugin {
 public:
  // Loads the library at `path` (a bare file name goes through the dynamic
  // linker's search path) and checks its function table. Never throws on a
  // bad library: the reason is in LoadResult::error.
  static LoadResult load(const std::string& path);

  // The plugin's static version JSON ({"plugin":"0.1.0","abi":"1.0",...}).
  [[nodiscard]] std::string version() const;
  [[nodiscard]] std::uint32_t abi_version() const { return api_->abi_version; }

  // Opens (creating if needed) the store described by the JSON config.
  [[nodiscard]] OpenResult open_store(std::string_view config_json) const;

 private:
  Plugin(std::shared_ptr<void> library, const refpos_api* api)
      : library_(std::move(library)), api_(api) {}

  std::shared_ptr<void> library_;  // the dlopen handle; dlclose on last release
  const refpos_api* api_;          // static table inside the library
};

class Store {
 public:
  // The five business calls; requests and answers are JSON (docs/api.md).
  Reply preview(std::string_view request_json) { return call(api_->preview, request_json); }
  Reply commit(std::string_view request_json) { return call(api_->commit, request_json); }
  Reply reverse(std::string_view request_json) { return call(api_->reverse, request_json); }
  Reply issue_code(std::string_view request_json) { return call(api_->issue_code, request_json); }
  Reply customer(std::string_view request_json) { return call(api_->customer, request_json); }

  // ABI 1.1: a committed transaction's receipt or coupon as ESC/POS, PNG,
  // SVG or text (refpos.h, render). Only if can_render(); otherwise the
  // reply is REFPOS_E_VERSION without calling the plugin.
  [[nodiscard]] bool can_render() const;
  Reply render(std::string_view request_json);

  // ABI 1.2: a named operation of the referral loop (refpos.h, call:
  // "ask_outcome", "lead", "contact", "forget", "install_rules"). Without
  // the slot the reply is REFPOS_E_VERSION without calling the plugin.
  Reply operation(const std::string& name, std::string_view request_json);

  // ABI 1.3: one sync with head office; `progress` sees each step ("push",
  // events acknowledged of events to send; "pull", 0 or 1 of 1). Without the
  // slot the reply is REFPOS_E_VERSION without calling the plugin.
  using SyncProgress = std::function<void(std::string_view stage, std::int64_t done, std::int64_t total)>;
  Reply sync(std::string_view request_json, const SyncProgress& progress);

 private:
  friend class Plugin;
  using BusinessCall = refpos_status (*)(refpos_store*, const char*, std::size_t, char**);

  struct Closer {
    const refpos_api* api;
    void operator()(refpos_store* store) const { api->close(store); }
  };

  Store(std::shared_ptr<void> library, const refpos_api* api, refpos_store* handle)
      : library_(std::move(library)), api_(api), handle_(handle, Closer{api}) {}

  Reply call(BusinessCall function, std::string_view request_json);

  // Declared before handle_ so that the store is closed before the library
  // can be unloaded (members are destroyed in reverse order).
  std::shared_ptr<void> library_;
  const refpos_api* api_;
  std::unique_ptr<refpos_store, Closer> handle_;
};

struct LoadResult {
  std::optional<Plugin> plugin;
  std::string error;  // why loading failed, for the operator
};

struct OpenResult {
  std::optional<Store> store;
  refpos_status status = REFPOS_E_INTERNAL;
  std::string error;  // the plugin's message when the store did not open
};

}  // namespace refpos::terminal
