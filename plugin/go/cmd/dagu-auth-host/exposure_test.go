package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLoopbackListenersAreToldApartFromExposedOnes(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost",
		"LOCALHOST"} {
		if !listensOnLoopback(host) {
			t.Errorf("%s is loopback", host)
		}
	}
	for _, host := range []string{"0.0.0.0", "::", "192.168.1.10", "dagu.example.com", ""} {
		if listensOnLoopback(host) {
			t.Errorf("%s is not loopback", host)
		}
	}
}

func TestSetupCodesAreLongRandomAndHex(t *testing.T) {
	a, errA := newSetupCode()
	b, errB := newSetupCode()
	if errA != nil || errB != nil || len(a) != 32 || a == b {
		t.Fatalf("%q %q %v %v", a, b, errA, errB)
	}
	for _, c := range a {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			t.Errorf("%q is not lower-case hex", a)
		}
	}
}

func TestALoopbackServerRefusesAReboundHostName(t *testing.T) {
	hosts := allowedHostsFor("127.0.0.1", nil)
	for _, host := range []string{"evil.example:8080", "evil.example", "127.0.0.1.evil.example", "",
		"[::1"} {
		if hosts.allows(host) {
			t.Errorf("%s is allowed", host)
		}
	}
}

func TestALoopbackServerAnswersToLoopbackNamesItsListenHostAndAllowedOrigins(t *testing.T) {
	hosts := allowedHostsFor("127.0.0.1", []string{"https://dagu.example.com/"})
	for _, host := range []string{"127.0.0.1:8080", "127.9.9.9", "[::1]:8080", "localhost:8080",
		"LocalHost.:8080", "app.localhost", "dagu.example.com", "DAGU.example.com:443"} {
		if !hosts.allows(host) {
			t.Errorf("%s is refused", host)
		}
	}
}

func TestAnExposedServerDoesNotCheckHostNames(t *testing.T) {
	if hosts := allowedHostsFor("0.0.0.0", nil); hosts != nil {
		t.Errorf("%+v", hosts)
	}
}

func TestARefusedHostIsAJSON403BeforeAnyRoute(t *testing.T) {
	s := newServer(nil, nil, log.New(io.Discard, "", 0))
	s.hosts = allowedHostsFor("127.0.0.1", nil)
	for host, want := range map[string]int{"evil.example:8080": http.StatusForbidden,
		"localhost:8080": http.StatusOK} {
		r := httptest.NewRequest("GET", "/api/v1/health", nil)
		r.Host = host
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != want || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q", host, w.Code, w.Header().Get("Content-Type"))
		}
	}
}
