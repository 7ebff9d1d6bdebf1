package daguauth

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// openWithout opens an instance on a library that behaves as if it lacked the functions fns, as
// an older minor does, with an admin set up; it answers the instance and the admin's token.
func openWithout(t *testing.T, fns ...function) (*Instance, string) {
	path, missing := testLibrary()
	if missing != "" {
		t.Skip(missing)
	}
	lib, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range fns {
		lib.fns[fn] = nil
	}
	dir, err := os.MkdirTemp("", "daguauth-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	auth, err := lib.Open(Config{DataDir: dir, LicenseFeatures: []string{"rbac"},
		Argon2: Argon2{MemoryKiB: 64, Iterations: 1, Parallelism: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	login, err := auth.Setup("admin", "admin password 1")
	if err != nil {
		t.Fatal(err)
	}
	return auth, login.Token
}

func TestALibraryBefore13IsAuthorizedThroughCStrings(t *testing.T) {
	auth, admin := openWithout(t, fnAuthorizeN)
	_, err := auth.CreateUser(admin, NewUser{Username: "qa", Password: "user password 1",
		Role: RoleViewer, WorkspaceAccess: &WorkspaceAccess{Grants: []Grant{{"qa", RoleViewer}}}})
	if err != nil {
		t.Fatal(err)
	}
	login, err := auth.Authenticate("qa", "user password 1", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		workspace string
		action    Action
		want      Decision
	}{{"qa", ActionView, DecisionAllow}, {"qa", ActionWrite, DecisionForbidden},
		{"ops", ActionView, DecisionNotVisible}} {
		if got, err := auth.Authorize(login.Token, c.action, c.workspace); err != nil || got != c.want {
			t.Errorf("%s in %q: %v %v, want %v", c.action, c.workspace, got, err, c.want)
		}
	}
	// A C string would end at the NUL and decide "qa": refused instead.
	_, err = auth.Authorize(login.Token, ActionView, "qa\x00ops")
	if !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("a NUL through C strings: %v", err)
	}
}

func TestACallTheLibraryLacksIsUnsupported(t *testing.T) {
	auth, admin := openWithout(t, fnOperator, fnAPIKeyList)
	err := auth.Operator(map[string]string{"command": "users.list"}, nil)
	var e *Error
	if !errors.Is(err, ErrUnsupportedVersion) || !errors.As(err, &e) ||
		e.Op != "dagu_auth_operator" || !strings.Contains(e.Message, "needs 1.2") {
		t.Errorf("operator: %v", err)
	}
	if _, err := auth.ListAPIKeys(admin); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("api keys: %v", err)
	}
	if _, err := auth.ListUsers(admin); err != nil {
		t.Errorf("the rest still works: %v", err)
	}
}

func TestALibraryBefore14LacksTheAuditAppendTheSurfacesAndDagusAuditShape(t *testing.T) {
	auth, admin := openWithout(t, fnAuditAppend, fnAuthorizeRequest)
	err := auth.AuditAppend(admin, AuditEntry{Category: "dag", Action: "dag_execute"})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrUnsupportedVersion) ||
		!strings.Contains(e.Message, "needs 1.4") {
		t.Errorf("audit append: %v", err)
	}
	if _, err := auth.AuthorizeSurface(admin, ActionView, "", SurfaceMCP); !errors.Is(err,
		ErrUnsupportedVersion) {
		t.Errorf("authorize with a surface: %v", err)
	}
	// 1.1-1.3 answered {"events"}, which would read as an empty page.
	auth.lib.abi.Minor = 3
	if _, err := auth.ListAudit(admin, AuditQuery{}); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("audit list: %v", err)
	}
}
