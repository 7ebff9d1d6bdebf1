package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Routing without a plugin (auth.mode none): what is the host's own. The routes through the
// plugin are proven by the HTTP suite in tests/, which runs against this host.

func call(t *testing.T, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	s := newServer(nil, nil, log.New(io.Discard, "", 0))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
	var answer map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
		t.Fatalf("%s %s: not JSON: %q", method, path, w.Body.String())
	}
	return w.Code, w.Header(), answer
}

func TestHealthIsOpen(t *testing.T) {
	if status, _, body := call(t, "GET", "/api/v1/health", ""); status != 200 ||
		body["status"] != "healthy" {
		t.Errorf("%d %v", status, body)
	}
}

func TestUnknownRoutesAndMethodsAreJSONErrors(t *testing.T) {
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/v1/nope", 404, "not_found"},
		{"GET", "/api/v1/dags/demo-ops/", 404, "not_found"},
		{"GET", "/api/v1/dags/demo-ops/stop", 404, "not_found"},
		{"GET", "/api/v1/dags/", 404, "not_found"},
		{"DELETE", "/api/v1/dags/demo-ops", 405, "method_not_allowed"},
		{"GET", "/api/v1/dags/demo-ops/start", 405, "method_not_allowed"},
		{"POST", "/api/v1/health", 405, "method_not_allowed"},
	} {
		status, header, body := call(t, c.method, c.path, "")
		if status != c.status || body["code"] != c.code {
			t.Errorf("%s %s: %d %v", c.method, c.path, status, body)
		}
		if status == 405 && header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
	}
}

func TestWithoutAuthThePluginRoutesAreNotEnabled(t *testing.T) {
	for _, path := range []string{"/api/v1/auth/login", "/api/v1/users", "/api/v1/users/x",
		"/api/v1/audit", "/api/v1/api-keys"} {
		status, header, body := call(t, "POST", path, "")
		if status != 401 || body["message"] != "User management is not enabled" ||
			header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %v", path, status, body)
		}
	}
}

func TestWithoutAuthEveryDAGIsOpen(t *testing.T) {
	if status, _, body := call(t, "GET", "/api/v1/dags", ""); status != 200 ||
		len(body["dags"].([]any)) != 4 {
		t.Errorf("list %d %v", status, body)
	}
	if status, _, body := call(t, "POST", "/api/v1/dags/demo-finance/start", ""); status != 202 ||
		body["started"] != true {
		t.Errorf("start %d %v", status, body)
	}
	status, _, body := call(t, "PUT", "/api/v1/dags/demo-prod", `{"steps":[1]}`)
	if spec, _ := json.Marshal(body["spec"]); status != 200 || string(spec) != `{"steps":[1]}` {
		t.Errorf("put %d %v", status, body)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"PUT", "/api/v1/dags/demo-prod", "{not json", 400, "bad_request"},
		{"PUT", "/api/v1/dags/demo-prod", strings.Repeat("x", specBodyLimit+1), 413,
			"payload_too_large"},
		{"POST", "/api/v1/dags/demo-prod/start", strings.Repeat("x", specBodyLimit+1), 413,
			"payload_too_large"},
		{"GET", "/api/v1/dags/nope", "", 404, "not_found"},
	} {
		if status, _, body := call(t, c.method, c.path, c.body); status != c.status ||
			body["code"] != c.code {
			t.Errorf("%s %s: %d %v", c.method, c.path, status, body)
		}
	}
}
