//! The host's configuration: a Dagu-style YAML file overlaid by `DAGU_*` environment variables,
//! parsed and validated once at start-up into one [`Config`]. Nothing reads the environment later.
//!
//! Precedence, per setting: environment variable (when set and not blank) > file > default.
//! `DAGU_LICENSE_FEATURES` is the exception: set but empty means "no features" (unlicensed).
//! Relative paths (the data folder) are relative to the working directory the host starts in,
//! not to the config file, the way a path typed on the command line would be.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The environment as the host sees it; a map so tests never touch the process environment.
pub type Env = HashMap<String, String>;

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 8080;
/// Relative to the working directory; resolved to an absolute path by [`Config::resolve_data_dir`].
pub const DEFAULT_DATA_DIR: &str = "./data";
/// What a host without a license file gets in this demo, so user management works out of the box.
pub const DEFAULT_LICENSE_FEATURES: [&str; 2] = ["rbac", "audit"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// No plugin: user management is off and every resource is open.
    None,
    /// The dagu-auth plugin is loaded and owns identity.
    Builtin,
}

/// Which of the plugin's two faces the host talks to; both reach the same Engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    Rust,
    C,
}

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rust => "rust",
            Self::C => "c",
        })
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct InitialAdmin {
    pub username: String,
    pub password: String,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub auth_mode: AuthMode,
    pub abi: Abi,
    pub token_secret: Option<String>,
    /// A Go duration such as `24h`; the plugin validates it, so the rule lives in one place.
    pub token_ttl: Option<String>,
    /// `auth.builtin.token.idle_timeout`: sessions unused this long end; unset or `0` is off.
    pub token_idle_timeout: Option<String>,
    pub initial_admin: Option<InitialAdmin>,
    pub license_features: Vec<String>,
    /// `DAGU_AUTH_PLUGIN`; `None` means "search the usual places" (see `plugin::discover`).
    pub plugin_path: Option<PathBuf>,
    /// The plugin's tuning sections (`login_limits`, `password`, `argon2`, `hashing`,
    /// `audit_retention_days`, `backup`) with keys in the plugin's camelCase. The plugin validates
    /// them, so the rules live in one place; a typo there stops start-up with the plugin's message.
    pub plugin_tuning: Map<String, Value>,
    /// `auth.builtin.store` / `DAGU_AUTH_BUILTIN_STORE`: `sqlite` or `postgres`; the plugin decides.
    pub store: Option<String>,
    /// `auth.builtin.postgres` in camelCase, its `url` overridden by `DAGU_AUTH_POSTGRES_URL`.
    pub postgres: Map<String, Value>,
    /// `auth.allowed_origins` / `DAGU_AUTH_ALLOWED_ORIGINS`: origins besides the server's own whose
    /// pages may change state (the plugin checks and normalizes them).
    pub allowed_origins: Vec<String>,
    /// Never from a file: generated at start when the server listens beyond loopback (see
    /// `setup_code`), so only someone who can read the log can create the first admin.
    pub setup_code: Option<String>,
}

// Secrets must never reach a log line, even through `{:?}`.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field("auth_mode", &self.auth_mode)
            .field("abi", &self.abi)
            .field("token_secret", &self.token_secret.as_ref().map(|_| "<set>"))
            .field("token_ttl", &self.token_ttl)
            .field("token_idle_timeout", &self.token_idle_timeout)
            .field(
                "initial_admin",
                &self.initial_admin.as_ref().map(|a| &a.username),
            )
            .field("license_features", &self.license_features)
            .field("plugin_path", &self.plugin_path)
            .field("plugin_tuning", &self.plugin_tuning)
            .field("store", &self.store)
            .field("postgres", &redacted(&self.postgres))
            .field("allowed_origins", &self.allowed_origins)
            .field("setup_code", &self.setup_code.as_ref().map(|_| "<set>"))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// A parsed configuration plus what the user should hear about (unknown keys) without failing.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// The `DAGU_*` variables of this process. Non-UTF-8 values are dropped with a warning rather
