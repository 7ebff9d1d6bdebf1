package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

// settingsFrom reads settings from vars instead of the process environment.
func settingsFrom(vars map[string]string) (settings, error) {
	lookup := func(name string) (string, bool) {
		value, set := vars[name]
		return value, set
	}
	getenv := func(name string) string { return vars[name] }
	return readSettings(getenv, lookup, "/srv/demo")
}

func TestNoVariablesGiveHostDemosDefaults(t *testing.T) {
	s, err := settingsFrom(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := settings{host: "127.0.0.1", port: 8080, builtin: true, plugin: daguauth.Config{
		DataDir: "/srv/demo/data", LicenseFeatures: []string{"rbac", "audit"},
		LoginLimits: daguauth.LoginLimits{TrustedProxies: []string{}},
	}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
}

func TestEveryVariableIsRead(t *testing.T) {
	s, err := settingsFrom(map[string]string{
		"DAGU_HOST": "::1", "DAGU_PORT": "7000", "DAGU_DATA_DIR": "rel/data",
		"DAGU_AUTH_MODE": "builtin", "DAGU_AUTH_BUILTIN_ABI": "c",
		"DAGU_AUTH_PLUGIN":       "/opt/libdagu_auth.so",
		"DAGU_AUTH_TOKEN_SECRET": "0123456789abcdef0123456789abcdef",
		"DAGU_AUTH_TOKEN_TTL":    "2h", "DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME": " boss ",
		"DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD": " spaced pw ",
		"DAGU_LICENSE_FEATURES":                    " rbac, ,audit,rbac ",
		"DAGU_AUTH_TRUSTED_PROXIES":                "127.0.0.1, 10.0.0.0/8",
		"DAGU_AUTH_LOGIN_EXEMPT_LOOPBACK":          "true", "DAGU_AUTH_BUILTIN_STORE": "postgres",
		"DAGU_AUTH_POSTGRES_URL":    "postgres://db/auth",
		"DAGU_AUTH_ALLOWED_ORIGINS": " https://dagu.example.com, ,http://localhost:3000 ",
	})
	if err != nil {
		t.Fatal(err)
	}
	c := s.plugin
	if s.host != "::1" || s.port != 7000 || !s.builtin || s.pluginPath != "/opt/libdagu_auth.so" ||
		c.DataDir != "/srv/demo/rel/data" || c.TokenTTL != 2*time.Hour ||
		c.TokenSecret != "0123456789abcdef0123456789abcdef" ||
		*c.InitialAdmin != (daguauth.InitialAdmin{Username: "boss", Password: " spaced pw "}) ||
		strings.Join(c.LicenseFeatures, ",") != "rbac,audit" ||
		strings.Join(c.LoginLimits.TrustedProxies, ",") != "127.0.0.1,10.0.0.0/8" ||
		!c.LoginLimits.ExemptLoopback || c.Store != "postgres" || c.Postgres.URL != "postgres://db/auth" ||
		strings.Join(c.AllowedOrigins, ",") != "https://dagu.example.com,http://localhost:3000" {
		t.Errorf("settings %+v, plugin %+v", s, c)
	}
}

func TestSetButEmptyLicenseFeaturesMeanUnlicensed(t *testing.T) {
	s, err := settingsFrom(map[string]string{"DAGU_LICENSE_FEATURES": ""})
	if err != nil || s.plugin.LicenseFeatures == nil || len(s.plugin.LicenseFeatures) != 0 {
		t.Errorf("%+v %v", s.plugin.LicenseFeatures, err)
	}
}

func TestABlankVariableCountsAsUnset(t *testing.T) {
	s, err := settingsFrom(map[string]string{"DAGU_HOST": "", "DAGU_PORT": "  ",
		"DAGU_AUTH_MODE": ""})
	if err != nil || s.host != "127.0.0.1" || s.port != 8080 || !s.builtin {
		t.Errorf("%+v %v", s, err)
	}
}

func TestBadValuesNameTheirSetting(t *testing.T) {
	for vars, want := range map[string]string{
		"DAGU_PORT=99999":                                 "DAGU_PORT",
		"DAGU_AUTH_MODE=oidc":                             "auth.mode `oidc`",
		"DAGU_AUTH_BUILTIN_ABI=rust":                      "C ABI only",
		"DAGU_AUTH_TOKEN_TTL=0s":                          "DAGU_AUTH_TOKEN_TTL",
		"DAGU_AUTH_TOKEN_TTL=soon":                        "DAGU_AUTH_TOKEN_TTL",
		"DAGU_AUTH_LOGIN_EXEMPT_LOOPBACK=maybe":           "DAGU_AUTH_LOGIN_EXEMPT_LOOPBACK",
		"DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME=boss":   "initial admin",
		"DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD=secret": "initial admin",
	} {
		name, value, _ := strings.Cut(vars, "=")
		_, err := settingsFrom(map[string]string{name: value})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", vars, err)
		}
	}
}

func TestTheDataFolderAndModeNone(t *testing.T) {
	s, err := settingsFrom(map[string]string{"DAGU_DATA_DIR": "/abs/./data",
		"DAGU_AUTH_MODE": "none"})
	if err != nil || s.plugin.DataDir != "/abs/data" || s.builtin {
		t.Errorf("%+v %v", s, err)
	}
}

func TestAnExplicitPluginPathMustExist(t *testing.T) {
	_, err := findPlugin("/nonexistent/libdagu_auth.so", "", "/")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libdagu_auth.so") ||
		!strings.Contains(err.Error(), "DAGU_AUTH_PLUGIN") {
		t.Errorf("%v", err)
	}
}
