package daguauth_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

// serve runs handler on a loopback server for the test.
func serve(t *testing.T, handler http.Handler) *httptest.Server {
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return server
}

// pluginMux serves the plugin's routes only, as a host registers them.
func pluginMux(auth *daguauth.Instance) *http.ServeMux {
	mux := http.NewServeMux()
	for _, pattern := range daguauth.Routes() {
		mux.Handle(pattern, auth.Handler())
	}
	return mux
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var value map[string]any
	if err := json.Unmarshal(a.body, &value); err != nil {
		t.Fatalf("not JSON (%d): %q", a.status, a.body)
	}
	return value
}

func send(t *testing.T, server *httptest.Server, method, path, token string, body []byte,
	headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, server.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, data}
}

func TestHandlerServesThePluginsAPI(t *testing.T) {
	auth := open(t, daguauth.Config{})
	server := serve(t, pluginMux(auth))
	if got := send(t, server, "GET", "/api/v1/auth/setup", "", nil); got.status != 200 ||
		got.json(t)["setupRequired"] != true {
		t.Fatalf("setup status %d %s", got.status, got.body)
	}
	setup := send(t, server, "POST", "/api/v1/auth/setup", "",
		[]byte(`{"username":"admin","password":"`+adminPassword+`"}`))
	token, _ := setup.json(t)["token"].(string)
	if setup.status != 200 || token == "" {
		t.Fatalf("setup %d %s", setup.status, setup.body)
	}
	if got := send(t, server, "GET", "/api/v1/users?limit=1", token, nil); got.status != 200 ||
		got.header.Get("Content-Type") != "application/json" {
		t.Errorf("users %d %v %s", got.status, got.header, got.body)
	}
	if got := send(t, server, "GET", "/api/v1/openapi.yaml", "", nil); got.status != 200 ||
		!strings.HasPrefix(string(got.body), "openapi:") {
		t.Errorf("openapi %d %.40s", got.status, got.body)
	}
	got := send(t, server, "GET", "/api/v1/auth/me", "", nil)
	if got.status != 401 || got.header.Get("WWW-Authenticate") != daguauth.BearerChallenge {
		t.Errorf("me without a token: %d %v", got.status, got.header)
	}
	// The plugin frames nothing: no sniffed content type on an empty answer.
	if got := send(t, server, "POST", "/api/v1/auth/logout", token, nil); got.status != 204 ||
		got.header.Get("Content-Type") != "" {
		t.Errorf("logout %d %v", got.status, got.header)
	}
}

func TestHandlerPassesThePeerAddressNotAForwardedOne(t *testing.T) {
	auth, admin := withAdmin(t)
	server := serve(t, pluginMux(auth))
	got := send(t, server, "POST", "/api/v1/auth/login", "",
		[]byte(`{"username":"admin","password":"wrong password"}`),
		"X-Forwarded-For", "203.0.113.9")
	if got.status != 401 {
		t.Fatalf("login %d %s", got.status, got.body)
	}
	failed, err := auth.ListAudit(admin, daguauth.AuditQuery{Action: "login_failed"})
	if err != nil || len(failed.Entries) != 1 || failed.Entries[0].IPAddress != "127.0.0.1" {
		t.Errorf("the failed sign-in is recorded for %+v %v", failed, err)
	}
}

func TestBodiesPastTheLimitAreRefused(t *testing.T) {
	auth, admin := withAdmin(t)
	server := serve(t, pluginMux(auth))
	for _, size := range []int{daguauth.MaxBodyBytes + 1, daguauth.MaxBodyBytes + 2, 3 << 20} {
		got := send(t, server, "POST", "/api/v1/users", admin, bytes.Repeat([]byte("a"), size))
		if got.status != 413 || got.json(t)["code"] != "payload_too_large" ||
			got.json(t)["message"] != "Request body exceeds 1 MiB" {
			t.Errorf("%d bytes: %d %s", size, got.status, got.body)
		}
	}
}