/// than guessed at.
pub fn process_env(warnings: &mut Vec<String>) -> Env {
    let mut env = Env::new();
    for (key, value) in std::env::vars_os() {
        let Some(key) = key.to_str().filter(|k| k.starts_with("DAGU_")) else {
            continue;
        };
        match value.into_string() {
            Ok(value) => {
                env.insert(key.to_owned(), value);
            }
            Err(_) => warnings.push(format!("{key} is not valid UTF-8; ignored")),
        }
    }
    env
}

/// Reads the optional config file and applies the environment on top.
pub fn load(file: Option<&Path>, env: &Env) -> Result<Loaded, ConfigError> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?,
        None => String::new(),
    };
    let mut loaded = parse(&text, env)?;
    if let Some(path) = file {
        for warning in &mut loaded.warnings {
            *warning = format!("{}: {warning}", path.display());
        }
    }
    Ok(loaded)
}

/// Parses YAML text (possibly empty) and applies the environment on top.
pub fn parse(yaml: &str, env: &Env) -> Result<Loaded, ConfigError> {
    let mut warnings = Vec::new();
    let file = parse_file(yaml, &mut warnings)?;
    let config = merge(file, env)?;
    Ok(Loaded { config, warnings })
}

impl Config {
    /// Makes the data folder absolute against `cwd`, so the plugin (and the log) see the folder the
    /// user meant even if something later changes directory.
    pub fn resolve_data_dir(&mut self, cwd: &Path) -> Result<(), ConfigError> {
        if self.data_dir.is_relative() {
            let joined = cwd.join(&self.data_dir);
            // `./data` would otherwise show up as `/cwd/./data` in messages.
            self.data_dir = joined.components().collect();
        }
        if self.data_dir.to_str().is_none() {
            return Err(ConfigError(format!(
                "the data folder {} is not valid UTF-8",
                self.data_dir.display()
            )));
        }
        Ok(())
    }

    /// The plugin's open configuration (README, "Plugin configuration"). Unset optional fields are
    /// left out so the plugin's own defaults apply.
    pub fn plugin_open_json(&self) -> Result<String, ConfigError> {
        let data_dir = self.data_dir.to_str().ok_or_else(|| {
            ConfigError(format!(
                "the data folder {} is not valid UTF-8",
                self.data_dir.display()
            ))
        })?;
        let mut object = Map::new();
        object.insert("dataDir".into(), json!(data_dir));
        if let Some(secret) = &self.token_secret {
            object.insert("tokenSecret".into(), json!(secret));
        }
        if let Some(ttl) = &self.token_ttl {
            object.insert("tokenTtl".into(), json!(ttl));
        }
        if let Some(idle) = &self.token_idle_timeout {
            object.insert("tokenIdleTimeout".into(), json!(idle));
        }
        if let Some(admin) = &self.initial_admin {
            object.insert(
                "initialAdmin".into(),
                json!({"username": admin.username, "password": admin.password}),
            );
        }
        object.insert("licenseFeatures".into(), json!(self.license_features));
        object.extend(self.plugin_tuning.clone());
        if let Some(store) = &self.store {
            object.insert("store".into(), json!(store));
        }
        if !self.postgres.is_empty() {
            object.insert("postgres".into(), Value::Object(self.postgres.clone()));
        }
        if !self.allowed_origins.is_empty() {
            object.insert("allowedOrigins".into(), json!(self.allowed_origins));
        }
        if let Some(code) = &self.setup_code {
            object.insert("setupCode".into(), json!(code));
        }
        serde_json::to_string(&Value::Object(object))
            .map_err(|e| ConfigError(format!("cannot encode the plugin configuration: {e}")))
    }
}

