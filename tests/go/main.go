// Command dagu-host loads libdagu_auth.so through package daguauth as the Dagu server does when
// auth.mode is builtin, and checks the answers of the calls the server makes: ABI check, open,
// setup, sign-in, authorize in a workspace, list users, one request through the HTTP API, close.
//
// Usage: dagu-host -plugin /path/to/libdagu_auth.so [-data DIR] [-bench N]
// The plugin path may also come from DAGU_AUTH_PLUGIN. Prints "N passed, 0 failed" last.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

var passed int

func check(ok bool, format string, args ...any) {
	if !ok {
		fail(format, args...)
	}
	passed++
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "FAILED: "+format+"\n", args...)
	fmt.Printf("%d passed, 1 failed\n", passed)
	os.Exit(1)
}

func must[T any](value T, err error) T {
	check(err == nil, "unexpected error: %v", err)
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
	lib := must(daguauth.Load(*pluginPath))
	check(lib.ABIVersion().Major == daguauth.ABIMajor, "ABI %s", lib.ABIVersion())
	check(lib.ABIVersion().Minor >= 3, "this library has dagu_auth_authorize_n (ABI 1.3)")
	check(strings.Count(lib.Version(), ".") == 2, "version %q", lib.Version())
	check(lib.StatusName(daguauth.StatusUnauthenticated) == "UNAUTHENTICATED", "status name")
	check(lib.StatusName(4242) == "UNKNOWN_STATUS", "unknown status name")
	_, err := lib.Open(daguauth.Config{})
	check(errors.Is(err, daguauth.ErrInvalidConfig), "a config without dataDir: %v", err)
	auth := must(lib.Open(daguauth.Config{
		DataDir:         *dataDir,
		LicenseFeatures: []string{"rbac"},
		Argon2:          daguauth.Argon2{MemoryKiB: 64, Iterations: 1, Parallelism: 1},
	}))

	// Setup of the first admin.
	check(must(auth.SetupRequired()), "setup is required on a fresh folder")
	first := must(auth.Setup("admin", "admin password 1"))
	check(first.Token != "", "setup returns a token")
	check(!must(auth.SetupRequired()), "setup is done")
	_, err = auth.Setup("again", "admin password 1")
	check(errors.Is(err, daguauth.ErrForbidden), "a second setup is FORBIDDEN: %v", err)

	// Sign-in.
	_, err = auth.Authenticate("admin", "wrong password", "192.0.2.7")
	check(errors.Is(err, daguauth.ErrUnauthenticated), "a wrong password: %v", err)
	login := must(auth.Authenticate("admin", "admin password 1", "192.0.2.7"))
	token := login.Token
	check(token != "" && login.User.Username == "admin" && login.User.Role == daguauth.RoleAdmin,
		"login %+v", login)
	check(must(auth.Verify(token)).ID == login.User.ID, "verify names the same user")

	// A scoped user, created over the HTTP API, then authorized in workspaces.
	body, _ := json.Marshal(map[string]any{
		"username": "ops-dev", "password": "ops password 1", "role": "viewer",
		"workspaceAccess": map[string]any{"all": false, "grants": []map[string]string{
			{"workspace": "ops", "role": "developer"}, {"workspace": "qa", "role": "viewer"},
		}},
	})
	resp := must(auth.HandleHTTP(daguauth.HTTPRequest{Method: "POST", Path: "/api/v1/users",
		Headers: []daguauth.Header{{Name: "Authorization", Value: "Bearer " + token},
			{Name: "Content-Type", Value: "application/json"}},
		Body: body, ClientIP: "192.0.2.7"}))
	check(resp.Status == 201, "POST /users answers 201, got %d: %s", resp.Status, resp.Body)
	check(len(resp.Headers) > 0 && strings.EqualFold(resp.Headers[0].Name, "Content-Type") &&
		strings.HasPrefix(resp.Headers[0].Value, "application/json"), "JSON: %v", resp.Headers)
	var created struct{ User daguauth.User }
	check(json.Unmarshal(resp.Body, &created) == nil && created.User.Username == "ops-dev",
		"created %s", resp.Body)
	resp = must(auth.HandleHTTP(daguauth.HTTPRequest{Method: "GET", Path: "/api/v1/auth/me"}))
	check(resp.Status == 401, "no token is 401, got %d", resp.Status)

	opsDev := must(auth.Authenticate("ops-dev", "ops password 1", "")).Token
	for _, c := range []struct {
		token, workspace string
		action           daguauth.Action
		want             daguauth.Decision
	}{
		{token, "ops", daguauth.ActionWrite, daguauth.DecisionAllow},
		{token, "", daguauth.ActionWrite, daguauth.DecisionAllow},
		{opsDev, "ops", daguauth.ActionWrite, daguauth.DecisionAllow},
		{opsDev, "qa", daguauth.ActionWrite, daguauth.DecisionForbidden},
		{opsDev, "qa", daguauth.ActionView, daguauth.DecisionAllow},
		{opsDev, "secret", daguauth.ActionView, daguauth.DecisionNotVisible},
	} {
		got := must(auth.Authorize(c.token, c.action, c.workspace))
		check(got == c.want, "%s in %q: %s, want %s", c.action, c.workspace, got, c.want)
	}
	_, err = auth.Authorize("not a token", daguauth.ActionView, "ops")
	check(errors.Is(err, daguauth.ErrUnauthenticated), "a bad token: %v", err)
	// Strings go in with their lengths: a NUL is part of the value, never an early end.
	nul := must(auth.Authorize(opsDev, daguauth.ActionView, "qa\x00ops"))
	check(nul == daguauth.DecisionNotVisible, "\"qa\\x00ops\" is not \"qa\": %s", nul)
	_, err = auth.Authorize(opsDev+"\x00", daguauth.ActionView, "ops")
	check(errors.Is(err, daguauth.ErrUnauthenticated), "a token with a NUL appended: %v", err)
	long := must(auth.Authorize(opsDev, daguauth.ActionView, strings.Repeat("w", 300)))
	check(long == daguauth.DecisionNotVisible, "a long workspace name is decided: %s", long)
	_, err = auth.Authorize(opsDev+strings.Repeat("x", 5000), daguauth.ActionView, "ops")
	check(errors.Is(err, daguauth.ErrUnauthenticated), "a long bad token: %v", err)

	// Listing users.
	users := must(auth.ListUsers(token))
	check(len(users) == 2 && users[0].Username == "admin" && users[1].Username == "ops-dev",
		"users %+v", users)
	_, err = auth.ListUsers(opsDev)
	check(errors.Is(err, daguauth.ErrForbidden), "a viewer may not list users: %v", err)
	check(must(auth.User(token, created.User.ID)).Username == "ops-dev", "get ops-dev")

	if *bench > 0 {
		benchAuthorize(lib, auth, opsDev, *bench)
	}
	check(auth.Close() == nil, "close")
	fmt.Printf("%d passed, 0 failed\n", passed)
}
