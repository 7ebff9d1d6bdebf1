package daguauth

import "strconv"

// Action is what a principal wants to do (DaguAuthAction).
type Action uint32

// The actions of include/dagu_auth.h, each needing a higher role than the one before.
const (
	// ActionView reads: viewer and up.
	ActionView Action = 1
	// ActionExecute runs, stops and retries: operator and up.
	ActionExecute Action = 2
	// ActionWrite creates, edits and deletes definitions: developer and up.
	ActionWrite Action = 3
	// ActionAudit reads the audit trail: manager and up, installation-wide.
	ActionAudit Action = 4
	// ActionAdmin manages users and settings: admin, installation-wide.
	ActionAdmin Action = 5
)

var actionNames = [...]string{ActionView: "view", ActionExecute: "execute", ActionWrite: "write",
	ActionAudit: "audit", ActionAdmin: "admin"}

func (a Action) String() string {
	if a > 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.FormatUint(uint64(a), 10) + ")"
}

// Decision is the answer of Authorize for a principal whose token is good (DaguAuthDecision).
type Decision uint32

// The decisions of include/dagu_auth.h.
const (
	// DecisionAllow: go ahead.
	DecisionAllow Decision = 1
	// DecisionForbidden: the workspace is visible to the principal but its role there is too low.
	// A host answers 403.
	DecisionForbidden Decision = 2
	// DecisionNotVisible: the principal has no role in that workspace. A host answers 404, as for
	// a name that does not exist, so workspaces cannot be discovered by probing.
	DecisionNotVisible Decision = 3
)

var decisionNames = [...]string{DecisionAllow: "allow", DecisionForbidden: "forbidden",
	DecisionNotVisible: "not visible"}

func (d Decision) String() string {
	if d > 0 && int(d) < len(decisionNames) {
		return decisionNames[d]
	}
	return "decision(" + strconv.FormatUint(uint64(d), 10) + ")"
}

// Authorize decides whether the holder of token may do action in workspace ("" is the default
// workspace). A missing, bad, expired or revoked token is ErrUnauthenticated, an unknown action
// ErrBadRequest. Strings are passed with their lengths, so a NUL is part of a name, never its end.
//
// This is the call a host makes on every request: it answers from the plugin's memory for known
// principals, and on an ABI 1.3 library it allocates nothing and copies neither string. On an
// older library it goes through dagu_auth_authorize with C strings, refusing a NUL
// (ErrInvalidUTF8).
func (in *Instance) Authorize(token string, action Action, workspace string) (Decision, error) {
	handle := in.handle.Load()
	if handle == nil {
		return 0, ErrClosed
	}
	if in.lib.fns[fnAuthorizeN] != nil {
		return in.lib.callAuthorizeN(handle, token, action, workspace)
	}
	return in.lib.callAuthorize(handle, token, action, workspace)
}

// Surface is where a credential arrived (DaguAuthSurface): an API key is usable only on the
// surfaces it allows, a session token on any.
type Surface uint32

// The surfaces of include/dagu_auth.h.
const (
	// SurfaceRESTAPI is the REST API: what Authorize means.
	SurfaceRESTAPI Surface = 0
	// SurfaceMCP is the MCP endpoint.
	SurfaceMCP Surface = 1
)

var surfaceNames = [...]string{SurfaceRESTAPI: "rest_api", SurfaceMCP: "mcp"}

func (s Surface) String() string {
	if int(s) < len(surfaceNames) {
		return surfaceNames[s]
	}
	return "surface(" + strconv.FormatUint(uint64(s), 10) + ")"
}

// AuthorizeSurface is Authorize for a credential that arrived on surface: an API key that does
// not allow the surface is ErrForbidden ("API key is not allowed for this surface") once the key
// itself is found good. Like Authorize it allocates nothing and copies neither string. An unknown
// surface is ErrBadRequest; a library before ABI 1.4 answers ErrUnsupportedVersion.
func (in *Instance) AuthorizeSurface(token string, action Action, workspace string,
	surface Surface) (Decision, error) {
	handle := in.handle.Load()
	if handle == nil {
		return 0, ErrClosed
	}
	if in.lib.fns[fnAuthorizeRequest] == nil {
		return 0, in.lib.unsupported(fnAuthorizeRequest)
	}
	return in.lib.callAuthorizeRequest(handle, token, action, workspace, surface)
}
