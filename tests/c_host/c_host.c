/*
 * c_host.c: a POS host written in C99 that runs a whole referral checkout
 * through librefpos.so. It proves that sdk/include/refpos/refpos.h is plain C
 * and that a host needs nothing but the header, dlopen and string functions
 * (no JSON library: answers are compact JSON, so strstr finds the members).
 *
 * Usage: refpos_c_host <path-to-librefpos.so>
 * Exit status 0 only if every check passed; each failed check is printed to
 * stderr with its line.
 *
 * Steps: load and check the table; open a store in a fresh temporary folder;
 * Alice buys and is issued a code; Bob previews and commits with it; a retry
 * of Bob's commit answers byte for byte the same; Alice's wallet shows the
 * reward; bad requests are refused with BAD_REQUEST and a message; the entry
 * point refuses ABI versions it does not provide.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */ /* NOLINT(bugprone-reserved-identifier) */

#include <dlfcn.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "refpos/refpos.h"

#define CODE_LENGTH 16

static int g_failures = 0;

#define CHECK(condition)                                                        \
  do {                                                                          \
    if (!(condition)) {                                                         \
      fprintf(stderr, "c_host.c:%d: check failed: %s\n", __LINE__, #condition); \
      ++g_failures;                                                             \
    }                                                                           \
  } while (0)

/* An ABI version from its major and minor, without REFPOS_ABI_VERSION's
 * arithmetic on the header's macros (so the test also covers other values). */
static uint32_t abi_version(uint32_t major, uint32_t minor) { return (major << 16) | minor; }

/* The integer after `"<key>":` in the first place `json` has it; `found` is
 * set to 0 if the member is absent or not an integer. */
static long long integer_member(const char* json, const char* key, int* found) {
  char pattern[64];
  const char* at;
  char* end = NULL;
  long long value;
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  *found = 0;
  at = json != NULL ? strstr(json, pattern) : NULL;
  if (at == NULL) {
    return 0;
  }
  at += strlen(pattern);
  value = strtoll(at, &end, 10);
  if (end == at) {
    return 0;
  }
  *found = 1;
  return value;
}

/* Copies the string value of `"normalized":"...` (a referral code, 16
 * symbols) into `out`; returns 1 if found. */
static int normalized_code(const char* json, char out[CODE_LENGTH + 1]) {
  const char* pattern = "\"normalized\":\"";
  const char* at = json != NULL ? strstr(json, pattern) : NULL;
  const char* end;
  if (at == NULL) {
    return 0;
  }
  at += strlen(pattern);
  end = strchr(at, '"');
  if (end == NULL || end - at != CODE_LENGTH) {
    return 0;
  }
  memcpy(out, at, CODE_LENGTH);
  out[CODE_LENGTH] = '\0';
  return 1;
}

static int remove_entry(const char* path, const struct stat* info, int type, struct FTW* ftw) {
  (void)info;
  (void)type;
  (void)ftw;
  return remove(path);
}

/* One call with a request string; the caller frees *answer. */
typedef refpos_status (*business_call)(refpos_store*, const char*, size_t, char**);

static refpos_status call(business_call fn, refpos_store* store, const char* request,
                          char** answer) {
  *answer = NULL;
  return fn(store, request, strlen(request), answer);
}

static const char* const kRules =
    "{\"schema\":\"refpos.rules/1\",\"version\":1,\"program\":\"friends\","
    "\"referee\":{\"percent_off_bp\":2000,\"cap_minor\":5000,"
    "\"min_spend_minor\":2000,\"new_customers_only\":true},"
    "\"referrer\":{\"store_credit_minor\":1000},"
    "\"code\":{\"valid_days\":30,\"max_redemptions\":5},"
    "\"issue\":{\"on_commit\":true,\"min_spend_minor\":0}}";

static void check_versions(refpos_get_api_fn get_api) {
  const refpos_api* api = NULL;
  /* A host built for a newer minor than the plugin provides. */
  CHECK(get_api(REFPOS_ABI_VERSION + 1, &api) == REFPOS_E_VERSION);
  CHECK(api == NULL);
  /* Another major, newer and older. */
  api = NULL;
  CHECK(get_api(abi_version(REFPOS_ABI_VERSION_MAJOR + 1, 0), &api) == REFPOS_E_VERSION);
  CHECK(api == NULL);
  api = NULL;
  CHECK(get_api(abi_version(REFPOS_ABI_VERSION_MAJOR - 1, REFPOS_ABI_VERSION_MINOR), &api) ==
        REFPOS_E_VERSION);
  CHECK(api == NULL);
}

static void check_bad_requests(const refpos_api* api, refpos_store* store) {
  char* answer = NULL;
  const char* message;

  CHECK(call(api->commit, store, "{not json", &answer) == REFPOS_E_BAD_REQUEST);
  message = api->last_error(store);
  CHECK(message != NULL && message[0] != '\0');
  CHECK(answer != NULL && strstr(answer, "\"error\":") != NULL);
  CHECK(answer != NULL && strstr(answer, "\"code\":\"BAD_REQUEST\"") != NULL);
  api->free_buffer(answer);

  /* A negative quantity: the message names the field. */
  CHECK(call(api->preview, store,
             "{\"terminal_id\":\"till-1\",\"currency\":\"USD\",\"lines\":"
             "[{\"sku\":\"S\",\"category\":\"c\",\"quantity\":-2,"
             "\"unit_price_minor\":100}]}",
             &answer) == REFPOS_E_BAD_REQUEST);
  message = api->last_error(store);
  CHECK(message != NULL && strstr(message, "quantity") != NULL);
  api->free_buffer(answer);

  /* A NULL request with a length is an invalid argument, not a crash. */
  answer = NULL;
  CHECK(api->preview(store, NULL, 5, &answer) == REFPOS_E_INVALID_ARGUMENT);
  api->free_buffer(answer);

  /* After a successful call, last_error is "". */
  CHECK(call(api->customer, store, "{\"customer_id\":\"nobody\"}", &answer) == REFPOS_OK);
  message = api->last_error(store);
  CHECK(message != NULL && message[0] == '\0');
  CHECK(answer != NULL && strstr(answer, "\"known\":false") != NULL);
  api->free_buffer(answer);
}

static void run_checkout(const refpos_api* api, refpos_store* store) {
  char request[1024];
  char code[CODE_LENGTH + 1] = "";
  char* answer = NULL;
  char* retry = NULL;
  int found = 0;
  long long amount;

  /* Alice buys; the program issues her a code. */
  CHECK(call(api->commit, store,
             "{\"txn_id\":\"C-1\",\"terminal_id\":\"till-1\","
             "\"cashier_id\":\"c7\",\"customer_id\":\"alice\","
             "\"currency\":\"USD\",\"lines\":[{\"sku\":\"SKU-1\","
             "\"category\":\"shoes\",\"quantity\":2,"
             "\"unit_price_minor\":2500}]}",
             &answer) == REFPOS_OK);
  CHECK(answer != NULL && strstr(answer, "\"issued_code\":{") != NULL);
  CHECK(normalized_code(answer, code));
  api->free_buffer(answer);
  if (code[0] == '\0') {
    fprintf(stderr, "c_host.c: no code issued; skipping the redemption\n");
    return;
  }

  /* Bob, new, previews a cart with Alice's code. */
  snprintf(request, sizeof request,
           "{\"txn_id\":\"C-2\",\"terminal_id\":\"till-1\","
           "\"cashier_id\":\"c7\",\"customer_id\":\"bob\","
           "\"currency\":\"USD\",\"lines\":[{\"sku\":\"SKU-2\","
           "\"category\":\"shoes\",\"quantity\":1,"
           "\"unit_price_minor\":6000}],\"code\":\"%s\"}",
           code);
  CHECK(call(api->preview, store, request, &answer) == REFPOS_OK);
  amount = integer_member(answer, "discount_minor", &found);
  CHECK(found && amount > 0);
  CHECK(answer != NULL && strstr(answer, "\"status\":\"accepted\"") != NULL);
  api->free_buffer(answer);

  /* ... and pays: the commit records the redemption. */
  CHECK(call(api->commit, store, request, &answer) == REFPOS_OK);
  amount = integer_member(answer, "discount_minor", &found);
  CHECK(found && amount > 0);
  CHECK(answer != NULL && strstr(answer, "\"redemption\":{") != NULL);

  /* A retry after a crash: same txn_id, same request, same answer. */
  CHECK(call(api->commit, store, request, &retry) == REFPOS_OK);
  CHECK(answer != NULL && retry != NULL && strcmp(answer, retry) == 0);
  api->free_buffer(retry);
  api->free_buffer(answer);

  /* Alice was credited for referring Bob. */
  CHECK(call(api->customer, store, "{\"customer_id\":\"alice\"}", &answer) == REFPOS_OK);
  amount = integer_member(answer, "balance_minor", &found);
  CHECK(found && amount > 0);
  api->free_buffer(answer);
}

int main(int argc, char** argv) {
  char folder[] = "/tmp/refpos_c_host_XXXXXX";
  char config[2048];
  void* library;
  void* symbol;
  refpos_get_api_fn get_api = NULL;
  const refpos_api* api = NULL;
  refpos_store* store = NULL;
  char* open_error = NULL;

  if (argc != 2) {
    fprintf(stderr, "usage: %s <path-to-librefpos.so>\n", argv[0]);
    return 2;
  }
  library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (library == NULL) {
    fprintf(stderr, "c_host.c: dlopen: %s\n", dlerror());
    return 1;
  }
  /* ISO C has no conversion from void * to a function pointer; POSIX
   * guarantees the representation, so copy the bytes. */
  symbol = dlsym(library, REFPOS_ENTRY_SYMBOL);
  CHECK(symbol != NULL);
  if (symbol == NULL) {
    dlclose(library);
    return 1;
  }
  memcpy(&get_api, &symbol, sizeof get_api);

  CHECK(get_api(REFPOS_ABI_VERSION, &api) == REFPOS_OK);
  CHECK(api != NULL);
  if (api == NULL) {
    dlclose(library);
    return 1;
  }
  CHECK(api->struct_size >= sizeof(refpos_api));
  CHECK(api->abi_version >> 16 == REFPOS_ABI_VERSION_MAJOR);
  /* Same major, so a minor at least ours means a version at least ours. */
  CHECK(api->abi_version >= REFPOS_ABI_VERSION);
  CHECK(api->version() != NULL && strstr(api->version(), "\"abi\":") != NULL);
  printf("plugin: %s\n", api->version());
  check_versions(get_api);

  /* Closing NULL is a no-op; last_error never returns NULL. */
  CHECK(api->close(NULL) == REFPOS_OK);
  CHECK(api->last_error(NULL) != NULL);

  if (mkdtemp(folder) == NULL) {
    perror("c_host.c: mkdtemp");
    dlclose(library);
    return 1;
  }
  snprintf(config, sizeof config,
           "{\"store_id\":\"store-c\",\"data_dir\":\"%s/store\","
           "\"currency\":\"USD\",\"code_keys\":[{\"id\":1,"
           "\"secret_hex\":\"00112233445566778899aabbccddeeff\","
           "\"active\":true}],\"rules\":%s,"
           "\"clock\":{\"fixed_ms\":1767225600000}}",
           folder, kRules);

  /* A broken config is refused with a message to free. */
  CHECK(api->open("{}", 2, &store, &open_error) == REFPOS_E_CONFIG);
  CHECK(store == NULL);
  CHECK(open_error != NULL && open_error[0] != '\0');
  api->free_buffer(open_error);
  open_error = NULL;

  CHECK(api->open(config, strlen(config), &store, &open_error) == REFPOS_OK);
  if (store == NULL) {
    fprintf(stderr, "c_host.c: open failed: %s\n",
            open_error != NULL ? open_error : "(no message)");
    api->free_buffer(open_error);
  } else {
    run_checkout(api, store);
    check_bad_requests(api, store);
    CHECK(api->close(store) == REFPOS_OK);
  }

  CHECK(nftw(folder, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
  dlclose(library);
  if (g_failures != 0) {
    fprintf(stderr, "c_host.c: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("c_host: all checks passed\n");
  return 0;
}
