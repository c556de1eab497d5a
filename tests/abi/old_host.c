/*
 * old_host.c: a POS host written in C99 against the first released header
 * (ABI 1.0, frozen in tests/abi/refpos-1.0/refpos/refpos.h; its include path
 * is that folder only), loading today's librefpos.so. It proves the promise
 * hosts rely on when they upgrade the plugin but not themselves: the table
 * only grows at its end, so every 1.0 slot is where 1.0 put it and still
 * does what 1.0 said.
 *
 * Usage: refpos_old_host <path-to-librefpos.so> checkout | versions
 *   checkout  ask for 1.0, then open, commit, customer and close on a store
 *             in a fresh temporary folder, checking what 1.0 answered
 *   versions  the entry point refuses what it does not provide (a newer
 *             minor, another major) with REFPOS_E_VERSION and a NULL table,
 *             and still gives 1.0
 * Exit status 0 only if every check passed; each failed check is printed to
 * stderr with its line.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */ /* NOLINT(bugprone-reserved-identifier) */

#include <dlfcn.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refpos/refpos.h"

/* Built against the frozen 1.0 header, never today's: a wrong include path
 * fails the build here rather than passing a test that proves nothing. */
typedef char old_host_needs_the_1_0_header[(REFPOS_ABI_VERSION_MAJOR == 1 &&
                                            REFPOS_ABI_VERSION_MINOR == 0)
                                               ? 1
                                               : -1];

static int g_failures = 0;

