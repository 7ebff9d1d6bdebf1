/* example.c: open an instance, create the first admin, check one permission. */
#include <stdio.h>
#include <string.h>
#include "dagu_auth.h"

int main(int argc, char **argv) {
    if (argc != 2 || dagu_auth_abi_version() >> 16 != DAGU_AUTH_ABI_VERSION_MAJOR) return 2;
    char config[1024], token[512] = "", *login = NULL, *err = NULL;
    snprintf(config, sizeof config, "{\"dataDir\":\"%s\"}", argv[1]); /* JSON-escape real paths */
    DaguAuth *auth = NULL;
    DaguAuthStatus st = dagu_auth_open(config, &auth, &err);
    if (st == DAGU_AUTH_STATUS_OK)
        st = dagu_auth_setup(auth, "admin", "correct horse battery", &login, &err);
    if (st != DAGU_AUTH_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", dagu_auth_status_name(st), err ? err : "");
        dagu_auth_string_free(err); /* every string the library returns, NULL included */
        dagu_auth_close(auth);
        return 1;
    }
    const char *at = strstr(login, "\"token\":\""); /* a real host uses its JSON parser */
    if (at) sscanf(at, "\"token\":\"%511[^\"]", token);
    dagu_auth_string_free(login);
    uint32_t decision = 0;
    st = dagu_auth_authorize(auth, token, DAGU_AUTH_ACTION_WRITE, "ops", &decision, NULL);
    printf("write in ops: %s\n", decision == DAGU_AUTH_DECISION_ALLOW ? "allowed" : "refused");
    dagu_auth_close(auth);
    return st == DAGU_AUTH_STATUS_OK && decision == DAGU_AUTH_DECISION_ALLOW ? 0 : 1;
}
