package daguauth_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

// libraryPath is the libdagu_auth.so under test.
var libraryPath string

func TestMain(m *testing.M) {
	path, missing := daguauth.TestLibrary()
	if missing != "" {
		// The examples' outputs need a library: without one nothing here can run.
		if os.Getenv("DAGU_AUTH_REQUIRE_ALL") == "1" {
			fmt.Println("FAILED:", missing, "and DAGU_AUTH_REQUIRE_ALL=1 requires it")
			os.Exit(1)
		}
		fmt.Println("skipped:", missing)
		os.Exit(0)
	}
	libraryPath = path
	os.Exit(m.Run())
}

// The tests sign in often; the hash cost is not what they test.
var cheapArgon2 = daguauth.Argon2{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

const (
	adminPassword = "admin password 1"
	userPassword  = "user password 1"
)

func load(t testing.TB) *daguauth.Library {
	t.Helper()
	lib, err := daguauth.Load(libraryPath)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

// open is an instance on a fresh data folder, licensed for rbac and audit unless config says
// otherwise, closed when the test ends.
func open(t testing.TB, config daguauth.Config) *daguauth.Instance {
	t.Helper()
	if config.DataDir == "" {
		config.DataDir = t.TempDir()
	}
	if config.Argon2 == (daguauth.Argon2{}) {
		config.Argon2 = cheapArgon2
	}
	if config.LicenseFeatures == nil {
		config.LicenseFeatures = []string{"rbac", "audit"}
	}
	auth, err := load(t).Open(config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	return auth
}

// withAdmin is an instance whose first admin ("admin") is set up, and the admin's token.
func withAdmin(t testing.TB) (*daguauth.Instance, string) {
	t.Helper()
	auth := open(t, daguauth.Config{})
	login, err := auth.Setup("admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	return auth, login.Token
}

// createUser creates a user with userPassword and answers it and its session token.
func createUser(t testing.TB, auth *daguauth.Instance, admin, username string, role daguauth.Role,
	access *daguauth.WorkspaceAccess) (*daguauth.User, string) {
	t.Helper()
	user, err := auth.CreateUser(admin, daguauth.NewUser{Username: username, Password: userPassword,
		Role: role, WorkspaceAccess: access})
	if err != nil {
		t.Fatal(err)
	}
	login, err := auth.Authenticate(username, userPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	return user, login.Token
}

// scoped is the access of a top-level viewer with grants, workspace and role in pairs.
func scoped(pairs ...string) *daguauth.WorkspaceAccess {
	access := &daguauth.WorkspaceAccess{}
	for i := 0; i+1 < len(pairs); i += 2 {
		access.Grants = append(access.Grants,
			daguauth.Grant{Workspace: pairs[i], Role: daguauth.Role(pairs[i+1])})
	}
	return access
}

// wantErr fails unless err matches want and carries a message.
func wantErr(t testing.TB, err, want error) *daguauth.Error {
	t.Helper()
	var e *daguauth.Error
	if !errors.Is(err, want) || !errors.As(err, &e) {
		t.Fatalf("got error %v, want %v", err, want)
	}
	return e
}
