/*
 * refpos.h: the only public surface of the refpos plugin (librefpos.so).
 *
 * Plain C (C99 and later, C++ compatible). A host finds one exported symbol,
 * refpos_get_api(), and receives a table of function pointers that starts
 * with its own size and version. Everything else in the plugin is private.
 *
 * Business requests and answers are UTF-8 JSON documents, described by the
 * JSON Schemas in sdk/schema/v1/ (the "schema" member of every answer names
 * the schema version that produced it). The C layer only moves bytes,
 * handles and status codes, so hosts in C, C#, Java or Python bind to it
 * with their ordinary foreign-function tools.
 *
 * Conventions that hold for every call in the table:
 *
 *  - Every call returns a refpos_status. REFPOS_OK (0) is success; anything
 *    else is a failure, and nothing was changed by the failed call.
 *  - On failure of a call that takes a store handle, refpos_last_error()
 *    returns a human-readable message the host can show (English, UTF-8),
 *    e.g. "lines[3].quantity: must be an integer from 1 to 100000, got -2".
 *    If the call has an `answer` out-parameter, the answer is also set to an
 *    error document {"error":{"status":..,"code":..,"field":..,"message":..}}
 *    so that JSON-only hosts need not call refpos_last_error().
 *  - Ownership: every char* the plugin hands out through an out-parameter is
 *    allocated by the plugin, NUL-terminated, and must be released with
 *    free_buffer() from the same table (never the host's free()). Strings
 *    returned directly (version(), last_error()) are owned by the plugin.
 *  - Input buffers are (pointer, length) pairs: the plugin reads exactly
 *    `len` bytes and does not need a terminating NUL. A NULL pointer with a
 *    non-zero length is REFPOS_E_INVALID_ARGUMENT.
 *  - The plugin never throws across this boundary, never calls abort() or
 *    exit() on bad input, and never writes to stdout/stderr.
 *  - Thread-safety is stated at each function. A store handle may be shared
 *    between threads: calls on one handle are serialised inside the plugin.
 *    A handle must not be used after close(); the plugin detects a closed or
 *    foreign handle on a best-effort basis only (a freed pointer cannot be
 *    told from a live one in C), so hosts must not rely on that.
 *
 * ABI changelog (new table slots are only ever appended; status numbers are
 * never changed or reused):
 *   1.0  first release: version, open, close, last_error, preview, commit,
 *        reverse, issue_code, customer, free_buffer.
 *   1.1  render (receipts and coupons as ESC/POS, PNG, SVG or text).
 *   1.2  call (named operations of the referral loop: ask_outcome, lead,
 *        forget, install_rules; later operations need no new slot).
 *   1.3  sync (one sync with head office, with a progress callback).
 */
#ifndef REFPOS_REFPOS_H
#define REFPOS_REFPOS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define REFPOS_EXPORT __declspec(dllexport)
#else
#define REFPOS_EXPORT __attribute__((visibility("default")))
#endif

/* ABI version: major in the high 16 bits, minor in the low 16 bits. A host
 * built against major M works with any plugin of major M whose minor is at
 * least the host's minor. */
#define REFPOS_ABI_VERSION_MAJOR 1
#define REFPOS_ABI_VERSION_MINOR 3
#define REFPOS_ABI_VERSION \
    (REFPOS_ABI_VERSION_MAJOR * 0x10000U + REFPOS_ABI_VERSION_MINOR)

/* Name of the one exported symbol, for dlsym()/GetProcAddress(). */
#define REFPOS_ENTRY_SYMBOL "refpos_get_api"

typedef enum refpos_status {
    REFPOS_OK = 0,
    /* A pointer or length argument is invalid (NULL handle, NULL out-param). */
    REFPOS_E_INVALID_ARGUMENT = 1,
    /* The request is not valid JSON, not UTF-8, or a field has the wrong type,
     * is missing, or is out of its documented limits. The message names the
     * field. */
    REFPOS_E_BAD_REQUEST = 2,
    /* The code presented cannot be used (mistyped, unknown, expired, revoked,
     * used up, self-referral, conditions not met). The answer's "reason" says
     * which. */
    REFPOS_E_CODE_REJECTED = 3,
    /* The referenced transaction or customer does not exist. */
    REFPOS_E_NOT_FOUND = 4,
    /* The host's transaction id was already used with different content. */
    REFPOS_E_CONFLICT = 5,
    /* The local store failed (disk full, I/O error, locked, corrupt). Nothing
     * was written; the call may be retried once the cause is fixed. */
    REFPOS_E_STORAGE = 6,
    /* The host asked for an ABI version this plugin does not provide. */
    REFPOS_E_VERSION = 7,
    /* The store configuration is invalid (open only). */
    REFPOS_E_CONFIG = 8,
    /* The handle was closed or does not belong to this plugin. */
    REFPOS_E_BAD_HANDLE = 9,
    /* Too many failed code attempts on this terminal; try again later. */
    REFPOS_E_RATE_LIMITED = 10,
    /* A bug in the plugin (an unexpected exception was caught). */
    REFPOS_E_INTERNAL = 11,
    REFPOS_STATUS_LAST /* never use: grows as statuses are appended */
} refpos_status;

