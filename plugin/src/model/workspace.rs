use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::Role;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub workspace: String,
    pub role: Role,
}

/// Which workspaces a principal may see, and with which role in each (the rules are in `policy.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceAccess {
    pub all: bool,
    #[serde(default)]
    pub grants: Vec<Grant>,
}

impl Default for WorkspaceAccess {
    fn default() -> Self {
        Self::all()
    }
}

/// Workspace access as callers send it: grant roles are still text, so an unknown role is reported
/// as a workspace-access problem rather than as malformed JSON. Unknown fields are ignored, here
/// and in each grant, as Dagu's decoder ignores them: a client that sends one more field must not
/// break.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WorkspaceAccessInput {
    pub all: bool,
    #[serde(default)]
    pub grants: Vec<GrantInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GrantInput {
    pub workspace: String,
    pub role: String,
}

impl WorkspaceAccessInput {
    /// Parses the grant roles and checks the result for a principal whose top-level role is `role`.
    pub fn resolve(self, role: Role) -> Result<WorkspaceAccess, String> {
        let grants = self
            .grants
            .into_iter()
            .map(|grant| match grant.role.parse() {
                Ok(role) => Ok(Grant {
                    workspace: grant.workspace,
                    role,
                }),
                Err(_) => Err(format!(
                    "workspace {:?} has an invalid role {:?}",
                    grant.workspace, grant.role
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let access = WorkspaceAccess {
            all: self.all,
            grants,
        };
        access.validate(role)?;
        Ok(access)
    }
}

impl From<WorkspaceAccess> for WorkspaceAccessInput {
    fn from(access: WorkspaceAccess) -> Self {
        Self {
            all: access.all,
            grants: access
                .grants
                .into_iter()
                .map(|grant| GrantInput {
                    workspace: grant.workspace,
                    role: grant.role.as_str().into(),
                })
                .collect(),
        }
    }
}

const RESERVED_WORKSPACES: [&str; 3] = ["all", "default", "global"];
const MAX_WORKSPACE_NAME: usize = 64;

impl WorkspaceAccess {
    pub fn all() -> Self {
        Self {
            all: true,
            grants: Vec::new(),
        }
    }

    /// The grant for `workspace`, if scoped access names it.
    pub fn grant_for(&self, workspace: &str) -> Option<Role> {
        self.grants
            .iter()
            .find(|grant| grant.workspace == workspace)
            .map(|grant| grant.role)
    }

    /// Checks this access for a principal whose top-level role is `role`. The error text is the
    /// part after `invalid workspace access: `, in Dagu's words for the rules Dagu has too.
    pub fn validate(&self, role: Role) -> Result<(), String> {
        if self.all {
            return match self.grants.is_empty() {
                true => Ok(()),
                false => Err("all-workspaces access cannot include workspace grants".into()),
            };
        }
        if role != Role::Viewer {
            return Err("scoped workspace access requires global role viewer".into());
        }
        if self.grants.is_empty() {
            return Err("scoped workspace access requires at least one workspace grant".into());
        }
        let mut seen = HashSet::with_capacity(self.grants.len());
        for grant in &self.grants {
            validate_workspace_name(&grant.workspace)?;
            if !seen.insert(grant.workspace.to_ascii_lowercase()) {
                return Err(format!("duplicate workspace grant {:?}", grant.workspace));
            }
            if grant.role == Role::Admin {
                return Err("admin cannot be scoped to a workspace".into());
            }
        }
        Ok(())
    }
}

/// 1-64 characters of `[A-Za-z0-9_-]`, not a reserved name.
pub fn validate_workspace_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("workspace name is required".into());
    }
    if name.len() > MAX_WORKSPACE_NAME {
        return Err(format!(
            "workspace name {name:?} is longer than {MAX_WORKSPACE_NAME} characters"
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(format!(
            "workspace name {name:?} may only contain letters, digits, '_' and '-'"
        ));
    }
    if RESERVED_WORKSPACES
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
    {
        return Err(format!("workspace name {name:?} is reserved"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::scoped;

    #[test]
    fn all_access_is_valid_for_every_role() {
        for role in Role::ALL {
            assert_eq!(WorkspaceAccess::all().validate(role), Ok(()));
        }
    }

    #[test]
    fn all_access_with_grants_is_refused() {
        let mut access = scoped(&[("ops", Role::Developer)]);
        access.all = true;
        assert_eq!(
            access.validate(Role::Viewer),
            Err("all-workspaces access cannot include workspace grants".into())
        );
    }

    #[test]
    fn scoped_access_requires_top_level_viewer() {
        let access = scoped(&[("ops", Role::Developer)]);
        assert_eq!(access.validate(Role::Viewer), Ok(()));
        for role in [Role::Admin, Role::Manager, Role::Developer, Role::Operator] {
            assert_eq!(
                access.validate(role),
                Err("scoped workspace access requires global role viewer".into()),
                "{role}"
            );
        }
    }

    #[test]
    fn scoped_access_needs_a_grant() {
        assert_eq!(
            scoped(&[]).validate(Role::Viewer),
            Err("scoped workspace access requires at least one workspace grant".into())
        );
    }

    #[test]
    fn duplicate_workspaces_are_refused_case_insensitively() {
        let access = scoped(&[("ops", Role::Developer), ("OPS", Role::Viewer)]);
        assert_eq!(
            access.validate(Role::Viewer),
            Err(r#"duplicate workspace grant "OPS""#.into())
        );
    }

    #[test]
    fn admin_grant_is_refused() {
        assert_eq!(
            scoped(&[("ops", Role::Admin)]).validate(Role::Viewer),
            Err("admin cannot be scoped to a workspace".into())
        );
    }

    #[test]
    fn unknown_fields_in_access_and_grants_are_ignored() {
        let input: WorkspaceAccessInput = serde_json::from_value(serde_json::json!({
            "all": false,
            "grants": [{"workspace": "ops", "role": "developer", "note": {"any": [1]}}],
            "syncedBy": "oidc",
        }))
        .expect("unknown fields are ignored");
        assert_eq!(
            input.resolve(Role::Viewer),
            Ok(scoped(&[("ops", Role::Developer)]))
        );
    }

    #[test]
    fn wrong_types_in_access_are_still_refused() {
        for wrong in [
            serde_json::json!({"all": "yes"}),
            serde_json::json!({"all": false, "grants": {"workspace": "ops"}}),
            serde_json::json!({"all": false, "grants": [{"workspace": 1, "role": "viewer"}]}),
            serde_json::json!({"grants": []}),
        ] {
            assert!(
                serde_json::from_value::<WorkspaceAccessInput>(wrong.clone()).is_err(),
                "{wrong}"
            );
        }
    }

    #[test]
    fn an_unknown_grant_role_is_a_workspace_access_problem() {
        let input = WorkspaceAccessInput {
            all: false,
            grants: vec![GrantInput {
                workspace: "ops".into(),
                role: "superuser".into(),
            }],
        };
        let refusal = input.resolve(Role::Viewer).expect_err("unknown role");
        assert!(refusal.contains("invalid role"), "{refusal}");
    }

    #[test]
    fn workspace_names_follow_the_rules() {
        assert_eq!(
            validate_workspace_name(""),
            Err("workspace name is required".into())
        );
        for good in ["ops", "prod-1", "A_b", &"x".repeat(64)] {
            assert_eq!(validate_workspace_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "has space",
            "ü",
            "a/b",
            &"x".repeat(65),
            "all",
            "Default",
            "GLOBAL",
        ] {
            assert!(validate_workspace_name(bad).is_err(), "{bad}");
        }
    }
}
