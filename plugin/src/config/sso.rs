//! The `oidc` and `proxy` sections of the configuration JSON (Dagu's `auth.oidc.*` and
//! `auth.proxy.*`, camelCase here as every other key), checked at open so a mistake stops the
//! host at start with the key named, not at someone's first sign-in.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::{Grant, Role, validate_workspace_name};
use crate::sso::{
    DEFAULT_GROUPS_CLAIM, DEFAULT_OIDC_BUTTON_LABEL, DEFAULT_OIDC_SCOPES,
    DEFAULT_PROXY_BUTTON_LABEL, DEFAULT_PROXY_GROUPS_HEADER, DEFAULT_PROXY_SOURCE,
    DEFAULT_PROXY_USER_HEADER, OidcSettings, Provisioning, ProxySettings, RoleAttributePath,
    RoleMapping,
};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawOidc {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_url: Option<String>,
    issuer: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    whitelist: Vec<String>,
    auto_signup: Option<bool>,
    #[serde(default)]
    allowed_domains: Vec<String>,
    button_label: Option<String>,
    #[serde(default)]
    role_mapping: RawRoleMapping,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawProxy {
    enabled: Option<bool>,
    source: Option<String>,
    button_label: Option<String>,
    #[serde(default)]
    headers: RawProxyHeaders,
    auto_signup: Option<bool>,
    #[serde(default)]
    role_mapping: RawRoleMapping,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawProxyHeaders {
    user: Option<String>,
    groups: Option<String>,
}

/// Both providers' `roleMapping`; the keys one provider does not have are refused for it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRoleMapping {
    groups_claim: Option<String>,
    #[serde(default)]
    group_mappings: BTreeMap<String, String>,
    #[serde(default)]
    workspace_mappings: BTreeMap<String, Vec<RawGrant>>,
    default_workspace_access: Option<String>,
    default_role: Option<String>,
    role_attribute_path: Option<String>,
    role_attribute_strict: Option<bool>,
    require_mapping: Option<bool>,
    skip_org_role_sync: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    workspace: String,
    role: String,
}

/// `None` when the section is absent or sets nothing.
pub(super) fn oidc(raw: Option<RawOidc>) -> Result<Option<OidcSettings>> {
    let Some(raw) = raw else { return Ok(None) };
    let required = |value: Option<String>, key: &str| {
        value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::invalid_config(format!("oidc.{key} is required for OIDC")))
    };
    let client_id = required(raw.client_id, "clientId")?;
    let client_secret = required(raw.client_secret, "clientSecret")?;
    let issuer = web_url(&required(raw.issuer, "issuer")?, "oidc.issuer")?;
    let client_url = web_url(&required(raw.client_url, "clientUrl")?, "oidc.clientUrl")?;
    for domain in &raw.allowed_domains {
        if domain.trim().is_empty() || domain.contains('@') {
            return Err(Error::invalid_config(format!(
                "oidc.allowedDomains: {domain:?} is not a domain"
            )));
        }
    }
    let mut scopes: Vec<String> = raw
        .scopes
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect();
    if scopes.is_empty() {
        scopes = DEFAULT_OIDC_SCOPES.map(String::from).to_vec();
    }
    if !scopes.iter().any(|scope| scope == "openid") {
        return Err(Error::invalid_config("oidc.scopes must include openid"));
    }
    if raw.role_mapping.require_mapping.is_some() {
        return Err(Error::invalid_config(
            "oidc.roleMapping.requireMapping is a proxy setting; OIDC has roleAttributeStrict",
        ));
    }
    let groups_claim = raw
        .role_mapping
        .groups_claim
        .clone()
        .filter(|claim| !claim.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_GROUPS_CLAIM.into());
    let strict = raw.role_mapping.role_attribute_strict.unwrap_or(false);
    let mapping = role_mapping(raw.role_mapping, "oidc", strict)?;
    Ok(Some(OidcSettings {
        client_id,
        client_secret,
        client_url: client_url.trim_end_matches('/').to_string(),
        issuer,
        scopes,
        button_label: label(raw.button_label, DEFAULT_OIDC_BUTTON_LABEL),
        groups_claim,
        provisioning: Provisioning {
            auto_signup: raw.auto_signup.unwrap_or(true),
            email_required: true,
            whitelist: raw.whitelist,
            allowed_domains: raw.allowed_domains,
            mapping,
        },
    }))
}

