package daguauth

// The calls made as the holder of a token (a session token or an API key, "dagu_..."), with the
// rules and answers of the HTTP API: a missing or bad token is ErrUnauthenticated, a caller
// without the role ErrForbidden, and so on.

// Setup creates the first admin and signs them in. ErrForbidden once any user exists;
// ErrBadRequest for a refused username or password.
func (in *Instance) Setup(username, password string) (*LoginResponse, error) {
	var login LoginResponse
	if err := in.call(fnSetup, &login, username, password); err != nil {
		return nil, err
	}
	return &login, nil
}

// Authenticate signs in. An unknown user, a wrong password and a disabled account are all
// ErrUnauthenticated; too many failures ErrRateLimited. clientIP is the caller's address as the
// host sees it ("" if unknown): the per-address limit counts by it.
func (in *Instance) Authenticate(username, password, clientIP string) (*LoginResponse, error) {
	var login LoginResponse
	if err := in.call(fnAuthenticate, &login, username, password, clientIP); err != nil {
		return nil, err
	}
	return &login, nil
}

// envelope is {"user": ...}, {"apiKey": ...} or {"users": [...]}, the forms the answers come in.
type envelope struct {
	User    *User    `json:"user"`
	Users   []User   `json:"users"`
	APIKey  *APIKey  `json:"apiKey"`
	APIKeys []APIKey `json:"apiKeys"`
}

func (in *Instance) user(op function, args ...string) (*User, error) {
	var answer envelope
	if err := in.call(op, &answer, args...); err != nil {
		return nil, err
	}
	return answer.User, nil
}

// Verify is who token belongs to: ErrUnauthenticated for a missing, malformed, expired or revoked
// token.
func (in *Instance) Verify(token string) (*User, error) {
	return in.user(fnVerify, token)
}

// Logout ends the session of token at once (an API key cannot sign out: ErrBadRequest).
func (in *Instance) Logout(token string) error {
	return in.call(fnLogout, nil, token)
}

// ChangePassword changes the caller's own password; every session of the caller ends.
// ErrUnauthenticated when current is wrong.
func (in *Instance) ChangePassword(token, current, newPassword string) error {
	return in.call(fnChangePassword, nil, token, current, newPassword)
}

// ListUsers is every user, sorted by username (admin).
func (in *Instance) ListUsers(token string) ([]User, error) {
	var answer envelope
	if err := in.call(fnUserList, &answer, token); err != nil {
		return nil, err
	}
	return answer.Users, nil
}

// User is one user by id (admin); ErrNotFound when there is none.
func (in *Instance) User(token, id string) (*User, error) {
	return in.user(fnUserGet, token, id)
}

// CreateUser creates a user (admin, licensed). ErrAlreadyExists for a taken username.
func (in *Instance) CreateUser(token string, user NewUser) (*User, error) {
	var answer envelope
	if err := in.callJSON(fnUserCreate, &answer, user, token); err != nil {
		return nil, err
	}
	return answer.User, nil
}

// UpdateUser changes a user (admin, licensed). ErrConflict when no enabled admin would remain.
func (in *Instance) UpdateUser(token, id string, update UserUpdate) (*User, error) {
	var answer envelope
	if err := in.callJSON(fnUserUpdate, &answer, update, token, id); err != nil {
		return nil, err
	}
	return answer.User, nil
}

// DeleteUser deletes a user and ends their sessions (admin, licensed).
func (in *Instance) DeleteUser(token, id string) error {
	return in.call(fnUserDelete, nil, token, id)
}

// ResetPassword sets a user's password (admin); the user's sessions end.
func (in *Instance) ResetPassword(token, id, newPassword string) error {
	return in.call(fnUserResetPassword, nil, token, id, newPassword)
}

// ListAPIKeys is every API key, sorted by name (admin). Since ABI 1.1.
func (in *Instance) ListAPIKeys(token string) ([]APIKey, error) {
	var answer envelope
	if err := in.call(fnAPIKeyList, &answer, token); err != nil {
		return nil, err
	}
	return answer.APIKeys, nil
}

// APIKey is one API key by id (admin); ErrNotFound when there is none. Since ABI 1.1.
func (in *Instance) APIKey(token, id string) (*APIKey, error) {
	var answer envelope
	if err := in.call(fnAPIKeyGet, &answer, token, id); err != nil {
		return nil, err
	}
	return answer.APIKey, nil
}

// CreateAPIKey creates an API key (admin) and answers it with its secret, shown this once.
// ErrAlreadyExists for a taken name; ErrForbidden past the unlicensed limit. Since ABI 1.1.
func (in *Instance) CreateAPIKey(token string, key NewAPIKey) (*CreatedAPIKey, error) {
	var created CreatedAPIKey
	if err := in.callJSON(fnAPIKeyCreate, &created, key, token); err != nil {
		return nil, err
	}
	return &created, nil
}

// UpdateAPIKey changes an API key (admin). Since ABI 1.1.
func (in *Instance) UpdateAPIKey(token, id string, update APIKeyUpdate) (*APIKey, error) {
	var answer envelope
	if err := in.callJSON(fnAPIKeyUpdate, &answer, update, token, id); err != nil {
		return nil, err
	}
	return answer.APIKey, nil
}

// DeleteAPIKey deletes an API key; it stops working at once (admin). Since ABI 1.1.
func (in *Instance) DeleteAPIKey(token, id string) error {
	return in.call(fnAPIKeyDelete, nil, token, id)
}

// ListAudit is one page of the audit trail, newest first (admin or manager; the "audit" licence
// feature). Since ABI 1.4, which answers Dagu's shape: a library of ABI 1.1-1.3 answers another
// one, so there it is ErrUnsupportedVersion.
func (in *Instance) ListAudit(token string, query AuditQuery) (*AuditPage, error) {
	if in.lib.abi.Minor < auditInDagusShape {
		return nil, in.lib.unsupportedBefore(fnAuditList, auditInDagusShape)
	}
	var page AuditPage
	if err := in.callJSON(fnAuditList, &page, query, token); err != nil {
		return nil, err
	}
	return &page, nil
}

// Operator runs one operator command without a token, for a host's command line: whoever can
// open the data folder can edit the database anyway. command is encoded as JSON, e.g.
// map[string]any{"command": "users.list"} (the commands are listed at dagu_auth_operator in
// include/dagu_auth.h), and the answer is decoded into result unless it is nil. The admin API's
// rules apply, and the audit trail names the actor "operator". Since ABI 1.2.
func (in *Instance) Operator(command any, result any) error {
	return in.callJSON(fnOperator, result, command)
}

// AuditAppend records an event of the host (a DAG started, a definition changed) in the audit
// trail, so an admin reads one trail. token is the credential that caused the event, a session
// token or an API key, and the entry names its user; "" is the host itself, recorded as the user
// "system". The plugin adds the id, the time and the source. ErrUnauthenticated for a token that
// is not a valid one; ErrBadRequest for a malformed or reserved ("user", "api_key") category or
// action, an unknown Surface or Result, or an entry over 64 KiB. Since ABI 1.4.
func (in *Instance) AuditAppend(token string, entry AuditEntry) error {
	return in.callJSON(fnAuditAppend, nil, entry, token)
}
