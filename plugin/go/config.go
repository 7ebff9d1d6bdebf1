package daguauth

import (
	"encoding/json"
	"fmt"
	"time"
)

// Config is what an instance is opened with (the README, "Plugin configuration"). Only DataDir is
// required; a zero field leaves the plugin's default, and the plugin validates every value, so a
// refused one is an ErrInvalidConfig from Open with the plugin's reason.
type Config struct {
	// DataDir holds the database (auth/auth.db) and, unless TokenSecret is set, the generated
	// token secret.
	DataDir string
	// TokenSecret signs session tokens: at least 32 bytes, the same on every host that shares a
	// database. Empty: generated once into the data folder.
	TokenSecret string
	// TokenTTL is how long a session lasts (default 24h, at most 8760h).
	TokenTTL time.Duration
	// InitialAdmin is created at open when no user exists yet.
	InitialAdmin *InitialAdmin
	// LicenseFeatures are the licensed features, e.g. "rbac" and "audit"; none is unlicensed.
	LicenseFeatures []string
	Password        PasswordRules
	Argon2          Argon2
	LoginLimits     LoginLimits
	Hashing         Hashing
	// AuditRetentionDays prunes older audit events; nil is the default (365), 0 keeps them all.
	AuditRetentionDays *int
	// Store is "sqlite" (the default) or "postgres".
	Store    string
	Postgres *Postgres
	// Backup schedules online backups; nil: none.
	Backup *Backup
	// AllowedOrigins are origins (scheme://host[:port]) besides the request's own Host that may
	// send state-changing requests with an Origin header to Handler.
	AllowedOrigins []string
	// SetupCode, while no user exists, is what POST /api/v1/auth/setup through Handler must send
	// as "setupCode": a host listening beyond loopback generates one and logs it, so only whoever
	// reads the log creates the first admin. At least 16 characters; Setup needs none.
	SetupCode string
	// MFARequiredRoles are roles (e.g. "admin") whose users must set up two-factor sign-in:
	// until they do, their session is good only for enrolling (plugin/openapi.yaml).
	MFARequiredRoles []string
}

// InitialAdmin is the first admin, created at open while no user exists.
type InitialAdmin struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// PasswordRules bound password lengths in Unicode code points (defaults 8 and 256).
type PasswordRules struct {
	MinLength int `json:"minLength,omitempty"`
	MaxLength int `json:"maxLength,omitempty"`
}

// Argon2 sets the argon2id cost of password hashes (defaults: 19456 KiB, 2 iterations, 1 lane).
type Argon2 struct {
	MemoryKiB   uint32 `json:"memoryKib,omitempty"`
	Iterations  uint32 `json:"iterations,omitempty"`
	Parallelism uint32 `json:"parallelism,omitempty"`
}

// LoginLimits throttles failed sign-ins per client address and per account.
type LoginLimits struct {
	// PerIP defaults to 20 failures in 5m.
	PerIP LoginWindow
	// PerAccount defaults to 5 failures in 15m.
	PerAccount LoginWindow
	// AccountThrottle is the delay an account is held at once over its limit (default 5s).
	AccountThrottle time.Duration
	// ExemptLoopback lets 127.0.0.1 and ::1 fail without limit.
	ExemptLoopback bool
	// TrustedProxies are the peers (addresses or networks) whose X-Forwarded-For is believed.
	TrustedProxies []string
}

// LoginWindow allows MaxFailures failed sign-ins within Window.
type LoginWindow struct {
	MaxFailures int
	Window      time.Duration
}

// Hashing bounds concurrent password hashing (defaults: one per core, 64 queued per core).
type Hashing struct {
	MaxConcurrent int
	// MaxQueued: nil is the default; 0 refuses a sign-in at once while every slot is busy.
	MaxQueued *int
}

// Postgres is the shared database of several hosts (Store "postgres").
type Postgres struct {
	// URL is a libpq URL or key=value string; it may carry a password.
	URL            string
	MaxConnections int
	// OutageGrace lets authorize answer from cache this long while the database is unreachable.
	OutageGrace time.Duration
}

// Backup writes auth-<time>.db into Dir every Interval (default 24h), keeping the newest Keep
// (default 7).
type Backup struct {
	Dir      string
	Interval time.Duration
	Keep     int
}