// The file's shape. Everything is optional so a partial file is fine; camelCase aliases accept the
// spelling Dagu's own config files use.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileConfig {
    host: Option<String>,
    port: Option<u16>,
    paths: FilePaths,
    auth: FileAuth,
    license: FileLicense,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FilePaths {
    #[serde(alias = "dataDir")]
    data_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileAuth {
    mode: Option<String>,
    builtin: FileBuiltin,
    // Passed to the plugin as its `oidc` and `proxy` sections (`sso_config`).
    oidc: Option<serde_yaml_ng::Value>,
    proxy: Option<serde_yaml_ng::Value>,
    #[serde(alias = "allowedOrigins")]
    allowed_origins: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileBuiltin {
    abi: Option<String>,
    token: FileToken,
    #[serde(alias = "initialAdmin")]
    initial_admin: FileInitialAdmin,
    // Passed through to the plugin, which owns their validation.
    login_limits: Option<serde_yaml_ng::Value>,
    password: Option<serde_yaml_ng::Value>,
    argon2: Option<serde_yaml_ng::Value>,
    hashing: Option<serde_yaml_ng::Value>,
    audit_retention_days: Option<serde_yaml_ng::Value>,
    backup: Option<serde_yaml_ng::Value>,
    mfa: Option<serde_yaml_ng::Value>,
    store: Option<String>,
    postgres: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileToken {
    secret: Option<String>,
    ttl: Option<String>,
    idle_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileInitialAdmin {
    username: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileLicense {
    /// `None` (absent or `null`) means "not configured"; `Some([])` means unlicensed.
    features: Option<Vec<String>>,
}

fn parse_file(yaml: &str, warnings: &mut Vec<String>) -> Result<FileConfig, ConfigError> {
    // An empty or comment-only file is a valid "no settings", but YAML reads it as null.
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml)
        .map_err(|e| ConfigError(format!("invalid config YAML: {e}")))?;
    if value.is_null() {
        return Ok(FileConfig::default());
    }
    // A typo must not stop the server, but it must not pass silently either.
    serde_ignored::deserialize(value, |path| {
        warnings.push(format!("unknown config key `{path}` ignored"));
    })
    .map_err(|e| ConfigError(format!("invalid config: {e}")))
}

/// Env value if set and not blank: an exported-but-empty variable usually means "unset" in shells
/// and CI files, and must not wipe a file setting.
fn env_value<'a>(env: &'a Env, name: &str) -> Option<&'a str> {
    env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Picks env over file for one string setting.
fn pick(env: &Env, name: &str, file: Option<String>) -> Option<String> {
    env_value(env, name)
        .map(str::to_owned)
        .or_else(|| non_blank(file))
}

fn merge(file: FileConfig, env: &Env) -> Result<Config, ConfigError> {
    let host = pick(env, "DAGU_HOST", file.host).unwrap_or_else(|| DEFAULT_HOST.to_owned());
    let port = match env_value(env, "DAGU_PORT") {
        Some(text) => text
            .parse::<u16>()
            .map_err(|_| ConfigError(format!("DAGU_PORT: `{text}` is not a port number")))?,
        None => file.port.unwrap_or(DEFAULT_PORT),
    };
    let data_dir = pick(env, "DAGU_DATA_DIR", file.paths.data_dir)
        .unwrap_or_else(|| DEFAULT_DATA_DIR.to_owned());

    let auth_mode = match pick(env, "DAGU_AUTH_MODE", file.auth.mode).as_deref() {
        None | Some("builtin") => AuthMode::Builtin,
        Some("none") => AuthMode::None,
        Some(other) => {
            return Err(ConfigError(format!(
                "auth.mode `{other}` is not supported by host-demo (use `none` or `builtin`)"
            )));
        }
    };

    let allowed_origins = match env_value(env, "DAGU_AUTH_ALLOWED_ORIGINS") {
        Some(list) => split_list(list.split(',')),
        None => split_list(
            file.auth
                .allowed_origins
                .iter()
                .flatten()
                .map(String::as_str),
        ),
    };

    let builtin = file.auth.builtin;
    let abi = match pick(env, "DAGU_AUTH_BUILTIN_ABI", builtin.abi).as_deref() {
        None | Some("rust") => Abi::Rust,
        Some("c") => Abi::C,
        Some(other) => {
            return Err(ConfigError(format!(
                "auth.builtin.abi `{other}` is not known (use `rust` or `c`)"
            )));
        }
    };

    let token_secret = pick(env, "DAGU_AUTH_TOKEN_SECRET", builtin.token.secret);
    let token_ttl = pick(env, "DAGU_AUTH_TOKEN_TTL", builtin.token.ttl);
    let token_idle_timeout = pick(
        env,
        "DAGU_AUTH_TOKEN_IDLE_TIMEOUT",
        builtin.token.idle_timeout,
    );

    // Each half is overridden separately, then the pair is checked: a username from the file and a
    // password from the environment is a normal way to keep the secret out of the file.
    let username = pick(
        env,
        "DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME",
        builtin.initial_admin.username,
    );
    // Passwords are not trimmed: whitespace may be part of them.
    let password = env
        .get("DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD")
        .filter(|v| !v.is_empty())
        .cloned()
        .or(builtin.initial_admin.password.filter(|v| !v.is_empty()));
    let initial_admin = match (username, password) {
        (Some(username), Some(password)) => Some(InitialAdmin { username, password }),
        (None, None) => None,
        _ => {
            return Err(ConfigError(
                "auth.builtin.initial_admin needs both username and password, or neither \
                 (DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME / _PASSWORD)"
                    .to_owned(),
            ));
        }
    };

    let license_features = match env.get("DAGU_LICENSE_FEATURES") {
        Some(list) => split_list(list.split(',')),
        None => match file.license.features {
            Some(list) => split_list(list.iter().map(String::as_str)),
            None => DEFAULT_LICENSE_FEATURES
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
        },
    };

    let plugin_path = env_value(env, "DAGU_AUTH_PLUGIN").map(PathBuf::from);

    let mut plugin_tuning = Map::new();
    for (name, section) in [
        ("loginLimits", builtin.login_limits),
        ("password", builtin.password),
        ("argon2", builtin.argon2),
        ("hashing", builtin.hashing),
        ("auditRetentionDays", builtin.audit_retention_days),
        ("backup", builtin.backup),
        ("mfa", builtin.mfa),
    ] {
        if let Some(section) = section {
            plugin_tuning.insert(name.to_owned(), camel_case_json(section)?);
        }
    }
    if let Some(proxies) = env_value(env, "DAGU_AUTH_TRUSTED_PROXIES") {
        set_login_limit(
            &mut plugin_tuning,
            "trustedProxies",
            json!(split_list(proxies.split(','))),
        );
    }
    if let Some(exempt) = env_value(env, "DAGU_AUTH_LOGIN_EXEMPT_LOOPBACK") {
        let exempt = match exempt {
            "true" | "1" => true,
            "false" | "0" => false,
            other => {
                return Err(ConfigError(format!(
                    "DAGU_AUTH_LOGIN_EXEMPT_LOOPBACK: `{other}` is not true or false"
                )));
            }
        };
        set_login_limit(&mut plugin_tuning, "exemptLoopback", json!(exempt));
    }

    // `auth.builtin.mfa.required_roles` / `DAGU_AUTH_BUILTIN_MFA_REQUIRED_ROLES` (comma-separated
    // role names; empty requires it of nobody).
    if let Some(roles) = env.get("DAGU_AUTH_BUILTIN_MFA_REQUIRED_ROLES") {
        let roles = json!(split_list(roles.split(',')));
        match plugin_tuning
            .entry("mfa")
            .or_insert_with(|| json!({}))
            .as_object_mut()
        {
            Some(mfa) => {
                mfa.insert("requiredRoles".to_owned(), roles);
            }
            None => {
                return Err(ConfigError(
                    "auth.builtin.mfa must be a mapping (required_roles)".to_owned(),
                ));
            }
        }
    }
    plugin_tuning.extend(crate::sso_config::plugin_sections(
        file.auth.oidc,
        file.auth.proxy,
        env,
    )?);

    let store = pick(env, "DAGU_AUTH_BUILTIN_STORE", builtin.store);
    let mut postgres = match builtin.postgres.map(camel_case_json).transpose()? {
        None => Map::new(),
        Some(Value::Object(section)) => section,
        Some(_) => {
            return Err(ConfigError(
                "auth.builtin.postgres must be a mapping (url, max_connections, outage_grace)"
                    .to_owned(),
            ));
        }
    };
    if let Some(url) = env_value(env, "DAGU_AUTH_POSTGRES_URL") {
        postgres.insert("url".to_owned(), json!(url));
    }

    Ok(Config {
        host,
        port,
        data_dir: PathBuf::from(data_dir),
        auth_mode,
        abi,
        token_secret,
        token_ttl,
        token_idle_timeout,
        initial_admin,
        license_features,
        plugin_path,
        plugin_tuning,
        store,
        postgres,
        allowed_origins,
        setup_code: None,
    })
}

/// The PostgreSQL section as a log line may show it: the URL can carry a password.
fn redacted(section: &Map<String, Value>) -> Map<String, Value> {
    let mut shown = section.clone();
    if let Some(url) = shown.get_mut("url") {
        *url = json!("<set>");
    }
    shown
}

/// Sets one `loginLimits` setting from the environment over whatever the file said.
fn set_login_limit(tuning: &mut Map<String, Value>, key: &str, value: Value) {
    let mut section = match tuning.remove("loginLimits") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    section.insert(key.to_owned(), value);
    tuning.insert("loginLimits".to_owned(), Value::Object(section));
}

/// YAML in Dagu's snake_case to the plugin's camelCase JSON (`max_failures` -> `maxFailures`).
fn camel_case_json(yaml: serde_yaml_ng::Value) -> Result<Value, ConfigError> {
    let value: Value = serde_json::to_value(yaml)
        .map_err(|e| ConfigError(format!("auth.builtin settings are not plain data: {e}")))?;
    Ok(rename_keys(value))
}

fn rename_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (camel_case(&k), rename_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(rename_keys).collect()),
        other => other,
    }
}

/// Dagu's snake_case key as the plugin's camelCase one; shared with `sso_config`.
pub(crate) fn camel_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        match (c, upper) {
            ('_', _) => upper = true,
            (c, true) => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            (c, false) => out.push(c),
        }
    }
    out
}

