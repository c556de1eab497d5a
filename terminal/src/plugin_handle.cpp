// plugin_handle: see plugin_handle.hpp. The only file of refpos-terminal that
// calls dlopen/dlsym or a function of the refpos table.
#include "plugin_handle.hpp"

#include <dlfcn.h>

#include <array>
#include <cstddef>
#include <utility>

namespace refpos::terminal {
namespace {

// Indexed by refpos_status. Status numbers never change and are never
// reused (refpos.h), so this table only ever grows at the end.
constexpr std::array<std::string_view, REFPOS_STATUS_LAST> kStatusNames = {
    "OK",      "INVALID_ARGUMENT", "BAD_REQUEST", "CODE_REJECTED", "NOT_FOUND",    "CONFLICT",
    "STORAGE", "VERSION",          "CONFIG",      "BAD_HANDLE",    "RATE_LIMITED", "INTERNAL",
};

// Every slot an ABI 1.0 host calls lies below this offset; a table shorter
// than that comes from a broken or foreign library.
constexpr std::size_t kSlotsEndAbi10 =
    offsetof(refpos_api, free_buffer) + sizeof(refpos_api::free_buffer);

std::string last_dl_error() {
  const char* message = dlerror();
  return message != nullptr ? message : "unknown dynamic loader error";
}

// The render slot (ABI 1.1) is read only if the table reaches past it.
constexpr std::size_t kSlotsEndAbi11 = offsetof(refpos_api, render) + sizeof(refpos_api::render);
constexpr std::size_t kSlotsEndAbi12 = offsetof(refpos_api, call) + sizeof(refpos_api::call);
constexpr std::size_t kSlotsEndAbi13 = offsetof(refpos_api, sync) + sizeof(refpos_api::sync);

// Why the table cannot be used by this host, or "" if it can.
std::string check_table(const refpos_api& api) {
  // Same major, and (majors being equal) a minor at least the host's oldest.
  const bool same_major = (api.abi_version >> 16U) == (kHostMinAbiVersion >> 16U);
  if (!same_major || api.abi_version < kHostMinAbiVersion) {
    return "the plugin provides ABI " + abi_version_text(api.abi_version) + ", this host needs " +
           abi_version_text(kHostMinAbiVersion) + " (same major, same or newer minor)";
  }
  if (api.struct_size < kSlotsEndAbi10) {
    return "the plugin's function table is " + std::to_string(api.struct_size) +
           " bytes, shorter than ABI " + abi_version_text(kHostMinAbiVersion) + " requires";
  }
  const bool every_slot_set = api.version != nullptr && api.open != nullptr &&
                              api.close != nullptr && api.last_error != nullptr &&
                              api.preview != nullptr && api.commit != nullptr &&
                              api.reverse != nullptr && api.issue_code != nullptr &&
                              api.customer != nullptr && api.free_buffer != nullptr;
  if (!every_slot_set) {
    return "the plugin's function table has empty slots";
  }
  return "";
}

// Owns one buffer the plugin handed out; releases it with the plugin's
// free_buffer (the host's free() would be a different allocator).
struct BufferFree {
  const refpos_api* api;
  void operator()(char* buffer) const { api->free_buffer(buffer); }
};
using PluginBuffer = std::unique_ptr<char, BufferFree>;

}  // namespace

std::string status_name(refpos_status status) {
  const auto index = static_cast<std::size_t>(status);
  if (index < kStatusNames.size()) {
    return std::string(kStatusNames[index]);
  }
  return "STATUS_" + std::to_string(static_cast<int>(status));
}

std::optional<refpos_status> status_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == name) {
      return static_cast<refpos_status>(i);
    }
  }
  return std::nullopt;
}

std::string abi_version_text(std::uint32_t abi_version) {
  return std::to_string(abi_version >> 16U) + "." + std::to_string(abi_version & 0xFFFFU);
}

LoadResult Plugin::load(const std::string& path) {
  LoadResult result;
  // RTLD_NOW: a plugin with unresolved symbols fails here, not in the middle
  // of a checkout. RTLD_LOCAL: its symbols never mix with the host's.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    result.error = "cannot load the plugin: " + last_dl_error();
    return result;
  }
  std::shared_ptr<void> library(handle, [](void* loaded) { dlclose(loaded); });

  void* symbol = dlsym(handle, REFPOS_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    result.error = path + " does not export " REFPOS_ENTRY_SYMBOL ": not a refpos plugin";
    return result;
  }
  // POSIX guarantees that dlsym's object pointer converts to a function pointer.
  const auto get_api = reinterpret_cast<refpos_get_api_fn>(symbol);

  // Ask for the oldest ABI this host works with, so that a 1.0 plugin loads
  // too (it says REFPOS_E_VERSION to a host that asks for 1.1); newer slots
  // are then checked against the table's size.
  const refpos_api* api = nullptr;
  const refpos_status status = get_api(kHostMinAbiVersion, &api);
  if (status == REFPOS_E_VERSION) {
    result.error = "the plugin does not provide ABI " + abi_version_text(kHostMinAbiVersion) +
                   " (another major version, or an older minor)";
    return result;
  }
  if (status != REFPOS_OK || api == nullptr) {
    result.error = "the plugin's " REFPOS_ENTRY_SYMBOL " failed with " + status_name(status);
    return result;
  }
  // Trust, but verify: a host reads a slot only if the table holds it.
  if (std::string problem = check_table(*api); !problem.empty()) {
    result.error = std::move(problem);
    return result;
  }
  result.plugin = Plugin(std::move(library), api);
  return result;
}

