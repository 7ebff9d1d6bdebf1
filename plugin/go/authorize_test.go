package daguauth_test

import (
	"strings"
	"sync"
	"testing"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

func TestAuthorizeDecidesByRoleInTheWorkspace(t *testing.T) {
	auth, admin := withAdmin(t)
	_, opsDev := createUser(t, auth, admin, "ops-dev", daguauth.RoleViewer,
		scoped("ops", "developer", "qa", "viewer"))
	for _, c := range []struct {
		token, workspace string
		action           daguauth.Action
		want             daguauth.Decision
	}{
		{admin, "ops", daguauth.ActionWrite, daguauth.DecisionAllow},
		{admin, "", daguauth.ActionAdmin, daguauth.DecisionAllow},
		{opsDev, "ops", daguauth.ActionWrite, daguauth.DecisionAllow},
		{opsDev, "qa", daguauth.ActionWrite, daguauth.DecisionForbidden},
		{opsDev, "qa", daguauth.ActionView, daguauth.DecisionAllow},
		{opsDev, "", daguauth.ActionView, daguauth.DecisionAllow},
		{opsDev, "", daguauth.ActionExecute, daguauth.DecisionForbidden},
		{opsDev, "secret", daguauth.ActionView, daguauth.DecisionNotVisible},
		{opsDev, "ops", daguauth.ActionAudit, daguauth.DecisionForbidden},
	} {
		got, err := auth.Authorize(c.token, c.action, c.workspace)
		if err != nil || got != c.want {
			t.Errorf("%s in %q: %v %v, want %v", c.action, c.workspace, got, err, c.want)
		}
	}
	_, err := auth.Authorize("not a token", daguauth.ActionView, "ops")
	wantErr(t, err, daguauth.ErrUnauthenticated)
	_, err = auth.Authorize(admin, daguauth.Action(99), "ops")
	wantErr(t, err, daguauth.ErrBadRequest)
}

func TestAuthorizeTakesStringsWithTheirLengths(t *testing.T) {
	auth, admin := withAdmin(t)
	_, opsDev := createUser(t, auth, admin, "ops-dev", daguauth.RoleViewer,
		scoped("ops", "developer", "qa", "viewer"))
	// A NUL is part of the name: "qa\x00ops" is neither "qa" nor "ops".
	if got, err := auth.Authorize(opsDev, daguauth.ActionView, "qa\x00ops"); err != nil ||
		got != daguauth.DecisionNotVisible {
		t.Errorf("qa\\x00ops: %v %v", got, err)
	}
	_, err := auth.Authorize(opsDev+"\x00", daguauth.ActionView, "ops")
	wantErr(t, err, daguauth.ErrUnauthenticated)
	if got, err := auth.Authorize(opsDev, daguauth.ActionView, strings.Repeat("w", 300)); err != nil ||
		got != daguauth.DecisionNotVisible {
		t.Errorf("a long workspace name: %v %v", got, err)
	}
	_, err = auth.Authorize(opsDev+strings.Repeat("x", 5000), daguauth.ActionView, "ops")
	wantErr(t, err, daguauth.ErrUnauthenticated)
	_, err = auth.Authorize("", daguauth.ActionView, "")
	wantErr(t, err, daguauth.ErrUnauthenticated)
}

func TestAuthorizeAllocatesNothing(t *testing.T) {
	auth, admin := withAdmin(t)
	_, viewer := createUser(t, auth, admin, "viewer", daguauth.RoleViewer, scoped("qa", "viewer"))
	for _, c := range []struct {
		workspace string
		want      daguauth.Decision
	}{{"qa", daguauth.DecisionAllow}, {"", daguauth.DecisionAllow},
		{"secret", daguauth.DecisionNotVisible}} {
		var got daguauth.Decision
		allocs := testing.AllocsPerRun(1000, func() {
			got, _ = auth.Authorize(viewer, daguauth.ActionView, c.workspace)
		})
		if allocs != 0 || got != c.want {
			t.Errorf("in %q: %v allocations per call, decision %v", c.workspace, allocs, got)
		}
	}
	var got daguauth.Decision
	allocs := testing.AllocsPerRun(1000, func() {
		got, _ = auth.Authorize(viewer, daguauth.ActionWrite, "qa")
	})
	if allocs != 0 || got != daguauth.DecisionForbidden {
		t.Errorf("forbidden: %v allocations per call, decision %v", allocs, got)
	}
}

func TestAuthorizeServesManyGoroutinesAtOnce(t *testing.T) {
	auth, admin := withAdmin(t)
	_, opsDev := createUser(t, auth, admin, "ops-dev", daguauth.RoleViewer, scoped("ops", "developer"))
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				token, want := admin, daguauth.DecisionAllow
				if i%2 == 1 {
					token, want = opsDev, daguauth.DecisionNotVisible
				}
				if got, err := auth.Authorize(token, daguauth.ActionView, "prod"); err != nil || got != want {
					errs <- got.String()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a concurrent decision was %s", e)
	}
}

func BenchmarkAuthorize(b *testing.B) {
	auth, admin := withAdmin(b)
	_, opsDev := createUser(b, auth, admin, "ops-dev", daguauth.RoleViewer, scoped("ops", "developer"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := auth.Authorize(opsDev, daguauth.ActionWrite, "ops"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAnAPIKeyIsAuthorizedOnlyOnTheSurfacesItAllows(t *testing.T) {
	auth, admin := withAdmin(t)
	created, err := auth.CreateAPIKey(admin, daguauth.NewAPIKey{Name: "rest-only",
		Role: daguauth.RoleOperator, AllowedSurfaces: []string{"rest_api"},
		AttributionClass: "service_account"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := auth.AuthorizeSurface(created.Key, daguauth.ActionExecute, "ops",
		daguauth.SurfaceRESTAPI)
	if err != nil || got != daguauth.DecisionAllow {
		t.Errorf("on REST: %v %v", got, err)
	}
	_, err = auth.AuthorizeSurface(created.Key, daguauth.ActionExecute, "ops", daguauth.SurfaceMCP)
	wantErr(t, err, daguauth.ErrForbidden)
	_, err = auth.AuthorizeSurface(created.Key+"x", daguauth.ActionView, "", daguauth.SurfaceMCP)
	wantErr(t, err, daguauth.ErrUnauthenticated)
	// A session token is good on every surface.
	if got, err := auth.AuthorizeSurface(admin, daguauth.ActionAdmin, "",
		daguauth.SurfaceMCP); err != nil || got != daguauth.DecisionAllow {
		t.Errorf("a session on MCP: %v %v", got, err)
	}
	_, err = auth.AuthorizeSurface(admin, daguauth.ActionView, "", daguauth.Surface(7))
	wantErr(t, err, daguauth.ErrBadRequest)
}

func TestAuthorizeSurfaceAllocatesNothing(t *testing.T) {
	auth, admin := withAdmin(t)
	_, viewer := createUser(t, auth, admin, "viewer", daguauth.RoleViewer, scoped("qa", "viewer"))
	for _, surface := range []daguauth.Surface{daguauth.SurfaceRESTAPI, daguauth.SurfaceMCP} {
		var got daguauth.Decision
		allocs := testing.AllocsPerRun(1000, func() {
			got, _ = auth.AuthorizeSurface(viewer, daguauth.ActionView, "qa", surface)
		})
		if allocs != 0 || got != daguauth.DecisionAllow {
			t.Errorf("on %v: %v allocations per call, decision %v", surface, allocs, got)
		}
	}
}