/// `None` unless `enabled` is true.
pub(super) fn proxy(raw: Option<RawProxy>) -> Result<Option<ProxySettings>> {
    let Some(raw) = raw.filter(|raw| raw.enabled == Some(true)) else {
        return Ok(None);
    };
    let mapping = &raw.role_mapping;
    if mapping.groups_claim.is_some()
        || mapping.role_attribute_path.is_some()
        || mapping.role_attribute_strict.is_some()
    {
        return Err(Error::invalid_config(
            "proxy.roleMapping takes defaultRole, groupMappings, workspaceMappings, \
             defaultWorkspaceAccess, requireMapping and skipOrgRoleSync",
        ));
    }
    let user_header = header_name(raw.headers.user, DEFAULT_PROXY_USER_HEADER, "user")?;
    let groups_header = header_name(raw.headers.groups, DEFAULT_PROXY_GROUPS_HEADER, "groups")?;
    let strict = mapping.require_mapping.unwrap_or(false);
    let mapping = role_mapping(raw.role_mapping, "proxy", strict)?;
    Ok(Some(ProxySettings {
        source: label(raw.source, DEFAULT_PROXY_SOURCE),
        button_label: label(raw.button_label, DEFAULT_PROXY_BUTTON_LABEL),
        user_header,
        groups_header,
        provisioning: Provisioning {
            auto_signup: raw.auto_signup.unwrap_or(true),
            mapping,
            ..Provisioning::default()
        },
    }))
}

fn role_mapping(raw: RawRoleMapping, section: &str, strict: bool) -> Result<RoleMapping> {
    let key = |name: &str| format!("{section}.roleMapping.{name}");
    let parse_role = |text: &str, name: &str| {
        text.to_lowercase()
            .parse::<Role>()
            .map_err(|e| Error::invalid_config(format!("{}: {e}", key(name))))
    };
    let mut group_mappings = BTreeMap::new();
    for (group, role) in raw.group_mappings {
        group_mappings.insert(group, parse_role(&role, "groupMappings")?);
    }
    let mut workspace_mappings = BTreeMap::new();
    for (group, grants) in raw.workspace_mappings {
        let invalid = |problem: String| {
            Error::invalid_config(format!(
                "{} for group {group:?}: {problem}",
                key("workspaceMappings")
            ))
        };
        if group.trim().is_empty() {
            return Err(invalid("the group must not be blank".into()));
        }
        if grants.is_empty() {
            return Err(invalid("at least one grant is required".into()));
        }
        let mut parsed: Vec<Grant> = Vec::with_capacity(grants.len());
        for grant in grants {
            validate_workspace_name(&grant.workspace).map_err(invalid)?;
            if parsed
                .iter()
                .any(|known| known.workspace == grant.workspace)
            {
                return Err(invalid(format!(
                    "workspace {:?} appears twice",
                    grant.workspace
                )));
            }
            let role = parse_role(&grant.role, "workspaceMappings")?;
            if role == Role::Admin {
                return Err(invalid("admin cannot be scoped to a workspace".into()));
            }
            parsed.push(Grant {
                workspace: grant.workspace,
                role,
            });
        }
        workspace_mappings.insert(group, parsed);
    }
    let default_workspace_access_all = match raw.default_workspace_access.as_deref() {
        None | Some("") | Some("all") => true,
        Some("none") => false,
        Some(other) => {
            return Err(Error::invalid_config(format!(
                "{}: {other:?} must be all or none",
                key("defaultWorkspaceAccess")
            )));
        }
    };
    let default_role = match raw.default_role.as_deref().filter(|r| !r.is_empty()) {
        None => Role::Viewer,
        Some(text) => parse_role(text, "defaultRole")?,
    };
    let role_attribute_path = raw
        .role_attribute_path
        .filter(|path| !path.trim().is_empty())
        .map(|path| RoleAttributePath::new(&path))
        .transpose()
        .map_err(|e| Error::invalid_config(format!("{}: {e}", key("roleAttributePath"))))?;
    Ok(RoleMapping {
        group_mappings,
        workspace_mappings,
        default_workspace_access_all,
        default_role,
        role_attribute_path,
        strict,
        skip_org_role_sync: raw.skip_org_role_sync.unwrap_or(false),
    })
}

