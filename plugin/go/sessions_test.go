package daguauth_test

import (
	"testing"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

func TestAUserListsAndEndsTheirOwnSessions(t *testing.T) {
	auth, admin := withAdmin(t)
	createUser(t, auth, admin, "bob", daguauth.RoleViewer, nil)
	laptop, err := auth.AuthenticateFrom("bob", userPassword, "192.0.2.7", "laptop browser")
	if err != nil {
		t.Fatal(err)
	}
	phone, err := auth.AuthenticateFrom("bob", userPassword, "192.0.2.8", "phone")
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := auth.Sessions(laptop.Token)
	if err != nil {
		t.Fatal(err)
	}
	// createUser's own sign-in, the laptop and the phone; the asking session first.
	if len(sessions) != 3 || !sessions[0].Current || sessions[0].UserAgent != "laptop browser" ||
		sessions[0].ClientIP != "192.0.2.7" {
		t.Fatalf("sessions: %+v", sessions)
	}
	var phoneID string
	for _, s := range sessions {
		if s.UserAgent == "phone" {
			phoneID = s.ID
		}
	}
	if err := auth.EndSession(laptop.Token, phoneID); err != nil {
		t.Fatal(err)
	}
	_, err = auth.Verify(phone.Token)
	wantErr(t, err, daguauth.ErrUnauthenticated)
	// Another user's session id is not found, for admins too.
	wantErr(t, auth.EndSession(admin, sessions[0].ID), daguauth.ErrNotFound)

	ended, err := auth.EndOtherSessions(laptop.Token)
	if err != nil || ended != 1 {
		t.Fatalf("ended %d, %v", ended, err)
	}
	if _, err := auth.Verify(laptop.Token); err != nil {
		t.Errorf("the current session stays: %v", err)
	}
}

func TestAnAdminEndsEveryUserSessionAndThePasswordStays(t *testing.T) {
	auth, admin := withAdmin(t)
	bob, token := createUser(t, auth, admin, "bob", daguauth.RoleViewer, nil)
	_, err := auth.EndUserSessions(token, bob.ID)
	wantErr(t, err, daguauth.ErrForbidden)
	ended, err := auth.EndUserSessions(admin, bob.ID)
	if err != nil || ended != 1 {
		t.Fatalf("ended %d, %v", ended, err)
	}
	_, err = auth.Verify(token)
	wantErr(t, err, daguauth.ErrUnauthenticated)
	if _, err := auth.Authenticate("bob", userPassword, ""); err != nil {
		t.Errorf("the password still signs in: %v", err)
	}
}
