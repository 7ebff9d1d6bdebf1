//! From an identity's groups and claims to a role and workspace access, as Dagu maps them: a
//! role from `role_attribute_path` or the highest of `group_mappings` (with every workspace),
//! else the grants of `workspace_mappings` (the highest role per workspace) under the role
//! viewer, else the defaults, or nothing at all under the strict rule.

use std::collections::BTreeMap;

use super::jq::RoleAttributePath;
use crate::model::{Grant, Role, WorkspaceAccess};

/// What a provider's `role_mapping` section says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMapping {
    pub group_mappings: BTreeMap<String, Role>,
    pub workspace_mappings: BTreeMap<String, Vec<Grant>>,
    /// `default_workspace_access: all` (true, the default) or `none`.
    pub default_workspace_access_all: bool,
    pub default_role: Role,
    /// OIDC only.
    pub role_attribute_path: Option<RoleAttributePath>,
    /// `role_attribute_strict` (OIDC) or `require_mapping` (proxy): no mapping matched, no entry.
    pub strict: bool,
    /// Keep what the first sign-in assigned instead of re-syncing at every sign-in.
    pub skip_org_role_sync: bool,
}

impl Default for RoleMapping {
    fn default() -> Self {
        Self {
            group_mappings: BTreeMap::new(),
            workspace_mappings: BTreeMap::new(),
            default_workspace_access_all: true,
            default_role: Role::Viewer,
            role_attribute_path: None,
            strict: false,
            skip_org_role_sync: false,
        }
    }
}

/// A role and the workspaces it holds in.
pub type Assignment = (Role, WorkspaceAccess);

impl RoleMapping {
    /// The assignment for a sign-in with `groups` and `claims`; `None` when the strict rule found
    /// no mapping.
    pub fn assign(&self, groups: &[String], claims: &serde_json::Value) -> Option<Assignment> {
        if let Some(role) = self.global_role(groups, claims) {
            return Some((role, WorkspaceAccess::all()));
        }
        if let Some(grants) = self.workspace_grants(groups) {
            return Some((Role::Viewer, WorkspaceAccess { all: false, grants }));
        }
        match (self.strict, self.default_workspace_access_all) {
            (true, _) => None,
            (false, false) => Some((
                Role::Viewer,
                WorkspaceAccess {
                    all: false,
                    grants: Vec::new(),
                },
            )),
            (false, true) => Some((self.default_role, WorkspaceAccess::all())),
        }
    }

    /// Whether the mapping decides workspace access (so a sign-in re-sync overwrites it).
    pub fn manages_workspace_access(&self) -> bool {
        !self.workspace_mappings.is_empty() || !self.default_workspace_access_all
    }

    /// Whether anything beyond the default role is configured (Dagu's `IsConfigured`).
    pub fn is_configured(&self) -> bool {
        self.role_attribute_path.is_some()
            || !self.group_mappings.is_empty()
            || self.manages_workspace_access()
    }

    fn global_role(&self, groups: &[String], claims: &serde_json::Value) -> Option<Role> {
        let from_path = self
            .role_attribute_path
            .as_ref()
            .and_then(|path| path.first_string(claims))
            .and_then(|text| text.to_lowercase().parse().ok());
        from_path.or_else(|| {
            groups
                .iter()
                .filter_map(|group| self.group_mappings.get(group).copied())
                .max()
        })
    }

    fn workspace_grants(&self, groups: &[String]) -> Option<Vec<Grant>> {
        let mut merged: BTreeMap<&str, Role> = BTreeMap::new();
        let mut matched = false;
        for grants in groups
            .iter()
            .filter_map(|group| self.workspace_mappings.get(group))
        {
            matched = true;
            for grant in grants {
                let role = merged.entry(&grant.workspace).or_insert(grant.role);
                *role = (*role).max(grant.role);
            }
        }
        matched.then(|| {
            merged
                .into_iter()
                .map(|(workspace, role)| Grant {
                    workspace: workspace.to_string(),
                    role,
                })
                .collect()
        })
    }
}

/// The groups under `claim` (a dot path such as Keycloak's `realm_access.roles`): an array of
/// strings, or one string of space-separated names.
pub fn groups_in_claims(claims: &serde_json::Value, claim: &str) -> Vec<String> {
    let found = claim
        .split('.')
        .try_fold(claims, |value, part| value.as_object()?.get(part));
    match found {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(String::from))
            .collect(),
        Some(serde_json::Value::String(text)) => {
            text.split_whitespace().map(String::from).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    fn mapping() -> RoleMapping {
        RoleMapping {
            group_mappings: [
                ("devs".to_string(), Role::Developer),
                ("admins".to_string(), Role::Admin),
            ]
            .into(),
            workspace_mappings: [(
                "ops".to_string(),
                vec![Grant {
                    workspace: "prod".into(),
                    role: Role::Operator,
                }],
            )]
            .into(),
            ..RoleMapping::default()
        }
    }

    #[test]
    fn the_highest_mapped_group_role_wins_with_every_workspace() {
        let assigned = mapping().assign(&groups(&["devs", "admins", "x"]), &json!({}));
        assert_eq!(assigned, Some((Role::Admin, WorkspaceAccess::all())));
    }

    #[test]
    fn workspace_mappings_apply_under_viewer_when_no_global_role_matched() {
        let mut m = mapping();
        m.workspace_mappings.insert(
            "ops2".into(),
            vec![Grant {
                workspace: "prod".into(),
                role: Role::Developer,
            }],
        );
        let (role, access) = m
            .assign(&groups(&["ops", "ops2"]), &json!({}))
            .expect("mapped");
        assert_eq!(role, Role::Viewer);
        assert!(!access.all);
        assert_eq!(access.grant_for("prod"), Some(Role::Developer));
    }

    #[test]
    fn defaults_apply_unless_strict() {
        let mut m = mapping();
        m.default_role = Role::Operator;
        assert_eq!(
            m.assign(&[], &json!({})),
            Some((Role::Operator, WorkspaceAccess::all()))
        );
        m.default_workspace_access_all = false;
        let (role, access) = m.assign(&[], &json!({})).expect("mapped");
        assert_eq!(
            (role, access.all, access.grants.len()),
            (Role::Viewer, false, 0)
        );
        m.strict = true;
        assert_eq!(m.assign(&groups(&["nobody"]), &json!({})), None);
    }

    #[test]
    fn a_role_from_the_attribute_path_wins_over_groups() {
        let mut m = mapping();
        m.role_attribute_path = Some(RoleAttributePath::new(".dagu_role").expect("compiles"));
        let assigned = m.assign(&groups(&["admins"]), &json!({"dagu_role": "Manager"}));
        assert_eq!(assigned, Some((Role::Manager, WorkspaceAccess::all())));
        // Not a role: the groups decide.
        let assigned = m.assign(&groups(&["devs"]), &json!({"dagu_role": "boss"}));
        assert_eq!(assigned, Some((Role::Developer, WorkspaceAccess::all())));
    }

    #[test]
    fn groups_come_from_a_dot_path_as_an_array_or_a_spaced_string() {
        let claims = json!({"realm_access": {"roles": ["a", 1, "b"]}, "groups": "x y"});
        assert_eq!(
            groups_in_claims(&claims, "realm_access.roles"),
            groups(&["a", "b"])
        );
        assert_eq!(groups_in_claims(&claims, "groups"), groups(&["x", "y"]));
        assert!(groups_in_claims(&claims, "missing.path").is_empty());
    }
}
