/*
 * api_calls.c: calls every function of include/dagu_auth.h on one thread: the happy paths, then
 * every NULL argument, invalid UTF-8, empty strings, 1 MiB and 10 MiB inputs, malformed and wrongly
 * typed JSON, unknown enum values and wrong struct_size values. Outputs must stay untouched on
 * failure.
 *
 * Usage: api_calls [data-folder]
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"

#define OK DAGU_AUTH_STATUS_OK
#define MIB ((size_t)1024 * 1024)
/*
 * The size of the "10 MiB" inputs. DAGU_AUTH_C_HUGE_MIB lowers it (the valgrind run uses 1, since
 * a debug build under valgrind takes minutes to normalise 10 MiB passwords); the plain and ASan
 * runs use 10.
 */
static size_t huge_size = 10 * MIB;

static const char *const INVALID_UTF8 = "ab\xff\xfe";
static const char *const ADMIN_PASSWORD = "admin password 1";
static const char *const SCOPED_PASSWORD = "scoped password 1";
/* Never written by the library on failure: a recognisable non-NULL pointer. */
static char untouched_text;
#define SENTINEL (&untouched_text)

static DaguAuth *open_ok(const char *base, const char *name)
{
    char config[4096];
    char *err = NULL;
    DaguAuth *instance = NULL;
    test_config(config, sizeof config, base, name);
    STATUS(dagu_auth_open(config, &instance, &err), OK, &err);
    CHECK(instance != NULL);
    return instance;
}

static void versions(void)
{
    uint32_t abi = dagu_auth_abi_version();
    CHECK(abi >> 16 == DAGU_AUTH_ABI_VERSION_MAJOR);
    CHECK((abi & 0xffff) == DAGU_AUTH_ABI_VERSION_MINOR);
    const char *version = dagu_auth_version();
    CHECK(version != NULL);
    CHECK(strlen(version) >= 5 && strspn(version, "0123456789.") >= 5);
    CHECK(dagu_auth_version() == version);
}

static void status_names(void)
{
    static const char *const names[] = {
        "OK",           "NULL_ARGUMENT",   "INVALID_UTF8",      "INVALID_JSON",
        "BAD_REQUEST",  "UNAUTHENTICATED", "FORBIDDEN",         "NOT_FOUND",
        "ALREADY_EXISTS", "CONFLICT",      "RATE_LIMITED",      "PAYLOAD_TOO_LARGE",
        "INVALID_CONFIG", "STORAGE",       "INTERNAL",          "PANIC",
        "UNSUPPORTED_VERSION", "UNAVAILABLE",
    };
    size_t count = sizeof names / sizeof names[0];
    CHECK(count == DAGU_AUTH_STATUS_UNAVAILABLE + 1);
    for (size_t i = 0; i < count; i++) {
        const char *name = dagu_auth_status_name((uint32_t)i);
        CHECK(name != NULL && strcmp(name, names[i]) == 0);
        CHECK(dagu_auth_status_name((uint32_t)i) == name);
    }
    const uint32_t unknown[] = {(uint32_t)count, 19, 255, 0x10000, 0x7fffffff, UINT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *name = dagu_auth_status_name(unknown[i]);
        CHECK(name != NULL && strcmp(name, "UNKNOWN_STATUS") == 0);
    }
}

