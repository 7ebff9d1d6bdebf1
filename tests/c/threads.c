/*
 * threads.c: 8 POSIX threads share one instance. First a mixed phase, every thread doing something
 * else at the same moment (authorize under three principals, user CRUD, sign-in and sign-out,
 * HTTP, API keys, password changes), each answer checked. Then a measurement: authorize calls per
 * second from 1 thread and from 8 threads.
 *
 * Usage: threads [data-folder]
 * Environment: DAGU_AUTH_C_ROUNDS (mixed-phase rounds, default 200), DAGU_AUTH_C_BENCH_MS (length
 * of each measurement, default 1000; the valgrind run lowers both).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define OK DAGU_AUTH_STATUS_OK
#define THREADS 8

static DaguAuth *shared;
static char admin_token[1024];
static char scoped_token[1024];
static char dev_token[1024];
static int rounds = 200;
static long bench_ms = 1000;
static pthread_barrier_t start_line;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sign_in(const char *username, const char *password, char *token, size_t size)
{
    char *err = NULL;
    char *login = NULL;
    STATUS(dagu_auth_authenticate(shared, username, password, NULL, &login, &err), OK, &err);
    CHECK(json_string(login, "token", token, size));
    dagu_auth_string_free(login);
}

static void create_user(const char *request, char *id, size_t size)
{
    char *err = NULL;
    char *user = NULL;
    STATUS(dagu_auth_user_create(shared, admin_token, request, &user, &err), OK, &err);
    CHECK(id == NULL || json_string(user, "id", id, size));
    dagu_auth_string_free(user);
}

static uint32_t decide(const char *token, uint32_t action, const char *workspace)
{
    char *err = NULL;
    uint32_t decision = 0;
    STATUS(dagu_auth_authorize(shared, token, action, workspace, &decision, &err), OK, &err);
    return decision;
}

/* Threads 0-2: authorize as admin, scoped viewer and developer; every answer checked. */
static void authorize_loop(int which)
{
    for (int i = 0; i < rounds * 20; i++) {
        switch (which) {
        case 0:
            CHECK(decide(admin_token, DAGU_AUTH_ACTION_ADMIN, "ops") == DAGU_AUTH_DECISION_ALLOW);
            break;
        case 1:
            CHECK(decide(scoped_token, DAGU_AUTH_ACTION_WRITE, "ops") == DAGU_AUTH_DECISION_ALLOW);
            CHECK(decide(scoped_token, DAGU_AUTH_ACTION_WRITE, "qa") ==
                  DAGU_AUTH_DECISION_FORBIDDEN);
            CHECK(decide(scoped_token, DAGU_AUTH_ACTION_VIEW, "secret") ==
                  DAGU_AUTH_DECISION_NOT_VISIBLE);
            break;
        default:
            CHECK(decide(dev_token, DAGU_AUTH_ACTION_WRITE, NULL) == DAGU_AUTH_DECISION_ALLOW);
            CHECK(decide(dev_token, DAGU_AUTH_ACTION_AUDIT, "") == DAGU_AUTH_DECISION_FORBIDDEN);
            break;
        }
    }
}

/* Thread 3: create, read, update, list and delete users. */
static void crud_loop(void)
{
    char *err = NULL;
    char *out = NULL;
    for (int i = 0; i < rounds / 4; i++) {
        char request[256];
        char name[64];
        char id[128];
        snprintf(name, sizeof name, "crud-%d", i);
        snprintf(request, sizeof request,
                 "{\"username\":\"%s\",\"password\":\"crud password 1\",\"role\":\"viewer\"}", name);
        create_user(request, id, sizeof id);
        STATUS(dagu_auth_user_get(shared, admin_token, id, &out, &err), OK, &err);
        CONTAINS(out, name);
        dagu_auth_string_free(out);
        out = NULL;
        STATUS(dagu_auth_user_update(shared, admin_token, id, "{\"role\":\"operator\"}", &out, &err),
               OK, &err);
        CONTAINS(out, "\"role\":\"operator\"");
        dagu_auth_string_free(out);
        out = NULL;
        STATUS(dagu_auth_user_list(shared, admin_token, &out, &err), OK, &err);
        CONTAINS(out, name);
        dagu_auth_string_free(out);
        out = NULL;
        STATUS(dagu_auth_user_delete(shared, admin_token, id, &err), OK, &err);
        STATUS(dagu_auth_user_get(shared, admin_token, id, &out, &err), DAGU_AUTH_STATUS_NOT_FOUND,
               &err);
    }
}

