package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

// envHelp is what -h shows after the flags.
const envHelp = `Environment (a blank variable counts as unset):
  DAGU_HOST [127.0.0.1]  DAGU_PORT [8080]  DAGU_DATA_DIR [./data, from the working directory]
  DAGU_AUTH_MODE [builtin|none]  DAGU_AUTH_PLUGIN [searched]  DAGU_AUTH_BUILTIN_ABI [c]
  DAGU_AUTH_TOKEN_SECRET  DAGU_AUTH_TOKEN_TTL [24h]
  DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME  DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD
  DAGU_LICENSE_FEATURES [rbac,audit; set but empty = unlicensed]
  DAGU_AUTH_TRUSTED_PROXIES  DAGU_AUTH_LOGIN_EXEMPT_LOOPBACK [false]
  DAGU_AUTH_BUILTIN_STORE [sqlite]  DAGU_AUTH_POSTGRES_URL
  DAGU_AUTH_ALLOWED_ORIGINS [comma list of https://host[:port]]
  DAGU_AUTH_BUILTIN_MFA_REQUIRED_ROLES [comma list of roles that must use two-factor sign-in]`

// settings is the host's configuration: host-demo's environment variables, read once at start.
type settings struct {
	host string
	port int
	// builtin is false for auth.mode none: no plugin, every DAG open.
	builtin bool
	// pluginPath is DAGU_AUTH_PLUGIN; "" searches the usual places.
	pluginPath string
	plugin     daguauth.Config
}

// env is a variable's value when it is set and not blank: an exported-but-empty variable usually
// means "unset" in shells and CI files.
func env(getenv func(string) string, name string) string {
	return strings.TrimSpace(getenv(name))
}

// readSettings reads the environment through getenv (and lookupEnv, for the one variable where
// set-but-empty means something), making the data folder absolute against cwd.
func readSettings(getenv func(string) string, lookupEnv func(string) (string, bool),
	cwd string) (settings, error) {
	s := settings{host: "127.0.0.1", port: 8080, builtin: true}
	if host := env(getenv, "DAGU_HOST"); host != "" {
		s.host = host
	}
	if text := env(getenv, "DAGU_PORT"); text != "" {
		port, err := strconv.ParseUint(text, 10, 16)
		if err != nil {
			return s, fmt.Errorf("DAGU_PORT: `%s` is not a port number", text)
		}
		s.port = int(port)
	}
	switch mode := env(getenv, "DAGU_AUTH_MODE"); mode {
	case "", "builtin":
	case "none":
		s.builtin = false
	default:
		return s, fmt.Errorf("auth.mode `%s` is not supported by this host (use `none` or "+
			"`builtin`)", mode)
	}
	if abi := env(getenv, "DAGU_AUTH_BUILTIN_ABI"); abi != "" && abi != "c" {
		return s, fmt.Errorf("auth.builtin.abi `%s`: this host reaches the plugin through its "+
			"C ABI only (use `c`)", abi)
	}
	s.pluginPath = env(getenv, "DAGU_AUTH_PLUGIN")

	dataDir := env(getenv, "DAGU_DATA_DIR")
	if dataDir == "" {
		dataDir = "data"
	}
	if !filepath.IsAbs(dataDir) {
		dataDir = filepath.Join(cwd, dataDir)
	}
	c := &s.plugin
	c.DataDir = filepath.Clean(dataDir)
	c.TokenSecret = env(getenv, "DAGU_AUTH_TOKEN_SECRET")
	if text := env(getenv, "DAGU_AUTH_TOKEN_TTL"); text != "" {
		ttl, err := time.ParseDuration(text)
		// The plugin bounds the TTL; zero is refused here, where it would read as "default".
		if err != nil || ttl <= 0 {
			return s, fmt.Errorf("DAGU_AUTH_TOKEN_TTL: `%s` is not a duration above zero like "+
				"24h, 90m or 2s", text)
		}
		c.TokenTTL = ttl
	}

	// Passwords are not trimmed: whitespace may be part of them.
	username := env(getenv, "DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME")
	password := getenv("DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD")
	switch {
	case username != "" && password != "":
		c.InitialAdmin = &daguauth.InitialAdmin{Username: username, Password: password}
	case username != "" || password != "":
		return s, errors.New("the initial admin needs both username and password, or neither " +
			"(DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME / _PASSWORD)")
	}

	// What a host without a licence file gets in this demo, so user management works at once.
	c.LicenseFeatures = []string{"rbac", "audit"}
	if list, set := lookupEnv("DAGU_LICENSE_FEATURES"); set {
		c.LicenseFeatures = splitList(list)
	}
	c.LoginLimits.TrustedProxies = splitList(getenv("DAGU_AUTH_TRUSTED_PROXIES"))
	switch exempt := env(getenv, "DAGU_AUTH_LOGIN_EXEMPT_LOOPBACK"); exempt {
	case "", "false", "0":
	case "true", "1":
		c.LoginLimits.ExemptLoopback = true
	default:
		return s, fmt.Errorf("DAGU_AUTH_LOGIN_EXEMPT_LOOPBACK: `%s` is not true or false", exempt)
	}
	if origins := env(getenv, "DAGU_AUTH_ALLOWED_ORIGINS"); origins != "" {
		c.AllowedOrigins = splitList(origins)
	}
	if roles := env(getenv, "DAGU_AUTH_BUILTIN_MFA_REQUIRED_ROLES"); roles != "" {
		c.MFARequiredRoles = splitList(roles)
	}
	c.Store = env(getenv, "DAGU_AUTH_BUILTIN_STORE")
	if url := env(getenv, "DAGU_AUTH_POSTGRES_URL"); url != "" {
		c.Postgres = &daguauth.Postgres{URL: url}
	}
	return s, nil
}

// splitList is a comma list, trimmed, without empty items or repeats.
func splitList(list string) []string {
	items := []string{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item != "" && !contains(items, item) {
			items = append(items, item)
		}
	}
	return items
}

func contains(items []string, item string) bool {
	for _, existing := range items {
		if existing == item {
			return true
		}
	}
	return false
}

// findPlugin is the library to load: DAGU_AUTH_PLUGIN if set (it must exist), else the first of
// the places cargo leaves it, next to this executable or under the working directory's target/.
func findPlugin(explicit, exe, cwd string) (string, error) {
	var places []string
	if explicit != "" {
		places = []string{explicit}
	} else {
		if exe != "" {
			places = append(places, filepath.Join(filepath.Dir(exe), "libdagu_auth.so"),
				filepath.Join(filepath.Dir(exe), "deps", "libdagu_auth.so"))
		}
		for _, profile := range []string{"release", "debug"} {
			places = append(places, filepath.Join(cwd, "target", profile, "libdagu_auth.so"))
		}
	}
	for _, place := range places {
		if info, err := os.Stat(place); err == nil && !info.IsDir() {
			return place, nil
		}
	}
	return "", fmt.Errorf("cannot find the dagu-auth plugin (libdagu_auth.so); looked at:\n  %s\n"+
		"build it with `cargo build -p dagu-auth` or set DAGU_AUTH_PLUGIN",
		strings.Join(places, "\n  "))
}
