package main

import (
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strings"
	"time"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

// server routes host-demo's paths: its health check, the plugin's API through the package's
// Handler, the demo DAGs guarded by its Middleware, and the web pages when a folder is given.
type server struct {
	// auth is nil in auth.mode none.
	auth    *daguauth.Instance
	plugin  http.Handler
	dags    *catalogue
	web     *webPages
	show    http.Handler
	start   http.Handler
	update  http.Handler
	journal *log.Logger
	// hosts are the names a loopback server answers to; nil beyond loopback.
	hosts *allowedHosts
}

func newServer(auth *daguauth.Instance, web *webPages, journal *log.Logger) *server {
	s := &server{auth: auth, dags: demoCatalogue(), web: web, journal: journal}
	if auth != nil {
		s.plugin = auth.Handler()
	}
	s.show = s.guard(daguauth.ActionView, s.showDAG)
	// A refusal sent before the client's body has arrived can end the connection under it, so
	// these read the body (bounded) first.
	s.start = readBodyFirst(s.guard(daguauth.ActionExecute, s.startDAG), true)
	s.update = readBodyFirst(s.guard(daguauth.ActionWrite, s.updateDAG), false)
	return s
}

// ServeHTTP logs one line per request: never headers or bodies, which carry tokens and passwords.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.route(recorder, r)
	s.journal.Printf("%s %s %d %.1fms %s", r.Method, r.URL.EscapedPath(), recorder.status,
		float64(time.Since(started).Microseconds())/1000, daguauth.ClientIP(r))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// route matches the escaped path, as host-demo's router does: "a%2Fb" is one DAG name.
func (s *server) route(w http.ResponseWriter, r *http.Request) {
	if s.hosts != nil && s.hosts.refused(w, r) {
		return
	}
	path := r.URL.EscapedPath()
	switch {
	case path == "/api/v1/health":
		only(w, r, "GET", func() {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"status":"healthy"}`)
		})
	case daguauth.OwnsPath(r.URL.Path):
		if s.auth == nil {
			daguauth.WriteError(w, http.StatusUnauthorized, "unauthorized",
				"User management is not enabled")
			return
		}
		s.plugin.ServeHTTP(w, r)
	case path == "/api/v1/dags":
		only(w, r, "GET", func() { s.listDAGs(w, r) })
	case strings.HasPrefix(path, "/api/v1/dags/"):
		s.routeDAG(w, r, strings.TrimPrefix(path, "/api/v1/dags/"))
	case s.web != nil && s.web.owns(path):
		only(w, r, "GET", func() { s.web.serve(w, r, s.setupRequired) })
	default:
		notFound(w)
	}
}

// routeDAG serves /api/v1/dags/{name} and /api/v1/dags/{name}/start.
func (s *server) routeDAG(w http.ResponseWriter, r *http.Request, rest string) {
	escaped, action, nested := strings.Cut(rest, "/")
	name, err := url.PathUnescape(escaped)
	if name == "" || err != nil || nested && action != "start" {
		notFound(w)
		return
	}
	r = withDAGName(r, name)
	if nested {
		only(w, r, "POST", func() { s.start.ServeHTTP(w, r) })
		return
	}
	switch r.Method {
	case "GET", "HEAD":
		s.show.ServeHTTP(w, r)
	case "PUT":
		s.update.ServeHTTP(w, r)
	default:
		methodNotAllowed(w, "GET,HEAD,PUT")
	}
}

// only runs serve for method (and HEAD with GET), else answers 405.
func only(w http.ResponseWriter, r *http.Request, method string, serve func()) {
	if r.Method == method || method == "GET" && r.Method == "HEAD" {
		serve()
		return
	}
	allowed := method
	if method == "GET" {
		allowed = "GET,HEAD"
	}
	methodNotAllowed(w, allowed)
}

func notFound(w http.ResponseWriter) {
	daguauth.WriteError(w, http.StatusNotFound, "not_found", "Not found")
}

func methodNotAllowed(w http.ResponseWriter, allowed string) {
	w.Header().Set("Allow", allowed)
	daguauth.WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed")
}

// setupRequired is false on a plugin error: that is no reason to hide a page, and the page's own
// API calls will report it.
func (s *server) setupRequired() bool {
	if s.auth == nil {
		return false
	}
	required, err := s.auth.SetupRequired()
	return err == nil && required
}
