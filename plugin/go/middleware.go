package daguauth

import (
	"context"
	"net/http"
	"strings"
	"sync"
)

// BearerToken is the token of "Authorization: Bearer <token>" (the scheme in any case), and false
// when there is none.
func BearerToken(r *http.Request) (string, bool) {
	value := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, token, found := strings.Cut(value, " ")
	token = strings.TrimSpace(token)
	if !found || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", false
	}
	return token, true
}

// MiddlewareOption changes what Middleware answers.
type MiddlewareOption func(*middlewareOptions)

type middlewareOptions struct {
	notFound string
}

// NotFoundMessage is the message of the 404 for a workspace the caller cannot see, e.g. "DAG not
// found": the same as for a name that does not exist, so neither can be told apart (default "Not
// found").
func NotFoundMessage(message string) MiddlewareOption {
	return func(o *middlewareOptions) { o.notFound = message }
}

// Middleware protects a host's own routes. For each request, decide names the action and the
// workspace ("" is the default one) it needs; the caller's bearer token must be allowed it. The
// answers are the plugin's error shape:
//
//   - 401 "Authentication required" without a bearer token, or the plugin's message for a bad
//     one (with the Bearer challenge);
//   - 403 "Insufficient permissions" when the workspace is visible but the role too low;
//   - 404 when the caller has no role in the workspace, so it cannot be discovered;
//   - 403 for a key refused on this surface, 429, 503 or 500 as WriteAuthError.
//
// An allowed request goes on with its Principal in the context (PrincipalFrom). decide runs only
// once the request has a token. For a name that does not exist, decide should answer ActionView in
// the default workspace, which every principal may view: the token is still checked (401 before
// 404, so an anonymous caller learns no names) and the next handler answers the 404.
func (in *Instance) Middleware(decide func(*http.Request) (Action, string),
	options ...MiddlewareOption) func(http.Handler) http.Handler {
	o := middlewareOptions{notFound: "Not found"}
	for _, option := range options {
		option(&o)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := BearerToken(r)
			if !ok {
				WriteError(w, http.StatusUnauthorized, "unauthorized", "Authentication required")
				return
			}
			action, workspace := decide(r)
			decision, err := in.Authorize(token, action, workspace)
			switch {
			case err != nil:
				WriteAuthError(w, err)
			case decision == DecisionAllow:
				principal := &Principal{Token: token, Action: action, Workspace: workspace, in: in}
				ctx := context.WithValue(r.Context(), principalKey{}, principal)
				next.ServeHTTP(w, r.WithContext(ctx))
			case decision == DecisionForbidden:
				WriteError(w, http.StatusForbidden, "forbidden", "Insufficient permissions")
			default:
				WriteError(w, http.StatusNotFound, "not_found", o.notFound)
			}
		})
	}
}

// Principal is the caller Middleware let through.
type Principal struct {
	// Token is the caller's bearer token (a session token or an API key), to make calls as them.
	Token string
	// Action and Workspace are what the caller was allowed.
	Action    Action
	Workspace string

	in   *Instance
	once sync.Once
	user *User
	err  error
}

// User is who the caller is. It is asked of the plugin (Verify) on first use only, so a handler
// that does not need it costs nothing.
func (p *Principal) User() (*User, error) {
	p.once.Do(func() { p.user, p.err = p.in.Verify(p.Token) })
	return p.user, p.err
}

type principalKey struct{}

// PrincipalFrom is the Principal Middleware put in ctx, nil outside it.
func PrincipalFrom(ctx context.Context) *Principal {
	principal, _ := ctx.Value(principalKey{}).(*Principal)
	return principal
}
