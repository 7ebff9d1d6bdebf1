//! `auth.oidc` and `auth.proxy` in Dagu's keys (file) and `DAGU_AUTH_OIDC_*` / `DAGU_AUTH_PROXY_*`
//! (environment) as the plugin's `oidc` and `proxy` sections. The plugin checks them at open, so
//! a missing `client_secret` stops the host at start with the key named.

use serde_json::{Map, Value, json};

use crate::config::{ConfigError, Env, camel_case};

/// Maps whose keys are the identity provider's group names: kept exactly as written.
const GROUP_KEYED: [&str; 2] = ["group_mappings", "workspace_mappings"];
/// Lists Dagu also accepts as one comma-separated string.
const LISTS: [&str; 3] = ["scopes", "whitelist", "allowed_domains"];

enum Kind {
    Text,
    List,
    Flag,
    /// A JSON object (group mappings, workspace mappings).
    Json,
}

/// (variable suffix, key path in the section, kind).
const OIDC_ENV: [(&str, &[&str], Kind); 17] = [
    ("CLIENT_ID", &["clientId"], Kind::Text),
    ("CLIENT_SECRET", &["clientSecret"], Kind::Text),
    ("CLIENT_URL", &["clientUrl"], Kind::Text),
    ("ISSUER", &["issuer"], Kind::Text),
    ("SCOPES", &["scopes"], Kind::List),
    ("WHITELIST", &["whitelist"], Kind::List),
    ("ALLOWED_DOMAINS", &["allowedDomains"], Kind::List),
    ("AUTO_SIGNUP", &["autoSignup"], Kind::Flag),
    ("BUTTON_LABEL", &["buttonLabel"], Kind::Text),
    ("GROUPS_CLAIM", &["roleMapping", "groupsClaim"], Kind::Text),
    (
        "GROUP_MAPPINGS",
        &["roleMapping", "groupMappings"],
        Kind::Json,
    ),
    (
        "WORKSPACE_MAPPINGS",
        &["roleMapping", "workspaceMappings"],
        Kind::Json,
    ),
    (
        "DEFAULT_WORKSPACE_ACCESS",
        &["roleMapping", "defaultWorkspaceAccess"],
        Kind::Text,
    ),
    ("DEFAULT_ROLE", &["roleMapping", "defaultRole"], Kind::Text),
    (
        "ROLE_ATTRIBUTE_PATH",
        &["roleMapping", "roleAttributePath"],
        Kind::Text,
    ),
    (
        "ROLE_ATTRIBUTE_STRICT",
        &["roleMapping", "roleAttributeStrict"],
        Kind::Flag,
    ),
    (
        "SKIP_ORG_ROLE_SYNC",
        &["roleMapping", "skipOrgRoleSync"],
        Kind::Flag,
    ),
];

const PROXY_ENV: [(&str, &[&str], Kind); 12] = [
    ("ENABLED", &["enabled"], Kind::Flag),
    ("SOURCE", &["source"], Kind::Text),
    ("BUTTON_LABEL", &["buttonLabel"], Kind::Text),
    ("HEADERS_USER", &["headers", "user"], Kind::Text),
    ("HEADERS_GROUPS", &["headers", "groups"], Kind::Text),
    ("AUTO_SIGNUP", &["autoSignup"], Kind::Flag),
    ("DEFAULT_ROLE", &["roleMapping", "defaultRole"], Kind::Text),
    (
        "GROUP_MAPPINGS",
        &["roleMapping", "groupMappings"],
        Kind::Json,
    ),
    (
        "WORKSPACE_MAPPINGS",
        &["roleMapping", "workspaceMappings"],
        Kind::Json,
    ),
    (
        "DEFAULT_WORKSPACE_ACCESS",
        &["roleMapping", "defaultWorkspaceAccess"],
        Kind::Text,
    ),
    (
        "REQUIRE_MAPPING",
        &["roleMapping", "requireMapping"],
        Kind::Flag,
    ),
    (
        "SKIP_ORG_ROLE_SYNC",
        &["roleMapping", "skipOrgRoleSync"],
        Kind::Flag,
    ),
];

/// The plugin's `oidc` and `proxy` sections (each only when something sets it).
pub fn plugin_sections(
    oidc: Option<serde_yaml_ng::Value>,
    proxy: Option<serde_yaml_ng::Value>,
    env: &Env,
) -> Result<Map<String, Value>, ConfigError> {
    let mut sections = Map::new();
    for (name, file, prefix, table) in [
        ("oidc", oidc, "DAGU_AUTH_OIDC_", &OIDC_ENV[..]),
        ("proxy", proxy, "DAGU_AUTH_PROXY_", &PROXY_ENV[..]),
    ] {
        let mut section = match file.map(|yaml| from_file(yaml, name)).transpose()? {
            Some(Value::Object(section)) => section,
            Some(Value::Null) | None => Map::new(),
            Some(_) => return Err(ConfigError(format!("auth.{name} must be a mapping"))),
        };
        for (suffix, path, kind) in table.iter() {
            let variable = format!("{prefix}{suffix}");
            let Some(text) = env
                .get(&variable)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
            else {
                continue;
            };
            set(&mut section, path, env_value(&variable, text, kind)?);
        }
        if !section.is_empty() {
            sections.insert(name.to_owned(), Value::Object(section));
        }
    }
    Ok(sections)
}

