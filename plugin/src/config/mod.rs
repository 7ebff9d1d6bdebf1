//! The instance configuration: parsed and validated once at open. The plugin never reads the
//! environment; hosts map their own settings (Dagu's config keys, env vars) into this JSON.
//!
//! This file holds the configuration's types and defaults; `parse.rs` reads and checks the JSON;
//! `backup.rs` the scheduled backups; `duration.rs` Go's duration syntax.

use std::path::PathBuf;
use std::time::Duration;

mod backup;
mod duration;
mod parse;
mod sso;

pub use backup::BackupSchedule;
pub use duration::parse_go_duration;

use crate::hashpool::HashingLimits;
use crate::model::Role;
use crate::ratelimit::LoginLimits;

pub(crate) const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
pub(crate) const MAX_TOKEN_TTL: Duration = Duration::from_secs(8760 * 3600);
/// NIST 800-63B floor; configurable upward only.
pub(crate) const MIN_PASSWORD_LENGTH: usize = 8;
pub(crate) const DEFAULT_MAX_PASSWORD_LENGTH: usize = 256;
/// The lowest `maxLength` allowed: below 64 code points long passphrases stop fitting.
pub(crate) const MIN_MAX_PASSWORD_LENGTH: usize = 64;
pub(crate) const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 365;
/// 256 bits, the strength of the HMAC-SHA256 that signs tokens; a shorter secret is the weak link.
pub(crate) const MIN_SECRET_BYTES: usize = 32;
/// Setup codes are not rate limited, so they must be too long to guess: 16 characters even from
/// an alphabet of 16 is 64 bits.
pub(crate) const MIN_SETUP_CODE_CHARS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// OWASP's argon2id recommendation.
    fn default() -> Self {
        Self {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRules {
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for PasswordRules {
    fn default() -> Self {
        Self {
            min_length: MIN_PASSWORD_LENGTH,
            max_length: DEFAULT_MAX_PASSWORD_LENGTH,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct InitialAdmin {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for InitialAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitialAdmin")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

pub(crate) const NO_POSTGRES_SUPPORT: &str =
    "store \"postgres\" needs a dagu-auth built with the Cargo feature `postgres`";
const DEFAULT_POSTGRES_CONNECTIONS: usize = 10;
pub(crate) const MAX_POSTGRES_CONNECTIONS: usize = 256;

/// Where users, sessions, keys and the audit trail live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreConfig {
    /// `<data_dir>/auth/auth.db`: one host, or several processes on one machine.
    #[default]
    Sqlite,
    /// One database shared by several hosts.
    Postgres(PostgresConfig),
}

impl StoreConfig {
    /// How long `authorize` may answer from cache for known principals while the store is
    /// unreachable; zero (the default) fails closed at once.
    pub fn outage_grace(&self) -> Duration {
        match self {
            Self::Sqlite => Duration::ZERO,
            Self::Postgres(postgres) => postgres.outage_grace,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// A libpq-style URL or key=value string; it may carry a password.
    pub url: String,
    pub max_connections: usize,
    pub outage_grace: Duration,
}

impl PostgresConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: DEFAULT_POSTGRES_CONNECTIONS,
            outage_grace: Duration::ZERO,
        }
    }
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &"<set>")
            .field("max_connections", &self.max_connections)
            .field("outage_grace", &self.outage_grace)
            .finish()
    }
}

#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// `None`: generated into `<data_dir>/auth/token_secret`.
    pub token_secret: Option<Vec<u8>>,
    pub token_ttl: Duration,
    /// A session unused for longer ends; zero (the default, as in Dagu) keeps it until the TTL.
    pub token_idle_timeout: Duration,
    pub initial_admin: Option<InitialAdmin>,
    pub license_features: Vec<String>,
    pub password: PasswordRules,
    pub argon2: Argon2Params,
    pub login_limits: LoginLimits,
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub hashing: HashingLimits,
    /// Audit entries older than this are pruned; 0 keeps them forever.
    pub audit_retention_days: u32,
    pub store: StoreConfig,
    /// `None`: no scheduled backups (the default).
    pub backup: Option<BackupSchedule>,
    /// Origins besides the host's own (`https://dagu.example.com`) whose pages may send
    /// state-changing requests; each is `scheme://host[:port]` as `origin::normalize` writes it.
    pub allowed_origins: Vec<String>,
    /// While no user exists, `POST /auth/setup` over HTTP must carry this code. A host that listens
    /// beyond loopback generates one and prints it in its log, so whoever reaches the port first
    /// cannot make themselves admin.
    pub setup_code: Option<String>,
    /// Users of these roles must set up two-factor sign-in: until they do, their session is good
    /// only for enrolling (`mfa.requiredRoles`).
    pub mfa_required_roles: Vec<Role>,
    /// Sign-in through an OpenID provider (`oidc`); `None` when not configured.
    pub oidc: Option<crate::sso::OidcSettings>,
    /// Sign-in through an authenticating reverse proxy (`proxy`); `None` unless enabled.
    pub proxy: Option<crate::sso::ProxySettings>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("token_secret", &self.token_secret.as_ref().map(|_| "<set>"))
            .field("token_ttl", &self.token_ttl)
            .field("token_idle_timeout", &self.token_idle_timeout)
            .field("initial_admin", &self.initial_admin)
            .field("license_features", &self.license_features)
            .field("password", &self.password)
            .field("argon2", &self.argon2)
            .field("login_limits", &self.login_limits)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("hashing", &self.hashing)
            .field("audit_retention_days", &self.audit_retention_days)
            .field("store", &self.store)
            .field("backup", &self.backup)
            .field("allowed_origins", &self.allowed_origins)
            .field("setup_code", &self.setup_code.as_ref().map(|_| "<set>"))
            .field("mfa_required_roles", &self.mfa_required_roles)
            .field("oidc", &self.oidc)
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl Config {
    /// A configuration with defaults for everything but the data folder.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            token_secret: None,
            token_ttl: DEFAULT_TOKEN_TTL,
            token_idle_timeout: Duration::ZERO,
            initial_admin: None,
            license_features: Vec::new(),
            password: PasswordRules::default(),
            argon2: Argon2Params::default(),
            login_limits: LoginLimits::default(),
            trusted_proxies: Vec::new(),
            hashing: HashingLimits::default(),
            audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
            store: StoreConfig::Sqlite,
            backup: None,
            allowed_origins: Vec::new(),
            setup_code: None,
            mfa_required_roles: Vec::new(),
            oidc: None,
            proxy: None,
        }
    }

    pub fn has_feature(&self, feature: &str) -> bool {
        self.license_features
            .iter()
            .any(|f| f.eq_ignore_ascii_case(feature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let json = r#"{"dataDir":"/x","tokenSecret":"0123456789abcdef0123456789abcdef",
            "initialAdmin":{"username":"root","password":"hunter2hunter2"},
            "setupCode":"setup-code-setup-code"}"#;
        let shown = format!("{:?}", Config::from_json(json).expect("valid"));
        assert!(!shown.contains("0123456789abcdef") && !shown.contains("hunter2"));
        assert!(!shown.contains("setup-code"));
    }
}