std::string Plugin::version() const {
  const char* text = api_->version();
  return text != nullptr ? text : "";
}

OpenResult Plugin::open_store(std::string_view config_json) const {
  OpenResult result;
  refpos_store* handle = nullptr;
  char* raw_error = nullptr;
  result.status = api_->open(config_json.data(), config_json.size(), &handle, &raw_error);
  const PluginBuffer error(raw_error, BufferFree{api_});
  if (result.status == REFPOS_OK && handle != nullptr) {
    result.store = Store(library_, api_, handle);
    return result;
  }
  if (result.status == REFPOS_OK) {  // success without a handle: a plugin bug
    result.status = REFPOS_E_INTERNAL;
  }
  result.error = error != nullptr ? error.get() : "";
  if (result.error.empty()) {
    result.error = "open failed with " + status_name(result.status);
  }
  return result;
}

Reply Store::call(BusinessCall function, std::string_view request_json) {
  char* raw_answer = nullptr;
  Reply reply;
  reply.status = function(handle_.get(), request_json.data(), request_json.size(), &raw_answer);
  const PluginBuffer answer(raw_answer, BufferFree{api_});
  if (answer != nullptr) {
    reply.answer = answer.get();
  }
  if (!reply.ok()) {
    // Read it now: the message is valid only until this thread's next call
    // on the handle.
    reply.message = api_->last_error(handle_.get());
  }
  return reply;
}

bool Store::can_render() const {
  return api_->struct_size >= kSlotsEndAbi11 && api_->render != nullptr;
}

Reply Store::render(std::string_view request_json) {
  Reply reply;
  if (!can_render()) {
    reply.status = REFPOS_E_VERSION;
    reply.message = "the plugin provides ABI " + abi_version_text(api_->abi_version) +
                    ", without render (ABI 1.1)";
    return reply;
  }
  char* raw_out = nullptr;
  std::size_t out_length = 0;
  reply.status =
      api_->render(handle_.get(), request_json.data(), request_json.size(), &raw_out, &out_length);
  const PluginBuffer out(raw_out, BufferFree{api_});
  if (out != nullptr) {
    reply.answer.assign(out.get(), out_length);  // binary: the length, not the NUL
  }
  if (!reply.ok()) {
    reply.message = api_->last_error(handle_.get());
  }
  return reply;
}

Reply Store::operation(const std::string& name, std::string_view request_json) {
  Reply reply;
  if (api_->struct_size < kSlotsEndAbi12 || api_->call == nullptr) {
    reply.status = REFPOS_E_VERSION;
    reply.message = "the plugin provides ABI " + abi_version_text(api_->abi_version) +
                    ", without call (ABI 1.2)";
    return reply;
  }
  char* raw_answer = nullptr;
  reply.status = api_->call(handle_.get(), name.c_str(), request_json.data(), request_json.size(),
                            &raw_answer);
  const PluginBuffer answer(raw_answer, BufferFree{api_});
  if (answer != nullptr) reply.answer = answer.get();
  if (!reply.ok()) reply.message = api_->last_error(handle_.get());
  return reply;
}

Reply Store::sync(std::string_view request_json, const SyncProgress& progress) {
  Reply reply;
  if (api_->struct_size < kSlotsEndAbi13 || api_->sync == nullptr) {
    reply.status = REFPOS_E_VERSION;
    reply.message = "the plugin provides ABI " + abi_version_text(api_->abi_version) +
                    ", without sync (ABI 1.3)";
    return reply;
  }
  const auto forward = [](void* user, const char* stage, int64_t done, int64_t total) {
    const auto& p = *static_cast<const SyncProgress*>(user);
    if (p) p(stage, done, total);
  };
  char* raw_answer = nullptr;
  reply.status = api_->sync(handle_.get(), request_json.data(), request_json.size(), forward,
                            const_cast<SyncProgress*>(&progress), &raw_answer);
  const PluginBuffer answer(raw_answer, BufferFree{api_});
  if (answer != nullptr) reply.answer = answer.get();
  if (!reply.ok()) reply.message = api_->last_error(handle_.get());
  return reply;
}

}  // namespace refpos::terminal
