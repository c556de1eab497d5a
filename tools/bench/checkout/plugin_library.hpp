// The plugin as a point-of-sale host sees it: a file to dlopen, one exported
// symbol, a table of function pointers (sdk/include/refpos/refpos.h). The
// benchmark includes the public header only and links nothing of the plugin,
// so what it measures is what a till pays.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "refpos/refpos.h"

namespace refpos::bench {

// A loaded librefpos.so and its checked function table. dlclose on
// destruction. Throws BenchError if the file does not load, lacks the entry
// symbol or does not provide this host's ABI.
class PluginLibrary {
 public:
  explicit PluginLibrary(const std::string& path);
  ~PluginLibrary();
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  [[nodiscard]] const refpos_api& api() const { return *api_; }

  // True if `path` is mapped in this process right now (dlopen RTLD_NOLOAD):
  // after the last PluginLibrary of it is gone, false means dlclose really
  // unloaded it and the next load pays the whole cost again.
  static bool is_mapped(const std::string& path);

 private:
  void* handle_ = nullptr;
  const refpos_api* api_ = nullptr;
};

// What one call answered, and how long the call took.
struct TimedReply {
  refpos_status status = REFPOS_OK;
  std::int64_t elapsed_ns = 0;
  std::string answer;  // empty unless asked for
};

// One open store handle; closed on destruction (before its library goes).
class PluginStore {
 public:
  using Operation = refpos_status (*)(refpos_store*, const char*, size_t, char**);

  // Opens the store of `config_json`. Throws BenchError with the plugin's
  // message if open() fails.
  PluginStore(const refpos_api& api, std::string_view config_json);
  ~PluginStore();
  PluginStore(const PluginStore&) = delete;
  PluginStore& operator=(const PluginStore&) = delete;

  // Calls `operation` (a slot of the api table) once. Only the call itself is
  // timed: building the request and freeing the answer are the host's side.
  TimedReply call(Operation operation, std::string_view request, bool keep_answer);

  [[nodiscard]] const refpos_api& api() const { return api_; }
  // refpos_last_error() for this handle and thread.
  [[nodiscard]] std::string last_error() const;

 private:
  const refpos_api& api_;
  refpos_store* store_ = nullptr;
};

// A library and a store opened from it, as one load of the plugin.
struct LoadedPlugin {
  std::unique_ptr<PluginLibrary> library;  // declared first: destroyed last
  std::unique_ptr<PluginStore> store;
};

// dlopen, refpos_get_api and open() of the store in `config_json`: the
// host's start-up path, timed from before dlopen to after open() returned.
LoadedPlugin load_and_open(const std::string& path, std::string_view config_json,
                           std::int64_t& elapsed_ns);

}  // namespace refpos::bench
