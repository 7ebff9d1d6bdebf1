package main

// The -bench figures: one authorize through package daguauth beside the same call made in a C
// loop in this process. The C loop reaches the library through the package's Symbol and Handle,
// the way a host's own C code would.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#include <stdlib.h>
#include <time.h>
#include "dagu_auth.h"

typedef DaguAuthStatus (*authorize_fn)(const DaguAuth *, const char *, uint32_t, const char *,
                                       uint32_t *, char **);
typedef DaguAuthStatus (*authorize_n_fn)(const DaguAuth *, const char *, size_t, uint32_t,
                                         const char *, size_t, uint32_t *, char **);

static long long elapsed_ns(struct timespec start) {
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	return (end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec);
}

// n calls of dagu_auth_authorize_n (the call the package makes) or, when n_call is NULL,
// dagu_auth_authorize (what a C host with C strings pays), from C; -1 if a call failed, so a bad
// token is never timed by mistake.
static long long time_authorize_c(void *authorize, void *authorize_n, const DaguAuth *a,
                                  const char *token, size_t token_len, uint32_t action,
                                  const char *workspace, size_t workspace_len, long long n) {
	struct timespec start;
	uint32_t out;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long long i = 0; i < n; i++) {
		DaguAuthStatus status = authorize_n
			? ((authorize_n_fn)authorize_n)(a, token, token_len, action, workspace,
			                                workspace_len, &out, NULL)
			: ((authorize_fn)authorize)(a, token, action, workspace, &out, NULL);
		if (status != DAGU_AUTH_STATUS_OK) return -1;
	}
	return elapsed_ns(start);
}

// An empty C function: what one cgo transition costs on this machine.
static uint32_t cgo_noop(uint32_t x) { return x; }
*/
import "C"

import (
	"fmt"
	"sort"
	"time"
	"unsafe"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

// benchAuthorize prints the median time of one Authorize through the package, the way the Dagu
// server calls it, beside the same call in a C loop in this process (what cgo adds is the
// difference), dagu_auth_authorize with C strings in a C loop, an empty cgo call, and a Go map
// lookup of the same decision (the floor a Go-native check would cost), over 5 interleaved
// rounds of n calls each. Used by plugin/benches/run_all.sh, not by the tests.
func benchAuthorize(lib *daguauth.Library, auth *daguauth.Instance, token string, n int) {
	const workspace = "ops"
	ctoken, cworkspace := C.CString(token), C.CString(workspace)
	defer C.free(unsafe.Pointer(ctoken))
	defer C.free(unsafe.Pointer(cworkspace))
	authorize, authorizeN := lib.Symbol("dagu_auth_authorize"), lib.Symbol("dagu_auth_authorize_n")
	handle := (*C.DaguAuth)(auth.Handle())
	inC := func(withLengths bool) float64 {
		f := unsafe.Pointer(nil)
		if withLengths {
			f = authorizeN
		}
		total := C.time_authorize_c(authorize, f, handle, ctoken, C.size_t(len(token)),
			C.uint32_t(daguauth.ActionWrite), cworkspace, C.size_t(len(workspace)), C.longlong(n))
		if total < 0 {
			fail("authorize failed in the C loop: the benchmark token is not valid")
		}
		return float64(total) / float64(n)
	}
	var sink uint32
	viaPackage := func() float64 {
		started := time.Now()
		for i := 0; i < n; i++ {
			decision, err := auth.Authorize(token, daguauth.ActionWrite, workspace)
			if err != nil {
				fail("authorize: %v", err)
			}
			sink += uint32(decision)
		}
		return float64(time.Since(started).Nanoseconds()) / float64(n)
	}
	grants := map[string]map[string]daguauth.Decision{token: {workspace: daguauth.DecisionAllow}}
	viaMap := func() float64 {
		started := time.Now()
		for i := 0; i < n; i++ {
			sink += uint32(grants[token][workspace])
		}
		return float64(time.Since(started).Nanoseconds()) / float64(n)
	}
	noop := func() float64 {
		started := time.Now()
		for i := 0; i < n; i++ {
			sink += uint32(C.cgo_noop(C.uint32_t(i)))
		}
		return float64(time.Since(started).Nanoseconds()) / float64(n)
	}
	var goCalls, cLengths, cStrings, floor, empty []float64
	for round := 0; round < 5; round++ {
		goCalls = append(goCalls, viaPackage())
		cLengths = append(cLengths, inC(true))
		cStrings = append(cStrings, inC(false))
		floor = append(floor, viaMap())
		empty = append(empty, noop())
	}
	median := func(xs []float64) float64 {
		sorted := append([]float64(nil), xs...)
		sort.Float64s(sorted)
		return sorted[len(sorted)/2]
	}
	fastest := func(xs []float64) float64 {
		min := xs[0]
		for _, x := range xs[1:] {
			if x < min {
				min = x
			}
		}
		return min
	}
	mg, mc := median(goCalls), median(cLengths)
	fmt.Printf("authorize: C loop %.0f ns/call (authorize_n; %.0f with C strings), go package "+
		"%.0f ns/call (cgo adds %.0f ns; an empty cgo call costs %.0f ns); go map floor %.1f "+
		"ns/call (%d calls x 5 rounds, sink %d)\n", mc, median(cStrings), mg, mg-mc,
		median(empty), median(floor), n, sink%2)
	// Other load on the machine only ever adds time: the fastest rounds are the steadier figure.
	fmt.Printf("fastest rounds: C loop %.0f ns/call, go package %.0f ns/call (cgo adds %.0f ns)\n",
		fastest(cLengths), fastest(goCalls), fastest(goCalls)-fastest(cLengths))
}