/// An absolute `http` or `https` URL without a query or fragment.
fn web_url(text: &str, key: &str) -> Result<String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !rest.is_empty() && !rest.starts_with('/') && !text.contains(['?', '#', ' ']) =>
        {
            Ok(text.to_string())
        }
        _ => Err(Error::invalid_config(format!(
            "{key}: {text:?} is not an http or https URL"
        ))),
    }
}

fn header_name(value: Option<String>, default: &str, which: &str) -> Result<String> {
    let name = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string());
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    match name.chars().all(token) {
        true => Ok(name),
        false => Err(Error::invalid_config(format!(
            "proxy.headers.{which}: {name:?} is not a header name"
        ))),
    }
}

fn label(value: Option<String>, default: &str) -> String {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

#[cfg(test)]
mod tests {
    use crate::Config;

    fn refusal(json: &str) -> String {
        match Config::from_json(json) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{json} was accepted"),
        }
    }

    const OIDC: &str = r#""clientId":"dagu","clientSecret":"s","issuer":"https://idp.test","clientUrl":"http://localhost:8080/""#;

    #[test]
    fn oidc_parses_with_dagus_defaults() {
        let config =
            Config::from_json(&format!(r#"{{"dataDir":"/x","oidc":{{{OIDC}}}}}"#)).expect("valid");
        let oidc = config.oidc.expect("on");
        assert_eq!(oidc.client_url, "http://localhost:8080");
        assert_eq!(oidc.scopes, ["openid", "profile", "email"]);
        assert_eq!(oidc.button_label, "Login with SSO");
        assert!(oidc.provisioning.auto_signup && oidc.provisioning.email_required);
        assert!(!format!("{oidc:?}").contains("\"s\""));
    }

    #[test]
    fn a_missing_client_secret_is_named() {
        let message = refusal(
            r#"{"dataDir":"/x","oidc":{"clientId":"d","issuer":"https://i","clientUrl":"http://h"}}"#,
        );
        assert!(
            message.contains("oidc.clientSecret is required"),
            "{message}"
        );
    }

    #[test]
    fn bad_roles_workspaces_and_jq_are_named() {
        for (mapping, named) in [
            (r#"{"groupMappings":{"g":"boss"}}"#, "groupMappings"),
            (
                r#"{"workspaceMappings":{"g":[{"workspace":"all","role":"viewer"}]}}"#,
                "workspaceMappings",
            ),
            (
                r#"{"workspaceMappings":{"g":[{"workspace":"ops","role":"admin"}]}}"#,
                "admin cannot be scoped",
            ),
            (
                r#"{"defaultWorkspaceAccess":"some"}"#,
                "defaultWorkspaceAccess",
            ),
            (r#"{"roleAttributePath":"if then"}"#, "roleAttributePath"),
        ] {
            let json = format!(r#"{{"dataDir":"/x","oidc":{{{OIDC},"roleMapping":{mapping}}}}}"#);
            let message = refusal(&json);
            assert!(message.contains(named), "{mapping}: {message}");
        }
    }

    #[test]
    fn the_proxy_needs_trusted_proxies_and_takes_only_its_own_keys() {
        let message = refusal(r#"{"dataDir":"/x","proxy":{"enabled":true}}"#);
        assert!(message.contains("trustedProxies"), "{message}");
        let trusted = r#""loginLimits":{"trustedProxies":["127.0.0.1"]}"#;
        let config = Config::from_json(&format!(
            r#"{{"dataDir":"/x",{trusted},"proxy":{{"enabled":true,"roleMapping":{{"requireMapping":true}}}}}}"#
        ))
        .expect("valid");
        let proxy = config.proxy.expect("on");
        assert_eq!(proxy.user_header, "X-Forwarded-User");
        assert!(proxy.provisioning.mapping.strict);
        let message = refusal(&format!(
            r#"{{"dataDir":"/x",{trusted},"proxy":{{"enabled":true,"roleMapping":{{"roleAttributePath":".r"}}}}}}"#
        ));
        assert!(message.contains("proxy.roleMapping"), "{message}");
        let off =
            Config::from_json(r#"{"dataDir":"/x","proxy":{"enabled":false}}"#).expect("valid");
        assert!(off.proxy.is_none());
    }
}
