// Command dagu-host loads libdagu_auth.so as the Dagu server does when auth.mode is builtin, and
// checks the answers of the calls the server makes: ABI check, open, setup, sign-in, authorize in a
// workspace, list users, one request through the HTTP API, close.
//
// Usage: dagu-host -plugin /path/to/libdagu_auth.so [-data DIR]
// The plugin path may also come from DAGU_AUTH_PLUGIN. Prints "N passed, 0 failed" last.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

var passed int

func check(ok bool, format string, args ...any) {
	if !ok {
		fmt.Fprintf(os.Stderr, "FAILED: "+format+"\n", args...)
		fmt.Printf("%d passed, 1 failed\n", passed)
		os.Exit(1)
	}
	passed++
}

func must[T any](value T, err error) T {
	check(err == nil, "unexpected error: %v", err)
	return value
}

func statusOf(err error) uint32 {
	if e, ok := err.(*StatusError); ok {
		return e.Status
	}
	return 0
}

func decode(text string) map[string]any {
	var value map[string]any
	check(json.Unmarshal([]byte(text), &value) == nil, "not a JSON object: %.200s", text)
	return value
}

func main() {
	pluginPath := flag.String("plugin", os.Getenv("DAGU_AUTH_PLUGIN"), "path to libdagu_auth.so")
	dataDir := flag.String("data", "", "data folder (default: a new temporary folder)")
	authMode := flag.String("auth-mode", "builtin", "Dagu's auth.mode")
	bench := flag.Int("bench", 0, "after the checks, time this many authorize calls through cgo")
	flag.Parse()
	if *authMode != "builtin" {
		fmt.Println("auth.mode is not builtin: the plugin is not loaded")
		return
	}
	check(*pluginPath != "", "no plugin path (-plugin or DAGU_AUTH_PLUGIN)")
	if *dataDir == "" {
		*dataDir = must(os.MkdirTemp("", "dagu-host-"))
		defer os.RemoveAll(*dataDir)
	}

	// Start-up: load, check the ABI, open.
	plugin := must(Load(*pluginPath))
	check(plugin.ABIVersion()>>16 == ABIMajor, "ABI major %d", plugin.ABIVersion()>>16)
	check(plugin.authorizeN != nil, "this library has dagu_auth_authorize_n (ABI 1.3)")
	check(strings.Count(plugin.Version(), ".") == 2, "version %q", plugin.Version())
	check(plugin.StatusName(StatusUnauthenticated) == "UNAUTHENTICATED", "status name")
	check(plugin.StatusName(4242) == "UNKNOWN_STATUS", "unknown status name")
	config, _ := json.Marshal(map[string]any{
		"dataDir":         *dataDir,
		"licenseFeatures": []string{"rbac"},
		"argon2":          map[string]int{"memoryKib": 64, "iterations": 1, "parallelism": 1},
	})
	_, err := plugin.Open(`{"dataDir": 42}`)
	check(err != nil && statusOf(err) == StatusInvalidConfig, "a bad config is INVALID_CONFIG: %v", err)
	auth := must(plugin.Open(string(config)))

	// Setup of the first admin.
	check(must(auth.SetupRequired()), "setup is required on a fresh folder")
	login := decode(must(auth.Setup("admin", "admin password 1")))
	admin, _ := login["token"].(string)
	check(admin != "", "setup returns a token")
	check(!must(auth.SetupRequired()), "setup is done")
	_, err = auth.Setup("again", "admin password 1")
	check(statusOf(err) == StatusForbidden, "a second setup is FORBIDDEN: %v", err)

	// Sign-in.
	_, err = auth.Authenticate("admin", "wrong password", "192.0.2.7")
	check(statusOf(err) == StatusUnauthenticated, "a wrong password is UNAUTHENTICATED: %v", err)
	login = decode(must(auth.Authenticate("admin", "admin password 1", "192.0.2.7")))
	token, _ := login["token"].(string)
	user, _ := login["user"].(map[string]any)
	check(token != "" && user["username"] == "admin" && user["role"] == "admin", "login %v", login)
	me := decode(must(auth.Verify(token)))
	check(me["user"].(map[string]any)["id"] == user["id"], "verify names the same user")

	// A scoped user, created over the HTTP API, then authorized in workspaces.
	body, _ := json.Marshal(map[string]any{
		"username": "ops-dev", "password": "ops password 1", "role": "viewer",
		"workspaceAccess": map[string]any{"all": false, "grants": []map[string]string{
			{"workspace": "ops", "role": "developer"}, {"workspace": "qa", "role": "viewer"},
		}},
	})
	resp := must(auth.HandleHTTP("POST", "/api/v1/users", map[string]string{
		"Authorization": "Bearer " + token, "Content-Type": "application/json",
	}, body, "192.0.2.7"))
	check(resp.Status == 201, "POST /users answers 201, got %d: %s", resp.Status, resp.Body)
	check(strings.HasPrefix(resp.Headers["Content-Type"], "application/json") ||
		strings.HasPrefix(resp.Headers["content-type"], "application/json"),
		"JSON content type: %v", resp.Headers)
	created := decode(string(resp.Body))["user"].(map[string]any)
	check(created["username"] == "ops-dev", "created %v", created)
	resp = must(auth.HandleHTTP("GET", "/api/v1/auth/me", nil, nil, ""))
	check(resp.Status == 401, "no token is 401, got %d", resp.Status)

	opsLogin := decode(must(auth.Authenticate("ops-dev", "ops password 1", "")))
	opsDev, _ := opsLogin["token"].(string)
	for _, c := range []struct {
		token, workspace string
		action, want     uint32
	}{
		{token, "ops", ActionWrite, DecisionAllow},
		{token, "", ActionWrite, DecisionAllow},
		{opsDev, "ops", ActionWrite, DecisionAllow},
		{opsDev, "qa", ActionWrite, DecisionForbidden},
		{opsDev, "qa", ActionView, DecisionAllow},
		{opsDev, "secret", ActionView, DecisionNotVisible},
	} {
		got := must(auth.Authorize(c.token, c.action, c.workspace))
		check(got == c.want, "authorize action %d in %q: %d, want %d", c.action, c.workspace, got,
			c.want)
	}
	_, err = auth.Authorize("not a token", ActionView, "ops")
	check(statusOf(err) == StatusUnauthenticated, "a bad token is UNAUTHENTICATED: %v", err)
	// Strings go in with their lengths: a NUL is part of the value, never an early end.
	nul := must(auth.Authorize(opsDev, ActionView, "qa\x00ops"))
	check(nul == DecisionNotVisible, "\"qa\\x00ops\" is not \"qa\": %d", nul)
	_, err = auth.Authorize(opsDev+"\x00", ActionView, "ops")
	check(statusOf(err) == StatusUnauthenticated, "a token with a NUL appended is refused: %v", err)
	long := must(auth.Authorize(opsDev, ActionView, strings.Repeat("w", 300)))
	check(long == DecisionNotVisible, "a long workspace name is decided: %d", long)
	_, err = auth.Authorize(opsDev+strings.Repeat("x", 5000), ActionView, "ops")
	check(statusOf(err) == StatusUnauthenticated, "a long bad token is UNAUTHENTICATED: %v", err)
	// A library older than ABI 1.3 is served through dagu_auth_authorize and C strings: the same
	// decisions, and a NUL (which a C string would cut short) refused before the call.
	withLengths := plugin.authorizeN
	plugin.authorizeN = nil
	for _, c := range []struct {
		workspace string
		action    uint32
		want      uint32
	}{{"ops", ActionWrite, DecisionAllow}, {"qa", ActionWrite, DecisionForbidden},
		{"secret", ActionView, DecisionNotVisible}} {
		got := must(auth.Authorize(opsDev, c.action, c.workspace))
		check(got == c.want, "C-string path: action %d in %q: %d, want %d", c.action, c.workspace,
			got, c.want)
	}
	_, err = auth.Authorize(opsDev, ActionView, "qa\x00ops")
	check(statusOf(err) == StatusBadRequest, "C-string path refuses a NUL: %v", err)
	plugin.authorizeN = withLengths

	// Listing users.
	var list struct {
		Users []map[string]any `json:"users"`
	}
	check(json.Unmarshal([]byte(must(auth.UserList(token))), &list) == nil, "users JSON")
	check(len(list.Users) == 2 && list.Users[0]["username"] == "admin" &&
		list.Users[1]["username"] == "ops-dev", "users %v", list.Users)
	_, err = auth.UserList(opsDev)
	check(statusOf(err) == StatusForbidden, "a viewer may not list users: %v", err)
	got := decode(must(auth.UserGet(token, created["id"].(string))))
	check(got["user"].(map[string]any)["username"] == "ops-dev", "get %v", got)

	if *bench > 0 {
		benchAuthorize(auth, opsDev, *bench)
	}
	auth.Close()
	fmt.Printf("%d passed, 0 failed\n", passed)
}

