/*
 * abi10_plugin: the real librefpos.so seen through an ABI 1.0 table, to test
 * that refpos-terminal still works with a plugin older than its header
 * (terminal_test.sh, part "printer"): it must load, sell, and write only the
 * text receipts, saying once that render is missing.
 *
 * It behaves as a 1.0 plugin would: REFPOS_E_VERSION to a host asking for
 * 1.1, otherwise the real plugin's table with struct_size ending before the
 * render slot and abi_version 1.0. The real plugin is loaded from the path
 * in REFPOS_ABI10_TARGET.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

#include "refpos/refpos.h"

static refpos_api g_table;

REFPOS_EXPORT refpos_status refpos_get_api(uint32_t wanted_abi_version,
                                           const refpos_api **out_api) {
    const uint32_t abi_1_0 = 0x10000U;
    const char *target = getenv("REFPOS_ABI10_TARGET");
    void *real = NULL;
    refpos_get_api_fn real_get_api = NULL;
    const refpos_api *real_api = NULL;
    if (out_api == NULL) {
        return REFPOS_E_INVALID_ARGUMENT;
    }
    *out_api = NULL;
    if ((wanted_abi_version >> 16U) != 1U || wanted_abi_version > abi_1_0) {
        return REFPOS_E_VERSION;
    }
    if (target == NULL || (real = dlopen(target, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        return REFPOS_E_INTERNAL;
    }
    /* POSIX: dlsym's object pointer converts to a function pointer. */
    *(void **)(&real_get_api) = dlsym(real, REFPOS_ENTRY_SYMBOL);
    if (real_get_api == NULL || real_get_api(abi_1_0, &real_api) != REFPOS_OK) {
        return REFPOS_E_INTERNAL;
    }
    g_table = *real_api;
    g_table.struct_size = (uint32_t)offsetof(refpos_api, render);
    g_table.abi_version = abi_1_0;
    g_table.render = NULL;
    *out_api = &g_table;
    return REFPOS_OK;
}