func TestRoutesAndOwnsPathNameThePluginsPaths(t *testing.T) {
	for path, owned := range map[string]bool{
		"/api/v1/auth/login": true, "/api/v1/auth": true, "/api/v1/users": true,
		"/api/v1/users/42/reset-password": true, "/api/v1/api-keys/7": true,
		"/api/v1/audit": true, "/api/v1/openapi.yaml": true,
		"/oidc-login": true, "/oidc-callback": true, "/proxy-login": true, "/oidc-loginx": false,
		"/api/v1/dags": false, "/api/v1/auditx": false, "/api/v1/usersx": false, "/": false,
	} {
		if daguauth.OwnsPath(path) != owned {
			t.Errorf("OwnsPath(%q) = %v", path, !owned)
		}
	}
	routes := daguauth.Routes()
	routes[0] = "/changed"
	if daguauth.Routes()[0] == "/changed" {
		t.Error("Routes hands out the package's own slice")
	}
}

func TestClientIPIsThePeersAddress(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:5000": "192.0.2.1", "[::ffff:192.0.2.1]:5000": "192.0.2.1",
		"[2001:db8::1]:80": "2001:db8::1", "[fe80::1%eth0]:80": "fe80::1", "@": "",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := daguauth.ClientIP(r); got != want {
			t.Errorf("ClientIP(%q) = %q, want %q", remote, got, want)
		}
	}
}

func TestBearerTokenNeedsTheSchemeAndAValue(t *testing.T) {
	for header, want := range map[string]string{
		"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer ": "", "": "",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", header)
		if got, ok := daguauth.BearerToken(r); got != want || ok != (want != "") {
			t.Errorf("BearerToken(%q) = %q %v", header, got, ok)
		}
	}
}

func TestMiddlewareAnswers401Then403Then404(t *testing.T) {
	auth, admin := withAdmin(t)
	_, viewer := createUser(t, auth, admin, "viewer", daguauth.RoleViewer, scoped("qa", "viewer"))
	// /<action>/<workspace>: the action and workspace the route needs.
	decide := func(r *http.Request) (daguauth.Action, string) {
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
		action := map[string]daguauth.Action{"view": daguauth.ActionView,
			"write": daguauth.ActionWrite}[parts[0]]
		return action, parts[1]
	}
	var seen *daguauth.Principal
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = daguauth.PrincipalFrom(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	plain := serve(t, auth.Middleware(decide)(ok))
	named := serve(t, auth.Middleware(decide, daguauth.NotFoundMessage("DAG not found"))(ok))

	for _, c := range []struct {
		server        *httptest.Server
		path, token   string
		status        int
		code, message string
	}{
		{plain, "/view/qa", "", 401, "unauthorized", "Authentication required"},
		{plain, "/view/qa", "not a token", 401, "unauthorized", ""},
		{plain, "/write/qa", viewer, 403, "forbidden", "Insufficient permissions"},
		{plain, "/view/prod", viewer, 404, "not_found", "Not found"},
		{named, "/view/prod", viewer, 404, "not_found", "DAG not found"},
	} {
		got := send(t, c.server, "GET", c.path, c.token, nil)
		body := got.json(t)
		if got.status != c.status || body["code"] != c.code ||
			c.message != "" && body["message"] != c.message {
			t.Errorf("%s with %q: %d %s", c.path, c.token, got.status, got.body)
		}
		if challenge := got.header.Get("WWW-Authenticate"); (c.status == 401) !=
			(challenge == daguauth.BearerChallenge) {
			t.Errorf("%s: challenge %q on a %d", c.path, challenge, got.status)
		}
	}
	if seen != nil {
		t.Fatal("a refused request reached the handler")
	}

	if got := send(t, plain, "GET", "/view/qa", viewer, nil); got.status != 204 {
		t.Fatalf("allowed: %d %s", got.status, got.body)
	}
	if seen == nil || seen.Token != viewer || seen.Action != daguauth.ActionView ||
		seen.Workspace != "qa" {
		t.Fatalf("principal %+v", seen)
	}
	if user, err := seen.User(); err != nil || user.Username != "viewer" {
		t.Errorf("the principal's user %+v %v", user, err)
	}
}