// duration is the plugin's spelling of a time.Duration: Go's own ("1h30m0s"), left out when zero.
func duration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// MarshalJSON is the plugin's configuration JSON.
func (c Config) MarshalJSON() ([]byte, error) {
	type window struct {
		MaxFailures int    `json:"maxFailures,omitempty"`
		Window      string `json:"window,omitempty"`
		Throttle    string `json:"throttle,omitempty"`
	}
	type loginLimits struct {
		PerIP          *window  `json:"perIp,omitempty"`
		PerAccount     *window  `json:"perAccount,omitempty"`
		ExemptLoopback bool     `json:"exemptLoopback,omitempty"`
		TrustedProxies []string `json:"trustedProxies,omitempty"`
	}
	type hashing struct {
		MaxConcurrent int  `json:"maxConcurrent,omitempty"`
		MaxQueued     *int `json:"maxQueued,omitempty"`
	}
	type postgres struct {
		URL            string `json:"url,omitempty"`
		MaxConnections int    `json:"maxConnections,omitempty"`
		OutageGrace    string `json:"outageGrace,omitempty"`
	}
	type backup struct {
		Dir      string `json:"dir,omitempty"`
		Interval string `json:"interval,omitempty"`
		Keep     int    `json:"keep,omitempty"`
	}
	type mfa struct {
		RequiredRoles []string `json:"requiredRoles"`
	}
	wire := struct {
		DataDir            string         `json:"dataDir"`
		TokenSecret        string         `json:"tokenSecret,omitempty"`
		TokenTTL           string         `json:"tokenTtl,omitempty"`
		InitialAdmin       *InitialAdmin  `json:"initialAdmin,omitempty"`
		LicenseFeatures    []string       `json:"licenseFeatures"`
		Password           *PasswordRules `json:"password,omitempty"`
		Argon2             *Argon2        `json:"argon2,omitempty"`
		LoginLimits        *loginLimits   `json:"loginLimits,omitempty"`
		Hashing            *hashing       `json:"hashing,omitempty"`
		AuditRetentionDays *int           `json:"auditRetentionDays,omitempty"`
		Store              string         `json:"store,omitempty"`
		Postgres           *postgres      `json:"postgres,omitempty"`
		Backup             *backup        `json:"backup,omitempty"`
		AllowedOrigins     []string       `json:"allowedOrigins,omitempty"`
		SetupCode          string         `json:"setupCode,omitempty"`
		MFA                *mfa           `json:"mfa,omitempty"`
	}{
		DataDir:            c.DataDir,
		TokenSecret:        c.TokenSecret,
		TokenTTL:           duration(c.TokenTTL),
		InitialAdmin:       c.InitialAdmin,
		LicenseFeatures:    c.LicenseFeatures,
		AuditRetentionDays: c.AuditRetentionDays,
		Store:              c.Store,
		AllowedOrigins:     c.AllowedOrigins,
		SetupCode:          c.SetupCode,
	}
	if len(c.MFARequiredRoles) > 0 {
		wire.MFA = &mfa{RequiredRoles: c.MFARequiredRoles}
	}
	if wire.LicenseFeatures == nil {
		wire.LicenseFeatures = []string{}
	}
	if c.Password != (PasswordRules{}) {
		wire.Password = &c.Password
	}
	if c.Argon2 != (Argon2{}) {
		wire.Argon2 = &c.Argon2
	}
	limits := loginLimits{ExemptLoopback: c.LoginLimits.ExemptLoopback,
		TrustedProxies: c.LoginLimits.TrustedProxies}
	if w := c.LoginLimits.PerIP; w != (LoginWindow{}) {
		limits.PerIP = &window{MaxFailures: w.MaxFailures, Window: duration(w.Window)}
	}
	if w := c.LoginLimits.PerAccount; w != (LoginWindow{}) || c.LoginLimits.AccountThrottle != 0 {
		limits.PerAccount = &window{MaxFailures: w.MaxFailures, Window: duration(w.Window),
			Throttle: duration(c.LoginLimits.AccountThrottle)}
	}
	if limits.PerIP != nil || limits.PerAccount != nil || limits.ExemptLoopback ||
		len(limits.TrustedProxies) > 0 {
		wire.LoginLimits = &limits
	}
	if c.Hashing.MaxConcurrent != 0 || c.Hashing.MaxQueued != nil {
		wire.Hashing = &hashing{MaxConcurrent: c.Hashing.MaxConcurrent,
			MaxQueued: c.Hashing.MaxQueued}
	}
	if p := c.Postgres; p != nil {
		wire.Postgres = &postgres{URL: p.URL, MaxConnections: p.MaxConnections,
			OutageGrace: duration(p.OutageGrace)}
	}
	if b := c.Backup; b != nil {
		wire.Backup = &backup{Dir: b.Dir, Interval: duration(b.Interval), Keep: b.Keep}
	}
	return json.Marshal(wire)
}

// String keeps the token secret out of logs that print a Config with %v.
func (c Config) String() string {
	shown := c
	if shown.TokenSecret != "" {
		shown.TokenSecret = "<set>"
	}
	if shown.SetupCode != "" {
		shown.SetupCode = "<set>"
	}
	type plain Config // without this method, or Sprintf would call it again
	return fmt.Sprintf("%+v", plain(shown))
}
