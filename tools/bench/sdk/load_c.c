/*
 * load_c: one plugin load + store open, timed, as a C host pays it; the
 * baseline of tools/bench/sdk/run, which compiles it on the fly
 * (cc -O2 -I sdk/include) and runs it once per fresh process.
 *
 *   load_c PLUGIN DATA_DIR
 *
 * Times dlopen + dlsym + refpos_get_api + open of a new store in DATA_DIR
 * (which must not exist yet: the plugin creates it) + close, with
 * CLOCK_MONOTONIC, and prints the milliseconds on stdout. Exit 0, or 1 with
 * the reason on stderr.
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "refpos/refpos.h"

#define MAX_CONFIG_BYTES 4096

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The default config of tests/integration/plugin.cpp, without a fixed clock. */
static int make_config(char *out, size_t size, const char *data_dir) {
    if (strpbrk(data_dir, "\"\\") != NULL) return -1; /* no JSON escaping here */
    int n = snprintf(out, size,
        "{\"store_id\":\"bench\",\"data_dir\":\"%s\",\"currency\":\"USD\","
        "\"code_keys\":[{\"id\":1,\"secret_hex\":\"000102030405060708090a0b0c0d0e0f\","
        "\"active\":true}],"
        "\"rules\":{\"schema\":\"refpos.rules/1\",\"version\":1,\"program\":\"friends\","
        "\"referee\":{\"percent_off_bp\":2000,\"cap_minor\":5000,\"min_spend_minor\":2000,"
        "\"new_customers_only\":true},\"referrer\":{\"store_credit_minor\":1000},"
        "\"code\":{\"valid_days\":30,\"max_redemptions\":5},"
        "\"issue\":{\"on_commit\":true,\"min_spend_minor\":0}},"
        "\"share_link_template\":\"https://example.com/r/{code}\"}",
        data_dir);
    return n > 0 && (size_t)n < size ? n : -1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: load_c PLUGIN DATA_DIR\n");
        return 1;
    }
    char config[MAX_CONFIG_BYTES];
    const int config_len = make_config(config, sizeof config, argv[2]);
    if (config_len < 0) {
        fprintf(stderr, "load_c: unusable data folder path %s\n", argv[2]);
        return 1;
    }

    const double start = now_ms();
    void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        fprintf(stderr, "load_c: %s\n", dlerror());
        return 1;
    }
    refpos_get_api_fn get_api;
    /* POSIX: dlsym's object pointer converts to a function pointer. */
    *(void **)(&get_api) = dlsym(library, REFPOS_ENTRY_SYMBOL);
    const refpos_api *api = NULL;
    if (get_api == NULL || get_api(REFPOS_ABI_VERSION_MAJOR * 0x10000U, &api) != REFPOS_OK ||
        api == NULL || api->struct_size < sizeof(uint32_t) * 2) {
        fprintf(stderr, "load_c: %s is not a usable refpos plugin\n", argv[1]);
        return 1;
    }
    refpos_store *store = NULL;
    char *error = NULL;
    const refpos_status status = api->open(config, (size_t)config_len, &store, &error);
    if (status != REFPOS_OK) {
        fprintf(stderr, "load_c: open failed (%d): %s\n", (int)status, error ? error : "");
        api->free_buffer(error);
        return 1;
    }
    api->close(store);
    const double elapsed = now_ms() - start;

    printf("%.3f\n", elapsed);
    return 0;
}
