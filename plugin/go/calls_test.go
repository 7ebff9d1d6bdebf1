package daguauth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

func TestLoadChecksTheLibraryAndItsABI(t *testing.T) {
	lib := load(t)
	if got := lib.ABIVersion(); got.Major != daguauth.ABIMajor || got.Minor < 3 {
		t.Errorf("ABI %s", got)
	}
	if strings.Count(lib.Version(), ".") != 2 {
		t.Errorf("version %q", lib.Version())
	}
	if _, err := daguauth.Load("/nonexistent/libdagu_auth.so"); err == nil {
		t.Error("a missing file loaded")
	}
	// A library, but not ours.
	_, err := daguauth.Load("libdl.so.2")
	if err == nil || !strings.Contains(err.Error(), "not a dagu-auth library") {
		t.Errorf("libdl loaded as the plugin: %v", err)
	}
}

func TestSetupCreatesTheFirstAdminOnlyOnce(t *testing.T) {
	auth := open(t, daguauth.Config{})
	if required, err := auth.SetupRequired(); err != nil || !required {
		t.Fatalf("a fresh folder needs setup: %v %v", required, err)
	}
	login, err := auth.Setup("admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	user := login.User
	if login.Token == "" || !login.ExpiresAt.After(time.Now()) || user.Username != "admin" ||
		user.Role != daguauth.RoleAdmin || !user.WorkspaceAccess.All ||
		user.AuthProvider != "builtin" || user.CreatedAt.IsZero() {
		t.Errorf("login %+v", login)
	}
	if required, err := auth.SetupRequired(); err != nil || required {
		t.Errorf("setup is done: %v %v", required, err)
	}
	_, err = auth.Setup("again", adminPassword)
	e := wantErr(t, err, daguauth.ErrForbidden)
	if e.Op != "dagu_auth_setup" || e.Message != "Setup has already been completed" {
		t.Errorf("error %#v", e)
	}
}

func TestEachStatusMatchesItsOwnErrorOnly(t *testing.T) {
	all := []error{daguauth.ErrNullArgument, daguauth.ErrInvalidUTF8, daguauth.ErrInvalidJSON,
		daguauth.ErrBadRequest, daguauth.ErrUnauthenticated, daguauth.ErrForbidden,
		daguauth.ErrNotFound, daguauth.ErrAlreadyExists, daguauth.ErrConflict,
		daguauth.ErrRateLimited, daguauth.ErrPayloadTooLarge, daguauth.ErrInvalidConfig,
		daguauth.ErrStorage, daguauth.ErrInternal, daguauth.ErrPanic,
		daguauth.ErrUnsupportedVersion, daguauth.ErrUnavailable}
	for i, sentinel := range all {
		err := error(&daguauth.Error{Status: daguauth.Status(i + 1), Message: "m"})
		for j, other := range all {
			if errors.Is(err, other) != (i == j) {
				t.Errorf("status %d matched by %v: %v", i+1, other, i == j)
			}
		}
		if !strings.Contains(sentinel.Error(), daguauth.Status(i+1).String()) {
			t.Errorf("%v does not name %s", sentinel, daguauth.Status(i+1))
		}
	}
}

func TestStatusNamesAreTheLibrarys(t *testing.T) {
	lib := load(t)
	for s := daguauth.StatusOK; s <= daguauth.StatusUnavailable; s++ {
		if lib.StatusName(s) != s.String() {
			t.Errorf("status %d: library %q, package %q", s, lib.StatusName(s), s)
		}
	}
	if lib.StatusName(4242) != "UNKNOWN_STATUS" || daguauth.Status(4242).String() != "STATUS_4242" {
		t.Error("an unknown status is named")
	}
}

func TestCallsAnswerTheLibrarysStatuses(t *testing.T) {
	auth, admin := withAdmin(t)
	bob, _ := createUser(t, auth, admin, "bob", daguauth.RoleViewer, nil)
	adminUser, err := auth.Verify(admin)
	if err != nil {
		t.Fatal(err)
	}
	demote := daguauth.RoleViewer
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"wrong password", second(auth.Authenticate("admin", "wrong password", "")),
			daguauth.ErrUnauthenticated},
		{"bad token", second(auth.ListUsers("not a token")), daguauth.ErrUnauthenticated},
		{"a viewer lists users", second(auth.ListUsers(mustLogin(t, auth, "bob"))),
			daguauth.ErrForbidden},
		{"a taken username", second(auth.CreateUser(admin, daguauth.NewUser{Username: "BOB",
			Password: userPassword, Role: daguauth.RoleViewer})), daguauth.ErrAlreadyExists},
		{"a short password", second(auth.CreateUser(admin, daguauth.NewUser{Username: "carol",
			Password: "short", Role: daguauth.RoleViewer})), daguauth.ErrBadRequest},
		{"no such user", second(auth.User(admin, "no-such-id")), daguauth.ErrNotFound},
		{"the last admin demoted", second(auth.UpdateUser(admin, adminUser.ID,
			daguauth.UserUpdate{Role: &demote})), daguauth.ErrConflict},
		{"an unknown operator command", auth.Operator(map[string]string{"command": "nope"}, nil),
			daguauth.ErrInvalidJSON},
		{"a NUL in a string", second(auth.Authenticate("bob\x00", userPassword, "")),
			daguauth.ErrInvalidUTF8},
	} {
		e := wantErr(t, c.err, c.want)
		if e.Message == "" || !strings.HasPrefix(e.Op, "dagu_auth_") {
			t.Errorf("%s: %#v", c.name, e)
		}
	}
	if bob.Username != "bob" {
		t.Errorf("bob %+v", bob)
	}
}