#define CHECK(condition)                                                          \
  do {                                                                            \
    if (!(condition)) {                                                           \
      fprintf(stderr, "old_host.c:%d: check failed: %s\n", __LINE__, #condition); \
      ++g_failures;                                                               \
    }                                                                             \
  } while (0)

static uint32_t abi_version(uint32_t major, uint32_t minor) { return (major << 16) | minor; }

static int contains(const char* text, const char* part) {
  return text != NULL && strstr(text, part) != NULL;
}

/* The string value of `"normalized":"...` (a referral code) copied into
 * `out`; returns 1 if found. */
static int normalized_code(const char* json, char* out, size_t out_size) {
  const char* pattern = "\"normalized\":\"";
  const char* at = json != NULL ? strstr(json, pattern) : NULL;
  const char* end;
  if (at == NULL) {
    return 0;
  }
  at += strlen(pattern);
  end = strchr(at, '"');
  if (end == NULL || end == at || (size_t)(end - at) >= out_size) {
    return 0;
  }
  memcpy(out, at, (size_t)(end - at));
  out[end - at] = '\0';
  return 1;
}

static int remove_entry(const char* path, const struct stat* info, int type, struct FTW* ftw) {
  (void)info;
  (void)type;
  (void)ftw;
  return remove(path);
}

typedef refpos_status (*business_call)(refpos_store*, const char*, size_t, char**);

static refpos_status call(business_call fn, refpos_store* store, const char* request,
                          char** answer) {
  *answer = NULL;
  return fn(store, request, strlen(request), answer);
}

/* A request for each version the plugin must refuse, with a table pointer
 * that is not NULL beforehand, so that "left NULL" is really checked. */
static void check_refused(refpos_get_api_fn get_api, uint32_t wanted, const char* what) {
  static const refpos_api sentinel;
  const refpos_api* api = &sentinel;
  refpos_status status = get_api(wanted, &api);
  if (status != REFPOS_E_VERSION || api != NULL) {
    fprintf(stderr, "old_host.c: asking for %s (0x%08x) gave status %d and table %p\n", what,
            (unsigned)wanted, (int)status, (const void*)api);
    ++g_failures;
  }
}

static void run_versions(refpos_get_api_fn get_api) {
  const refpos_api* api = NULL;
  check_refused(get_api, abi_version(1, 99), "ABI 1.99 (a newer minor)");
  check_refused(get_api, abi_version(1, 0xffff), "ABI 1.65535");
  check_refused(get_api, abi_version(2, 0), "ABI 2.0 (another major)");
  check_refused(get_api, abi_version(0, 0), "ABI 0.0");
  check_refused(get_api, abi_version(0xffff, 0xffff), "ABI 65535.65535");
  CHECK(get_api(abi_version(1, 0), NULL) == REFPOS_E_INVALID_ARGUMENT);

  /* A 1.0 host still gets a table that covers all of 1.0. */
  CHECK(get_api(abi_version(1, 0), &api) == REFPOS_OK);
  CHECK(api != NULL);
  if (api != NULL) {
    CHECK(api->abi_version >> 16 == 1);
    CHECK(api->struct_size >= sizeof(refpos_api));
    CHECK(api->version != NULL && contains(api->version(), "\"abi\":\"1."));
  }
}

static const char* const kRules =
    "{\"schema\":\"refpos.rules/1\",\"version\":1,\"program\":\"friends\","
    "\"referee\":{\"percent_off_bp\":2000,\"cap_minor\":5000,"
    "\"min_spend_minor\":2000,\"new_customers_only\":true},"
    "\"referrer\":{\"store_credit_minor\":1000},"
    "\"code\":{\"valid_days\":30,\"max_redemptions\":5},"
    "\"issue\":{\"on_commit\":true,\"min_spend_minor\":0}}";

/* What 1.0 promised for a checkout: Alice is issued a code, Bob redeems it,
 * a retry answers the same, Alice's wallet shows the reward, and a bad
 * request is refused with a message. */
static void run_checkout_calls(const refpos_api* api, refpos_store* store) {
  char request[1024];
  char code[64] = "";
  char* answer = NULL;
  char* retry = NULL;

  CHECK(call(api->commit, store,
             "{\"txn_id\":\"OLD-1\",\"terminal_id\":\"till-1\",\"customer_id\":\"alice\","
             "\"currency\":\"USD\",\"lines\":[{\"sku\":\"SKU-1\",\"category\":\"shoes\","
             "\"quantity\":2,\"unit_price_minor\":2500}]}",
             &answer) == REFPOS_OK);
  CHECK(contains(answer, "\"issued_code\":{"));
  CHECK(contains(answer, "\"schema\":"));
  CHECK(normalized_code(answer, code, sizeof code));
  CHECK(api->last_error(store) != NULL && api->last_error(store)[0] == '\0');
  api->free_buffer(answer);

  snprintf(request, sizeof request,
           "{\"txn_id\":\"OLD-2\",\"terminal_id\":\"till-1\",\"customer_id\":\"bob\","
           "\"currency\":\"USD\",\"lines\":[{\"sku\":\"SKU-2\",\"category\":\"shoes\","
           "\"quantity\":1,\"unit_price_minor\":6000}],\"code\":\"%s\"}",
           code);
  CHECK(call(api->preview, store, request, &answer) == REFPOS_OK);
  CHECK(contains(answer, "\"status\":\"accepted\""));
  api->free_buffer(answer);
  CHECK(call(api->commit, store, request, &answer) == REFPOS_OK);
  CHECK(contains(answer, "\"redemption\":{"));
  CHECK(call(api->commit, store, request, &retry) == REFPOS_OK);
  CHECK(answer != NULL && retry != NULL && strcmp(answer, retry) == 0);
  api->free_buffer(retry);
  api->free_buffer(answer);

  CHECK(call(api->customer, store, "{\"customer_id\":\"alice\"}", &answer) == REFPOS_OK);
  CHECK(contains(answer, "\"known\":true"));
  CHECK(contains(answer, "\"balance_minor\":1000"));
  api->free_buffer(answer);

  CHECK(call(api->commit, store, "{not json", &answer) == REFPOS_E_BAD_REQUEST);
  CHECK(contains(answer, "\"error\":"));
  CHECK(api->last_error(store) != NULL && api->last_error(store)[0] != '\0');
  api->free_buffer(answer);
}

static void run_checkout(const refpos_api* api) {
  char folder[] = "/tmp/refpos_old_host_XXXXXX";
  char config[2048];
  refpos_store* store = NULL;
  char* open_error = NULL;

  if (mkdtemp(folder) == NULL) {
    perror("old_host.c: mkdtemp");
    ++g_failures;
    return;
  }
  snprintf(config, sizeof config,
           "{\"store_id\":\"store-old\",\"data_dir\":\"%s/store\","
           "\"currency\":\"USD\",\"code_keys\":[{\"id\":1,"
           "\"secret_hex\":\"00112233445566778899aabbccddeeff\","
           "\"active\":true}],\"rules\":%s,"
           "\"clock\":{\"fixed_ms\":1767225600000}}",
           folder, kRules);
  CHECK(api->open(config, strlen(config), &store, &open_error) == REFPOS_OK);
  if (store == NULL) {
    fprintf(stderr, "old_host.c: open failed: %s\n",
            open_error != NULL ? open_error : "(no message)");
    api->free_buffer(open_error);
  } else {
    run_checkout_calls(api, store);
    CHECK(api->close(store) == REFPOS_OK);
  }
  CHECK(nftw(folder, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

int main(int argc, char** argv) {
  void* library;
  void* symbol;
  refpos_get_api_fn get_api = NULL;
  const refpos_api* api = NULL;

  if (argc != 3 || (strcmp(argv[2], "checkout") != 0 && strcmp(argv[2], "versions") != 0)) {
    fprintf(stderr, "usage: %s <path-to-librefpos.so> checkout|versions\n", argv[0]);
    return 2;
  }
  library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (library == NULL) {
    fprintf(stderr, "old_host.c: dlopen: %s\n", dlerror());
    return 1;
  }
  symbol = dlsym(library, REFPOS_ENTRY_SYMBOL);
  CHECK(symbol != NULL);
  if (symbol == NULL) {
    dlclose(library);
    return 1;
  }
  /* ISO C has no conversion from void * to a function pointer; POSIX
   * guarantees the representation, so copy the bytes. */
  memcpy(&get_api, &symbol, sizeof get_api);

  if (strcmp(argv[2], "versions") == 0) {
    run_versions(get_api);
  } else {
    CHECK(get_api(REFPOS_ABI_VERSION, &api) == REFPOS_OK);
    CHECK(api != NULL);
    if (api != NULL) {
      /* The plugin's table covers every slot this host knows. */
      CHECK(api->struct_size >= sizeof(refpos_api));
      CHECK(api->abi_version >> 16 == REFPOS_ABI_VERSION_MAJOR);
      CHECK(api->abi_version >= REFPOS_ABI_VERSION);
      CHECK(contains(api->version(), "\"plugin\":"));
      printf("plugin: %s (this host: ABI 1.0, table %u bytes; plugin's %u)\n", api->version(),
             (unsigned)sizeof(refpos_api), (unsigned)api->struct_size);
      run_checkout(api);
    }
  }

  dlclose(library);
  if (g_failures != 0) {
    fprintf(stderr, "old_host.c: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("old_host %s: all checks passed\n", argv[2]);
  return 0;
}