/// The items of a list setting, trimmed, without blanks and repeats.
fn split_list<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut list: Vec<String> = Vec::new();
    for item in items.map(str::trim).filter(|f| !f.is_empty()) {
        if !list.iter().any(|f| f == item) {
            list.push(item.to_owned());
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn config(yaml: &str, pairs: &[(&str, &str)]) -> Config {
        match parse(yaml, &env(pairs)) {
            Ok(loaded) => loaded.config,
            Err(e) => panic!("config should parse: {e}"),
        }
    }

    fn error(yaml: &str, pairs: &[(&str, &str)]) -> String {
        match parse(yaml, &env(pairs)) {
            Ok(loaded) => panic!("config should be refused: {:?}", loaded.config),
            Err(e) => e.0,
        }
    }

    #[test]
    fn tuning_sections_reach_the_plugin_in_camel_case() {
        let yaml = "auth:\n  builtin:\n    login_limits:\n      per_ip:\n        max_failures: 3\n        window: 1m\n      trusted_proxies: [10.0.0.1]\n    audit_retention_days: 30\n";
        let json = open_json(&config(
            yaml,
            &[("DAGU_AUTH_LOGIN_EXEMPT_LOOPBACK", "true")],
        ));
        assert_eq!(
            json["loginLimits"]["perIp"],
            serde_json::json!({"maxFailures": 3, "window": "1m"})
        );
        assert_eq!(
            json["loginLimits"]["trustedProxies"],
            serde_json::json!(["10.0.0.1"])
        );
        assert_eq!(json["loginLimits"]["exemptLoopback"], true);
        assert_eq!(json["auditRetentionDays"], 30);
    }

    #[test]
    fn mfa_required_roles_come_from_the_file_or_the_environment() {
        let yaml = "auth:\n  builtin:\n    mfa:\n      required_roles: [admin]\n";
        let json = open_json(&config(yaml, &[]));
        assert_eq!(json["mfa"]["requiredRoles"], serde_json::json!(["admin"]));
        let json = open_json(&config(
            yaml,
            &[("DAGU_AUTH_BUILTIN_MFA_REQUIRED_ROLES", "admin, manager")],
        ));
        assert_eq!(
            json["mfa"]["requiredRoles"],
            serde_json::json!(["admin", "manager"])
        );
    }

    #[test]
    fn the_backup_section_reaches_the_plugin() {
        let yaml = "auth:\n  builtin:\n    backup:\n      dir: /var/backups/dagu\n      interval: 6h\n      keep: 3\n";
        let json = open_json(&config(yaml, &[]));
        assert_eq!(
            json["backup"],
            serde_json::json!({"dir": "/var/backups/dagu", "interval": "6h", "keep": 3})
        );
    }

    #[test]
    fn trusted_proxies_come_from_the_environment_too() {
        let json = open_json(&config(
            "",
            &[("DAGU_AUTH_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")],
        ));
        assert_eq!(
            json["loginLimits"]["trustedProxies"],
            serde_json::json!(["127.0.0.1", "10.0.0.0/8"])
        );
    }

    #[test]
    fn the_store_and_postgres_settings_reach_the_plugin() {
        let yaml = "auth:\n  builtin:\n    store: postgres\n    postgres:\n      url: postgres://file\n      max_connections: 4\n";
        let json = open_json(&config(yaml, &[]));
        assert_eq!(json["store"], "postgres");
        assert_eq!(
            json["postgres"],
            serde_json::json!({"url": "postgres://file", "maxConnections": 4})
        );
    }

    #[test]
    fn the_store_and_postgres_url_come_from_the_environment_too() {
        let yaml =
            "auth:\n  builtin:\n    store: sqlite\n    postgres:\n      url: postgres://file\n";
        let env = [
            ("DAGU_AUTH_BUILTIN_STORE", "postgres"),
            ("DAGU_AUTH_POSTGRES_URL", "postgres://u:secret@env/auth"),
        ];
        let config = config(yaml, &env);
        let json = open_json(&config);
        assert_eq!(json["store"], "postgres");
        assert_eq!(json["postgres"]["url"], "postgres://u:secret@env/auth");
        assert!(
            !format!("{config:?}").contains("secret@"),
            "the URL's password stays out of logs"
        );
    }

    #[test]
    fn allowed_origins_come_from_the_file_or_the_environment() {
        let yaml = "auth:\n  allowed_origins: [https://dagu.example.com]\n";
        let json = open_json(&config(yaml, &[]));
        assert_eq!(
            json["allowedOrigins"],
            serde_json::json!(["https://dagu.example.com"])
        );
        let env = [(
            "DAGU_AUTH_ALLOWED_ORIGINS",
            "https://a.example, http://b.example:8080",
        )];
        let json = open_json(&config(yaml, &env));
        assert_eq!(
            json["allowedOrigins"],
            serde_json::json!(["https://a.example", "http://b.example:8080"])
        );
        assert!(open_json(&config("", &[])).get("allowedOrigins").is_none());
    }

    #[test]
    fn a_setup_code_reaches_the_plugin_but_no_log_line() {
        let mut config = config("", &[]);
        config.setup_code = Some("0123456789abcdef0123".into());
        assert_eq!(open_json(&config)["setupCode"], "0123456789abcdef0123");
        assert!(!format!("{config:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn without_a_store_setting_the_plugin_default_applies() {
        let json = open_json(&config("", &[]));
        assert!(json.get("store").is_none() && json.get("postgres").is_none());
    }

    fn open_json(config: &Config) -> Value {
        let text = config.plugin_open_json().expect("encodes");
        serde_json::from_str(&text).expect("valid JSON")
    }

    const FULL: &str = r#"
host: 0.0.0.0
port: 9000
paths:
  data_dir: /var/lib/dagu
auth:
  mode: builtin
  builtin:
    abi: c
    token:
      secret: file-secret-file-secret-file-secret
      ttl: 12h
      idle_timeout: 30m
    initial_admin:
      username: admin
      password: "correct horse battery"
license:
  features: [rbac]
"#;

    #[test]
    fn no_file_and_no_env_gives_the_defaults() {
        let c = config("", &[]);
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, 8080);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.auth_mode, AuthMode::Builtin);
        assert_eq!(c.abi, Abi::Rust);
        assert_eq!(c.token_secret, None);
        assert_eq!(c.token_ttl, None);
        assert_eq!(c.token_idle_timeout, None, "off unless set");
        assert!(c.initial_admin.is_none());
        assert_eq!(c.license_features, ["rbac", "audit"]);
        assert_eq!(c.plugin_path, None);
    }

    #[test]
    fn a_comment_only_file_is_empty_settings() {
        assert_eq!(config("# nothing yet\n", &[]), config("", &[]));
    }

    #[test]
    fn every_file_key_is_read() {
        let c = config(FULL, &[]);
        assert_eq!(c.host, "0.0.0.0");
        assert_eq!(c.port, 9000);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/dagu"));
        assert_eq!(c.abi, Abi::C);
        assert_eq!(
            c.token_secret.as_deref(),
            Some("file-secret-file-secret-file-secret")
        );
        assert_eq!(c.token_ttl.as_deref(), Some("12h"));
        assert_eq!(c.token_idle_timeout.as_deref(), Some("30m"));
        let admin = c.initial_admin.expect("initial admin");
        assert_eq!(
            (admin.username.as_str(), admin.password.as_str()),
            ("admin", "correct horse battery")
        );
        assert_eq!(c.license_features, ["rbac"]);
    }

    #[test]
    fn dagu_camel_case_spellings_are_accepted() {
        let yaml = "paths:\n  dataDir: /d\nauth:\n  builtin:\n    initialAdmin:\n      username: a\n      password: b\n";
        let loaded = parse(yaml, &Env::new()).expect("parses");
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(loaded.config.data_dir, PathBuf::from("/d"));
        assert!(loaded.config.initial_admin.is_some());
    }

    #[test]
    fn unknown_keys_warn_with_their_path_but_do_not_fail() {
        let loaded = parse("prot: 1\nauth:\n  builtn: {}\n  mode: none\n", &Env::new())
            .expect("still parses");
        assert_eq!(loaded.config.auth_mode, AuthMode::None);
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        assert!(loaded.warnings.iter().any(|w| w.contains("`prot`")));
        assert!(loaded.warnings.iter().any(|w| w.contains("`auth.builtn`")));
    }

    #[test]
    fn malformed_yaml_and_wrong_types_are_errors() {
        assert!(error("host: [unclosed", &[]).contains("invalid config YAML"));
        assert!(error("port: eighty", &[]).contains("invalid config"));
    }

    #[test]
    fn environment_wins_over_the_file() {
        let c = config(
            FULL,
            &[
                ("DAGU_HOST", "::1"),
                ("DAGU_PORT", "7000"),
                ("DAGU_DATA_DIR", "/tmp/x"),
                ("DAGU_AUTH_MODE", "none"),
                ("DAGU_AUTH_BUILTIN_ABI", "rust"),
                ("DAGU_AUTH_TOKEN_SECRET", "env-secret"),
                ("DAGU_AUTH_TOKEN_TTL", "1h"),
                ("DAGU_AUTH_TOKEN_IDLE_TIMEOUT", "15m"),
                ("DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME", "root"),
                ("DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD", "env password"),
                ("DAGU_LICENSE_FEATURES", "audit"),
                ("DAGU_AUTH_PLUGIN", "/opt/libdagu_auth.so"),
            ],
        );
        assert_eq!(c.host, "::1");
        assert_eq!(c.port, 7000);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.auth_mode, AuthMode::None);
        assert_eq!(c.abi, Abi::Rust);
        assert_eq!(c.token_secret.as_deref(), Some("env-secret"));
        assert_eq!(c.token_ttl.as_deref(), Some("1h"));
        assert_eq!(c.token_idle_timeout.as_deref(), Some("15m"));
        let admin = c.initial_admin.expect("initial admin");
        assert_eq!(
            (admin.username.as_str(), admin.password.as_str()),
            ("root", "env password")
        );
        assert_eq!(c.license_features, ["audit"]);
        assert_eq!(c.plugin_path, Some(PathBuf::from("/opt/libdagu_auth.so")));
    }

    #[test]
    fn a_blank_environment_variable_does_not_override_the_file() {
        let c = config(
            FULL,
            &[
                ("DAGU_HOST", ""),
                ("DAGU_PORT", "  "),
                ("DAGU_AUTH_MODE", ""),
            ],
        );
        assert_eq!(c.host, "0.0.0.0");
        assert_eq!(c.port, 9000);
        assert_eq!(c.auth_mode, AuthMode::Builtin);
    }

    #[test]
    fn initial_admin_halves_may_come_from_file_and_env() {
        let yaml = "auth:\n  builtin:\n    initial_admin:\n      username: admin\n";
        let c = config(
            yaml,
            &[("DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD", " spaced pw ")],
        );
        let admin = c.initial_admin.expect("initial admin");
        assert_eq!(admin.username, "admin");
        assert_eq!(admin.password, " spaced pw ", "passwords are not trimmed");
    }

    #[test]
    fn initial_admin_needs_both_or_neither() {
        let message = error("", &[("DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME", "admin")]);
        assert!(message.contains("both username and password"), "{message}");
        let message = error(
            "",
            &[("DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD", "secret12")],
        );
        assert!(message.contains("both username and password"), "{message}");
    }

    #[test]
    fn license_features_default_to_rbac_and_audit_when_set_nowhere() {
        assert_eq!(
            config("license: {}\n", &[]).license_features,
            ["rbac", "audit"]
        );
        assert_eq!(
            config("license:\n  features:\n", &[]).license_features,
            ["rbac", "audit"]
        );
    }

    #[test]
    fn license_features_set_but_empty_mean_unlicensed() {
        assert!(
            config("", &[("DAGU_LICENSE_FEATURES", "")])
                .license_features
                .is_empty()
        );
        assert!(
            config("license:\n  features: []\n", &[])
                .license_features
                .is_empty()
        );
        assert!(
            config(FULL, &[("DAGU_LICENSE_FEATURES", "")])
                .license_features
                .is_empty(),
            "an empty env list overrides the file's list"
        );
    }

    #[test]
    fn license_feature_list_is_trimmed_and_deduplicated() {
        let c = config("", &[("DAGU_LICENSE_FEATURES", " rbac, ,audit,rbac ")]);
        assert_eq!(c.license_features, ["rbac", "audit"]);
    }

    #[test]
    fn bad_values_name_the_setting() {
        assert!(error("", &[("DAGU_PORT", "99999")]).contains("DAGU_PORT"));
        assert!(error("auth:\n  mode: oidc\n", &[]).contains("auth.mode `oidc`"));
        assert!(error("", &[("DAGU_AUTH_BUILTIN_ABI", "go")]).contains("auth.builtin.abi `go`"));
    }

    #[test]
    fn relative_data_dir_is_resolved_against_the_working_directory() {
        let mut c = config("", &[]);
        c.resolve_data_dir(Path::new("/srv/demo"))
            .expect("resolves");
        assert_eq!(c.data_dir, PathBuf::from("/srv/demo/data"));
        let mut c = config("", &[("DAGU_DATA_DIR", "/abs")]);
        c.resolve_data_dir(Path::new("/srv/demo"))
            .expect("resolves");
        assert_eq!(c.data_dir, PathBuf::from("/abs"));
    }

    #[test]
    fn open_json_carries_every_setting_in_the_plugin_spelling() {
        let value = open_json(&config(FULL, &[]));
        assert_eq!(
            value,
            json!({
                "dataDir": "/var/lib/dagu",
                "tokenSecret": "file-secret-file-secret-file-secret",
                "tokenTtl": "12h",
                "tokenIdleTimeout": "30m",
                "initialAdmin": {"username": "admin", "password": "correct horse battery"},
                "licenseFeatures": ["rbac"],
            })
        );
    }

    #[test]
    fn open_json_leaves_unset_options_to_the_plugin_defaults() {
        let value = open_json(&config("", &[("DAGU_LICENSE_FEATURES", "")]));
        assert_eq!(value, json!({"dataDir": "./data", "licenseFeatures": []}));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let text = format!("{:?}", config(FULL, &[]));
        assert!(!text.contains("file-secret"), "{text}");
        assert!(!text.contains("correct horse"), "{text}");
    }
}
