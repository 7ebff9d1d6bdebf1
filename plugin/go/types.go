package daguauth

import (
	"encoding/json"
	"time"
)

// The JSON shapes of plugin/openapi.yaml, as the calls answer and take them.

// Role is a user's or API key's role, from most to least powerful: admin, manager, developer,
// operator, viewer.
type Role string

// The roles.
const (
	RoleAdmin     Role = "admin"
	RoleManager   Role = "manager"
	RoleDeveloper Role = "developer"
	RoleOperator  Role = "operator"
	RoleViewer    Role = "viewer"
)

// Grant is a role in one named workspace.
type Grant struct {
	Workspace string `json:"workspace"`
	Role      Role   `json:"role"`
}

// WorkspaceAccess is {"all": true}, or grants for a top-level viewer. The default workspace
// always uses the top-level role.
type WorkspaceAccess struct {
	All    bool    `json:"all"`
	Grants []Grant `json:"grants,omitempty"`
}

// AllWorkspaces is the access of a user who works everywhere with the top-level role.
func AllWorkspaces() *WorkspaceAccess { return &WorkspaceAccess{All: true} }

// User is an account. Verify also answers it for an API key, without the other fields: a
// service-account key as {ID: "api_key:<id>", Username: its service account name, Role,
// WorkspaceAccess}, a user-owned key as its owner.
type User struct {
	ID              string          `json:"id"`
	Username        string          `json:"username"`
	Role            Role            `json:"role"`
	WorkspaceAccess WorkspaceAccess `json:"workspaceAccess"`
	AuthProvider    string          `json:"authProvider,omitempty"`
	IsDisabled      bool            `json:"isDisabled,omitempty"`
	// MFAEnabled: sign-in asks this user for a second factor (ABI 1.5).
	MFAEnabled bool      `json:"mfaEnabled,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// LoginResponse is the answer of Setup and Authenticate: a session token and whose it is.
type LoginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	User      User      `json:"user"`
}

// NewUser is a user to create. WorkspaceAccess nil is all workspaces.
type NewUser struct {
	Username        string           `json:"username"`
	Password        string           `json:"password"`
	Role            Role             `json:"role"`
	WorkspaceAccess *WorkspaceAccess `json:"workspaceAccess,omitempty"`
}

// UserUpdate changes the fields that are not nil.
type UserUpdate struct {
	Username        *string          `json:"username,omitempty"`
	Role            *Role            `json:"role,omitempty"`
	WorkspaceAccess *WorkspaceAccess `json:"workspaceAccess,omitempty"`
	IsDisabled      *bool            `json:"isDisabled,omitempty"`
}

// APIKey is an API key as listed; the key itself is shown only once, by CreateAPIKey.
type APIKey struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Description     string          `json:"description"`
	Role            Role            `json:"role"`
	WorkspaceAccess WorkspaceAccess `json:"workspaceAccess"`
	// KeyPrefix is the key's first characters ("dagu_..."), to recognise it by.
	KeyPrefix          string     `json:"keyPrefix"`
	CreatedAt          time.Time  `json:"createdAt"`
	UpdatedAt          time.Time  `json:"updatedAt"`
	CreatedBy          string     `json:"createdBy"`
	LastUsedAt         *time.Time `json:"lastUsedAt"`
	ExpiresAt          *time.Time `json:"expiresAt,omitempty"`
	OwnerUserID        string     `json:"ownerUserId,omitempty"`
	AllowedSurfaces    []string   `json:"allowedSurfaces"`
	AttributionClass   string     `json:"attributionClass"`
	ServiceAccountName string     `json:"serviceAccountName,omitempty"`
}

// NewAPIKey is an API key to create. WorkspaceAccess nil is all workspaces.
type NewAPIKey struct {
	Name               string           `json:"name"`
	Role               Role             `json:"role"`
	Description        string           `json:"description,omitempty"`
	WorkspaceAccess    *WorkspaceAccess `json:"workspaceAccess,omitempty"`
	AllowedSurfaces    []string         `json:"allowedSurfaces,omitempty"`
	AttributionClass   string           `json:"attributionClass,omitempty"`
	OwnerUserID        string           `json:"ownerUserId,omitempty"`
	ServiceAccountName string           `json:"serviceAccountName,omitempty"`
	ExpiresAt          *time.Time       `json:"expiresAt,omitempty"`
}

// CreatedAPIKey is a new key: Key is the secret, shown this once.
type CreatedAPIKey struct {
	APIKey APIKey `json:"apiKey"`
	Key    string `json:"key"`
}

// APIKeyUpdate changes the fields that are not nil.
type APIKeyUpdate struct {
	Name               *string          `json:"name,omitempty"`
	Description        *string          `json:"description,omitempty"`
	Role               *Role            `json:"role,omitempty"`
	WorkspaceAccess    *WorkspaceAccess `json:"workspaceAccess,omitempty"`
	AllowedSurfaces    *[]string        `json:"allowedSurfaces,omitempty"`
	AttributionClass   *string          `json:"attributionClass,omitempty"`
	ServiceAccountName *string          `json:"serviceAccountName,omitempty"`
	ExpiresAt          *time.Time       `json:"expiresAt,omitempty"`
}

// AuditEvent is one entry of the audit trail, in Dagu's shape; every field is a string, empty
// when the entry has none. Details never hold a password, token or key.
type AuditEvent struct {
	// ID is a UUID.
	ID        string    `json:"id"`
	Timestamp time.Time `json:"timestamp"`
	// Category groups actions: "user", "api_key", or a host's own such as "dag".
	Category string `json:"category"`
	// Action is what happened, e.g. "login_failed", "user_create", "dag_execute".
	Action string `json:"action"`
	// UserID and Username name who did it: "system" for the host itself, "operator" for the
	// command line, the name tried for a failed sign-in.
	UserID         string `json:"userId"`
	Username       string `json:"username"`
	Source         string `json:"source,omitempty"`
	Surface        string `json:"surface,omitempty"`
	Result         string `json:"result,omitempty"`
	ResourceType   string `json:"resourceType,omitempty"`
	ResourceID     string `json:"resourceId,omitempty"`
	Workspace      string `json:"workspace,omitempty"`
	CredentialType string `json:"credentialType,omitempty"`
	CredentialID   string `json:"credentialId,omitempty"`
	// Details is a JSON object as text, as Dagu sends it.
	Details       string `json:"details,omitempty"`
	IPAddress     string `json:"ipAddress,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
	MCPTool       string `json:"mcpTool,omitempty"`
}

