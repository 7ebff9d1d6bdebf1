package daguauth_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

// totpAt is the TOTP code of secret (base32) at now + offset, from oathtool: never from the
// plugin's own TOTP code. Without oathtool the test skips, unless every tool is required.
func totpAt(t *testing.T, secret string, offset time.Duration) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		const missing = "oathtool is not on PATH (Debian package oathtool)"
		if os.Getenv("DAGU_AUTH_REQUIRE_ALL") == "1" {
			t.Fatal(missing, "and DAGU_AUTH_REQUIRE_ALL=1 requires it")
		}
		t.Skip("skipped:", missing)
	}
	at := time.Now().Add(offset).UTC().Format("2006-01-02 15:04:05 UTC")
	out, err := exec.Command(path, "--totp", "--base32", "--now", at, secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestTwoFactorSignInThroughTheTypedCalls(t *testing.T) {
	auth, admin := withAdmin(t)
	setup, err := auth.StartTOTPSetup(admin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(setup.OtpauthURL, "otpauth://totp/") {
		t.Errorf("otpauth URL: %q", setup.OtpauthURL)
	}
	codes, err := auth.ConfirmTOTP(admin, totpAt(t, setup.Secret, 0))
	if err != nil || len(codes) != 10 {
		t.Fatalf("recovery codes %v, %v", codes, err)
	}

	// The password alone is one step: Authenticate refuses, SignIn hands out the second step.
	_, err = auth.Authenticate("admin", adminPassword, "")
	wantErr(t, err, daguauth.ErrUnauthenticated)
	step, err := auth.SignIn("admin", adminPassword, "")
	if err != nil || step.Login != nil || step.MFAToken == "" {
		t.Fatalf("first step %+v, %v", step, err)
	}
	// The code of the next step: the current one was spent confirming.
	login, err := auth.LoginMFA(step.MFAToken, totpAt(t, setup.Secret, 30*time.Second), "")
	if err != nil || login.User.Username != "admin" {
		t.Fatalf("second step %+v, %v", login, err)
	}
	// A recovery code works once.
	step, err = auth.SignIn("admin", adminPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoginMFA(step.MFAToken, codes[0], ""); err != nil {
		t.Fatal(err)
	}
	step, err = auth.SignIn("admin", adminPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = auth.LoginMFA(step.MFAToken, codes[0], "")
	wantErr(t, err, daguauth.ErrUnauthenticated)
}
