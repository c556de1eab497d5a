// One sync in a process of its own, so a test can kill "the store" with
// SIGKILL at a chosen point: the plugin (dlopen, as a POS host loads it)
// opens the store described by a configuration file and syncs; with a kill
// point n > 0 the n-th progress callback raises SIGKILL on this process.
//
//   refpos_sync_child PLUGIN.so CONFIG.json N
//
// Exit code: the sync's refpos_status (0 = REFPOS_OK); 100 and up: this
// program's own trouble (usage, dlopen, open).
#include <dlfcn.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "refpos/refpos.h"

namespace {

struct KillPoint {
  long at = 0;  // the n-th callback kills; 0: never
  long calls = 0;
};

void on_progress(void* user_data, const char* stage, int64_t done, int64_t total) {
  auto* kill = static_cast<KillPoint*>(user_data);
  ++kill->calls;
  if (kill->at > 0 && kill->calls == kill->at) {
    std::fprintf(stderr, "sync_child: SIGKILL at progress %ld (%s %lld/%lld)\n", kill->calls, stage,
                 static_cast<long long>(done), static_cast<long long>(total));
    std::raise(SIGKILL);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s PLUGIN.so CONFIG.json KILL_AT_PROGRESS\n", argv[0]);
    return 100;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    std::fprintf(stderr, "sync_child: dlopen: %s\n", dlerror());
    return 101;
  }
  auto* entry = reinterpret_cast<refpos_get_api_fn>(dlsym(lib, REFPOS_ENTRY_SYMBOL));
  const refpos_api* api = nullptr;
  if (entry == nullptr || entry(REFPOS_ABI_VERSION, &api) != REFPOS_OK) {
    std::fprintf(stderr, "sync_child: no usable refpos_get_api\n");
    return 102;
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const std::string config = text.str();
  refpos_store* store = nullptr;
  char* error = nullptr;
  if (api->open(config.data(), config.size(), &store, &error) != REFPOS_OK) {
    std::fprintf(stderr, "sync_child: open: %s\n", error != nullptr ? error : "");
    api->free_buffer(error);
    return 103;
  }
  KillPoint kill{std::strtol(argv[3], nullptr, 10), 0};
  char* answer = nullptr;
  const refpos_status status = api->sync(store, "{}", 2, &on_progress, &kill, &answer);
  if (status != REFPOS_OK) std::fprintf(stderr, "sync_child: sync: %s\n", api->last_error(store));
  api->free_buffer(answer);
  api->close(store);
  dlclose(lib);
  return static_cast<int>(status);
}
