//! Who may do what where. Pure functions; the session cache's packed form of a principal
//! (`service/cache/packed_access.rs`) decides through [`decide_with`] so both forms share one rule.
//!
//! The rules hosts rely on:
//! - An action needs at least its [`minimum_role`]: view viewer, execute operator, write developer,
//!   audit manager, admin admin. Roles are ranked admin > manager > developer > operator > viewer.
//! - In the default workspace (the empty name) the top-level role applies.
//! - A principal with access to all workspaces has its top-level role in every workspace the host
//!   names, including names that the workspace-name rules (`validate_workspace_name`) would refuse
//!   for a grant: "all" means every workspace the host has, and the host owns its naming.
//! - A principal with scoped access has, in a named workspace, the role of the grant with exactly
//!   that name; matching is case-sensitive (a grant on `ops` does not reach `OPS`). A workspace
//!   without a grant is not visible (NOT_VISIBLE: a host answers as if it did not exist).
//! - AUDIT and ADMIN are installation-wide: they are decided on the top-level role whatever the
//!   workspace, so in a workspace without a grant they answer FORBIDDEN, never NOT_VISIBLE.

use dagu_auth_vocab::{DaguAuthAction as Action, DaguAuthDecision as Decision};

use crate::model::{Role, WorkspaceAccess};

/// The lowest role that may perform `action`.
pub const fn minimum_role(action: Action) -> Role {
    match action {
        Action::View => Role::Viewer,
        Action::Execute => Role::Operator,
        Action::Write => Role::Developer,
        Action::Audit => Role::Manager,
        Action::Admin => Role::Admin,
    }
}

/// The role that applies in `workspace` (empty = the default workspace), or `None` when the
/// workspace is not visible to the principal. All-workspace access applies to any name; scoped
/// access only to a grant's exact (case-sensitive) name.
pub fn effective_role(role: Role, access: &WorkspaceAccess, workspace: &str) -> Option<Role> {
    effective_role_with(role, access.all, |w| access.grant_for(w), workspace)
}

fn effective_role_with(
    role: Role,
    all: bool,
    grant_for: impl FnOnce(&str) -> Option<Role>,
    workspace: &str,
) -> Option<Role> {
    if workspace.is_empty() || all {
        return Some(role);
    }
    grant_for(workspace)
}

/// Whether a principal with top-level `role` and `access` may do `action` in `workspace`, by the
/// rules at the top of this file.
pub fn decide(role: Role, access: &WorkspaceAccess, action: Action, workspace: &str) -> Decision {
    decide_with(role, access.all, |w| access.grant_for(w), action, workspace)
}

/// [`decide`] for a caller that keeps the grants in its own form (the session cache's
/// `PackedAccess`); `grant_for` answers the granted role in a named workspace.
pub fn decide_with(
    role: Role,
    all: bool,
    grant_for: impl FnOnce(&str) -> Option<Role>,
    action: Action,
    workspace: &str,
) -> Decision {
    // Audit and admin are installation-wide: they always use the top-level role, so a workspace
    // without a grant makes them FORBIDDEN rather than NOT_VISIBLE.
    let applies = match action {
        Action::Audit | Action::Admin => Some(role),
        _ => effective_role_with(role, all, grant_for, workspace),
    };
    match applies {
        None => Decision::NotVisible,
        Some(role) if role >= minimum_role(action) => Decision::Allow,
        Some(_) => Decision::Forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{ACTIONS, scoped};
    use Action::{Admin, Audit, Execute, View, Write};
    use Decision::{Allow, Forbidden, NotVisible};

    /// A viewer with developer rights in `ops` and operator rights in `prod`.
    fn ops_and_prod() -> WorkspaceAccess {
        scoped(&[("ops", Role::Developer), ("prod", Role::Operator)])
    }

    /// `(action, workspace, expected)` for the scoped viewer of [`ops_and_prod`].
    fn assert_scoped_viewer(cases: &[(Action, &str, Decision)]) {
        for (action, workspace, expected) in cases {
            assert_eq!(
                decide(Role::Viewer, &ops_and_prod(), *action, workspace),
                *expected,
                "{action:?} in {workspace:?}"
            );
        }
    }

    #[test]
    fn the_role_table_matches_the_contract() {
        let expected: [(Role, [bool; 5]); 5] = [
            (Role::Admin, [true, true, true, true, true]),
            (Role::Manager, [true, true, true, true, false]),
            (Role::Developer, [true, true, true, false, false]),
            (Role::Operator, [true, true, false, false, false]),
            (Role::Viewer, [true, false, false, false, false]),
        ];
        for (role, allowed) in expected {
            for (action, allow) in ACTIONS.into_iter().zip(allowed) {
                let want = if allow { Allow } else { Forbidden };
                assert_eq!(
                    decide(role, &WorkspaceAccess::all(), action, "any"),
                    want,
                    "{role} {action:?}"
                );
            }
        }
    }

    #[test]
    fn scoped_user_gets_the_grant_role_in_a_granted_workspace() {
        assert_scoped_viewer(&[(Write, "ops", Allow), (Execute, "prod", Allow)]);
        assert_scoped_viewer(&[(Write, "prod", Forbidden)]);
    }

    #[test]
    fn ungranted_workspace_is_not_visible() {
        let finance = [View, Execute, Write].map(|action| (action, "finance", NotVisible));
        assert_scoped_viewer(&finance);
    }

    #[test]
    fn grant_matching_is_case_sensitive() {
        assert_scoped_viewer(&[(View, "OPS", NotVisible), (View, "Prod", NotVisible)]);
        assert_scoped_viewer(&[(View, "ops ", NotVisible)]);
    }

    #[test]
    fn default_workspace_uses_the_top_level_role() {
        assert_scoped_viewer(&[(View, "", Allow), (Execute, "", Forbidden)]);
    }

    #[test]
    fn audit_and_admin_ignore_workspace_grants() {
        assert_scoped_viewer(&[(Audit, "ops", Forbidden), (Admin, "finance", Forbidden)]);
        let manager = decide(Role::Manager, &WorkspaceAccess::all(), Audit, "");
        assert_eq!(manager, Allow);
    }

    #[test]
    fn audit_or_admin_in_an_ungranted_workspace_is_forbidden_not_invisible() {
        assert_scoped_viewer(&[(Audit, "finance", Forbidden), (Admin, "finance", Forbidden)]);
        assert_scoped_viewer(&[(Audit, "OPS", Forbidden)]);
    }

    #[test]
    fn all_workspace_principals_are_allowed_on_names_no_grant_could_hold() {
        let names = [
            "has space",
            "ü",
            "a/b",
            "all",
            "Default",
            "GLOBAL",
            &"x".repeat(65),
        ];
        for name in names {
            assert!(
                crate::model::validate_workspace_name(name).is_err(),
                "{name:?} is a valid grant name; pick one that is not"
            );
            assert_eq!(
                decide(
                    Role::Developer,
                    &WorkspaceAccess::all(),
                    Action::Write,
                    name
                ),
                Decision::Allow,
                "{name:?}"
            );
            assert_eq!(
                decide(Role::Viewer, &WorkspaceAccess::all(), Action::Write, name),
                Decision::Forbidden,
                "{name:?}: the top-level role still decides"
            );
        }
    }
}