// AuditPage is one page of entries, newest first; Total counts every entry the query matches, and
// NextCursor is empty on the last page.
type AuditPage struct {
	Entries    []AuditEvent `json:"entries"`
	Total      int          `json:"total"`
	NextCursor string       `json:"nextCursor,omitempty"`
}

// AuditQuery filters the audit trail by exact match; zero fields do not filter. Limit 0 is the
// plugin's page size (50, at most 500).
type AuditQuery struct {
	// From and To bound the time, both inclusive.
	From, To      time.Time
	Category      string
	Action        string
	UserID        string
	Source        string
	Surface       string
	Result        string
	ResourceType  string
	ResourceID    string
	Workspace     string
	CorrelationID string
	IPAddress     string
	// Cursor is the NextCursor of the previous page; Offset skips entries instead.
	Cursor string
	Offset int
	Limit  int
}

// MarshalJSON is the query as dagu_auth_audit_list takes it (times in RFC 3339).
func (q AuditQuery) MarshalJSON() ([]byte, error) {
	wire := struct {
		StartTime     string `json:"startTime,omitempty"`
		EndTime       string `json:"endTime,omitempty"`
		Category      string `json:"category,omitempty"`
		Action        string `json:"action,omitempty"`
		UserID        string `json:"userId,omitempty"`
		Source        string `json:"source,omitempty"`
		Surface       string `json:"surface,omitempty"`
		Result        string `json:"result,omitempty"`
		ResourceType  string `json:"resourceType,omitempty"`
		ResourceID    string `json:"resourceId,omitempty"`
		Workspace     string `json:"workspace,omitempty"`
		CorrelationID string `json:"correlationId,omitempty"`
		IPAddress     string `json:"ipAddress,omitempty"`
		Cursor        string `json:"cursor,omitempty"`
		Offset        int    `json:"offset,omitempty"`
		Limit         int    `json:"limit,omitempty"`
	}{Category: q.Category, Action: q.Action, UserID: q.UserID, Source: q.Source,
		Surface: q.Surface, Result: q.Result, ResourceType: q.ResourceType,
		ResourceID: q.ResourceID, Workspace: q.Workspace, CorrelationID: q.CorrelationID,
		IPAddress: q.IPAddress, Cursor: q.Cursor, Offset: q.Offset, Limit: q.Limit}
	if !q.From.IsZero() {
		wire.StartTime = q.From.Format(time.RFC3339Nano)
	}
	if !q.To.IsZero() {
		wire.EndTime = q.To.Format(time.RFC3339Nano)
	}
	return json.Marshal(wire)
}

// AuditEntry is an event of the host for AuditAppend. Category and Action are 1-64 characters of
// a-z, 0-9, _ and .; the zero value of every other field leaves it out.
type AuditEntry struct {
	// Category groups actions, e.g. "dag"; "user" and "api_key" are the plugin's own.
	Category string `json:"category"`
	// Action is what happened, e.g. "dag_execute".
	Action       string `json:"action"`
	ResourceType string `json:"resourceType,omitempty"`
	ResourceID   string `json:"resourceId,omitempty"`
	Workspace    string `json:"workspace,omitempty"`
	// Details is encoded as a JSON object (a map or a struct). Admins and managers read it: never
	// a password, token or key.
	Details   any    `json:"details,omitempty"`
	IPAddress string `json:"ipAddress,omitempty"`
	// Surface is "rest_api" (the default) or "mcp".
	Surface string `json:"surface,omitempty"`
	// Result is "succeeded" (the default), "failed", "denied", "received" or "started".
	Result        string `json:"result,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
	MCPTool       string `json:"mcpTool,omitempty"`
}