// benchAuthorize prints the median time of one authorize call through cgo, the way the Dagu server
// would call it, beside the same call made in a C loop in this process (what cgo adds is the
// difference) and a Go map lookup of the same decision (the floor a Go-native check would cost),
// over 5 interleaved rounds of n calls each. Used by plugin/benches/run_all.sh, not by the tests.
func benchAuthorize(auth *Instance, token string, n int) {
	grants := map[string]map[string]uint32{token: {"ops": DecisionAllow, "qa": DecisionForbidden}}
	var sink uint32
	viaCgo := func() float64 {
		started := time.Now()
		for i := 0; i < n; i++ {
			decision, err := auth.Authorize(token, ActionWrite, "ops")
			if err != nil {
				panic(err)
			}
			sink += decision
		}
		return float64(time.Since(started).Nanoseconds()) / float64(n)
	}
	viaMap := func() float64 {
		started := time.Now()
		for i := 0; i < n; i++ {
			sink += grants[token]["ops"]
		}
		return float64(time.Since(started).Nanoseconds()) / float64(n)
	}
	var cgo, c, floor, noop []float64
	for round := 0; round < 5; round++ {
		cgo = append(cgo, viaCgo())
		c = append(c, auth.timeAuthorizeC(token, ActionWrite, "ops", n))
		floor = append(floor, viaMap())
		noop = append(noop, timeCgoNoop(n))
	}
	median := func(xs []float64) float64 { sort.Float64s(xs); return xs[len(xs)/2] }
	mc, mg := median(c), median(cgo)
	fmt.Printf("authorize: C loop %.0f ns/call, go cgo %.0f ns/call (cgo adds %.0f ns; an empty "+
		"cgo call costs %.0f ns); go map floor %.1f ns/call (%d calls x 5 rounds, sink %d)\n", mc,
		mg, mg-mc, median(noop), median(floor), n, sink%2)
}
