//! Reading the configuration JSON: every field optional but `dataDir`, unknown fields refused,
//! each section checked with an error that names the field.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{
    Argon2Params, Config, DEFAULT_AUDIT_RETENTION_DAYS, InitialAdmin, MAX_POSTGRES_CONNECTIONS,
    MAX_TOKEN_TTL, MIN_MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, MIN_SECRET_BYTES,
    MIN_SETUP_CODE_CHARS, NO_POSTGRES_SUPPORT, PasswordRules, PostgresConfig, StoreConfig, backup,
    parse_go_duration,
};
use crate::error::{Error, Result};
use crate::hashpool::HashingLimits;
use crate::model::Role;
use crate::ratelimit::{LoginLimits, WindowLimit};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawConfig {
    data_dir: Option<PathBuf>,
    token_secret: Option<String>,
    token_ttl: Option<String>,
    token_idle_timeout: Option<String>,
    initial_admin: Option<RawInitialAdmin>,
    #[serde(default)]
    license_features: Vec<String>,
    #[serde(default)]
    password: RawPassword,
    #[serde(default)]
    argon2: RawArgon2,
    #[serde(default)]
    login_limits: RawLoginLimits,
    #[serde(default)]
    hashing: RawHashing,
    audit_retention_days: Option<u32>,
    store: Option<String>,
    postgres: Option<RawPostgres>,
    backup: Option<backup::RawBackup>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    setup_code: Option<String>,
    oidc: Option<super::sso::RawOidc>,
    proxy: Option<super::sso::RawProxy>,
    #[serde(default)]
    mfa: RawMfa,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawMfa {
    #[serde(default)]
    required_roles: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPostgres {
    url: Option<String>,
    max_connections: Option<usize>,
    outage_grace: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawWindow {
    max_failures: Option<u32>,
    window: Option<String>,
    throttle: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawLoginLimits {
    #[serde(default)]
    per_ip: RawWindow,
    #[serde(default)]
    per_account: RawWindow,
    exempt_loopback: Option<bool>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawHashing {
    max_concurrent: Option<usize>,
    max_queued: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawInitialAdmin {
    username: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPassword {
    min_length: Option<usize>,
    max_length: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawArgon2 {
    memory_kib: Option<u32>,
    iterations: Option<u32>,
    parallelism: Option<u32>,
}

impl Config {
    pub fn from_json(json: &str) -> Result<Self> {
        let raw: RawConfig = serde_json::from_str(json)
            .map_err(|e| Error::invalid_config(format!("config JSON: {e}")))?;
        let data_dir = raw
            .data_dir
            .filter(|dir| !dir.as_os_str().is_empty())
            .ok_or_else(|| Error::invalid_config("dataDir is required"))?;
        let mut config = Self::new(data_dir);

        if let Some(secret) = raw.token_secret.filter(|s| !s.is_empty()) {
            if secret.len() < MIN_SECRET_BYTES {
                return Err(Error::invalid_config(format!(
                    "the token secret must be at least {MIN_SECRET_BYTES} bytes (it has {})",
                    secret.len()
                )));
            }
            config.token_secret = Some(secret.into_bytes());
        }
        if let Some(ttl) = raw.token_ttl.filter(|s| !s.trim().is_empty()) {
            config.token_ttl = parse_token_ttl(&ttl)?;
        }
        if let Some(idle) = raw.token_idle_timeout.filter(|s| !s.trim().is_empty()) {
            config.token_idle_timeout = parse_idle_timeout(&idle)?;
        }
        config.initial_admin = match raw.initial_admin.unwrap_or_default() {
            RawInitialAdmin {
                username: None,
                password: None,
            } => None,
            RawInitialAdmin {
                username: Some(username),
                password: Some(password),
            } if !username.trim().is_empty() && !password.is_empty() => {
                Some(InitialAdmin { username, password })
            }
            _ => {
                return Err(Error::invalid_config(
                    "the initial admin needs both a username and a password, or neither",
                ));
            }
        };
        config.license_features = raw.license_features;
        config.password = password_rules(raw.password)?;
        config.argon2 = argon2_params(raw.argon2)?;
        config.trusted_proxies = raw
            .login_limits
            .trusted_proxies
            .iter()
            .map(|text| parse_network(text))
            .collect::<Result<_>>()?;
        config.login_limits = login_limits(raw.login_limits)?;
        config.hashing = hashing_limits(raw.hashing)?;
        config.audit_retention_days = raw
            .audit_retention_days
            .unwrap_or(DEFAULT_AUDIT_RETENTION_DAYS);
        config.store = store_config(raw.store.as_deref(), raw.postgres)?;
        config.backup = backup::backup_schedule(raw.backup)?;
        config.allowed_origins = raw
            .allowed_origins
            .iter()
            .map(|text| parse_origin(text))
            .collect::<Result<_>>()?;
        config.mfa_required_roles = raw
            .mfa
            .required_roles
            .iter()
            .map(|name| {
                name.trim().parse::<Role>().map_err(|_| {
                    Error::invalid_config(format!("mfa.requiredRoles: unknown role `{name}`"))
                })
            })
            .collect::<Result<_>>()?;
        config.setup_code = match raw.setup_code.filter(|code| !code.is_empty()) {
            Some(code) if code.chars().count() < MIN_SETUP_CODE_CHARS => {
                return Err(Error::invalid_config(format!(
                    "setupCode must be at least {MIN_SETUP_CODE_CHARS} characters"
                )));
            }
            code => code,
        };
        config.oidc = super::sso::oidc(raw.oidc)?;
        config.proxy = super::sso::proxy(raw.proxy)?;
        if config.proxy.is_some() && config.trusted_proxies.is_empty() {
            // Identity headers count only from a trusted peer: without one, no sign-in could work.
            return Err(Error::invalid_config(
                "proxy.enabled needs loginLimits.trustedProxies: the proxy's identity headers \
                 count only from those peers",
            ));
        }
        if config.store != StoreConfig::Sqlite && config.token_secret.is_none() {
            // A secret generated per data folder would make every host reject the others' tokens.
            return Err(Error::invalid_config(
                "store \"postgres\" needs tokenSecret, the same on every host",
            ));
        }
        Ok(config)
    }
}

fn store_config(store: Option<&str>, raw: Option<RawPostgres>) -> Result<StoreConfig> {
    match (store.unwrap_or("sqlite"), raw) {
        // Settings for a store that is not in use are refused: a forgotten `store` would otherwise
        // give every host its own SQLite file, silently.
        ("sqlite", Some(_)) => Err(Error::invalid_config(
            "postgres settings are given but store is not \"postgres\"",
        )),
        ("sqlite", None) => Ok(StoreConfig::Sqlite),
        ("postgres", _) if !cfg!(feature = "postgres") => {
            Err(Error::invalid_config(NO_POSTGRES_SUPPORT))
        }
        ("postgres", raw) => {
            let raw = raw.unwrap_or_default();
            let url = raw
                .url
                .filter(|url| !url.trim().is_empty())
                .ok_or_else(|| Error::invalid_config("store \"postgres\" needs postgres.url"))?;
            let mut postgres = PostgresConfig::new(url);
            if let Some(max) = raw.max_connections {
                if !(1..=MAX_POSTGRES_CONNECTIONS).contains(&max) {
                    return Err(Error::invalid_config(format!(
                        "postgres.maxConnections must be from 1 to {MAX_POSTGRES_CONNECTIONS}"
                    )));
                }
                postgres.max_connections = max;
            }
            if let Some(text) = raw.outage_grace {
                postgres.outage_grace = parse_go_duration(&text).ok_or_else(|| {
                    Error::invalid_config(format!(
                        "postgres.outageGrace {text:?} is not a duration like 30s"
                    ))
                })?;
            }
            Ok(StoreConfig::Postgres(postgres))
        }
        (other, _) => Err(Error::invalid_config(format!(
            "store {other:?} is not known (use \"sqlite\" or \"postgres\")"
        ))),
    }
}

fn password_rules(raw: RawPassword) -> Result<PasswordRules> {
    let defaults = PasswordRules::default();
    let rules = PasswordRules {
        min_length: raw.min_length.unwrap_or(defaults.min_length),
        max_length: raw.max_length.unwrap_or(defaults.max_length),
    };
    if rules.min_length < MIN_PASSWORD_LENGTH {
        return Err(Error::invalid_config(format!(
            "password.minLength must be at least {MIN_PASSWORD_LENGTH}"
        )));
    }
    if rules.max_length < MIN_MAX_PASSWORD_LENGTH.max(rules.min_length) {
        return Err(Error::invalid_config(format!(
            "password.maxLength must be at least {} and not below minLength",
            MIN_MAX_PASSWORD_LENGTH
        )));
    }
    Ok(rules)
}

fn argon2_params(raw: RawArgon2) -> Result<Argon2Params> {
    let defaults = Argon2Params::default();
    let params = Argon2Params {
        memory_kib: raw.memory_kib.unwrap_or(defaults.memory_kib),
        iterations: raw.iterations.unwrap_or(defaults.iterations),
        parallelism: raw.parallelism.unwrap_or(defaults.parallelism),
    };
    // argon2 itself rejects memory below 8 KiB per lane; fail at open rather than at first sign-in.
    argon2::Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        None,
    )
    .map_err(|e| Error::invalid_config(format!("argon2 parameters: {e}")))?;
    Ok(params)
}

fn login_limits(raw: RawLoginLimits) -> Result<LoginLimits> {
    let defaults = LoginLimits::default();
    let window = |raw: &RawWindow, default: WindowLimit, name: &str| -> Result<WindowLimit> {
        let max_failures = raw.max_failures.unwrap_or(default.max_failures);
        if max_failures == 0 {
            return Err(Error::invalid_config(format!(
                "loginLimits.{name}.maxFailures must be at least 1"
            )));
        }
        let window_ms = match &raw.window {
            Some(text) => positive_ms(text, &format!("loginLimits.{name}.window"))?,
            None => default.window_ms,
        };
        Ok(WindowLimit {
            max_failures,
            window_ms,
        })
    };
    Ok(LoginLimits {
        per_ip: window(&raw.per_ip, defaults.per_ip, "perIp")?,
        per_account: window(&raw.per_account, defaults.per_account, "perAccount")?,
        account_throttle_ms: match &raw.per_account.throttle {
            Some(text) => positive_ms(text, "loginLimits.perAccount.throttle")?,
            None => defaults.account_throttle_ms,
        },
        exempt_loopback: raw.exempt_loopback.unwrap_or(defaults.exempt_loopback),
        max_tracked_keys: defaults.max_tracked_keys,
    })
}

fn positive_ms(text: &str, name: &str) -> Result<i64> {
    match parse_go_duration(text) {
        Some(duration) if !duration.is_zero() => {
            Ok(duration.as_millis().min(i64::MAX as u128) as i64)
        }
        _ => Err(Error::invalid_config(format!(
            "{name} {text:?} must be a positive duration like 5m"
        ))),
    }
}

/// An address (`10.0.0.1`) or a network (`10.0.0.0/8`).
fn parse_network(text: &str) -> Result<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            Error::invalid_config(format!(
                "trusted proxy {text:?} is not an address or network"
            ))
        })
}

/// `scheme://host[:port]`, as a browser sends it in `Origin`.
fn parse_origin(text: &str) -> Result<String> {
    crate::origin::normalize(text).ok_or_else(|| {
        Error::invalid_config(format!(
            "allowed origin {text:?} is not an origin like https://dagu.example.com"
        ))
    })
}

fn hashing_limits(raw: RawHashing) -> Result<HashingLimits> {
    let defaults = HashingLimits::default();
    let limits = HashingLimits {
        max_concurrent: raw.max_concurrent.unwrap_or(defaults.max_concurrent),
        max_queued: raw.max_queued.unwrap_or(defaults.max_queued),
    };
    if limits.max_concurrent == 0 {
        return Err(Error::invalid_config(
            "hashing.maxConcurrent must be at least 1",
        ));
    }
    Ok(limits)
}

/// "0" (or "0s") turns the idle timeout off, as leaving it out does; anything else is at least a
/// second, the resolution of the times it is checked against.
fn parse_idle_timeout(text: &str) -> Result<Duration> {
    let idle = parse_go_duration(text).ok_or_else(|| {
        Error::invalid_config(format!(
            "tokenIdleTimeout {text:?} is not a duration like 30m, 2h or 0 (off)"
        ))
    })?;
    if !idle.is_zero() && (idle < Duration::from_secs(1) || idle > MAX_TOKEN_TTL) {
        return Err(Error::invalid_config(format!(
            "tokenIdleTimeout {text:?} must be 0 (off) or between 1s and 8760h"
        )));
    }
    Ok(idle)
}

fn parse_token_ttl(text: &str) -> Result<Duration> {
    let ttl = parse_go_duration(text).ok_or_else(|| {
        Error::invalid_config(format!(
            "token TTL {text:?} is not a duration like 24h, 90m or 2s"
        ))
    })?;
    if ttl.is_zero() || ttl > MAX_TOKEN_TTL {
        return Err(Error::invalid_config(format!(
            "token TTL {text:?} must be above zero and at most 8760h"
        )));
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_TOKEN_TTL;

    #[test]
    fn data_dir_is_required() {
        assert!(matches!(
            Config::from_json("{}"),
            Err(Error::InvalidConfig(_))
        ));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = Config::from_json(r#"{"dataDir":"/x","tokenTTL":"1h"}"#).err();
        assert!(matches!(err, Some(Error::InvalidConfig(m)) if m.contains("tokenTTL")));
    }

    #[test]
    fn defaults_apply() {
        let config = Config::from_json(r#"{"dataDir":"/x"}"#).expect("valid");
        assert_eq!(config.token_ttl, DEFAULT_TOKEN_TTL);
        assert_eq!(config.password, PasswordRules::default());
        assert_eq!(config.argon2, Argon2Params::default());
        assert!(config.token_secret.is_none() && config.initial_admin.is_none());
    }

    #[test]
    fn the_idle_timeout_is_off_unless_set_and_bounded_when_set() {
        let parse = |value: &str| {
            Config::from_json(&format!(
                r#"{{"dataDir":"/x","tokenIdleTimeout":"{value}"}}"#
            ))
        };
        let default = Config::from_json(r#"{"dataDir":"/x"}"#).map(|c| c.token_idle_timeout);
        assert_eq!(default.ok(), Some(Duration::ZERO));
        assert_eq!(
            parse("30m").ok().map(|c| c.token_idle_timeout),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(
            parse("0").ok().map(|c| c.token_idle_timeout),
            Some(Duration::ZERO)
        );
        for bad in ["soon", "500ms", "8761h"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_ttl_is_bounded() {
        assert!(Config::from_json(r#"{"dataDir":"/x","tokenTtl":"8760h"}"#).is_ok());
        assert!(Config::from_json(r#"{"dataDir":"/x","tokenTtl":"8761h"}"#).is_err());
        assert!(Config::from_json(r#"{"dataDir":"/x","tokenTtl":"0s"}"#).is_err());
    }

    #[test]
    fn short_token_secret_is_refused() {
        let err = Config::from_json(r#"{"dataDir":"/x","tokenSecret":"short"}"#).err();
        assert!(matches!(err, Some(Error::InvalidConfig(m)) if m.contains("at least 32 bytes")));
    }

    #[test]
    fn initial_admin_needs_both_or_neither() {
        let one = r#"{"dataDir":"/x","initialAdmin":{"username":"root"}}"#;
        assert!(
            matches!(Config::from_json(one), Err(Error::InvalidConfig(m)) if m.contains("both"))
        );
        let both = r#"{"dataDir":"/x","initialAdmin":{"username":"root","password":"pw"}}"#;
        assert!(
            Config::from_json(both)
                .expect("valid")
                .initial_admin
                .is_some()
        );
    }

    #[test]
    fn password_minimum_cannot_go_below_eight() {
        let low = r#"{"dataDir":"/x","password":{"minLength":6}}"#;
        assert!(Config::from_json(low).is_err());
        let high = r#"{"dataDir":"/x","password":{"minLength":15}}"#;
        assert_eq!(
            Config::from_json(high).expect("valid").password.min_length,
            15
        );
    }

    #[test]
    fn login_limits_and_proxies_parse() {
        let json = r#"{"dataDir":"/x","loginLimits":{"perIp":{"maxFailures":3,"window":"1m"},
            "perAccount":{"throttle":"2s"},"exemptLoopback":true,"trustedProxies":["10.0.0.0/8","::1"]}}"#;
        let config = Config::from_json(json).expect("valid");
        assert_eq!(
            config.login_limits.per_ip,
            WindowLimit {
                max_failures: 3,
                window_ms: 60_000
            }
        );
        assert_eq!(config.login_limits.account_throttle_ms, 2_000);
        assert!(config.login_limits.exempt_loopback);
        assert_eq!(config.trusted_proxies.len(), 2);
        let bad = r#"{"dataDir":"/x","loginLimits":{"trustedProxies":["nowhere"]}}"#;
        assert!(Config::from_json(bad).is_err());
    }

    #[test]
    fn allowed_origins_are_normalized_and_anything_else_is_refused() {
        let json = r#"{"dataDir":"/x","allowedOrigins":["HTTPS://Dagu.Example.com:443/"]}"#;
        let config = Config::from_json(json).expect("valid");
        assert_eq!(config.allowed_origins, ["https://dagu.example.com"]);
        for bad in ["null", "dagu.example.com", "https://dagu.example.com/ui"] {
            let json = format!(r#"{{"dataDir":"/x","allowedOrigins":["{bad}"]}}"#);
            let err = Config::from_json(&json).err();
            assert!(
                matches!(&err, Some(Error::InvalidConfig(m)) if m.contains("allowed origin")),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn a_setup_code_must_be_too_long_to_guess() {
        let short = r#"{"dataDir":"/x","setupCode":"123456"}"#;
        assert!(
            matches!(Config::from_json(short), Err(Error::InvalidConfig(m)) if m.contains("setupCode"))
        );
        let long = r#"{"dataDir":"/x","setupCode":"0123456789abcdef"}"#;
        let config = Config::from_json(long).expect("valid");
        assert_eq!(config.setup_code.as_deref(), Some("0123456789abcdef"));
        let empty = r#"{"dataDir":"/x","setupCode":""}"#;
        assert_eq!(Config::from_json(empty).expect("valid").setup_code, None);
    }

    const SECRET: &str = r#""tokenSecret":"0123456789abcdef0123456789abcdef""#;

    #[test]
    fn the_store_defaults_to_sqlite() {
        let config = Config::from_json(r#"{"dataDir":"/x"}"#).expect("valid");
        assert_eq!(config.store, StoreConfig::Sqlite);
    }

    #[test]
    fn postgres_settings_without_store_postgres_are_refused() {
        let json = r#"{"dataDir":"/x","postgres":{"url":"postgres://db/auth"}}"#;
        let err = Config::from_json(json).err();
        assert!(matches!(err, Some(Error::InvalidConfig(m)) if m.contains("store is not")));
    }

    #[test]
    #[cfg(not(feature = "postgres"))]
    fn store_postgres_is_refused_by_a_build_without_postgres_support() {
        let json = format!(
            r#"{{"dataDir":"/x",{SECRET},"store":"postgres","postgres":{{"url":"postgres://db"}}}}"#
        );
        assert!(
            matches!(Config::from_json(&json), Err(Error::InvalidConfig(m)) if m == NO_POSTGRES_SUPPORT)
        );
    }

    #[test]
    #[cfg(feature = "postgres")]
    fn store_postgres_needs_a_url_and_a_shared_token_secret() {
        let no_url = format!(r#"{{"dataDir":"/x",{SECRET},"store":"postgres"}}"#);
        assert!(
            matches!(Config::from_json(&no_url), Err(Error::InvalidConfig(m)) if m.contains("postgres.url"))
        );
        let no_secret = r#"{"dataDir":"/x","store":"postgres","postgres":{"url":"postgres://db"}}"#;
        assert!(
            matches!(Config::from_json(no_secret), Err(Error::InvalidConfig(m)) if m.contains("tokenSecret"))
        );
    }

    #[test]
    fn an_unknown_store_is_refused() {
        let err = Config::from_json(r#"{"dataDir":"/x","store":"mysql"}"#).err();
        assert!(matches!(err, Some(Error::InvalidConfig(m)) if m.contains("mysql")));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_settings_parse_with_bounds() {
        let json = format!(
            r#"{{"dataDir":"/x",{SECRET},"store":"postgres",
            "postgres":{{"url":"postgres://u:pw@db/auth","maxConnections":4,"outageGrace":"30s"}}}}"#
        );
        let config = Config::from_json(&json).expect("valid");
        let StoreConfig::Postgres(postgres) = &config.store else {
            panic!("postgres expected, got {:?}", config.store);
        };
        assert_eq!(postgres.max_connections, 4);
        assert_eq!(config.store.outage_grace(), Duration::from_secs(30));
        assert!(
            !format!("{config:?}").contains("pw@"),
            "the URL's password stays hidden"
        );
        let zero = json.replace(r#""maxConnections":4"#, r#""maxConnections":0"#);
        assert!(Config::from_json(&zero).is_err());
    }
}
