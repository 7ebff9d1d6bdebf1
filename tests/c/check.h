/*
 * check.h: the small assertion kit shared by the C test programs.
 *
 * Every check counts one pass or stops the program at once with a message on stderr, the line
 * "N passed, 1 failed" on stdout and exit status 1. A program that gets to the end prints
 * "N passed, 0 failed" as its last line (tests/tests/c_programs.rs looks for it).
 *
 * Include after the feature-test macro and system headers; checks are counted per thread-safe
 * atomic, so worker threads may use them too.
 */
#ifndef DAGU_AUTH_TEST_CHECK_H
#define DAGU_AUTH_TEST_CHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dagu_auth.h"

static atomic_ulong checks_passed;

static inline void check_failed(const char *file, int line, const char *what, const char *detail)
{
    fprintf(stderr, "FAILED at %s:%d: %.300s%s%s\n", file, line, what, detail ? ": " : "",
            detail ? detail : "");
    fflush(stderr);
    printf("%lu passed, 1 failed\n", (unsigned long)atomic_load(&checks_passed));
    fflush(stdout);
    exit(1);
}

static inline void check_true(const char *file, int line, const char *what, bool ok)
{
    if (!ok) {
        check_failed(file, line, what, NULL);
    }
    atomic_fetch_add(&checks_passed, 1);
}

/* Asserts a condition; `what` is the condition's source text. */
#define CHECK(cond) check_true(__FILE__, __LINE__, #cond, (cond))

/*
 * Asserts that a call returned `want`, and that the error text followed the contract: written
 * (non-empty) on failure when error_out was given, left NULL on success. Frees the error text.
 */
static inline void check_status(const char *file, int line, const char *call, DaguAuthStatus got,
                         DaguAuthStatus want, char **error)
{
    char detail[512];
    if (got != want) {
        snprintf(detail, sizeof detail, "returned %s (%u), expected %s (%u); error: %s",
                 dagu_auth_status_name(got), (unsigned)got, dagu_auth_status_name(want),
                 (unsigned)want, error && *error ? *error : "(none)");
        check_failed(file, line, call, detail);
    }
    if (error) {
        if (want == DAGU_AUTH_STATUS_OK && *error != NULL) {
            check_failed(file, line, call, "error_out was written on success");
        }
        if (want != DAGU_AUTH_STATUS_OK && (*error == NULL || (*error)[0] == '\0')) {
            check_failed(file, line, call, "no error text on failure");
        }
        dagu_auth_string_free(*error);
        *error = NULL;
    }
    atomic_fetch_add(&checks_passed, 1);
}

/* STATUS(call, DAGU_AUTH_STATUS_x, &err): the call's status is x; err is checked and freed. */
#define STATUS(call, want, error) check_status(__FILE__, __LINE__, #call, (call), (want), (error))

/* Asserts that `haystack` (a JSON answer) contains `needle`. */
static inline void check_contains(const char *file, int line, const char *what, const char *haystack,
                           const char *needle)
{
    if (haystack == NULL || strstr(haystack, needle) == NULL) {
        char detail[512];
        snprintf(detail, sizeof detail, "%.200s does not contain %.200s",
                 haystack ? haystack : "(NULL)", needle);
        check_failed(file, line, what, detail);
    }
    atomic_fetch_add(&checks_passed, 1);
}

#define CONTAINS(haystack, needle) \
    check_contains(__FILE__, __LINE__, #haystack, (haystack), (needle))

/*
 * Copies the first string value of "key" in compact JSON (as the plugin writes it) into `out`.
 * Returns false when the key is missing or the value does not fit.
 */
static inline bool json_string(const char *json, const char *key, char *out, size_t out_size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *start = json ? strstr(json, pattern) : NULL;
    if (start == NULL) {
        return false;
    }
    start += strlen(pattern);
    const char *end = strchr(start, '"');
    if (end == NULL || (size_t)(end - start) >= out_size) {
        return false;
    }
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
    return true;
}

/* A malloc'd string of `len` copies of `fill` between `prefix` and `suffix`; exits on OOM. */
static inline char *big_string(const char *prefix, size_t len, char fill, const char *suffix)
{
    size_t prefix_len = strlen(prefix);
    size_t suffix_len = strlen(suffix);
    char *text = malloc(prefix_len + len + suffix_len + 1);
    if (text == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(text, prefix, prefix_len);
    memset(text + prefix_len, fill, len);
    memcpy(text + prefix_len + len, suffix, suffix_len + 1);
    return text;
}

/*
 * Writes the configuration JSON of a test instance in `base_dir/name` (cheap argon2, the rbac
 * licence features) into `out`. `base_dir` must need no JSON escaping.
 */
static inline void test_config(char *out, size_t out_size, const char *base_dir, const char *name)
{
    int n = snprintf(out, out_size,
                     "{\"dataDir\":\"%s/%s\",\"licenseFeatures\":[\"rbac\",\"audit\"],"
                     "\"argon2\":{\"memoryKib\":64,\"iterations\":1,\"parallelism\":1}}",
                     base_dir, name);
    if (n < 0 || (size_t)n >= out_size || strpbrk(base_dir, "\"\\") != NULL) {
        fprintf(stderr, "unusable data directory %s\n", base_dir);
        exit(2);
    }
}

/*
 * The folder the program keeps its instances' data in: argv[1] when given (the Rust test passes a
 * fresh temporary folder and removes it), else a new folder under /tmp that is left behind.
 * Needs _POSIX_C_SOURCE >= 200809L for mkdtemp.
 */
static inline const char *base_dir_from_args(int argc, char **argv)
{
    static char made[] = "/tmp/dagu-auth-c-XXXXXX";
    if (argc > 1) {
        return argv[1];
    }
    if (mkdtemp(made) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    fprintf(stderr, "data in %s\n", made);
    return made;
}

static inline void print_summary(void)
{
    printf("%lu passed, 0 failed\n", (unsigned long)atomic_load(&checks_passed));
}

#endif /* DAGU_AUTH_TEST_CHECK_H */
