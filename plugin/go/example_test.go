package daguauth_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

// exampleDataDir is a fresh data folder, removed when the example ends.
func exampleDataDir() (string, func()) {
	dir, err := os.MkdirTemp("", "dagu-data-")
	if err != nil {
		log.Fatal(err)
	}
	return dir, func() { os.RemoveAll(dir) }
}

// exampleAuth is what most examples start from: an open instance, licensed for rbac and audit,
// whose first admin ("admin") is set up; it answers the admin's token and a function that closes
// the instance and removes its folder.
func exampleAuth() (*daguauth.Instance, string, func()) {
	lib, err := daguauth.Load(libraryPath)
	if err != nil {
		log.Fatal(err)
	}
	dataDir, remove := exampleDataDir()
	auth, err := lib.Open(daguauth.Config{DataDir: dataDir,
		LicenseFeatures: []string{"rbac", "audit"}})
	if err != nil {
		log.Fatal(err)
	}
	login, err := auth.Setup("admin", "correct horse battery")
	if err != nil {
		log.Fatal(err)
	}
	return auth, login.Token, func() { auth.Close(); remove() }
}

func ExampleLoad() {
	// libraryPath is where the library is installed, e.g. /usr/lib/dagu/libdagu_auth.so.1.
	lib, err := daguauth.Load(libraryPath)
	if err != nil {
		log.Fatal(err) // not found, not a dagu-auth library, or another ABI major
	}
	fmt.Println("C ABI major:", lib.ABIVersion().Major)
	// Output: C ABI major: 1
}

func ExampleLibrary_Open() {
	lib, err := daguauth.Load(libraryPath)
	if err != nil {
		log.Fatal(err)
	}
	dataDir, remove := exampleDataDir()
	defer remove()
	auth, err := lib.Open(daguauth.Config{
		DataDir:         dataDir,
		LicenseFeatures: []string{"rbac", "audit"},
		InitialAdmin:    &daguauth.InitialAdmin{Username: "admin", Password: "correct horse battery"},
	})
	if err != nil {
		log.Fatal(err) // e.g. ErrInvalidConfig, with the plugin's reason
	}
	defer auth.Close()
	required, err := auth.SetupRequired()
	fmt.Println("setup required:", required, err)
	// Output: setup required: false <nil>
}

func ExampleInstance_SetupRequired() {
	lib, err := daguauth.Load(libraryPath)
	if err != nil {
		log.Fatal(err)
	}
	dataDir, remove := exampleDataDir()
	defer remove()
	auth, err := lib.Open(daguauth.Config{DataDir: dataDir})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	// A server's HTML can carry this, so its UI shows the setup page without asking the API.
	required, err := auth.SetupRequired()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf(`<script>window.config = {setupRequired: %t}</script>`+"\n", required)
	// Output: <script>window.config = {setupRequired: true}</script>
}

func ExampleInstance_Setup() {
	lib, err := daguauth.Load(libraryPath)
	if err != nil {
		log.Fatal(err)
	}
	dataDir, remove := exampleDataDir()
	defer remove()
	auth, err := lib.Open(daguauth.Config{DataDir: dataDir})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	login, err := auth.Setup("admin", "correct horse battery")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(login.User.Username, login.User.Role, login.Token != "")
	_, err = auth.Setup("another", "correct horse battery")
	fmt.Println(errors.Is(err, daguauth.ErrForbidden))
	// Output:
	// admin admin true
	// true
}

func ExampleInstance_Authenticate() {
	auth, _, done := exampleAuth()
	defer done()
	// The client's address as the server sees it: failed sign-ins are limited per address.
	login, err := auth.Authenticate("admin", "correct horse battery", "192.0.2.7")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in as", login.User.Username)
	_, err = auth.Authenticate("admin", "wrong password", "192.0.2.7")
	fmt.Println(errors.Is(err, daguauth.ErrUnauthenticated))
	// Output:
	// signed in as admin
	// true
}

