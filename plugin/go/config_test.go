package daguauth_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

func everyField(dataDir string) daguauth.Config {
	zero, days := 0, 30
	return daguauth.Config{
		DataDir:         dataDir,
		TokenSecret:     "0123456789abcdef0123456789abcdef",
		TokenTTL:        90 * time.Minute,
		InitialAdmin:    &daguauth.InitialAdmin{Username: "root", Password: adminPassword},
		LicenseFeatures: []string{"rbac", "audit"},
		Password:        daguauth.PasswordRules{MinLength: 10, MaxLength: 128},
		Argon2:          cheapArgon2,
		LoginLimits: daguauth.LoginLimits{
			PerIP:           daguauth.LoginWindow{MaxFailures: 3, Window: time.Minute},
			PerAccount:      daguauth.LoginWindow{MaxFailures: 4, Window: 2 * time.Minute},
			AccountThrottle: 1500 * time.Millisecond,
			ExemptLoopback:  true,
			TrustedProxies:  []string{"10.0.0.0/8", "::1"},
		},
		Hashing:            daguauth.Hashing{MaxConcurrent: 2, MaxQueued: &zero},
		AuditRetentionDays: &days,
		Store:              "sqlite",
		Backup:             &daguauth.Backup{Dir: dataDir + "/backups", Interval: 6 * time.Hour, Keep: 3},
		AllowedOrigins:     []string{"https://dagu.example.com"},
		SetupCode:          "setup-code-setup-code",
	}
}

func TestConfigIsThePluginsJSON(t *testing.T) {
	text, err := json.Marshal(everyField("/srv/dagu"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"dataDir":"/srv/dagu","tokenSecret":"0123456789abcdef0123456789abcdef",` +
		`"tokenTtl":"1h30m0s","initialAdmin":{"username":"root","password":"admin password 1"},` +
		`"licenseFeatures":["rbac","audit"],"password":{"minLength":10,"maxLength":128},` +
		`"argon2":{"memoryKib":64,"iterations":1,"parallelism":1},` +
		`"loginLimits":{"perIp":{"maxFailures":3,"window":"1m0s"},` +
		`"perAccount":{"maxFailures":4,"window":"2m0s","throttle":"1.5s"},` +
		`"exemptLoopback":true,"trustedProxies":["10.0.0.0/8","::1"]},` +
		`"hashing":{"maxConcurrent":2,"maxQueued":0},"auditRetentionDays":30,"store":"sqlite",` +
		`"backup":{"dir":"/srv/dagu/backups","interval":"6h0m0s","keep":3},` +
		`"allowedOrigins":["https://dagu.example.com"],"setupCode":"setup-code-setup-code"}`
	if string(text) != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
}

func TestAZeroConfigLeavesThePluginsDefaults(t *testing.T) {
	text, err := json.Marshal(daguauth.Config{DataDir: "/d"})
	if err != nil || string(text) != `{"dataDir":"/d","licenseFeatures":[]}` {
		t.Errorf("%s %v", text, err)
	}
}

func TestThePluginTakesEveryField(t *testing.T) {
	auth := open(t, everyField(t.TempDir()))
	if required, err := auth.SetupRequired(); err != nil || required {
		t.Errorf("the initial admin was created: %v %v", required, err)
	}
	login, err := auth.Authenticate("root", adminPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if ttl := time.Until(login.ExpiresAt); ttl < 89*time.Minute || ttl > 91*time.Minute {
		t.Errorf("the session lasts %v", ttl)
	}
}

func TestPrintingAConfigHidesTheTokenSecretAndTheSetupCode(t *testing.T) {
	text := everyField("/d").String()
	if strings.Contains(text, "0123456789abcdef") || strings.Contains(text, "setup-code") ||
		!strings.Contains(text, "/d") {
		t.Errorf("%s", text)
	}
}