fn from_file(yaml: serde_yaml_ng::Value, name: &str) -> Result<Value, ConfigError> {
    let value: Value = serde_json::to_value(yaml)
        .map_err(|e| ConfigError(format!("auth.{name} is not plain data: {e}")))?;
    Ok(plugin_keys(value, false))
}

/// Dagu's snake_case keys as the plugin's camelCase, except the group names that key the
/// mappings; a comma-separated string where Dagu accepts one becomes a list.
fn plugin_keys(value: Value, group_keyed: bool) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    if group_keyed {
                        return (key, plugin_keys(value, false));
                    }
                    let snake = snake_case(&key);
                    let value = match value {
                        Value::String(text) if LISTS.contains(&snake.as_str()) => {
                            json!(split(&text))
                        }
                        other => plugin_keys(other, GROUP_KEYED.contains(&snake.as_str())),
                    };
                    (camel_case(&snake), value)
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| plugin_keys(v, false)).collect())
        }
        other => other,
    }
}

fn env_value(variable: &str, text: &str, kind: &Kind) -> Result<Value, ConfigError> {
    match kind {
        Kind::Text => Ok(json!(text)),
        Kind::List => Ok(json!(split(text))),
        Kind::Flag => match text {
            "true" | "1" => Ok(json!(true)),
            "false" | "0" => Ok(json!(false)),
            other => Err(ConfigError(format!(
                "{variable}: `{other}` is not true or false"
            ))),
        },
        Kind::Json => serde_json::from_str(text)
            .map_err(|e| ConfigError(format!("{variable} must be a JSON object: {e}"))),
    }
}

fn set(section: &mut Map<String, Value>, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            section.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let child = section
                .entry((*first).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(child) = child {
                set(child, rest, value);
            }
        }
    }
}

fn split(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(String::from)
        .collect()
}

/// `clientId` and `client_id` alike as `client_id`.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Option<serde_yaml_ng::Value> {
        Some(serde_yaml_ng::from_str(text).expect("yaml"))
    }

    #[test]
    fn dagus_file_keys_reach_the_plugin_in_camel_case_with_group_names_untouched() {
        let oidc = yaml(
            "client_id: dagu\nclient_secret: s\nissuer: https://idp\nclient_url: http://h\n\
             scopes: openid,email\nrole_mapping:\n  group_mappings:\n    dev_team: developer\n  \
             workspace_mappings:\n    ops_team:\n      - workspace: prod\n        role: operator\n",
        );
        let sections = plugin_sections(oidc, None, &Env::new()).expect("parses");
        let oidc = &sections["oidc"];
        assert_eq!(oidc["clientId"], "dagu");
        assert_eq!(oidc["scopes"], json!(["openid", "email"]));
        assert_eq!(
            oidc["roleMapping"]["groupMappings"]["dev_team"],
            "developer"
        );
        assert_eq!(
            oidc["roleMapping"]["workspaceMappings"]["ops_team"][0]["workspace"],
            "prod"
        );
        assert!(!sections.contains_key("proxy"));
    }

    #[test]
    fn environment_variables_override_the_file() {
        let env: Env = [
            ("DAGU_AUTH_OIDC_CLIENT_SECRET", "from-env"),
            ("DAGU_AUTH_OIDC_AUTO_SIGNUP", "false"),
            ("DAGU_AUTH_OIDC_ALLOWED_DOMAINS", "a.test, b.test"),
            (
                "DAGU_AUTH_OIDC_WORKSPACE_MAPPINGS",
                r#"{"ops":[{"workspace":"prod","role":"operator"}]}"#,
            ),
            ("DAGU_AUTH_PROXY_ENABLED", "true"),
            ("DAGU_AUTH_PROXY_HEADERS_USER", "X-Auth-User"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let sections = plugin_sections(yaml("client_secret: file"), None, &env).expect("parses");
        assert_eq!(sections["oidc"]["clientSecret"], "from-env");
        assert_eq!(sections["oidc"]["autoSignup"], false);
        assert_eq!(
            sections["oidc"]["allowedDomains"],
            json!(["a.test", "b.test"])
        );
        assert_eq!(
            sections["oidc"]["roleMapping"]["workspaceMappings"]["ops"][0]["role"],
            "operator"
        );
        assert_eq!(sections["proxy"]["enabled"], true);
        assert_eq!(sections["proxy"]["headers"]["user"], "X-Auth-User");
    }

    #[test]
    fn a_bad_flag_names_its_variable() {
        let env: Env = [("DAGU_AUTH_PROXY_ENABLED".to_owned(), "yes".to_owned())].into();
        let error = plugin_sections(None, None, &env).expect_err("refused");
        assert!(error.0.contains("DAGU_AUTH_PROXY_ENABLED"), "{}", error.0);
    }
}
