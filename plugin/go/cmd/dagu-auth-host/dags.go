package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

// Demo resources the host owns and the plugin guards, the way Dagu guards its DAGs: every request
// asks Authorize(token, action, workspace) and maps the decision to a status. A workspace the
// caller cannot see answers 404, never 403, so its DAGs cannot be found by probing names.
//
// A start and an update are recorded in the plugin's audit trail (AuditAppend) as Dagu records
// them (category "dag", actions "dag_execute" and "dag_update"), attributed to the caller's token
// (and X-Request-Id, when sent, as the correlation id), so an admin reads who started or changed
// what beside the sign-ins.

// specBodyLimit bounds what one PUT can make the host hold.
const specBodyLimit = 1 << 20

// dag is one DAG; an empty workspace is the default one.
type dag struct {
	Name      string          `json:"name"`
	Workspace *string         `json:"workspace"`
	Spec      json.RawMessage `json:"spec"`
}

func (d dag) workspace() string {
	if d.Workspace == nil {
		return ""
	}
	return *d.Workspace
}

// catalogue holds the DAGs in memory; specs written with PUT live until the process ends.
type catalogue struct {
	mu   sync.RWMutex
	dags map[string]dag
}

func demoCatalogue() *catalogue {
	c := &catalogue{dags: map[string]dag{}}
	for name, workspace := range map[string]string{"demo-ops": "ops", "demo-prod": "prod",
		"demo-finance": "finance", "demo-default": ""} {
		d := dag{Name: name, Spec: json.RawMessage("null")}
		if workspace != "" {
			w := workspace
			d.Workspace = &w
		}
		c.dags[name] = d
	}
	return c
}

func (c *catalogue) get(name string) (dag, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	d, ok := c.dags[name]
	return d, ok
}

// all are the DAGs sorted by name.
func (c *catalogue) all() []dag {
	c.mu.RLock()
	defer c.mu.RUnlock()
	dags := make([]dag, 0, len(c.dags))
	for _, d := range c.dags {
		dags = append(dags, d)
	}
	sort.Slice(dags, func(i, j int) bool { return dags[i].Name < dags[j].Name })
	return dags
}

func (c *catalogue) setSpec(name string, spec json.RawMessage) (dag, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.dags[name]
	if ok {
		d.Spec = spec
		c.dags[name] = d
	}
	return d, ok
}

type dagNameKey struct{}

func withDAGName(r *http.Request, name string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), dagNameKey{}, name))
}

func dagName(r *http.Request) string {
	name, _ := r.Context().Value(dagNameKey{}).(string)
	return name
}

func dagNotFound(w http.ResponseWriter) {
	daguauth.WriteError(w, http.StatusNotFound, "not_found", "DAG not found")
}