static void open_and_close(const char *base)
{
    char config[4096];
    char *err = NULL;
    DaguAuth *instance = (DaguAuth *)(void *)SENTINEL;
    test_config(config, sizeof config, base, "open");

    STATUS(dagu_auth_open(NULL, &instance, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_open(config, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_open(NULL, NULL, NULL), DAGU_AUTH_STATUS_NULL_ARGUMENT, NULL);
    STATUS(dagu_auth_open(INVALID_UTF8, &instance, &err), DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_open("", &instance, &err), DAGU_AUTH_STATUS_INVALID_CONFIG, &err);
    STATUS(dagu_auth_open("{", &instance, &err), DAGU_AUTH_STATUS_INVALID_CONFIG, &err);
    STATUS(dagu_auth_open("[]", &instance, &err), DAGU_AUTH_STATUS_INVALID_CONFIG, &err);
    STATUS(dagu_auth_open("null", &instance, &err), DAGU_AUTH_STATUS_INVALID_CONFIG, &err);
    STATUS(dagu_auth_open("{}", &instance, &err), DAGU_AUTH_STATUS_INVALID_CONFIG, &err);
    STATUS(dagu_auth_open("{\"dataDir\":42}", &instance, &err), DAGU_AUTH_STATUS_INVALID_CONFIG,
           &err);
    STATUS(dagu_auth_open("{\"dataDir\":\"\"}", &instance, &err),
           DAGU_AUTH_STATUS_INVALID_CONFIG, &err);
    STATUS(dagu_auth_open("{\"dataDir\":\"/tmp/x\",\"noSuchField\":1}", &instance, &err),
           DAGU_AUTH_STATUS_INVALID_CONFIG, &err);
    STATUS(dagu_auth_open("{\"dataDir\":\"/tmp/x\",\"argon2\":{\"memoryKib\":\"lots\"}}",
                          &instance, &err),
           DAGU_AUTH_STATUS_INVALID_CONFIG, &err);
    STATUS(dagu_auth_open("{\"dataDir\":\"/tmp/x\",\"tokenTtl\":\"forever\"}", &instance, &err),
           DAGU_AUTH_STATUS_INVALID_CONFIG, &err);
    STATUS(dagu_auth_open("{\"dataDir\":\"/tmp/x\",\"tokenSecret\":\"short\"}", &instance, &err),
           DAGU_AUTH_STATUS_INVALID_CONFIG, &err);
    CHECK(instance == (DaguAuth *)(void *)SENTINEL);

    /* A data folder that is a file. */
    char path[4096];
    snprintf(path, sizeof path, "%s/plain-file", base);
    FILE *file = fopen(path, "w");
    CHECK(file != NULL);
    fclose(file);
    test_config(config, sizeof config, base, "plain-file");
    STATUS(dagu_auth_open(config, &instance, &err), DAGU_AUTH_STATUS_STORAGE, &err);
    CHECK(instance == (DaguAuth *)(void *)SENTINEL);

    /* 1 MiB and 10 MiB configurations: a huge path, a huge licence feature list. */
    char *huge = big_string("{\"dataDir\":\"/tmp/", MIB, 'd', "\"}");
    STATUS(dagu_auth_open(huge, &instance, &err), DAGU_AUTH_STATUS_STORAGE, &err);
    free(huge);
    huge = big_string("{\"dataDir\":\"/tmp/x\",\"licenseFeatures\":[\"", huge_size, 'f', "\"");
    STATUS(dagu_auth_open(huge, &instance, &err), DAGU_AUTH_STATUS_INVALID_CONFIG, &err);
    free(huge);
    CHECK(instance == (DaguAuth *)(void *)SENTINEL);

    /* Happy path, twice on the same folder (the second sees the first's database). */
    DaguAuth *first = open_ok(base, "open");
    dagu_auth_close(first);
    DaguAuth *again = open_ok(base, "open");
    dagu_auth_close(again);
    dagu_auth_close(NULL);
    dagu_auth_close(NULL);
    CHECK(true); /* closing NULL twice did not crash */
}

/* Signs in as the first admin; returns its token in `token`. */
static void setup(DaguAuth *a, char *token, size_t token_size)
{
    char *err = NULL;
    char *login = NULL;
    bool required = false;

    STATUS(dagu_auth_setup_required(NULL, &required, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_setup_required(a, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_setup_required(a, &required, NULL), OK, NULL);
    CHECK(required);

    STATUS(dagu_auth_setup(NULL, "admin", ADMIN_PASSWORD, &login, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_setup(a, NULL, ADMIN_PASSWORD, &login, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_setup(a, "admin", NULL, &login, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_setup(a, "admin", ADMIN_PASSWORD, NULL, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_setup(a, INVALID_UTF8, ADMIN_PASSWORD, &login, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_setup(a, "admin", INVALID_UTF8, &login, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_setup(a, "", ADMIN_PASSWORD, &login, &err), DAGU_AUTH_STATUS_BAD_REQUEST,
           &err);
    STATUS(dagu_auth_setup(a, "admin", "", &login, &err), DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    STATUS(dagu_auth_setup(a, "admin", "short", &login, &err), DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    char *huge = big_string("", MIB, 'u', "");
    STATUS(dagu_auth_setup(a, huge, ADMIN_PASSWORD, &login, &err), DAGU_AUTH_STATUS_BAD_REQUEST,
           &err);
    free(huge);
    huge = big_string("", huge_size, 'p', "");
    STATUS(dagu_auth_setup(a, "admin", huge, &login, &err), DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    free(huge);
    CHECK(login == NULL);

    STATUS(dagu_auth_setup(a, "admin", ADMIN_PASSWORD, &login, &err), OK, &err);
    CONTAINS(login, "\"token\":\"");
    CONTAINS(login, "\"expiresAt\":\"");
    CONTAINS(login, "\"username\":\"admin\"");
    CONTAINS(login, "\"role\":\"admin\"");
    CHECK(json_string(login, "token", token, token_size));
    dagu_auth_string_free(login);
    login = NULL;

    STATUS(dagu_auth_setup(a, "admin2", ADMIN_PASSWORD, &login, &err), DAGU_AUTH_STATUS_FORBIDDEN,
           &err);
    /* Without error_out the status alone comes back. */
    STATUS(dagu_auth_setup(a, "admin2", ADMIN_PASSWORD, &login, NULL), DAGU_AUTH_STATUS_FORBIDDEN,
           NULL);
    CHECK(login == NULL);
    STATUS(dagu_auth_setup_required(a, &required, &err), OK, &err);
    CHECK(!required);
}

static void authenticate(DaguAuth *a)
{
    char *err = NULL;
    char *login = NULL;
    const char *pw = ADMIN_PASSWORD;

    STATUS(dagu_auth_authenticate(NULL, "admin", pw, NULL, &login, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authenticate(a, NULL, pw, NULL, &login, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authenticate(a, "admin", NULL, NULL, &login, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authenticate(a, "admin", pw, NULL, NULL, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authenticate(a, INVALID_UTF8, pw, NULL, &login, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_authenticate(a, "admin", INVALID_UTF8, NULL, &login, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_authenticate(a, "admin", pw, INVALID_UTF8, &login, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_authenticate(a, "", "", "", &login, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED,
           &err);
    STATUS(dagu_auth_authenticate(a, "admin", "", NULL, &login, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_authenticate(a, "admin", "wrong password", NULL, &login, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_authenticate(a, "nobody", pw, NULL, &login, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    char *huge = big_string("", MIB, 'u', "");
    STATUS(dagu_auth_authenticate(a, huge, pw, huge, &login, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    free(huge);
    huge = big_string("", huge_size, 'p', "");
    STATUS(dagu_auth_authenticate(a, "admin", huge, NULL, &login, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    free(huge);
    CHECK(login == NULL);

    STATUS(dagu_auth_authenticate(a, "admin", pw, "192.0.2.1", &login, &err), OK, &err);
    CONTAINS(login, "\"username\":\"admin\"");
    dagu_auth_string_free(login);
    login = NULL;
    /* Usernames match case-insensitively; client_ip may be NULL or empty. */
    STATUS(dagu_auth_authenticate(a, "ADMIN", pw, NULL, &login, NULL), OK, NULL);
    CONTAINS(login, "\"token\":\"");
    dagu_auth_string_free(login);
    login = NULL;
    STATUS(dagu_auth_authenticate(a, "admin", pw, "", &login, &err), OK, &err);
    dagu_auth_string_free(login);
}

static void verify(DaguAuth *a, const char *token)
{
    char *err = NULL;
    char *principal = NULL;

    STATUS(dagu_auth_verify(NULL, token, &principal, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_verify(a, NULL, &principal, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_verify(a, token, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_verify(a, INVALID_UTF8, &principal, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_verify(a, "", &principal, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_verify(a, "not a token", &principal, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED,
           &err);
    STATUS(dagu_auth_verify(a, "dagu_notakey", &principal, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    char *huge = big_string("", MIB, 't', "");
    STATUS(dagu_auth_verify(a, huge, &principal, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    free(huge);
    huge = big_string("dagu_", huge_size, 'k', "");
    STATUS(dagu_auth_verify(a, huge, &principal, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    free(huge);
    /* A token with one character changed. */
    char tampered[1024];
    snprintf(tampered, sizeof tampered, "%s", token);
    size_t len = strlen(tampered);
    CHECK(len > 10);
    tampered[len - 2] = tampered[len - 2] == 'A' ? 'B' : 'A';
    STATUS(dagu_auth_verify(a, tampered, &principal, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED,
           &err);
    CHECK(principal == NULL);

    STATUS(dagu_auth_verify(a, token, &principal, &err), OK, &err);
    CHECK(strncmp(principal, "{\"user\":{", 9) == 0);
    CONTAINS(principal, "\"username\":\"admin\"");
    CONTAINS(principal, "\"authProvider\":\"builtin\"");
    CHECK(strstr(principal, "password") == NULL);
    dagu_auth_string_free(principal);
}

static void expect_decision(DaguAuth *a, const char *token, uint32_t action, const char *workspace,
                            uint32_t want, int line)
{
    char *err = NULL;
    uint32_t decision = 0;
    check_status(__FILE__, line, "dagu_auth_authorize",
                 dagu_auth_authorize(a, token, action, workspace, &decision, &err), OK, &err);
    check_true(__FILE__, line, "decision is the expected one", decision == want);
    /* The length-delimited form decides every case the same way. */
    decision = 0;
    check_status(__FILE__, line, "dagu_auth_authorize_n",
                 dagu_auth_authorize_n(a, token, strlen(token), action, workspace,
                                       workspace ? strlen(workspace) : 0, &decision, &err),
                 OK, &err);
    check_true(__FILE__, line, "dagu_auth_authorize_n: the same decision", decision == want);
    /* So does the request form (ABI 1.4) on the REST API, the surface of the calls above. */
    DaguAuthAuthorizeRequest request;
    memset(&request, 0, sizeof request);
    request.struct_size = sizeof request;
    request.token = token;
    request.token_len = strlen(token);
    request.action = action;
    request.workspace = workspace;
    request.workspace_len = workspace ? strlen(workspace) : 0;
    request.surface = DAGU_AUTH_SURFACE_REST_API;
    decision = 0;
    check_status(__FILE__, line, "dagu_auth_authorize_request",
                 dagu_auth_authorize_request(a, &request, &decision, &err), OK, &err);
    check_true(__FILE__, line, "dagu_auth_authorize_request: the same decision", decision == want);
}

/* A request for `token` on `surface`, for the VIEW action in the default workspace. */
static DaguAuthAuthorizeRequest request_on(const char *token, uint32_t surface)
{
    DaguAuthAuthorizeRequest request;
    memset(&request, 0, sizeof request);
    request.struct_size = sizeof request;
    request.token = token;
    request.token_len = token ? strlen(token) : 0;
    request.action = DAGU_AUTH_ACTION_VIEW;
    request.surface = surface;
    return request;
}

/* Expects `dagu_auth_authorize_request` to fail with `want` and the message `message`. */
static void expect_refused(DaguAuth *a, const DaguAuthAuthorizeRequest *request,
                           DaguAuthStatus want, const char *message, int line)
{
    char *err = NULL;
    uint32_t decision = 0xdeadu;
    DaguAuthStatus got = dagu_auth_authorize_request(a, request, &decision, &err);
    check_true(__FILE__, line, "dagu_auth_authorize_request: the expected status", got == want);
    check_true(__FILE__, line, "dagu_auth_authorize_request: the expected message",
               err != NULL && (message == NULL || strcmp(err, message) == 0));
    check_true(__FILE__, line, "dagu_auth_authorize_request: no decision written",
               decision == 0xdeadu);
    dagu_auth_string_free(err);
}

/*
 * The request form of ABI 1.4: a session token is good on every surface; the struct is versioned
 * by its size (smaller than this header's: UNSUPPORTED_VERSION; larger: accepted); NULLs, lengths
 * and unknown values are refused as the other forms refuse them.
 */
static void authorize_request(DaguAuth *a, const char *admin)
{
    char *err = NULL;
    uint32_t decision = 0xdeadu;
    DaguAuthAuthorizeRequest request = request_on(admin, DAGU_AUTH_SURFACE_MCP);

    STATUS(dagu_auth_authorize_request(NULL, &request, &decision, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authorize_request(a, NULL, &decision, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_authorize_request(a, &request, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    CHECK(decision == 0xdeadu);
    const uint32_t surfaces[] = {DAGU_AUTH_SURFACE_REST_API, DAGU_AUTH_SURFACE_MCP};
    for (size_t i = 0; i < sizeof surfaces / sizeof surfaces[0]; i++) {
        request = request_on(admin, surfaces[i]);
        decision = 0;
        STATUS(dagu_auth_authorize_request(a, &request, &decision, &err), OK, &err);
        CHECK(decision == DAGU_AUTH_DECISION_ALLOW);
    }

    request = request_on(admin, DAGU_AUTH_SURFACE_MCP);
    request.struct_size = sizeof request - 1;
    expect_refused(a, &request, DAGU_AUTH_STATUS_UNSUPPORTED_VERSION, NULL, __LINE__);
    request.struct_size = 0;
    expect_refused(a, &request, DAGU_AUTH_STATUS_UNSUPPORTED_VERSION, NULL, __LINE__);
    /* A struct from a later version: this one's fields first, then more, never read. */
    struct {
        DaguAuthAuthorizeRequest request;
        uint64_t appended[4];
    } later;
    memset(&later, 0xff, sizeof later);
    later.request = request_on(admin, DAGU_AUTH_SURFACE_MCP);
    later.request.struct_size = sizeof later;
    decision = 0;
    STATUS(dagu_auth_authorize_request(a, &later.request, &decision, &err), OK, &err);
    CHECK(decision == DAGU_AUTH_DECISION_ALLOW);

    request = request_on(admin, 2);
    expect_refused(a, &request, DAGU_AUTH_STATUS_BAD_REQUEST, "unknown surface 2", __LINE__);
    request = request_on(admin, UINT32_MAX);
    expect_refused(a, &request, DAGU_AUTH_STATUS_BAD_REQUEST, NULL, __LINE__);
    request = request_on(admin, DAGU_AUTH_SURFACE_MCP);
    request.action = 99;
    expect_refused(a, &request, DAGU_AUTH_STATUS_BAD_REQUEST, "unknown action 99", __LINE__);
    request = request_on(NULL, DAGU_AUTH_SURFACE_MCP);
    request.token_len = 5;
    expect_refused(a, &request, DAGU_AUTH_STATUS_NULL_ARGUMENT, NULL, __LINE__);
    request = request_on(NULL, DAGU_AUTH_SURFACE_MCP);
    expect_refused(a, &request, DAGU_AUTH_STATUS_UNAUTHENTICATED, NULL, __LINE__);
    request = request_on(INVALID_UTF8, DAGU_AUTH_SURFACE_MCP);
    expect_refused(a, &request, DAGU_AUTH_STATUS_INVALID_UTF8, NULL, __LINE__);
    request = request_on(admin, DAGU_AUTH_SURFACE_MCP);
    request.workspace = "ops";
    request.workspace_len = 3;
    decision = 0;
    STATUS(dagu_auth_authorize_request(a, &request, &decision, &err), OK, &err);
    CHECK(decision == DAGU_AUTH_DECISION_ALLOW);
}

/* What only the length-delimited form has: bytes taken exactly, no terminator needed. */
static void authorize_n(DaguAuth *a, const char *scoped)
{
    char *err = NULL;
    uint32_t decision = 0xdeadu;
    size_t len = strlen(scoped);

    STATUS(dagu_auth_authorize_n(NULL, scoped, len, DAGU_AUTH_ACTION_VIEW, NULL, 0, &decision,
                                 &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authorize_n(a, NULL, 5, DAGU_AUTH_ACTION_VIEW, NULL, 0, &decision, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authorize_n(a, scoped, len, DAGU_AUTH_ACTION_VIEW, NULL, 3, &decision, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authorize_n(a, scoped, len, DAGU_AUTH_ACTION_VIEW, NULL, 0, NULL, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authorize_n(a, NULL, 0, DAGU_AUTH_ACTION_VIEW, NULL, 0, &decision, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_authorize_n(a, INVALID_UTF8, strlen(INVALID_UTF8), DAGU_AUTH_ACTION_VIEW,
                                 NULL, 0, &decision, &err), DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_authorize_n(a, scoped, len, DAGU_AUTH_ACTION_VIEW, INVALID_UTF8,
                                 strlen(INVALID_UTF8), &decision, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    /* A length no object can have is refused before anything is read. */
    STATUS(dagu_auth_authorize_n(a, scoped, SIZE_MAX, DAGU_AUTH_ACTION_VIEW, NULL, 0, &decision,
                                 &err), DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    STATUS(dagu_auth_authorize_n(a, scoped, len, 99, NULL, 0, &decision, &err),
           DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    /* One character short of the token is a different, unsigned token. */
    STATUS(dagu_auth_authorize_n(a, scoped, len - 1, DAGU_AUTH_ACTION_VIEW, NULL, 0, &decision,
                                 &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    CHECK(decision == 0xdeadu);

    /* Neither string needs a terminator: both sit inside larger buffers here. */
    char *buffer = malloc(len + 16);
    CHECK(buffer != NULL);
    memcpy(buffer, scoped, len);
    memcpy(buffer + len, "opsXYZ", 6);
    STATUS(dagu_auth_authorize_n(a, buffer, len, DAGU_AUTH_ACTION_WRITE, buffer + len, 3,
                                 &decision, &err), OK, &err);
    CHECK(decision == DAGU_AUTH_DECISION_ALLOW);
    /* A NUL inside the workspace is part of its name: "ops\0x" is not "ops". */
    STATUS(dagu_auth_authorize_n(a, scoped, len, DAGU_AUTH_ACTION_VIEW, "ops\0x", 5, &decision,
                                 &err), OK, &err);
    CHECK(decision == DAGU_AUTH_DECISION_NOT_VISIBLE);
    free(buffer);
}

#define DECISION(a, token, action, workspace, want) \
    expect_decision((a), (token), DAGU_AUTH_ACTION_##action, (workspace), \
                    DAGU_AUTH_DECISION_##want, __LINE__)

static void authorize(DaguAuth *a, const char *admin, const char *scoped)
{
    char *err = NULL;
    uint32_t decision = 0xdeadu;

    STATUS(dagu_auth_authorize(NULL, admin, DAGU_AUTH_ACTION_VIEW, NULL, &decision, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authorize(a, NULL, DAGU_AUTH_ACTION_VIEW, NULL, &decision, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authorize(a, admin, DAGU_AUTH_ACTION_VIEW, NULL, NULL, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authorize(a, INVALID_UTF8, DAGU_AUTH_ACTION_VIEW, NULL, &decision, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_authorize(a, admin, DAGU_AUTH_ACTION_VIEW, INVALID_UTF8, &decision, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    const uint32_t bad_actions[] = {0, 6, 255, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad_actions / sizeof bad_actions[0]; i++) {
        STATUS(dagu_auth_authorize(a, admin, bad_actions[i], NULL, &decision, &err),
               DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    }
    STATUS(dagu_auth_authorize(a, "", DAGU_AUTH_ACTION_VIEW, NULL, &decision, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_authorize(a, "garbage", DAGU_AUTH_ACTION_VIEW, "", &decision, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    char *huge = big_string("", MIB, 't', "");
    STATUS(dagu_auth_authorize(a, huge, DAGU_AUTH_ACTION_VIEW, NULL, &decision, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    free(huge);
    CHECK(decision == 0xdeadu);

    /* The admin may do everything everywhere. */
    for (uint32_t action = DAGU_AUTH_ACTION_VIEW; action <= DAGU_AUTH_ACTION_ADMIN; action++) {
        expect_decision(a, admin, action, NULL, DAGU_AUTH_DECISION_ALLOW, __LINE__);
        expect_decision(a, admin, action, "", DAGU_AUTH_DECISION_ALLOW, __LINE__);
        expect_decision(a, admin, action, "ops", DAGU_AUTH_DECISION_ALLOW, __LINE__);
    }
    /* Scoped viewer: developer in ops, viewer in qa, nothing elsewhere. */
    DECISION(a, scoped, VIEW, NULL, ALLOW);
    DECISION(a, scoped, EXECUTE, "", FORBIDDEN);
    DECISION(a, scoped, WRITE, "ops", ALLOW);
    DECISION(a, scoped, EXECUTE, "ops", ALLOW);
    DECISION(a, scoped, VIEW, "qa", ALLOW);
    DECISION(a, scoped, WRITE, "qa", FORBIDDEN);
    DECISION(a, scoped, VIEW, "secret", NOT_VISIBLE);
    DECISION(a, scoped, WRITE, "secret", NOT_VISIBLE);
    DECISION(a, scoped, AUDIT, "ops", FORBIDDEN);
    DECISION(a, scoped, ADMIN, NULL, FORBIDDEN);
    /* A 1 MiB and a 10 MiB workspace name are just workspaces nobody was granted. */
    huge = big_string("", MIB, 'w', "");
    DECISION(a, scoped, VIEW, huge, NOT_VISIBLE);
    DECISION(a, admin, VIEW, huge, ALLOW);
    free(huge);
    huge = big_string("", huge_size, 'w', "");
    DECISION(a, scoped, VIEW, huge, NOT_VISIBLE);
    free(huge);
    authorize_n(a, scoped);
    authorize_request(a, admin);
}

/* Creates the scoped user; returns its id in `id`. */
static void user_create(DaguAuth *a, const char *admin, char *id, size_t id_size)
{
    char *err = NULL;
    char *user = NULL;
    const char *request =
        "{\"username\":\"scoped\",\"password\":\"scoped password 1\",\"role\":\"viewer\","
        "\"workspaceAccess\":{\"all\":false,\"grants\":[{\"workspace\":\"ops\",\"role\":"
        "\"developer\"},{\"workspace\":\"qa\",\"role\":\"viewer\"}]}}";

    STATUS(dagu_auth_user_create(NULL, admin, request, &user, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_create(a, NULL, request, &user, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_user_create(a, admin, NULL, &user, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_user_create(a, admin, request, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_user_create(a, INVALID_UTF8, request, &user, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_user_create(a, admin, "{\"username\":\"\xff\"}", &user, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_user_create(a, "", request, &user, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED,
           &err);
    const char *malformed[] = {
        "",
        "{",
        "not json",
        "[]",
        "null",
        "{\"username\":42,\"password\":\"scoped password 1\",\"role\":\"viewer\"}",
        "{\"username\":\"x\",\"password\":[],\"role\":\"viewer\"}",
        "{\"username\":\"x\",\"password\":\"long enough 1\",\"role\":\"viewer\","
        "\"workspaceAccess\":\"all\"}",
        "{\"username\":\"x\",\"password\":\"long enough 1\",\"role\":\"viewer\"} trailing",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        STATUS(dagu_auth_user_create(a, admin, malformed[i], &user, &err),
               DAGU_AUTH_STATUS_INVALID_JSON, &err);
    }
    STATUS(dagu_auth_user_create(a, admin,
                                 "{\"username\":\"x\",\"password\":\"long enough 1\","
                                 "\"role\":\"emperor\"}",
                                 &user, &err),
           DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    STATUS(dagu_auth_user_create(a, admin,
                                 "{\"username\":\"x\",\"password\":\"short\",\"role\":\"viewer\"}",
                                 &user, &err),
           DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    STATUS(dagu_auth_user_create(a, admin,
                                 "{\"username\":\"x\",\"password\":\"long enough 1\","
                                 "\"role\":\"developer\",\"workspaceAccess\":{\"all\":false,"
                                 "\"grants\":[{\"workspace\":\"ops\",\"role\":\"viewer\"}]}}",
                                 &user, &err),
           DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    /* 1 MiB username, 10 MiB document. */
    char *huge = big_string("{\"username\":\"", MIB, 'u',
                            "\",\"password\":\"long enough 1\",\"role\":\"viewer\"}");
    STATUS(dagu_auth_user_create(a, admin, huge, &user, &err), DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    free(huge);
    huge = big_string("{\"username\":\"x\",\"role\":\"viewer\",\"password\":\"", huge_size, 'p',
                      "\"}");
    STATUS(dagu_auth_user_create(a, admin, huge, &user, &err), DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    free(huge);
    huge = big_string("[", huge_size, ' ', "]");
    STATUS(dagu_auth_user_create(a, admin, huge, &user, &err), DAGU_AUTH_STATUS_INVALID_JSON,
           &err);
    free(huge);
    CHECK(user == NULL);

    STATUS(dagu_auth_user_create(a, admin, request, &user, &err), OK, &err);
    CHECK(strncmp(user, "{\"user\":{", 9) == 0);
    CONTAINS(user, "\"username\":\"scoped\"");
    CONTAINS(user, "\"role\":\"viewer\"");
    CONTAINS(user, "\"workspace\":\"ops\"");
    CHECK(strstr(user, "password") == NULL);
    CHECK(json_string(user, "id", id, id_size));
    dagu_auth_string_free(user);
    user = NULL;

    STATUS(dagu_auth_user_create(a, admin, request, &user, &err), DAGU_AUTH_STATUS_ALREADY_EXISTS,
           &err);
    CHECK(user == NULL);
}

static void user_read(DaguAuth *a, const char *admin, const char *scoped, const char *id)
{
    char *err = NULL;
    char *out = NULL;

    STATUS(dagu_auth_user_list(NULL, admin, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_list(a, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_list(a, admin, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_list(a, INVALID_UTF8, &out, &err), DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_user_list(a, "", &out, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_user_list(a, scoped, &out, &err), DAGU_AUTH_STATUS_FORBIDDEN, &err);
    CHECK(out == NULL);
    STATUS(dagu_auth_user_list(a, admin, &out, &err), OK, &err);
    CHECK(strncmp(out, "{\"users\":[", 10) == 0);
    CONTAINS(out, "\"username\":\"admin\"");
    CONTAINS(out, "\"username\":\"scoped\"");
    CHECK(strstr(out, "\"username\":\"admin\"") < strstr(out, "\"username\":\"scoped\""));
    dagu_auth_string_free(out);
    out = NULL;

    STATUS(dagu_auth_user_get(NULL, admin, id, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_get(a, NULL, id, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_get(a, admin, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_get(a, admin, id, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_get(a, admin, INVALID_UTF8, &out, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_user_get(a, admin, "", &out, &err), DAGU_AUTH_STATUS_NOT_FOUND, &err);
    STATUS(dagu_auth_user_get(a, admin, "00000000-0000-4000-8000-000000000000", &out, &err),
           DAGU_AUTH_STATUS_NOT_FOUND, &err);
    char *huge = big_string("", MIB, 'i', "");
    STATUS(dagu_auth_user_get(a, admin, huge, &out, &err), DAGU_AUTH_STATUS_NOT_FOUND, &err);
    free(huge);
    STATUS(dagu_auth_user_get(a, scoped, id, &out, &err), DAGU_AUTH_STATUS_FORBIDDEN, &err);
    CHECK(out == NULL);
    STATUS(dagu_auth_user_get(a, admin, id, &out, &err), OK, &err);
    CHECK(strncmp(out, "{\"user\":{", 9) == 0);
    CONTAINS(out, id);
    CONTAINS(out, "\"username\":\"scoped\"");
    dagu_auth_string_free(out);
}

static void user_update(DaguAuth *a, const char *admin, const char *scoped, const char *id,
                        const char *admin_id)
{
    char *err = NULL;
    char *out = NULL;
    const char *rename = "{\"username\":\"scoped2\"}";

    STATUS(dagu_auth_user_update(NULL, admin, id, rename, &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_update(a, NULL, id, rename, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_user_update(a, admin, NULL, rename, &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_update(a, admin, id, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_user_update(a, admin, id, rename, NULL, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_update(a, admin, INVALID_UTF8, rename, &out, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_user_update(a, admin, id, INVALID_UTF8, &out, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_user_update(a, admin, id, "", &out, &err), DAGU_AUTH_STATUS_INVALID_JSON,
           &err);
    STATUS(dagu_auth_user_update(a, admin, id, "{\"isDisabled\":\"yes\"}", &out, &err),
           DAGU_AUTH_STATUS_INVALID_JSON, &err);
    STATUS(dagu_auth_user_update(a, admin, id, "{\"role\":7}", &out, &err),
           DAGU_AUTH_STATUS_INVALID_JSON, &err);
    STATUS(dagu_auth_user_update(a, admin, id, "{\"username\":", &out, &err),
           DAGU_AUTH_STATUS_INVALID_JSON, &err);
    STATUS(dagu_auth_user_update(a, admin, "", rename, &out, &err), DAGU_AUTH_STATUS_NOT_FOUND,
           &err);
    STATUS(dagu_auth_user_update(a, scoped, id, rename, &out, &err), DAGU_AUTH_STATUS_FORBIDDEN,
           &err);
    STATUS(dagu_auth_user_update(a, admin, admin_id, "{\"role\":\"viewer\"}", &out, &err),
           DAGU_AUTH_STATUS_CONFLICT, &err);
    STATUS(dagu_auth_user_update(a, admin, admin_id, "{\"isDisabled\":true}", &out, &err),
           DAGU_AUTH_STATUS_FORBIDDEN, &err);
    char *huge = big_string("{\"username\":\"", MIB, 'u', "\"}");
    STATUS(dagu_auth_user_update(a, admin, id, huge, &out, &err), DAGU_AUTH_STATUS_BAD_REQUEST,
           &err);
    free(huge);
    huge = big_string("{\"username\":\"x\"", huge_size, ' ', "}");
    STATUS(dagu_auth_user_update(a, admin, "no-such-id", huge, &out, &err),
           DAGU_AUTH_STATUS_NOT_FOUND, &err);
    free(huge);
    CHECK(out == NULL);

    STATUS(dagu_auth_user_update(a, admin, id, rename, &out, &err), OK, &err);
    CONTAINS(out, "\"username\":\"scoped2\"");
    CONTAINS(out, "\"workspace\":\"qa\"");
    dagu_auth_string_free(out);
    out = NULL;
    STATUS(dagu_auth_user_update(a, admin, id, "{\"username\":\"scoped\"}", &out, &err), OK, &err);
    CONTAINS(out, "\"username\":\"scoped\"");
    dagu_auth_string_free(out);
}

static void passwords(DaguAuth *a, const char *admin, const char *id)
{
    char *err = NULL;
    char *login = NULL;
    char scoped[1024];
    const char *pw = "reset password 1";

    STATUS(dagu_auth_user_reset_password(NULL, admin, id, pw, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_reset_password(a, NULL, id, pw, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_user_reset_password(a, admin, NULL, pw, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_reset_password(a, admin, id, NULL, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_reset_password(a, admin, INVALID_UTF8, pw, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_user_reset_password(a, admin, id, INVALID_UTF8, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_user_reset_password(a, admin, id, "", &err), DAGU_AUTH_STATUS_BAD_REQUEST,
           &err);
    STATUS(dagu_auth_user_reset_password(a, admin, id, "short", &err),
           DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    STATUS(dagu_auth_user_reset_password(a, admin, "", pw, &err), DAGU_AUTH_STATUS_NOT_FOUND,
           &err);
    STATUS(dagu_auth_user_reset_password(a, "", id, pw, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED,
           &err);
    char *huge = big_string("", huge_size, 'p', "");
    STATUS(dagu_auth_user_reset_password(a, admin, id, huge, &err), DAGU_AUTH_STATUS_BAD_REQUEST,
           &err);
    free(huge);

    /* The scoped user signs in, is reset, and that session ends. */
    STATUS(dagu_auth_authenticate(a, "scoped", SCOPED_PASSWORD, NULL, &login, &err), OK, &err);
    CHECK(json_string(login, "token", scoped, sizeof scoped));
    dagu_auth_string_free(login);
    login = NULL;
    STATUS(dagu_auth_user_reset_password(a, scoped, id, pw, &err), DAGU_AUTH_STATUS_FORBIDDEN,
           &err);
    STATUS(dagu_auth_user_reset_password(a, admin, id, pw, &err), OK, &err);
    char *principal = NULL;
    STATUS(dagu_auth_verify(a, scoped, &principal, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_authenticate(a, "scoped", SCOPED_PASSWORD, NULL, &login, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_authenticate(a, "scoped", pw, NULL, &login, &err), OK, &err);
    CHECK(json_string(login, "token", scoped, sizeof scoped));
    dagu_auth_string_free(login);
    login = NULL;

    /* The scoped user changes their own password. */
    const char *next = "changed password 1";
    STATUS(dagu_auth_change_password(NULL, scoped, pw, next, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_change_password(a, NULL, pw, next, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_change_password(a, scoped, NULL, next, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_change_password(a, scoped, pw, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_change_password(a, INVALID_UTF8, pw, next, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_change_password(a, scoped, INVALID_UTF8, next, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_change_password(a, scoped, pw, INVALID_UTF8, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_change_password(a, "", pw, next, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED,
           &err);
    STATUS(dagu_auth_change_password(a, scoped, "wrong password", next, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_change_password(a, scoped, pw, "", &err), DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    huge = big_string("", MIB, 'p', "");
    STATUS(dagu_auth_change_password(a, scoped, huge, next, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_change_password(a, scoped, pw, huge, &err), DAGU_AUTH_STATUS_BAD_REQUEST,
           &err);
    free(huge);
    STATUS(dagu_auth_change_password(a, scoped, pw, next, &err), OK, &err);
    STATUS(dagu_auth_verify(a, scoped, &principal, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    CHECK(principal == NULL);
    STATUS(dagu_auth_authenticate(a, "scoped", next, NULL, &login, &err), OK, &err);
    dagu_auth_string_free(login);
}

static void logout(DaguAuth *a)
{
    char *err = NULL;
    char *login = NULL;
    char token[1024];

    STATUS(dagu_auth_authenticate(a, "admin", ADMIN_PASSWORD, NULL, &login, &err), OK, &err);
    CHECK(json_string(login, "token", token, sizeof token));
    dagu_auth_string_free(login);

    STATUS(dagu_auth_logout(NULL, token, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_logout(a, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_logout(a, INVALID_UTF8, &err), DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_logout(a, "", &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    char *huge = big_string("", MIB, 't', "");
    STATUS(dagu_auth_logout(a, huge, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    free(huge);

    uint32_t decision = 0;
    STATUS(dagu_auth_authorize(a, token, DAGU_AUTH_ACTION_ADMIN, NULL, &decision, &err), OK, &err);
    STATUS(dagu_auth_logout(a, token, &err), OK, &err);
    STATUS(dagu_auth_authorize(a, token, DAGU_AUTH_ACTION_ADMIN, NULL, &decision, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_logout(a, token, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
}

/* ABI 1.5: the scoped user signs in from two clients, lists, ends one and then the others; the
 * admin ends whatever is left. */
static void session_controls(DaguAuth *a, const char *admin, const char *scoped_id)
{
    char *err = NULL;
    char *out = NULL;
    char laptop[1024];
    char phone[1024];
    char phone_id[128];
    const char *password = "changed password 1";

    STATUS(dagu_auth_authenticate_from(NULL, "scoped", password, "10.0.0.1", "x", &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authenticate_from(a, "scoped", password, NULL, NULL, NULL, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_authenticate_from(a, "scoped", password, "10.0.0.1", INVALID_UTF8, &out,
                                       &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_authenticate_from(a, "scoped", password, "10.0.0.1", "Laptop/1.0", &out,
                                       &err),
           OK, &err);
    CHECK(json_string(out, "token", laptop, sizeof laptop));
    dagu_auth_string_free(out);
    out = NULL;
    /* No address and no user agent: both are optional. */
    STATUS(dagu_auth_authenticate_from(a, "scoped", password, NULL, NULL, &out, &err), OK, &err);
    CHECK(json_string(out, "token", phone, sizeof phone));
    dagu_auth_string_free(out);
    out = NULL;

    STATUS(dagu_auth_session_list(NULL, laptop, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_session_list(a, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_session_list(a, laptop, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_session_list(a, INVALID_UTF8, &out, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_session_list(a, "not a token", &out, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED,
           &err);
    STATUS(dagu_auth_session_list(a, laptop, &out, &err), OK, &err);
    CONTAINS(out, "\"userAgent\":\"Laptop/1.0\"");
    CONTAINS(out, "\"clientIp\":\"10.0.0.1\"");
    CONTAINS(out, "\"current\":true");
    dagu_auth_string_free(out);
    out = NULL;
    STATUS(dagu_auth_session_list(a, phone, &out, &err), OK, &err);
    /* The phone's own session comes first. */
    CHECK(json_string(out, "id", phone_id, sizeof phone_id));
    dagu_auth_string_free(out);
    out = NULL;

    STATUS(dagu_auth_session_end(NULL, laptop, phone_id, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_session_end(a, laptop, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_session_end(a, laptop, INVALID_UTF8, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_session_end(a, laptop, "0000000000000000", &err), DAGU_AUTH_STATUS_NOT_FOUND,
           &err);
    STATUS(dagu_auth_session_end(a, laptop, phone_id, &err), OK, &err);
    char *principal = NULL;
    STATUS(dagu_auth_verify(a, phone, &principal, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);

    STATUS(dagu_auth_session_end_others(NULL, laptop, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_session_end_others(a, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_session_end_others(a, laptop, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_session_end_others(a, laptop, &out, &err), OK, &err);
    CONTAINS(out, "\"ended\":");
    dagu_auth_string_free(out);
    out = NULL;
    STATUS(dagu_auth_verify(a, laptop, &principal, &err), OK, &err);
    dagu_auth_string_free(principal);
    principal = NULL;

    STATUS(dagu_auth_user_end_sessions(NULL, admin, scoped_id, &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_end_sessions(a, admin, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_user_end_sessions(a, admin, scoped_id, NULL, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_end_sessions(a, laptop, scoped_id, &out, &err),
           DAGU_AUTH_STATUS_FORBIDDEN, &err);
    STATUS(dagu_auth_user_end_sessions(a, admin, "no-such-user", &out, &err),
           DAGU_AUTH_STATUS_NOT_FOUND, &err);
    STATUS(dagu_auth_user_end_sessions(a, admin, scoped_id, &out, &err), OK, &err);
    CHECK(strcmp(out, "{\"ended\":1}") == 0);
    dagu_auth_string_free(out);
    STATUS(dagu_auth_verify(a, laptop, &principal, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
}

/* The fields every key request names: where the key may be used and whom it acts for. */
#define KEY_FIELDS "\"allowedSurfaces\":[\"rest_api\"],\"attributionClass\":\"service_account\","

static void api_keys(DaguAuth *a, const char *admin, const char *scoped)
{
    char *err = NULL;
    char *out = NULL;
    char key[256];
    char key_id[128];
    const char *request = "{\"name\":\"ci\",\"role\":\"viewer\",\"description\":\"from C\","
                          "\"allowedSurfaces\":[\"rest_api\"],"
                          "\"attributionClass\":\"service_account\"}";
    const char *patch = "{\"description\":\"changed\"}";

    STATUS(dagu_auth_api_key_create(NULL, admin, request, &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_create(a, NULL, request, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_api_key_create(a, admin, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_api_key_create(a, admin, request, NULL, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_create(a, INVALID_UTF8, request, &out, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_api_key_create(a, admin, INVALID_UTF8, &out, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_api_key_create(a, "", request, &out, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED,
           &err);
    STATUS(dagu_auth_api_key_create(a, scoped, request, &out, &err), DAGU_AUTH_STATUS_FORBIDDEN,
           &err);
    const char *malformed[] = {"", "{", "[]", "{\"name\":7,\"role\":\"viewer\"}",
                               "{\"name\":\"k\",\"role\":[\"viewer\"]}"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        STATUS(dagu_auth_api_key_create(a, admin, malformed[i], &out, &err),
               DAGU_AUTH_STATUS_INVALID_JSON, &err);
    }
    STATUS(dagu_auth_api_key_create(a, admin, "{" KEY_FIELDS "\"name\":\"\",\"role\":\"viewer\"}",
                                    &out, &err),
           DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    STATUS(dagu_auth_api_key_create(a, admin, "{" KEY_FIELDS "\"name\":\"k\",\"role\":\"emperor\"}",
                                    &out, &err),
           DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    /* Surfaces and attribution as Dagu checks them, with Dagu's messages. */
    const char *refused[][2] = {
        {"{\"name\":\"k\",\"role\":\"viewer\",\"attributionClass\":\"service_account\"}",
         "Invalid API key surface"},
        {"{\"name\":\"k\",\"role\":\"viewer\",\"allowedSurfaces\":[],"
         "\"attributionClass\":\"service_account\"}",
         "Invalid API key surface"},
        {"{\"name\":\"k\",\"role\":\"viewer\",\"allowedSurfaces\":[\"ftp\"],"
         "\"attributionClass\":\"service_account\"}",
         "Invalid API key surface"},
        {"{\"name\":\"k\",\"role\":\"viewer\",\"allowedSurfaces\":[\"mcp\"]}",
         "Invalid API key attribution"},
        {"{\"name\":\"k\",\"role\":\"viewer\",\"allowedSurfaces\":[\"mcp\"],"
         "\"attributionClass\":\"robot\"}",
         "Invalid API key attribution"},
        {"{\"name\":\"k\",\"role\":\"viewer\",\"allowedSurfaces\":[\"mcp\"],"
         "\"attributionClass\":\"user_owned\",\"ownerUserId\":\"nobody\"}",
         "Invalid API key attribution"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        DaguAuthStatus got = dagu_auth_api_key_create(a, admin, refused[i][0], &out, &err);
        CHECK(got == DAGU_AUTH_STATUS_BAD_REQUEST);
        CHECK(err != NULL && strcmp(err, refused[i][1]) == 0);
        dagu_auth_string_free(err);
        err = NULL;
    }
    char *huge = big_string("{" KEY_FIELDS "\"role\":\"viewer\",\"name\":\"", MIB, 'n', "\"}");
    STATUS(dagu_auth_api_key_create(a, admin, huge, &out, &err), DAGU_AUTH_STATUS_BAD_REQUEST,
           &err);
    free(huge);
    huge = big_string("{" KEY_FIELDS "\"name\":\"k\",\"role\":\"viewer\",\"description\":\"",
                      huge_size, 'd', "\"}");
    STATUS(dagu_auth_api_key_create(a, admin, huge, &out, &err), DAGU_AUTH_STATUS_BAD_REQUEST,
           &err);
    free(huge);
    CHECK(out == NULL);

    STATUS(dagu_auth_api_key_create(a, admin, request, &out, &err), OK, &err);
    CHECK(strncmp(out, "{\"apiKey\":{", 11) == 0);
    CONTAINS(out, "\"name\":\"ci\"");
    CONTAINS(out, "\"keyPrefix\":\"");
    CHECK(json_string(out, "key", key, sizeof key));
    CHECK(strncmp(key, "dagu_", 5) == 0);
    CHECK(json_string(out, "id", key_id, sizeof key_id));
    dagu_auth_string_free(out);
    out = NULL;
    STATUS(dagu_auth_api_key_create(a, admin, request, &out, &err),
           DAGU_AUTH_STATUS_ALREADY_EXISTS, &err);

    /* The key is a bearer credential with its own role, on the REST API only. */
    DECISION(a, key, VIEW, NULL, ALLOW);
    DECISION(a, key, WRITE, "", FORBIDDEN);
    DaguAuthAuthorizeRequest on_mcp = request_on(key, DAGU_AUTH_SURFACE_MCP);
    expect_refused(a, &on_mcp, DAGU_AUTH_STATUS_FORBIDDEN,
                   "API key is not allowed for this surface", __LINE__);
    STATUS(dagu_auth_verify(a, key, &out, &err), OK, &err);
    CHECK(strncmp(out, "{\"user\":{", 9) == 0);
    dagu_auth_string_free(out);
    out = NULL;

    STATUS(dagu_auth_api_key_list(NULL, admin, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_list(a, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_list(a, admin, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_list(a, INVALID_UTF8, &out, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_api_key_list(a, "", &out, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_api_key_list(a, scoped, &out, &err), DAGU_AUTH_STATUS_FORBIDDEN, &err);
    STATUS(dagu_auth_api_key_list(a, key, &out, &err), DAGU_AUTH_STATUS_FORBIDDEN, &err);
    CHECK(out == NULL);
    STATUS(dagu_auth_api_key_list(a, admin, &out, &err), OK, &err);
    CHECK(strncmp(out, "{\"apiKeys\":[", 12) == 0);
    CONTAINS(out, key_id);
    CHECK(strstr(out, key) == NULL);
    dagu_auth_string_free(out);
    out = NULL;

    STATUS(dagu_auth_api_key_get(NULL, admin, key_id, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_api_key_get(a, NULL, key_id, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_api_key_get(a, admin, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_api_key_get(a, admin, key_id, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_api_key_get(a, admin, INVALID_UTF8, &out, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_api_key_get(a, admin, "", &out, &err), DAGU_AUTH_STATUS_NOT_FOUND, &err);
    huge = big_string("", MIB, 'i', "");
    STATUS(dagu_auth_api_key_get(a, admin, huge, &out, &err), DAGU_AUTH_STATUS_NOT_FOUND, &err);
    free(huge);
    STATUS(dagu_auth_api_key_get(a, scoped, key_id, &out, &err), DAGU_AUTH_STATUS_FORBIDDEN, &err);
    CHECK(out == NULL);
    STATUS(dagu_auth_api_key_get(a, admin, key_id, &out, &err), OK, &err);
    CHECK(strncmp(out, "{\"apiKey\":{", 11) == 0);
    CONTAINS(out, "\"description\":\"from C\"");
    dagu_auth_string_free(out);
    out = NULL;

    STATUS(dagu_auth_api_key_update(NULL, admin, key_id, patch, &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_update(a, NULL, key_id, patch, &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_update(a, admin, NULL, patch, &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_update(a, admin, key_id, NULL, &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_update(a, admin, key_id, patch, NULL, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_update(a, admin, INVALID_UTF8, patch, &out, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_api_key_update(a, admin, key_id, INVALID_UTF8, &out, &err),
           DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    STATUS(dagu_auth_api_key_update(a, admin, key_id, "{\"role\":1}", &out, &err),
           DAGU_AUTH_STATUS_INVALID_JSON, &err);
    STATUS(dagu_auth_api_key_update(a, admin, key_id, "nope", &out, &err),
           DAGU_AUTH_STATUS_INVALID_JSON, &err);
    STATUS(dagu_auth_api_key_update(a, admin, key_id, "{\"role\":\"emperor\"}", &out, &err),
           DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    STATUS(dagu_auth_api_key_update(a, admin, "", patch, &out, &err), DAGU_AUTH_STATUS_NOT_FOUND,
           &err);
    STATUS(dagu_auth_api_key_update(a, scoped, key_id, patch, &out, &err),
           DAGU_AUTH_STATUS_FORBIDDEN, &err);
    huge = big_string("{\"description\":\"", huge_size, 'd', "\"}");
    STATUS(dagu_auth_api_key_update(a, admin, key_id, huge, &out, &err),
           DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    free(huge);
    CHECK(out == NULL);
    STATUS(dagu_auth_api_key_update(a, admin, key_id, patch, &out, &err), OK, &err);
    CONTAINS(out, "\"description\":\"changed\"");
    dagu_auth_string_free(out);
    out = NULL;
    /* Moved to MCP only: refused on the REST API (every call before ABI 1.4), allowed on MCP. */
    STATUS(dagu_auth_api_key_update(a, admin, key_id, "{\"allowedSurfaces\":[\"mcp\"]}", &out,
                                    &err),
           OK, &err);
    CONTAINS(out, "\"allowedSurfaces\":[\"mcp\"]");
    dagu_auth_string_free(out);
    out = NULL;
    uint32_t allowed = 0;
    STATUS(dagu_auth_authorize_request(a, &on_mcp, &allowed, &err), OK, &err);
    CHECK(allowed == DAGU_AUTH_DECISION_ALLOW);
    DaguAuthAuthorizeRequest on_rest = request_on(key, DAGU_AUTH_SURFACE_REST_API);
    expect_refused(a, &on_rest, DAGU_AUTH_STATUS_FORBIDDEN,
                   "API key is not allowed for this surface", __LINE__);
    STATUS(dagu_auth_authorize(a, key, DAGU_AUTH_ACTION_VIEW, NULL, &allowed, &err),
           DAGU_AUTH_STATUS_FORBIDDEN, &err);
    STATUS(dagu_auth_verify(a, key, &out, &err), DAGU_AUTH_STATUS_FORBIDDEN, &err);
    CHECK(out == NULL);

    STATUS(dagu_auth_api_key_delete(NULL, admin, key_id, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_api_key_delete(a, NULL, key_id, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_delete(a, admin, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_api_key_delete(a, admin, INVALID_UTF8, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_api_key_delete(a, "", key_id, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_api_key_delete(a, scoped, key_id, &err), DAGU_AUTH_STATUS_FORBIDDEN, &err);
    STATUS(dagu_auth_api_key_delete(a, admin, "", &err), DAGU_AUTH_STATUS_NOT_FOUND, &err);
    STATUS(dagu_auth_api_key_delete(a, admin, key_id, &err), OK, &err);
    STATUS(dagu_auth_api_key_delete(a, admin, key_id, &err), DAGU_AUTH_STATUS_NOT_FOUND, &err);
    uint32_t decision = 0;
    STATUS(dagu_auth_authorize(a, key, DAGU_AUTH_ACTION_VIEW, NULL, &decision, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
}

static void audit(DaguAuth *a, const char *admin, const char *scoped)
{
    char *err = NULL;
    char *out = NULL;

    STATUS(dagu_auth_audit_list(NULL, admin, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_audit_list(a, NULL, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_audit_list(a, admin, NULL, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_audit_list(a, INVALID_UTF8, NULL, &out, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_audit_list(a, admin, INVALID_UTF8, &out, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_audit_list(a, "", NULL, &out, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_audit_list(a, scoped, NULL, &out, &err), DAGU_AUTH_STATUS_FORBIDDEN, &err);
    const char *malformed[] = {"{", "[]", "{\"limit\":\"ten\"}", "{\"userId\":5}",
                               "{\"startTime\":5}"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        STATUS(dagu_auth_audit_list(a, admin, malformed[i], &out, &err),
               DAGU_AUTH_STATUS_INVALID_JSON, &err);
    }
    STATUS(dagu_auth_audit_list(a, admin, "{\"startTime\":\"yesterday\"}", &out, &err),
           DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    STATUS(dagu_auth_audit_list(a, admin, "{\"cursor\":\"not a cursor\"}", &out, &err),
           DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    char *huge = big_string("{\"userId\":\"", huge_size, 'a', "\"}");
    STATUS(dagu_auth_audit_list(a, admin, huge, &out, &err), OK, &err);
    CHECK(strcmp(out, "{\"entries\":[],\"total\":0}") == 0);
    dagu_auth_string_free(out);
    out = NULL;
    free(huge);

    STATUS(dagu_auth_audit_list(a, admin, NULL, &out, &err), OK, &err);
    CHECK(strncmp(out, "{\"entries\":[{", 13) == 0);
    dagu_auth_string_free(out);
    out = NULL;
    STATUS(dagu_auth_audit_list(a, admin, "", &out, &err), OK, &err);
    dagu_auth_string_free(out);
    out = NULL;
    /* Unknown names are ignored, as Dagu ignores unknown query parameters. */
    STATUS(dagu_auth_audit_list(a, admin, "{\"noSuchField\":1}", &out, &err), OK, &err);
    dagu_auth_string_free(out);
    out = NULL;
    STATUS(dagu_auth_audit_list(a, admin, "{\"limit\":1}", &out, &err), OK, &err);
    CONTAINS(out, "\"nextCursor\":\"");
    dagu_auth_string_free(out);
    out = NULL;

    /* The host's own events (ABI 1.4). */
    const char *started = "{\"category\":\"dag\",\"action\":\"dag_execute\",\"resourceType\":\"dag\","
                          "\"resourceId\":\"from-c\",\"details\":{\"dag_name\":\"from-c\"}}";
    STATUS(dagu_auth_audit_append(NULL, admin, started, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT,
           &err);
    STATUS(dagu_auth_audit_append(a, admin, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_audit_append(a, INVALID_UTF8, started, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_audit_append(a, admin, INVALID_UTF8, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_audit_append(a, "not a token", started, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    const char *not_entries[] = {"", "{", "[]", "{\"category\":\"dag\"}",
                                 "{\"category\":\"dag\",\"action\":1}"};
    for (size_t i = 0; i < sizeof not_entries / sizeof not_entries[0]; i++) {
        STATUS(dagu_auth_audit_append(a, admin, not_entries[i], &err),
               DAGU_AUTH_STATUS_INVALID_JSON, &err);
    }
    const char *bad_entries[] = {
        "{\"category\":\"\",\"action\":\"x\"}",
        "{\"category\":\"DAG\",\"action\":\"x\"}",
        "{\"category\":\"user\",\"action\":\"login\"}",
        "{\"category\":\"api_key\",\"action\":\"api_key_delete\"}",
        "{\"category\":\"dag\",\"action\":\"x\",\"surface\":\"ftp\"}",
        "{\"category\":\"dag\",\"action\":\"x\",\"result\":\"maybe\"}",
        "{\"category\":\"dag\",\"action\":\"x\",\"details\":[1]}",
    };
    for (size_t i = 0; i < sizeof bad_entries / sizeof bad_entries[0]; i++) {
        STATUS(dagu_auth_audit_append(a, admin, bad_entries[i], &err),
               DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    }
    huge = big_string("{\"category\":\"dag\",\"action\":\"x\",\"resourceId\":\"", huge_size, 'r',
                      "\"}");
    STATUS(dagu_auth_audit_append(a, admin, huge, &err), DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    free(huge);
    err = SENTINEL;
    STATUS(dagu_auth_audit_append(a, admin, started, &err), OK, NULL);
    CHECK(err == SENTINEL);
    err = NULL;
    STATUS(dagu_auth_audit_append(a, NULL, "{\"category\":\"system\",\"action\":\"host_start\"}",
                                  &err),
           OK, &err);
    STATUS(dagu_auth_audit_list(a, admin, "{\"resourceId\":\"from-c\"}", &out, &err), OK, &err);
    CONTAINS(out, "\"total\":1");
    CONTAINS(out, "\"username\":\"admin\"");
    CONTAINS(out, "\"credentialType\":\"jwt\"");
    CONTAINS(out, "\"details\":\"{\\\"dag_name\\\":\\\"from-c\\\"}\"");
    dagu_auth_string_free(out);
    out = NULL;
    STATUS(dagu_auth_audit_list(a, admin, "{\"action\":\"host_start\"}", &out, &err), OK, &err);
    CONTAINS(out, "\"username\":\"system\"");
    dagu_auth_string_free(out);
}

/* Expects an operator command to answer `want`; returns its result JSON (freed by the caller). */
static char *operate(DaguAuth *a, const char *command, DaguAuthStatus want, int line)
{
    char *err = NULL;
    char *out = NULL;
    check_status(__FILE__, line, command, dagu_auth_operator(a, command, &out, &err), want, &err);
    check_true(__FILE__, line, "result written exactly on success",
               (want == OK) == (out != NULL));
    return out;
}

#define OPERATE(a, command, want) operate((a), (command), DAGU_AUTH_STATUS_##want, __LINE__)

static void operator_commands(const char *base)
{
    DaguAuth *a = open_ok(base, "operator");
    char *err = NULL;
    char *out = (char *)SENTINEL;
    const char *list = "{\"command\":\"users.list\"}";

    STATUS(dagu_auth_operator(NULL, list, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_operator(a, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_operator(a, list, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_operator(a, INVALID_UTF8, &out, &err), DAGU_AUTH_STATUS_INVALID_UTF8, &err);
    CHECK(out == (char *)SENTINEL);
    const char *malformed[] = {
        "", "{", "[]", "{}", "{\"command\":\"no.such.command\"}", "{\"command\":7}",
        "{\"command\":\"setup\",\"username\":1,\"password\":\"operator password 1\"}",
        "{\"command\":\"users.set_disabled\",\"user\":\"x\",\"disabled\":\"yes\"}",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        free(OPERATE(a, malformed[i], INVALID_JSON));
    }
    char *huge = big_string("{\"command\":\"users.list\"}", huge_size, ' ', "");
    dagu_auth_string_free(OPERATE(a, huge, OK));
    free(huge);
    huge = big_string("{\"command\":\"setup\",\"password\":\"operator pw 1\",\"username\":\"",
                      huge_size, 'u', "\"}");
    free(OPERATE(a, huge, BAD_REQUEST));
    free(huge);

    free(OPERATE(a, "{\"command\":\"setup\",\"username\":\"root\",\"password\":\"short\"}",
                 BAD_REQUEST));
    out = OPERATE(a, "{\"command\":\"setup\",\"username\":\"root\",\"password\":\"operator pw 1\"}",
                  OK);
    CONTAINS(out, "\"username\":\"root\"");
    CONTAINS(out, "\"role\":\"admin\"");
    dagu_auth_string_free(out);
    free(OPERATE(a, "{\"command\":\"setup\",\"username\":\"again\",\"password\":\"operator pw 1\"}",
                 FORBIDDEN));

    out = OPERATE(a,
                  "{\"command\":\"users.create\",\"username\":\"op-user\",\"password\":"
                  "\"op user password\",\"role\":\"operator\"}",
                  OK);
    CONTAINS(out, "\"username\":\"op-user\"");
    dagu_auth_string_free(out);
    free(OPERATE(a,
                 "{\"command\":\"users.create\",\"username\":\"op-user\",\"password\":"
                 "\"op user password\",\"role\":\"operator\"}",
                 ALREADY_EXISTS));
    huge = big_string("{\"command\":\"users.create\",\"role\":\"viewer\",\"password\":"
                      "\"long enough 1\",\"username\":\"",
                      MIB, 'u', "\"}");
    free(OPERATE(a, huge, BAD_REQUEST));
    free(huge);

    out = OPERATE(a, list, OK);
    CHECK(strncmp(out, "{\"users\":[", 10) == 0);
    CONTAINS(out, "\"username\":\"op-user\"");
    dagu_auth_string_free(out);

    out = OPERATE(a,
                  "{\"command\":\"users.reset_password\",\"user\":\"op-user\",\"newPassword\":"
                  "\"op user password 2\"}",
                  OK);
    dagu_auth_string_free(out);
    free(OPERATE(a,
                 "{\"command\":\"users.reset_password\",\"user\":\"nobody\",\"newPassword\":"
                 "\"op user password 2\"}",
                 NOT_FOUND));
    char *login = NULL;
    STATUS(dagu_auth_authenticate(a, "op-user", "op user password 2", NULL, &login, &err), OK,
           &err);
    dagu_auth_string_free(login);
    login = NULL;

    out = OPERATE(a, "{\"command\":\"users.set_disabled\",\"user\":\"op-user\",\"disabled\":true}",
                  OK);
    CONTAINS(out, "\"isDisabled\":true");
    dagu_auth_string_free(out);
    STATUS(dagu_auth_authenticate(a, "op-user", "op user password 2", NULL, &login, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    free(OPERATE(a, "{\"command\":\"users.set_disabled\",\"user\":\"root\",\"disabled\":true}",
                 CONFLICT));

    out = OPERATE(a, "{\"command\":\"users.delete\",\"user\":\"op-user\"}", OK);
    CONTAINS(out, "\"username\":\"op-user\"");
    dagu_auth_string_free(out);
    free(OPERATE(a, "{\"command\":\"users.delete\",\"user\":\"op-user\"}", NOT_FOUND));
    free(OPERATE(a, "{\"command\":\"users.delete\",\"user\":\"root\"}", CONFLICT));
    free(OPERATE(a, "{\"command\":\"import_dagu_users\",\"users\":7}", INVALID_JSON));
    out = OPERATE(a, "{\"command\":\"import_dagu_users\",\"users\":[]}", OK);
    CHECK(strcmp(out, "{\"results\":[]}") == 0);
    dagu_auth_string_free(out);
    dagu_auth_close(a);
}

/* Two-factor sign-in (ABI 1.5): bad inputs, a refused sign-in, and the admin reset. */
static void two_factor(DaguAuth *a, const char *admin, const char *id, const char *admin_id)
{
    char *err = NULL;
    char *out = NULL;
    STATUS(dagu_auth_sign_in(NULL, "admin", "x", NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_sign_in(a, NULL, "x", NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_sign_in(a, "admin", NULL, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_sign_in(a, "admin", "x", NULL, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_sign_in(a, "nobody", "wrong password", NULL, &out, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_login_mfa(NULL, "t", "123456", NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_login_mfa(a, NULL, "123456", NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_login_mfa(a, "t", NULL, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_login_mfa(a, "t", "123456", NULL, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_login_mfa(a, "no.token", "123456", NULL, &out, &err),
           DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_totp_setup(NULL, admin, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_totp_setup(a, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_totp_setup(a, admin, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_totp_setup(a, "", &out, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_totp_confirm(NULL, admin, "1", &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_totp_confirm(a, NULL, "1", &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_totp_confirm(a, admin, NULL, &out, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_totp_confirm(a, admin, "1", NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_totp_confirm(a, admin, "123456", &out, &err), DAGU_AUTH_STATUS_BAD_REQUEST, &err);
    STATUS(dagu_auth_totp_disable(NULL, admin, "p", "1", &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_totp_disable(a, NULL, "p", "1", &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_totp_disable(a, admin, NULL, "1", &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_totp_disable(a, admin, "p", NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_totp_disable(a, "", "p", "1", &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_recovery_codes_regenerate(NULL, admin, "1", &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_recovery_codes_regenerate(a, NULL, "1", &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_recovery_codes_regenerate(a, admin, NULL, &out, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_recovery_codes_regenerate(a, admin, "1", NULL, &err),
           DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_mfa_reset(NULL, admin, id, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_mfa_reset(a, NULL, id, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_mfa_reset(a, admin, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_mfa_reset(a, admin, admin_id, &err), DAGU_AUTH_STATUS_FORBIDDEN, &err);
}

static void user_delete(DaguAuth *a, const char *admin, const char *id, const char *admin_id)
{
    char *err = NULL;
    char *out = NULL;

    STATUS(dagu_auth_user_delete(NULL, admin, id, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_delete(a, NULL, id, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_delete(a, admin, NULL, &err), DAGU_AUTH_STATUS_NULL_ARGUMENT, &err);
    STATUS(dagu_auth_user_delete(a, admin, INVALID_UTF8, &err), DAGU_AUTH_STATUS_INVALID_UTF8,
           &err);
    STATUS(dagu_auth_user_delete(a, "", id, &err), DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    STATUS(dagu_auth_user_delete(a, admin, "", &err), DAGU_AUTH_STATUS_NOT_FOUND, &err);
    char *huge = big_string("", huge_size, 'i', "");
    STATUS(dagu_auth_user_delete(a, admin, huge, &err), DAGU_AUTH_STATUS_NOT_FOUND, &err);
    free(huge);
    STATUS(dagu_auth_user_delete(a, admin, admin_id, &err), DAGU_AUTH_STATUS_FORBIDDEN, &err);
    STATUS(dagu_auth_user_delete(a, admin, id, &err), OK, &err);
    STATUS(dagu_auth_user_delete(a, admin, id, &err), DAGU_AUTH_STATUS_NOT_FOUND, &err);
    STATUS(dagu_auth_user_get(a, admin, id, &out, &err), DAGU_AUTH_STATUS_NOT_FOUND, &err);
    CHECK(out == NULL);
}

/* Sends one request; returns the response (freed by the caller) after checking the status. */
static DaguAuthHttpResponse *http(DaguAuth *a, const char *method, const char *path,
                                  const char *token, const char *body, size_t body_len,
                                  uint16_t want, int line)
{
    char authorization[1100];
    DaguAuthHttpHeader headers[2] = {
        {"Content-Type", "application/json"},
        {"Authorization", authorization},
    };
    snprintf(authorization, sizeof authorization, "Bearer %s", token ? token : "");
    DaguAuthHttpRequest request = {
        .struct_size = sizeof(DaguAuthHttpRequest),
        .method = method,
        .path = path,
        .headers = headers,
        .header_count = token ? 2 : 1,
        .body = (const uint8_t *)body,
        .body_len = body_len,
        .client_ip = "127.0.0.1",
    };
    DaguAuthHttpResponse *response = NULL;
    check_status(__FILE__, line, "dagu_auth_handle_http",
                 dagu_auth_handle_http(a, &request, &response), OK, NULL);
    check_true(__FILE__, line, "a response", response != NULL);
    if (response->status != want) {
        char detail[300];
        snprintf(detail, sizeof detail, "HTTP %u, expected %u: %.*s", (unsigned)response->status,
                 (unsigned)want, (int)(response->body_len < 200 ? response->body_len : 200),
                 (const char *)response->body);
        check_failed(__FILE__, line, path, detail);
    }
    check_true(__FILE__, line, "headers present when counted",
               response->header_count == 0 || response->headers != NULL);
    check_true(__FILE__, line, "body present when counted",
               response->body_len == 0 || response->body != NULL);
    return response;
}

/* The body as a NUL-terminated copy (responses carry a length, not a terminator). */
static char *body_text(const DaguAuthHttpResponse *response)
{
    char *text = big_string("", response->body_len, ' ', "");
    if (response->body_len > 0) {
        memcpy(text, response->body, response->body_len);
    }
    return text;
}

static const char *header_value(const DaguAuthHttpResponse *response, const char *name)
{
    for (size_t i = 0; i < response->header_count; i++) {
        const char *have = response->headers[i].name;
        size_t n = strlen(name);
        if (strlen(have) != n) {
            continue;
        }
        size_t j = 0;
        while (j < n && (have[j] | 0x20) == (name[j] | 0x20)) {
            j++;
        }
        if (j == n) {
            return response->headers[i].value;
        }
    }
    return NULL;
}

static void handle_http(DaguAuth *a, const char *admin)
{
    DaguAuthHttpResponse *response = (DaguAuthHttpResponse *)(void *)SENTINEL;
    DaguAuthHttpRequest good = {
        .struct_size = sizeof(DaguAuthHttpRequest),
        .method = "GET",
        .path = "/api/v1/auth/setup",
    };
    DaguAuthHttpRequest bad = good;

    STATUS(dagu_auth_handle_http(NULL, &good, &response), DAGU_AUTH_STATUS_NULL_ARGUMENT, NULL);
    STATUS(dagu_auth_handle_http(a, NULL, &response), DAGU_AUTH_STATUS_NULL_ARGUMENT, NULL);
    STATUS(dagu_auth_handle_http(a, &good, NULL), DAGU_AUTH_STATUS_NULL_ARGUMENT, NULL);
    const uint32_t bad_sizes[] = {0, 1, 4, (uint32_t)sizeof(DaguAuthHttpRequest) - 1};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        bad.struct_size = bad_sizes[i];
        STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_UNSUPPORTED_VERSION,
               NULL);
    }
    bad = good;
    bad.method = NULL;
    STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_NULL_ARGUMENT, NULL);
    bad = good;
    bad.path = NULL;
    STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_NULL_ARGUMENT, NULL);
    bad = good;
    bad.header_count = 1;
    STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_NULL_ARGUMENT, NULL);
    bad = good;
    bad.body_len = 5;
    STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_NULL_ARGUMENT, NULL);
    DaguAuthHttpHeader null_name = {NULL, "v"};
    DaguAuthHttpHeader null_value = {"X-Test", NULL};
    DaguAuthHttpHeader utf8_name = {INVALID_UTF8, "v"};
    DaguAuthHttpHeader utf8_value = {"X-Test", INVALID_UTF8};
    bad = good;
    bad.header_count = 1;
    bad.headers = &null_name;
    STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_NULL_ARGUMENT, NULL);
    bad.headers = &null_value;
    STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_NULL_ARGUMENT, NULL);
    bad.headers = &utf8_name;
    STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_INVALID_UTF8, NULL);
    bad.headers = &utf8_value;
    STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_INVALID_UTF8, NULL);
    bad = good;
    bad.method = INVALID_UTF8;
    STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_INVALID_UTF8, NULL);
    bad = good;
    bad.path = INVALID_UTF8;
    STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_INVALID_UTF8, NULL);
    bad = good;
    bad.client_ip = INVALID_UTF8;
    STATUS(dagu_auth_handle_http(a, &bad, &response), DAGU_AUTH_STATUS_INVALID_UTF8, NULL);
    CHECK(response == (DaguAuthHttpResponse *)(void *)SENTINEL);

    /* A caller built against a later header passes a larger struct: accepted. */
    struct {
        DaguAuthHttpRequest request;
        uint64_t appended_field;
    } larger = {good, 42};
    larger.request.struct_size = sizeof larger;
    response = NULL;
    STATUS(dagu_auth_handle_http(a, &larger.request, &response), OK, NULL);
    CHECK(response != NULL && response->status == 200);
    dagu_auth_http_response_free(response);

    /* Empty method and path are requests the router answers. */
    bad = good;
    bad.method = "";
    response = NULL;
    STATUS(dagu_auth_handle_http(a, &bad, &response), OK, NULL);
    CHECK(response != NULL && response->status >= 400 && response->status < 500);
    dagu_auth_http_response_free(response);
    bad = good;
    bad.path = "";
    response = NULL;
    STATUS(dagu_auth_handle_http(a, &bad, &response), OK, NULL);
    CHECK(response != NULL && response->status == 404);
    dagu_auth_http_response_free(response);

    response = http(a, "GET", "/api/v1/auth/setup", NULL, NULL, 0, 200, __LINE__);
    char *text = body_text(response);
    CONTAINS(text, "\"setupRequired\":false");
    const char *content_type = header_value(response, "content-type");
    CHECK(content_type != NULL && strstr(content_type, "application/json") != NULL);
    free(text);
    dagu_auth_http_response_free(response);

    response = http(a, "GET", "/api/v1/auth/me", admin, NULL, 0, 200, __LINE__);
    text = body_text(response);
    CONTAINS(text, "\"username\":\"admin\"");
    free(text);
    dagu_auth_http_response_free(response);

    response = http(a, "GET", "/api/v1/users?limit=10", admin, NULL, 0, 200, __LINE__);
    text = body_text(response);
    CHECK(strncmp(text, "{\"users\":[", 10) == 0);
    free(text);
    dagu_auth_http_response_free(response);

    response = http(a, "GET", "/api/v1/auth/me", NULL, NULL, 0, 401, __LINE__);
    CHECK(header_value(response, "www-authenticate") != NULL);
    dagu_auth_http_response_free(response);
    response = http(a, "GET", "/api/v1/no/such/route", admin, NULL, 0, 404, __LINE__);
    dagu_auth_http_response_free(response);

    /* Malformed, wrongly typed, interior NUL, empty, 1 MiB + 1 and 10 MiB bodies. */
    const char *login = "/api/v1/auth/login";
    const char *malformed = "{\"username\":";
    const char *typed = "{\"username\":1,\"password\":2}";
    const char nul[] = "{\"username\":\"admin\0\",\"password\":\"x\"}";
    dagu_auth_http_response_free(
        http(a, "POST", login, NULL, malformed, strlen(malformed), 400, __LINE__));
    dagu_auth_http_response_free(http(a, "POST", login, NULL, typed, strlen(typed), 400, __LINE__));
    dagu_auth_http_response_free(http(a, "POST", login, NULL, nul, sizeof nul - 1, 400, __LINE__));
    dagu_auth_http_response_free(http(a, "POST", login, NULL, "", 0, 400, __LINE__));
    dagu_auth_http_response_free(http(a, "POST", login, NULL, INVALID_UTF8, 4, 400, __LINE__));
    char *huge = big_string("\"", MIB - 1, 'b', "\"");
    dagu_auth_http_response_free(http(a, "POST", login, NULL, huge, MIB + 1, 413, __LINE__));
    free(huge);
    huge = big_string("\"", huge_size, 'b', "\"");
    dagu_auth_http_response_free(
        http(a, "POST", login, NULL, huge, strlen(huge), 413, __LINE__));
    free(huge);
    huge = big_string("/api/v1/users/", MIB, 'i', "");
    dagu_auth_http_response_free(http(a, "GET", huge, admin, NULL, 0, 404, __LINE__));
    free(huge);

    char body[256];
    snprintf(body, sizeof body, "{\"username\":\"admin\",\"password\":\"%s\"}", ADMIN_PASSWORD);
    response = http(a, "POST", login, NULL, body, strlen(body), 200, __LINE__);
    text = body_text(response);
    CONTAINS(text, "\"token\":\"");
    free(text);
    dagu_auth_http_response_free(response);

    dagu_auth_http_response_free(NULL);
    dagu_auth_string_free(NULL);
    CHECK(true); /* freeing NULL did not crash */
}

int main(int argc, char **argv)
{
    const char *base = base_dir_from_args(argc, argv);
    const char *huge_mib = getenv("DAGU_AUTH_C_HUGE_MIB");
    if (huge_mib != NULL && atoi(huge_mib) > 0) {
        huge_size = (size_t)atoi(huge_mib) * MIB;
    }
    char admin[1024];
    char scoped[1024];
    char scoped_id[128];
    char admin_id[128];
    char *err = NULL;
    char *login = NULL;

    versions();
    status_names();
    open_and_close(base);

    DaguAuth *a = open_ok(base, "main");
    setup(a, admin, sizeof admin);
    authenticate(a);
    verify(a, admin);

    char *principal = NULL;
    STATUS(dagu_auth_verify(a, admin, &principal, &err), OK, &err);
    CHECK(json_string(principal, "id", admin_id, sizeof admin_id));
    dagu_auth_string_free(principal);

    user_create(a, admin, scoped_id, sizeof scoped_id);
    STATUS(dagu_auth_authenticate(a, "scoped", SCOPED_PASSWORD, NULL, &login, &err), OK, &err);
    CHECK(json_string(login, "token", scoped, sizeof scoped));
    dagu_auth_string_free(login);

    authorize(a, admin, scoped);
    user_read(a, admin, scoped, scoped_id);
    user_update(a, admin, scoped, scoped_id, admin_id);
    passwords(a, admin, scoped_id);
    logout(a);
    handle_http(a, admin);
    /* passwords() ended the scoped user's sessions and left this password. */
    STATUS(dagu_auth_authenticate(a, "scoped", "changed password 1", NULL, &login, &err), OK, &err);
    CHECK(json_string(login, "token", scoped, sizeof scoped));
    dagu_auth_string_free(login);
    api_keys(a, admin, scoped);
    audit(a, admin, scoped);
    session_controls(a, admin, scoped_id);
    two_factor(a, admin, scoped_id, admin_id);
    user_delete(a, admin, scoped_id, admin_id);
    dagu_auth_close(a);

    operator_commands(base);
    print_summary();
    return 0;
}