/* Thread 4: sign in, verify, authorize, sign out; the token then fails. */
static void session_loop(void)
{
    char *err = NULL;
    char *out = NULL;
    char token[1024];
    uint32_t decision = 0;
    for (int i = 0; i < rounds / 4; i++) {
        sign_in("dev", "dev password 1", token, sizeof token);
        STATUS(dagu_auth_verify(shared, token, &out, &err), OK, &err);
        CONTAINS(out, "\"username\":\"dev\"");
        dagu_auth_string_free(out);
        out = NULL;
        CHECK(decide(token, DAGU_AUTH_ACTION_EXECUTE, "ops") == DAGU_AUTH_DECISION_ALLOW);
        STATUS(dagu_auth_logout(shared, token, &err), OK, &err);
        STATUS(dagu_auth_authorize(shared, token, DAGU_AUTH_ACTION_VIEW, NULL, &decision, &err),
               DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
        /* A failed sign-in per round, each from its own address and account, so the sign-in
         * limiter (per address and per account) is not what answers. */
        char ghost[32];
        char address[32];
        snprintf(ghost, sizeof ghost, "ghost-%d", i);
        snprintf(address, sizeof address, "198.51.100.%d", i % 250);
        STATUS(dagu_auth_authenticate(shared, ghost, "wrong password", address, &out, &err),
               DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    }
}

/* Thread 5: the HTTP API and the audit trail. */
static void http_loop(void)
{
    char authorization[1100];
    snprintf(authorization, sizeof authorization, "Bearer %s", admin_token);
    DaguAuthHttpHeader header = {"Authorization", authorization};
    const char *paths[] = {"/api/v1/auth/me", "/api/v1/users", "/api/v1/api-keys",
                           "/api/v1/auth/setup"};
    for (int i = 0; i < rounds; i++) {
        DaguAuthHttpRequest request = {
            .struct_size = sizeof(DaguAuthHttpRequest),
            .method = "GET",
            .path = paths[i % 4],
            .headers = &header,
            .header_count = 1,
        };
        DaguAuthHttpResponse *response = NULL;
        STATUS(dagu_auth_handle_http(shared, &request, &response), OK, NULL);
        CHECK(response != NULL && response->status == 200 && response->body_len > 2);
        dagu_auth_http_response_free(response);
        if (i % 20 == 0) {
            char *err = NULL;
            char *events = NULL;
            STATUS(dagu_auth_audit_list(shared, admin_token, "{\"limit\":5}", &events, &err), OK,
                   &err);
            CONTAINS(events, "\"entries\":[");
            dagu_auth_string_free(events);
        }
    }
}

/* Thread 6: API keys made, used, removed. */
static void key_loop(void)
{
    char *err = NULL;
    char *out = NULL;
    for (int i = 0; i < rounds / 4; i++) {
        char request[256];
        char key[256];
        char id[128];
        snprintf(request, sizeof request,
                 "{\"name\":\"key-%d\",\"role\":\"operator\",\"allowedSurfaces\":[\"rest_api\"],"
                 "\"attributionClass\":\"service_account\"}",
                 i);
        STATUS(dagu_auth_api_key_create(shared, admin_token, request, &out, &err), OK, &err);
        CHECK(json_string(out, "key", key, sizeof key));
        CHECK(json_string(out, "id", id, sizeof id));
        dagu_auth_string_free(out);
        out = NULL;
        CHECK(decide(key, DAGU_AUTH_ACTION_EXECUTE, NULL) == DAGU_AUTH_DECISION_ALLOW);
        CHECK(decide(key, DAGU_AUTH_ACTION_WRITE, NULL) == DAGU_AUTH_DECISION_FORBIDDEN);
        STATUS(dagu_auth_api_key_get(shared, admin_token, id, &out, &err), OK, &err);
        dagu_auth_string_free(out);
        out = NULL;
        STATUS(dagu_auth_api_key_update(shared, admin_token, id, "{\"description\":\"d\"}", &out,
                                        &err),
               OK, &err);
        dagu_auth_string_free(out);
        out = NULL;
        STATUS(dagu_auth_api_key_list(shared, admin_token, &out, &err), OK, &err);
        dagu_auth_string_free(out);
        out = NULL;
        STATUS(dagu_auth_api_key_delete(shared, admin_token, id, &err), OK, &err);
        uint32_t decision = 0;
        STATUS(dagu_auth_authorize(shared, key, DAGU_AUTH_ACTION_VIEW, NULL, &decision, &err),
               DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
    }
}

/* Thread 7: an admin resets a user's password, the user changes it again. */
static void password_loop(void)
{
    char *err = NULL;
    char token[1024];
    char churn_id[128];
    create_user("{\"username\":\"churn\",\"password\":\"churn password 0\",\"role\":\"viewer\"}",
                churn_id, sizeof churn_id);
    for (int i = 0; i < rounds / 4; i++) {
        STATUS(dagu_auth_user_reset_password(shared, admin_token, churn_id, "churn password 1",
                                             &err),
               OK, &err);
        sign_in("churn", "churn password 1", token, sizeof token);
        STATUS(dagu_auth_change_password(shared, token, "churn password 1", "churn password 2",
                                         &err),
               OK, &err);
        uint32_t decision = 0;
        STATUS(dagu_auth_authorize(shared, token, DAGU_AUTH_ACTION_VIEW, NULL, &decision, &err),
               DAGU_AUTH_STATUS_UNAUTHENTICATED, &err);
        sign_in("churn", "churn password 2", token, sizeof token);
        CHECK(decide(token, DAGU_AUTH_ACTION_VIEW, NULL) == DAGU_AUTH_DECISION_ALLOW);
    }
}

static void *mixed_worker(void *arg)
{
    int index = (int)(intptr_t)arg;
    pthread_barrier_wait(&start_line);
    switch (index) {
    case 0:
    case 1:
    case 2:
        authorize_loop(index);
        break;
    case 3:
        crud_loop();
        break;
    case 4:
        session_loop();
        break;
    case 5:
        http_loop();
        break;
    case 6:
        key_loop();
        break;
    default:
        password_loop();
        break;
    }
    return NULL;
}

struct bench {
    int index;
    double seconds;
    unsigned long calls;
};

/* Authorizes for `bench_ms` with a mix of principals, actions and workspaces. */
static void *bench_worker(void *arg)
{
    struct bench *b = arg;
    const char *tokens[] = {admin_token, scoped_token, dev_token};
    const char *workspaces[] = {NULL, "ops", "qa", "secret"};
    uint32_t decision = 0;
    unsigned long calls = 0;
    pthread_barrier_wait(&start_line);
    double start = now_seconds();
    double deadline = start + (double)bench_ms / 1000.0;
    double now = start;
    while (now < deadline) {
        for (int i = 0; i < 256; i++) {
            unsigned long n = calls + (unsigned long)b->index + (unsigned long)i;
            DaguAuthStatus status =
                dagu_auth_authorize(shared, tokens[n % 3], (uint32_t)(1 + n % 5),
                                    workspaces[n % 4], &decision, NULL);
            if (status != OK) {
                check_status(__FILE__, __LINE__, "dagu_auth_authorize (bench)", status, OK, NULL);
            }
        }
        calls += 256;
        now = now_seconds();
    }
    b->seconds = now - start;
    b->calls = calls;
    return NULL;
}

static double measure(int threads)
{
    pthread_t ids[THREADS];
    struct bench benches[THREADS];
    CHECK(pthread_barrier_init(&start_line, NULL, (unsigned)threads) == 0);
    for (int i = 0; i < threads; i++) {
        benches[i] = (struct bench){.index = i};
        CHECK(pthread_create(&ids[i], NULL, bench_worker, &benches[i]) == 0);
    }
    unsigned long calls = 0;
    double longest = 0;
    for (int i = 0; i < threads; i++) {
        CHECK(pthread_join(ids[i], NULL) == 0);
        calls += benches[i].calls;
        longest = benches[i].seconds > longest ? benches[i].seconds : longest;
    }
    pthread_barrier_destroy(&start_line);
    double rate = longest > 0 ? (double)calls / longest : 0;
    printf("authorize: %.0f calls/s across %d thread%s (%lu calls in %.2f s)\n", rate, threads,
           threads == 1 ? "" : "s", calls, longest);
    return rate;
}

int main(int argc, char **argv)
{
    const char *base = base_dir_from_args(argc, argv);
    const char *env = getenv("DAGU_AUTH_C_ROUNDS");
    if (env != NULL && atoi(env) > 0) {
        rounds = atoi(env);
    }
    env = getenv("DAGU_AUTH_C_BENCH_MS");
    if (env != NULL && atol(env) > 0) {
        bench_ms = atol(env);
    }

    char config[4096];
    char *err = NULL;
    char *login = NULL;
    test_config(config, sizeof config, base, "threads");
    STATUS(dagu_auth_open(config, &shared, &err), OK, &err);
    STATUS(dagu_auth_setup(shared, "admin", "admin password 1", &login, &err), OK, &err);
    CHECK(json_string(login, "token", admin_token, sizeof admin_token));
    dagu_auth_string_free(login);
    create_user("{\"username\":\"scoped\",\"password\":\"scoped password 1\",\"role\":\"viewer\","
                "\"workspaceAccess\":{\"all\":false,\"grants\":[{\"workspace\":\"ops\","
                "\"role\":\"developer\"},{\"workspace\":\"qa\",\"role\":\"viewer\"}]}}",
                NULL, 0);
    create_user("{\"username\":\"dev\",\"password\":\"dev password 1\",\"role\":\"developer\"}",
                NULL, 0);
    sign_in("scoped", "scoped password 1", scoped_token, sizeof scoped_token);
    sign_in("dev", "dev password 1", dev_token, sizeof dev_token);

    pthread_t ids[THREADS];
    double start = now_seconds();
    CHECK(pthread_barrier_init(&start_line, NULL, THREADS) == 0);
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&ids[i], NULL, mixed_worker, (void *)(intptr_t)i) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(ids[i], NULL) == 0);
    }
    pthread_barrier_destroy(&start_line);
    printf("mixed phase: %d rounds on %d threads in %.2f s\n", rounds, THREADS,
           now_seconds() - start);

    char *users = NULL;
    STATUS(dagu_auth_user_list(shared, admin_token, &users, &err), OK, &err);
    CHECK(strstr(users, "crud-") == NULL);
    dagu_auth_string_free(users);

    double one = measure(1);
    double eight = measure(THREADS);
    CHECK(one > 0 && eight > 0);

    dagu_auth_close(shared);
    print_summary();
    return 0;
}
