#include "plugin_library.hpp"

#include <dlfcn.h>

#include <cstddef>

#include "bench_error.hpp"
#include "latency.hpp"

namespace refpos::bench {
namespace {

std::string dl_message() {
  const char* message = dlerror();
  return message != nullptr ? message : "unknown dlerror";
}

}  // namespace

PluginLibrary::PluginLibrary(const std::string& path) {
  // RTLD_LOCAL: the plugin's symbols (and the SQLite and OpenSSL it brings)
  // must not interpose on the host's, as in a real till.
  handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) throw BenchError("dlopen " + path + ": " + dl_message());
  // POSIX dlsym returns an object pointer; converting it to a function
  // pointer is the documented way, hence the one reinterpret_cast.
  auto* entry = reinterpret_cast<refpos_get_api_fn>(dlsym(handle_, REFPOS_ENTRY_SYMBOL));
  if (entry == nullptr) {
    dlclose(handle_);
    throw BenchError(path + " does not export " REFPOS_ENTRY_SYMBOL);
  }
  const refpos_api* table = nullptr;
  const refpos_status status = entry(REFPOS_ABI_VERSION, &table);
  // A host reads a slot only within struct_size; the last one used here is
  // free_buffer.
  if (status != REFPOS_OK || table == nullptr ||
      table->struct_size < offsetof(refpos_api, free_buffer) + sizeof(table->free_buffer)) {
    dlclose(handle_);
    throw BenchError(path + " does not provide ABI " + std::to_string(REFPOS_ABI_VERSION_MAJOR) +
                     "." + std::to_string(REFPOS_ABI_VERSION_MINOR) + " (status " +
                     std::to_string(status) + ")");
  }
  api_ = table;
}

PluginLibrary::~PluginLibrary() { dlclose(handle_); }

bool PluginLibrary::is_mapped(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  dlclose(handle);  // RTLD_NOLOAD still took a reference
  return true;
}

PluginStore::PluginStore(const refpos_api& api, std::string_view config_json) : api_(api) {
  char* error = nullptr;
  const refpos_status status = api_.open(config_json.data(), config_json.size(), &store_, &error);
  const std::string message = error != nullptr ? error : "";
  api_.free_buffer(error);
  if (status != REFPOS_OK) {
    throw BenchError("open() failed with status " + std::to_string(status) + ": " + message);
  }
}

PluginStore::~PluginStore() { api_.close(store_); }

TimedReply PluginStore::call(Operation operation, std::string_view request, bool keep_answer) {
  char* answer = nullptr;
  const auto start = BenchClock::now();
  const refpos_status status = operation(store_, request.data(), request.size(), &answer);
  const auto end = BenchClock::now();
  TimedReply reply{status, elapsed_ns(start, end), {}};
  if (keep_answer && answer != nullptr) reply.answer = answer;
  api_.free_buffer(answer);
  return reply;
}

std::string PluginStore::last_error() const { return api_.last_error(store_); }

LoadedPlugin load_and_open(const std::string& path, std::string_view config_json,
                           std::int64_t& elapsed_ns_out) {
  const auto start = BenchClock::now();
  LoadedPlugin loaded;
  loaded.library = std::make_unique<PluginLibrary>(path);
  loaded.store = std::make_unique<PluginStore>(loaded.library->api(), config_json);
  const auto end = BenchClock::now();
  elapsed_ns_out = elapsed_ns(start, end);
  return loaded;
}

}  // namespace refpos::bench
