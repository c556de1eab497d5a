/*
 * host.c: a POS host that links librefpos.so (found with pkg-config by
 * host_pkgconfig/, with find_package by host_find_package/) and
 * calls refpos_get_api() directly, as a vendor's build would after
 * installing the SDK. tests/install/check_install.cmake builds it against an
 * installed prefix, outside the source tree, and runs it.
 *
 * Usage: host <empty folder for the store>
 * Exit status 0 if the store opened, a one-line cart was committed for a
 * customer and the answer carries an issued referral code.
 */
#include <stdio.h>
#include <string.h>

#include <refpos/refpos.h>

int main(int argc, char** argv) {
  static const char* const kCommit =
      "{\"txn_id\":\"T-1\",\"terminal_id\":\"till-1\",\"customer_id\":\"alice\","
      "\"currency\":\"USD\",\"lines\":[{\"sku\":\"S-1\",\"category\":\"shoes\","
      "\"quantity\":1,\"unit_price_minor\":8999}]}";
  char config[2048];
  const refpos_api* api = NULL;
  refpos_store* store = NULL;
  char* error = NULL;
  char* answer = NULL;
  refpos_status status;
  int issued;

  if (argc != 2) {
    fprintf(stderr, "usage: %s <store folder>\n", argv[0]);
    return 2;
  }
  if (refpos_get_api(REFPOS_ABI_VERSION, &api) != REFPOS_OK || api == NULL) {
    fprintf(stderr, "host: refpos_get_api refused ABI %u\n", REFPOS_ABI_VERSION);
    return 1;
  }
  printf("host: plugin %s\n", api->version());

  snprintf(config, sizeof config,
           "{\"store_id\":\"store-001\",\"data_dir\":\"%s\",\"currency\":\"USD\","
           "\"code_keys\":[{\"id\":1,\"secret_hex\":\"000102030405060708090a0b0c0d0e0f\","
           "\"active\":true}],"
           "\"rules\":{\"schema\":\"refpos.rules/1\",\"version\":1,\"program\":\"friends\","
           "\"referee\":{\"percent_off_bp\":2000,\"cap_minor\":5000,"
           "\"min_spend_minor\":2000,\"new_customers_only\":true},"
           "\"referrer\":{\"store_credit_minor\":1000},"
           "\"code\":{\"valid_days\":30,\"max_redemptions\":5},"
           "\"issue\":{\"on_commit\":true,\"min_spend_minor\":0}},"
           "\"share_link_template\":\"https://example.com/r/{code}\"}",
           argv[1]);
  if (api->open(config, strlen(config), &store, &error) != REFPOS_OK) {
    fprintf(stderr, "host: open: %s\n", error != NULL ? error : "(no message)");
    api->free_buffer(error);
    return 1;
  }

  status = api->commit(store, kCommit, strlen(kCommit), &answer);
  issued = answer != NULL && strstr(answer, "\"issued_code\":{") != NULL &&
           strstr(answer, "\"normalized\":\"") != NULL;
  if (status != REFPOS_OK || !issued) {
    fprintf(stderr, "host: commit: status %d, %s\n  answer: %s\n", (int)status,
            api->last_error(store), answer != NULL ? answer : "(none)");
  } else {
    printf("host: committed T-1, code issued\n");
  }
  api->free_buffer(answer);
  if (api->close(store) != REFPOS_OK) {
    fprintf(stderr, "host: close failed\n");
    return 1;
  }
  return status == REFPOS_OK && issued ? 0 : 1;
}