typedef struct refpos_store refpos_store; /* opaque */

/* ABI 1.3: how far a long call is. `stage` is a NUL-terminated ASCII word
 * valid during the callback; `total` is 0 when not known. */
typedef void (*refpos_progress_fn)(void *user_data, const char *stage, int64_t done,
                                   int64_t total);

typedef struct refpos_api {
    /* sizeof(refpos_api) as compiled into the plugin. A host reads a slot
     * only if its offset lies within struct_size. */
    uint32_t struct_size;
    /* REFPOS_ABI_VERSION of the plugin. */
    uint32_t abi_version;

    /* Version information as a static JSON document:
     * {"plugin":"0.1.0","abi":"1.0","schema":"refpos/1","sqlite":...,
     *  "openssl":...}. Owned by the plugin, valid until dlclose.
     * Thread-safe. */
    const char *(*version)(void);

    /* Opens (creating if needed) the store described by the JSON config
     * (schema: sdk/schema/v1/config.schema.json): store id, data folder,
     * currency, code keys, rule set, and for tests a clock override.
     * On success *out_store is a new handle. On failure *out_store is NULL
     * and, if out_error is not NULL, *out_error is a message to free with
     * free_buffer().
     * Thread-safe. Opening the same data folder twice at once is refused
     * with REFPOS_E_STORAGE. */
    refpos_status (*open)(const char *config_json, size_t config_len,
                          refpos_store **out_store, char **out_error);

    /* Closes the handle and releases everything it holds. Passing NULL is a
     * no-op that returns REFPOS_OK. Not thread-safe with respect to other
     * calls on the same handle: the host must ensure no call on the handle
     * is in flight or follows. */
    refpos_status (*close)(refpos_store *store);

    /* The message of the last failed call made on this handle by the calling
     * thread, or "" if that call succeeded. Owned by the plugin and valid
     * until the calling thread's next call on the handle. Never NULL, also
     * for a NULL handle. Thread-safe. */
    const char *(*last_error)(const refpos_store *store);

    /* Checks a cart and an optional code offline and answers what would be
     * applied (discount lines, totals) or why the code cannot be used. Changes
     * nothing. Schema: preview.request / preview.answer.
     * REFPOS_E_CODE_REJECTED comes with an answer that carries the reason.
     * Thread-safe (serialised per handle). */
    refpos_status (*preview)(refpos_store *store, const char *request,
                             size_t request_len, char **answer);

    /* Records a paid transaction: the redemption, the referrer's reward, the
     * customer's own referral code if the program says so, and every fact as
     * an event, in one durable transaction. Idempotent on the host's txn_id:
     * a retry with the same request returns the identical answer and changes
     * nothing; the same txn_id with other content is REFPOS_E_CONFLICT.
     * Schema: commit.request / commit.answer. Thread-safe (serialised). */
    refpos_status (*commit)(refpos_store *store, const char *request,
                            size_t request_len, char **answer);

    /* Voids or refunds a committed transaction and reverses what it granted
     * (a referrer reward already spent leaves a negative balance). Idempotent
     * on the request's reversal_id. Schema: reverse.request / reverse.answer.
     * Thread-safe (serialised). */
    refpos_status (*reverse)(refpos_store *store, const char *request,
                             size_t request_len, char **answer);

    /* Issues (or returns the still-valid) referral code of a customer outside
     * a checkout. Schema: issue_code.request / issue_code.answer.
     * Thread-safe (serialised). */
    refpos_status (*issue_code)(refpos_store *store, const char *request,
                                size_t request_len, char **answer);

    /* Looks up a customer: what the store knows, their wallet and their
     * codes. Schema: customer.request / customer.answer. Thread-safe. */
    refpos_status (*customer)(refpos_store *store, const char *request,
                              size_t request_len, char **answer);

    /* Releases a buffer the plugin returned through an out-parameter.
     * NULL is a no-op. Thread-safe. */
    void (*free_buffer)(char *buffer);

    /* ---- ABI 1.1 ---- */

    /* Renders what to print for a committed transaction, from its stored
     * answer and the store's printer and receipt template: a reprint gives
     * the same bytes, and printing can fail without losing the commit.
     * Request (schema: render.request):
     *   {"txn_id": "...", "what": "receipt" | "coupon",
     *    "format": "escpos" | "png" | "svg" | "text",
     *    "host_lines": ["lines the host prints above refpos's part", ...]}
     * "receipt" is the whole slip (template header and logo, host_lines, the
     * referral lines, the QR coupon, footer, cut); "coupon" is the QR coupon
     * alone. svg is for coupons only.
     * On REFPOS_OK *out holds *out_len bytes (binary for escpos and png; a
     * NUL follows them but is not counted); free it with free_buffer(). On
     * failure *out is an error document as for the other calls and *out_len
     * its length. Thread-safe (serialised per handle). */
    refpos_status (*render)(refpos_store *store, const char *request,
                            size_t request_len, char **out, size_t *out_len);

    /* ---- ABI 1.2 ---- */

    /* Runs a named operation of the referral loop (docs/api.md, "call"):
     *   "ask_outcome"    what happened when the cashier was prompted to ask
     *                    for a referral: {"txn_id", "outcome": "asked" |
     *                    "declined" | "code_issued" | "not_asked",
     *                    "terminal_id", "cashier_id"}; idempotent per txn_id.
     *   "lead"           a friend's name and contact handed over at the till,
     *                    with the friend's consent: {"lead_id", "customer_id",
     *                    "friend_name", "friend_contact", "consent": true,
     *                    "terminal_id", "cashier_id"}.
     *   "contact"        a customer's own e-mail address or
     *                    phone number and their consent to thank-you
     *                    messages on that channel: {"customer_id", "channel":
     *                    "email" | "sms", "address", "name", "consent",
     *                    "terminal_id", "cashier_id"}; consent false
     *                    withdraws it.
     *   "forget"         removes a customer's contact data (their own
     *                    contacts, their leads' contacts, identity hashes) and
     *                    keeps every money fact: {"customer_id", "terminal_id"}.
     *   "install_rules"  a newer rule set: {"rules": {...}}; an invalid one
     *                    is refused naming every bad field, and the active
     *                    one stays.
     * `operation` is a NUL-terminated ASCII name; an unknown one gets
     * REFPOS_E_BAD_REQUEST. Request and answer as for preview. Thread-safe
     * (serialised per handle). */
    refpos_status (*call)(refpos_store *store, const char *operation, const char *request,
                          size_t request_len, char **answer);

    /* ---- ABI 1.3 ---- */

    /* One sync with head office (docs/sync.md): pushes the events head
     * office has not acknowledged, in batches, then pulls and applies rule
     * sets, code keys, revocations, balances from other stores and conflict
     * settlements in one local transaction. Needs the "sync" section of the
     * configuration. `request` is a JSON object, "{}" or with "clock_ms"
     * under a test clock. `progress` (may be NULL) is called on the calling
     * thread with `user_data` as the sync goes ("push": events acknowledged
     * of events to send; "pull": 0 of 1, then 1 of 1); it must not call the
     * plugin with this handle. On REFPOS_OK *answer is {"schema",
     * "pushed", "batches", "acked_seq", "cursor", "rules_version",
     * "code_keys_updated", "revoked_codes", "wallets", "conflicts",
     * "hold_decisions", "forgotten", "keys_uploaded", "next_sync_at_ms"}
     * (docs/api.md, "sync"; next_sync_at_ms is the store's next slot in its
     * nightly window). The events pushed are those in the log when the sync
     * started; a sale made meanwhile goes with the next. Network failures are
     * REFPOS_E_STORAGE; head office refusing the log (a fork) is
     * REFPOS_E_CONFLICT. Whatever fails, running it again finishes the job.
     * Thread-safe: the till keeps selling on the same handle while a sync
     * runs (the sync uses its own connection to the store's file); a second
     * sync on the same handle at the same time gets REFPOS_E_CONFLICT. */
    refpos_status (*sync)(refpos_store *store, const char *request, size_t request_len,
                          refpos_progress_fn progress, void *user_data, char **answer);

    /* ABI 1.4 and later: new slots go here, never above. */
} refpos_api;

/* The one exported entry point. `wanted_abi_version` is the
 * REFPOS_ABI_VERSION the host was compiled against. On success *out_api
 * points to a static table valid until the library is unloaded. Returns
 * REFPOS_E_VERSION (and leaves *out_api NULL) if the plugin's major differs
 * or its minor is older than the host's. Thread-safe. */
REFPOS_EXPORT refpos_status refpos_get_api(uint32_t wanted_abi_version,
                                           const refpos_api **out_api);

typedef refpos_status (*refpos_get_api_fn)(uint32_t wanted_abi_version,
                                           const refpos_api **out_api);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* REFPOS_REFPOS_H */