func writeJSON(w http.ResponseWriter, status int, value any) {
	body, err := json.Marshal(value)
	if err != nil {
		daguauth.WriteError(w, http.StatusInternalServerError, "internal_error", "Internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// guard lets a request reach serve when the caller may do action on the DAG it names.
func (s *server) guard(action daguauth.Action,
	serve func(http.ResponseWriter, *http.Request, dag)) http.Handler {
	found := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := s.dags.get(dagName(r))
		if !ok {
			dagNotFound(w)
			return
		}
		serve(w, r, d)
	})
	if s.auth == nil {
		return found
	}
	decide := func(r *http.Request) (daguauth.Action, string) {
		d, ok := s.dags.get(dagName(r))
		if !ok {
			// Only the token is checked, so an anonymous caller gets 401 and learns no names.
			return daguauth.ActionView, ""
		}
		return action, d.workspace()
	}
	return s.auth.Middleware(decide, daguauth.NotFoundMessage("DAG not found"))(found)
}

type listed struct {
	Name      string  `json:"name"`
	Workspace *string `json:"workspace"`
}

// listDAGs shows the DAGs of the workspaces the caller may view, asking once per workspace.
func (s *server) listDAGs(w http.ResponseWriter, r *http.Request) {
	dags := s.dags.all()
	var allowed map[string]bool
	if s.auth != nil {
		token, ok := daguauth.BearerToken(r)
		if !ok {
			daguauth.WriteError(w, http.StatusUnauthorized, "unauthorized",
				"Authentication required")
			return
		}
		// The default workspace is always asked, so a bad token is a 401 even without DAGs in it.
		allowed = map[string]bool{"": false}
		for _, d := range dags {
			allowed[d.workspace()] = false
		}
		for workspace := range allowed {
			decision, err := s.auth.Authorize(token, daguauth.ActionView, workspace)
			if err != nil {
				daguauth.WriteAuthError(w, err)
				return
			}
			allowed[workspace] = decision == daguauth.DecisionAllow
		}
	}
	listing := struct {
		DAGs []listed `json:"dags"`
	}{DAGs: []listed{}}
	for _, d := range dags {
		if allowed == nil || allowed[d.workspace()] {
			listing.DAGs = append(listing.DAGs, listed{Name: d.Name, Workspace: d.Workspace})
		}
	}
	writeJSON(w, http.StatusOK, listing)
}

func (s *server) showDAG(w http.ResponseWriter, _ *http.Request, d dag) {
	writeJSON(w, http.StatusOK, d)
}

func (s *server) startDAG(w http.ResponseWriter, r *http.Request, d dag) {
	s.audit(r, "dag_execute", d)
	writeJSON(w, http.StatusAccepted, map[string]any{"name": d.Name, "started": true})
}

// updateDAG validates the spec only after authorization, so an unauthorized caller learns
// nothing from validation.
func (s *server) updateDAG(w http.ResponseWriter, r *http.Request, d dag) {
	read := r.Context().Value(bodyKey{}).(bodyRead)
	switch {
	case errors.Is(read.err, errTooLarge):
		daguauth.WriteError(w, http.StatusRequestEntityTooLarge, "payload_too_large",
			"Request body exceeds 1 MiB")
		return
	case read.err != nil:
		daguauth.WriteError(w, http.StatusBadRequest, "bad_request", "cannot read the request body")
		return
	}
	var spec json.RawMessage
	if err := json.Unmarshal(read.body, &spec); err != nil {
		daguauth.WriteError(w, http.StatusBadRequest, "bad_request", "invalid JSON: "+err.Error())
		return
	}
	updated, ok := s.dags.setSpec(d.Name, spec)
	if !ok {
		dagNotFound(w)
		return
	}
	s.audit(r, "dag_update", updated)
	writeJSON(w, http.StatusOK, updated)
}

// requestID is the caller's X-Request-Id, which ties the entry to the caller's own logs, when it
// is a plausible one (1-128 visible ASCII characters).
func requestID(r *http.Request) string {
	id := strings.TrimSpace(r.Header.Get("X-Request-Id"))
	if len(id) < 1 || len(id) > 128 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return ""
		}
	}
	return id
}

// audit records action on d in the plugin's audit trail as the bearer of the request. The DAG
// was started or changed already, so a failed write is logged rather than answered; the answer
// waits for the write, so the entry is there when the caller next reads the trail.
func (s *server) audit(r *http.Request, action string, d dag) {
	if s.auth == nil {
		return
	}
	token, ok := daguauth.BearerToken(r)
	if !ok {
		return
	}
	err := s.auth.AuditAppend(token, daguauth.AuditEntry{
		Category: "dag", Action: action, ResourceType: "dag", ResourceID: d.Name,
		Workspace: d.workspace(), Details: map[string]string{"dag_name": d.Name},
		IPAddress: daguauth.ClientIP(r), CorrelationID: requestID(r),
	})
	if err != nil {
		line, _ := json.Marshal(map[string]string{"log": "dagu-auth-host.audit-lost",
			"action": action, "dag": d.Name, "error": err.Error()})
		s.journal.Print(string(line))
	}
}

type bodyKey struct{}

// bodyRead is the body readBodyFirst read, or why it could not.
type bodyRead struct {
	body []byte
	err  error
}

var errTooLarge = errors.New("request body too large")

// readBodyFirst reads the body (at most specBodyLimit bytes) before next runs, leaving the outcome
// in the context; with refuseTooLarge a larger body is answered 413 at once.
func readBodyFirst(next http.Handler, refuseTooLarge bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, specBodyLimit+1))
		if err == nil && len(body) > specBodyLimit {
			body, err = nil, errTooLarge
		}
		if refuseTooLarge && errors.Is(err, errTooLarge) {
			daguauth.WriteError(w, http.StatusRequestEntityTooLarge, "payload_too_large",
				"Request body exceeds 1 MiB")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyKey{},
			bodyRead{body, err})))
	})
}