func ExampleInstance_Authorize() {
	auth, admin, done := exampleAuth()
	defer done()
	_, err := auth.CreateUser(admin, daguauth.NewUser{
		Username: "ops-dev", Password: "ops password 1", Role: daguauth.RoleViewer,
		WorkspaceAccess: &daguauth.WorkspaceAccess{Grants: []daguauth.Grant{
			{Workspace: "ops", Role: daguauth.RoleDeveloper},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	login, err := auth.Authenticate("ops-dev", "ops password 1", "")
	if err != nil {
		log.Fatal(err)
	}
	for _, workspace := range []string{"ops", "", "finance"} {
		decision, err := auth.Authorize(login.Token, daguauth.ActionWrite, workspace)
		fmt.Printf("write in %q: %v %v\n", workspace, decision, err)
	}
	// Output:
	// write in "ops": allow <nil>
	// write in "": forbidden <nil>
	// write in "finance": not visible <nil>
}

func ExampleInstance_Verify() {
	auth, admin, done := exampleAuth()
	defer done()
	user, err := auth.Verify(admin)
	if err != nil {
		log.Fatal(err) // ErrUnauthenticated for a bad, expired or revoked token
	}
	fmt.Println(user.Username, user.Role)
	if err := auth.Logout(admin); err != nil {
		log.Fatal(err)
	}
	_, err = auth.Verify(admin)
	fmt.Println(errors.Is(err, daguauth.ErrUnauthenticated))
	// Output:
	// admin admin
	// true
}

func ExampleInstance_CreateUser() {
	auth, admin, done := exampleAuth()
	defer done()
	user, err := auth.CreateUser(admin, daguauth.NewUser{
		Username: "bob", Password: "bob password 1", Role: daguauth.RoleOperator,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.Username, user.Role, user.WorkspaceAccess.All)
	_, err = auth.CreateUser(admin, daguauth.NewUser{
		Username: "Bob", Password: "bob password 1", Role: daguauth.RoleViewer,
	})
	var e *daguauth.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, "-", e.Message)
	}
	// Output:
	// bob operator true
	// ALREADY_EXISTS - Username already exists
}

func ExampleInstance_CreateAPIKey() {
	auth, admin, done := exampleAuth()
	defer done()
	created, err := auth.CreateAPIKey(admin, daguauth.NewAPIKey{
		Name: "ci", Role: daguauth.RoleOperator, Description: "the CI runner",
		AllowedSurfaces: []string{"rest_api"}, AttributionClass: "service_account",
	})
	if err != nil {
		log.Fatal(err)
	}
	// created.Key is the secret, shown only now; the key authorizes like a session token.
	decision, err := auth.Authorize(created.Key, daguauth.ActionExecute, "ops")
	fmt.Println(created.APIKey.Name, strings.HasPrefix(created.Key, "dagu_"), decision, err)
	// Output: ci true allow <nil>
}

func ExampleInstance_AuthorizeSurface() {
	auth, admin, done := exampleAuth()
	defer done()
	created, err := auth.CreateAPIKey(admin, daguauth.NewAPIKey{Name: "ci",
		Role: daguauth.RoleOperator, AllowedSurfaces: []string{"rest_api"},
		AttributionClass: "service_account"})
	if err != nil {
		log.Fatal(err)
	}
	// A host's MCP endpoint says where the key arrived; this key is for the REST API only.
	_, err = auth.AuthorizeSurface(created.Key, daguauth.ActionExecute, "ops", daguauth.SurfaceMCP)
	fmt.Println(errors.Is(err, daguauth.ErrForbidden))
	decision, err := auth.AuthorizeSurface(created.Key, daguauth.ActionExecute, "ops",
		daguauth.SurfaceRESTAPI)
	fmt.Println(decision, err)
	// Output:
	// true
	// allow <nil>
}

func ExampleInstance_ListAudit() {
	auth, admin, done := exampleAuth()
	defer done()
	page, err := auth.ListAudit(admin, daguauth.AuditQuery{Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, entry := range page.Entries {
		fmt.Println(entry.Category, entry.Action, entry.Username)
	}
	// Output: user setup_admin admin
}

func ExampleInstance_AuditAppend() {
	auth, admin, done := exampleAuth()
	defer done()
	// A host records what a request did as the caller whose token it carried.
	err := auth.AuditAppend(admin, daguauth.AuditEntry{
		Category: "dag", Action: "dag_execute", ResourceType: "dag", ResourceID: "nightly",
		Details: map[string]string{"dag_name": "nightly"},
	})
	if err != nil {
		log.Fatal(err)
	}
	page, err := auth.ListAudit(admin, daguauth.AuditQuery{Category: "dag"})
	if err != nil {
		log.Fatal(err)
	}
	entry := page.Entries[0]
	fmt.Println(entry.Action, entry.ResourceID, entry.Username, entry.Details)
	// Output: dag_execute nightly admin {"dag_name":"nightly"}
}

func ExampleInstance_Operator() {
	auth, _, done := exampleAuth()
	defer done()
	// A server's command line: no token, the admin API's rules.
	var result struct {
		Users []daguauth.User `json:"users"`
	}
	if err := auth.Operator(map[string]string{"command": "users.list"}, &result); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(result.Users), result.Users[0].Username)
	// Output: 1 admin
}

func ExampleInstance_Handler() {
	auth, _, done := exampleAuth()
	defer done()
	mux := http.NewServeMux()
	for _, pattern := range daguauth.Routes() {
		mux.Handle(pattern, auth.Handler())
	}
	server := httptest.NewServer(mux)
	defer server.Close()

	resp, err := http.Post(server.URL+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"username":"admin","password":"wrong password"}`))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 401 {"code":"unauthorized","message":"Invalid username or password"}
}

func ExampleInstance_HandleHTTP() {
	auth, admin, done := exampleAuth()
	defer done()
	// What Handler does for each request, for a server that is not built on net/http.
	resp, err := auth.HandleHTTP(daguauth.HTTPRequest{
		Method:   "GET",
		Path:     "/api/v1/users?limit=10",
		Headers:  []daguauth.Header{{Name: "Authorization", Value: "Bearer " + admin}},
		ClientIP: "192.0.2.7",
	})
	if err != nil {
		log.Fatal(err) // the request could not be passed at all
	}
	fmt.Println(resp.Status, resp.Headers[0].Name+": "+resp.Headers[0].Value)
	// Output: 200 Content-Type: application/json
}

func ExampleInstance_Middleware() {
	auth, admin, done := exampleAuth()
	defer done()
	// The server's own resources, each in a workspace.
	dagWorkspace := map[string]string{"backup": "ops", "payroll": "finance"}
	decide := func(r *http.Request) (daguauth.Action, string) {
		action := daguauth.ActionView
		if r.Method == http.MethodPost {
			action = daguauth.ActionExecute
		}
		return action, dagWorkspace[strings.TrimPrefix(r.URL.Path, "/dags/")]
	}
	start := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := daguauth.PrincipalFrom(r.Context()).User()
		fmt.Fprintf(w, "started by %s", user.Username)
	})
	server := httptest.NewServer(auth.Middleware(decide,
		daguauth.NotFoundMessage("DAG not found"))(start))
	defer server.Close()

	for _, token := range []string{admin, ""} {
		req, _ := http.NewRequest(http.MethodPost, server.URL+"/dags/backup", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 200 started by admin
	// 401 {"code":"unauthorized","message":"Authentication required"}
}

func ExampleLockDataDir() {
	dataDir, remove := exampleDataDir()
	defer remove()
	// Held while the server serves: the plugin's db.restore refuses meanwhile.
	lock, err := daguauth.LockDataDir(dataDir)
	if err != nil {
		log.Fatal(err) // a restore is running
	}
	defer lock.Close()
	fmt.Println("serving")
	// Output: serving
}

func ExampleError() {
	auth, admin, done := exampleAuth()
	defer done()
	_, err := auth.User(admin, "no-such-id")
	switch {
	case errors.Is(err, daguauth.ErrNotFound):
		fmt.Println("not found:", err)
	case err != nil:
		log.Fatal(err)
	}
	// Output: not found: daguauth: dagu_auth_user_get: NOT_FOUND: User not found
}