func second[T any](_ T, err error) error { return err }

func mustLogin(t testing.TB, auth *daguauth.Instance, username string) string {
	t.Helper()
	login, err := auth.Authenticate(username, userPassword, "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	return login.Token
}

func TestOpenRefusesABadConfigurationWithTheReason(t *testing.T) {
	_, err := load(t).Open(daguauth.Config{DataDir: t.TempDir(), TokenSecret: "short"})
	e := wantErr(t, err, daguauth.ErrInvalidConfig)
	if !strings.Contains(e.Message, "at least 32 bytes") {
		t.Errorf("message %q", e.Message)
	}
	_, err = load(t).Open(daguauth.Config{})
	wantErr(t, err, daguauth.ErrInvalidConfig)
}

func TestAdminsManageUsers(t *testing.T) {
	auth, admin := withAdmin(t)
	bob, bobToken := createUser(t, auth, admin, "bob", daguauth.RoleViewer,
		scoped("ops", "developer"))
	if !sameAccess(bob.WorkspaceAccess, *scoped("ops", "developer")) || bob.IsDisabled {
		t.Errorf("created %+v", bob)
	}
	createUser(t, auth, admin, "alice", daguauth.RoleDeveloper, nil)
	users, err := auth.ListUsers(admin)
	if err != nil || len(users) != 3 || users[0].Username != "admin" ||
		users[1].Username != "alice" || users[2].Username != "bob" {
		t.Fatalf("users %+v %v", users, err)
	}
	if !users[1].WorkspaceAccess.All {
		t.Errorf("a user created without access works everywhere: %+v", users[1])
	}
	got, err := auth.User(admin, bob.ID)
	if err != nil || got.Username != "bob" {
		t.Errorf("user %+v %v", got, err)
	}

	role, disabled := daguauth.RoleOperator, true
	updated, err := auth.UpdateUser(admin, bob.ID, daguauth.UserUpdate{Role: &role,
		WorkspaceAccess: daguauth.AllWorkspaces(), IsDisabled: &disabled})
	if err != nil || updated.Role != role || !updated.IsDisabled || !updated.WorkspaceAccess.All {
		t.Fatalf("updated %+v %v", updated, err)
	}
	_, err = auth.Authenticate("bob", userPassword, "")
	wantErr(t, err, daguauth.ErrUnauthenticated)
	enabled := false
	if _, err := auth.UpdateUser(admin, bob.ID, daguauth.UserUpdate{IsDisabled: &enabled}); err != nil {
		t.Fatal(err)
	}

	// A reset ends the user's sessions; the new password works.
	if err := auth.ResetPassword(admin, bob.ID, "reset password 1"); err != nil {
		t.Fatal(err)
	}
	_, err = auth.Verify(bobToken)
	wantErr(t, err, daguauth.ErrUnauthenticated)
	if _, err := auth.Authenticate("bob", "reset password 1", ""); err != nil {
		t.Error(err)
	}

	if err := auth.DeleteUser(admin, bob.ID); err != nil {
		t.Fatal(err)
	}
	_, err = auth.User(admin, bob.ID)
	wantErr(t, err, daguauth.ErrNotFound)
}

func sameAccess(a, b daguauth.WorkspaceAccess) bool {
	if a.All != b.All || len(a.Grants) != len(b.Grants) {
		return false
	}
	for i := range a.Grants {
		if a.Grants[i] != b.Grants[i] {
			return false
		}
	}
	return true
}

func TestChangePasswordEndsTheCallersSessions(t *testing.T) {
	auth, admin := withAdmin(t)
	err := auth.ChangePassword(admin, "wrong password", "new password 1")
	wantErr(t, err, daguauth.ErrUnauthenticated)
	if err := auth.ChangePassword(admin, adminPassword, "new password 1"); err != nil {
		t.Fatal(err)
	}
	_, err = auth.Verify(admin)
	wantErr(t, err, daguauth.ErrUnauthenticated)
	if _, err := auth.Authenticate("admin", "new password 1", ""); err != nil {
		t.Error(err)
	}
}

func TestLogoutEndsOnlyThatSession(t *testing.T) {
	auth, admin := withAdmin(t)
	other, err := auth.Authenticate("admin", adminPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.Logout(admin); err != nil {
		t.Fatal(err)
	}
	_, err = auth.Verify(admin)
	wantErr(t, err, daguauth.ErrUnauthenticated)
	if user, err := auth.Verify(other.Token); err != nil || user.Username != "admin" {
		t.Errorf("the other session: %+v %v", user, err)
	}
}

func TestAPIKeysAreCreatedShownOnceAndRevoked(t *testing.T) {
	auth, admin := withAdmin(t)
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	created, err := auth.CreateAPIKey(admin, daguauth.NewAPIKey{Name: "ci",
		Role: daguauth.RoleOperator, Description: "the CI runner", ExpiresAt: &expires,
		WorkspaceAccess: daguauth.AllWorkspaces(), AllowedSurfaces: []string{"rest_api"},
		AttributionClass: "service_account"})
	if err != nil {
		t.Fatal(err)
	}
	key := created.APIKey
	if !strings.HasPrefix(created.Key, "dagu_") || !strings.HasPrefix(created.Key, key.KeyPrefix) ||
		key.Name != "ci" || key.Role != daguauth.RoleOperator || key.LastUsedAt != nil ||
		key.ExpiresAt == nil || !key.ExpiresAt.Equal(expires) {
		t.Fatalf("created %+v", created)
	}
	principal, err := auth.Verify(created.Key)
	// A service-account key acts as itself: api_key:<id>, named after its service account
	// (the key's name when none is given), as Dagu names it since ABI 1.4.
	if err != nil || principal.ID != "api_key:"+key.ID || principal.Username != "ci" {
		t.Errorf("the key's principal %+v %v", principal, err)
	}
	if d, err := auth.Authorize(created.Key, daguauth.ActionExecute, "ops"); err != nil ||
		d != daguauth.DecisionAllow {
		t.Errorf("the key executes: %v %v", d, err)
	}

	keys, err := auth.ListAPIKeys(admin)
	if err != nil || len(keys) != 1 || keys[0].ID != key.ID {
		t.Errorf("keys %+v %v", keys, err)
	}
	description := "renamed"
	updated, err := auth.UpdateAPIKey(admin, key.ID, daguauth.APIKeyUpdate{Description: &description})
	if err != nil || updated.Description != "renamed" || updated.Name != "ci" {
		t.Errorf("updated %+v %v", updated, err)
	}
	got, err := auth.APIKey(admin, key.ID)
	if err != nil || got.Description != "renamed" {
		t.Errorf("got %+v %v", got, err)
	}
	if err := auth.DeleteAPIKey(admin, key.ID); err != nil {
		t.Fatal(err)
	}
	_, err = auth.Verify(created.Key)
	wantErr(t, err, daguauth.ErrUnauthenticated)
	_, err = auth.APIKey(admin, key.ID)
	wantErr(t, err, daguauth.ErrNotFound)
}

func TestTheAuditTrailIsPagedNewestFirst(t *testing.T) {
	auth, admin := withAdmin(t)
	_, err := auth.Authenticate("admin", "wrong password", "192.0.2.9")
	wantErr(t, err, daguauth.ErrUnauthenticated)
	createUser(t, auth, admin, "bob", daguauth.RoleViewer, nil)

	first, err := auth.ListAudit(admin, daguauth.AuditQuery{Limit: 2})
	if err != nil || len(first.Entries) != 2 || first.NextCursor == "" || first.Total < 3 {
		t.Fatalf("first page %+v %v", first, err)
	}
	rest, err := auth.ListAudit(admin, daguauth.AuditQuery{Cursor: first.NextCursor, Limit: 100})
	if err != nil || len(rest.Entries) == 0 || rest.NextCursor != "" {
		t.Fatalf("rest %+v %v", rest, err)
	}
	// Ids are UUIDs now, so the order shows in the times; and no entry comes twice.
	newest, middle, older := first.Entries[0], first.Entries[1], rest.Entries[0]
	if newest.Timestamp.Before(middle.Timestamp) || middle.Timestamp.Before(older.Timestamp) ||
		newest.ID == middle.ID || middle.ID == older.ID || newest.ID == older.ID {
		t.Errorf("not newest first: %+v then %+v", first.Entries, rest.Entries)
	}
	failed, err := auth.ListAudit(admin, daguauth.AuditQuery{Action: "login_failed"})
	if err != nil || len(failed.Entries) != 1 || failed.Entries[0].IPAddress != "192.0.2.9" ||
		failed.Entries[0].Username != "admin" || failed.Entries[0].Category != "user" ||
		failed.Entries[0].Details == "" {
		t.Errorf("failed sign-ins %+v %v", failed, err)
	}
	later, err := auth.ListAudit(admin, daguauth.AuditQuery{From: time.Now().Add(time.Hour)})
	if err != nil || len(later.Entries) != 0 || later.Total != 0 {
		t.Errorf("entries from the future %+v %v", later, err)
	}
}

func TestTheHostsEventsJoinTheTrailAsTheirCaller(t *testing.T) {
	auth, admin := withAdmin(t)
	bob, bobToken := createUser(t, auth, admin, "bob", daguauth.RoleOperator, nil)
	err := auth.AuditAppend(bobToken, daguauth.AuditEntry{Category: "dag",
		Action: "dag_execute", ResourceType: "dag", ResourceID: "demo-ops", Workspace: "ops",
		Details: map[string]string{"dag_name": "demo-ops"}, IPAddress: "192.0.2.7",
		CorrelationID: "req-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.AuditAppend("", daguauth.AuditEntry{Category: "system",
		Action: "scheduler.started"}); err != nil {
		t.Fatalf("as the host itself: %v", err)
	}
	page, err := auth.ListAudit(admin, daguauth.AuditQuery{Category: "dag"})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("%+v %v", page, err)
	}
	got := page.Entries[0]
	if got.Action != "dag_execute" || got.UserID != bob.ID || got.Username != "bob" ||
		got.ResourceID != "demo-ops" || got.Workspace != "ops" || got.IPAddress != "192.0.2.7" ||
		got.CorrelationID != "req-1" || got.Details != `{"dag_name":"demo-ops"}` {
		t.Errorf("%+v", got)
	}
	system, err := auth.ListAudit(admin, daguauth.AuditQuery{Category: "system"})
	if err != nil || len(system.Entries) != 1 || system.Entries[0].Username != "system" {
		t.Errorf("the host itself: %+v %v", system, err)
	}
	for _, refused := range []struct {
		token string
		entry daguauth.AuditEntry
		want  error
	}{
		{"not-a-token", daguauth.AuditEntry{Category: "dag", Action: "dag_execute"},
			daguauth.ErrUnauthenticated},
		{"", daguauth.AuditEntry{Category: "user", Action: "user_create"},
			daguauth.ErrBadRequest},
		{"", daguauth.AuditEntry{Category: "Dag!", Action: "dag_execute"},
			daguauth.ErrBadRequest},
	} {
		wantErr(t, auth.AuditAppend(refused.token, refused.entry), refused.want)
	}
}

func TestOperatorCommandsNeedNoToken(t *testing.T) {
	auth, _ := withAdmin(t)
	var created struct {
		User daguauth.User `json:"user"`
	}
	err := auth.Operator(map[string]any{"command": "users.create", "username": "bob",
		"password": userPassword, "role": "viewer"}, &created)
	if err != nil || created.User.Username != "bob" {
		t.Fatalf("created %+v %v", created, err)
	}
	var listed struct {
		Users []daguauth.User `json:"users"`
	}
	if err := auth.Operator(map[string]string{"command": "users.list"}, &listed); err != nil ||
		len(listed.Users) != 2 {
		t.Errorf("listed %+v %v", listed, err)
	}
	if err := auth.Operator(map[string]string{"command": "db.verify"}, nil); err != nil {
		t.Errorf("a result may be left undecoded: %v", err)
	}
}

func TestCallsAfterCloseAnswerErrClosed(t *testing.T) {
	auth, admin := withAdmin(t)
	if err := auth.Close(); err != nil {
		t.Fatal(err)
	}
	if err := auth.Close(); err != nil {
		t.Errorf("a second close: %v", err)
	}
	if auth.Handle() != nil {
		t.Error("a closed instance has a handle")
	}
	_, err := auth.Authorize(admin, daguauth.ActionView, "")
	_, err2 := auth.Verify(admin)
	_, err3 := auth.SetupRequired()
	_, err4 := auth.HandleHTTP(daguauth.HTTPRequest{Method: "GET", Path: "/api/v1/auth/setup"})
	for _, err := range []error{err, err2, err3, err4} {
		if !errors.Is(err, daguauth.ErrClosed) {
			t.Errorf("after close: %v", err)
		}
	}
}
