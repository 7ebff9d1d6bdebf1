//! Who may do what where (HTTP_API.md, "Roles and workspace access"). Pure functions.

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
/// workspace is not visible to the principal.
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
    // Audit and admin are installation-wide: they always use the top-level role.
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
    use crate::model::Grant;

    const ACTIONS: [Action; 5] = [
        Action::View,
        Action::Execute,
        Action::Write,
        Action::Audit,
        Action::Admin,
    ];

    fn scoped() -> WorkspaceAccess {
        WorkspaceAccess {
            all: false,
            grants: vec![
                Grant {
                    workspace: "ops".into(),
                    role: Role::Developer,
                },
                Grant {
                    workspace: "prod".into(),
                    role: Role::Operator,
                },
            ],
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
                let want = if allow {
                    Decision::Allow
                } else {
                    Decision::Forbidden
                };
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
        assert_eq!(
            decide(Role::Viewer, &scoped(), Action::Write, "ops"),
            Decision::Allow
        );
        assert_eq!(
            decide(Role::Viewer, &scoped(), Action::Execute, "prod"),
            Decision::Allow
        );
        assert_eq!(
            decide(Role::Viewer, &scoped(), Action::Write, "prod"),
            Decision::Forbidden
        );
    }

    #[test]
    fn ungranted_workspace_is_not_visible() {
        for action in [Action::View, Action::Execute, Action::Write] {
            assert_eq!(
                decide(Role::Viewer, &scoped(), action, "finance"),
                Decision::NotVisible
            );
        }
    }

    #[test]
    fn workspace_names_match_exactly() {
        assert_eq!(
            decide(Role::Viewer, &scoped(), Action::View, "OPS"),
            Decision::NotVisible
        );
    }

    #[test]
    fn default_workspace_uses_the_top_level_role() {
        assert_eq!(
            decide(Role::Viewer, &scoped(), Action::View, ""),
            Decision::Allow
        );
        assert_eq!(
            decide(Role::Viewer, &scoped(), Action::Execute, ""),
            Decision::Forbidden
        );
    }

    #[test]
    fn audit_and_admin_ignore_workspace_grants() {
        assert_eq!(
            decide(Role::Viewer, &scoped(), Action::Audit, "ops"),
            Decision::Forbidden
        );
        assert_eq!(
            decide(Role::Viewer, &scoped(), Action::Admin, "finance"),
            Decision::Forbidden
        );
        assert_eq!(
            decide(Role::Manager, &WorkspaceAccess::all(), Action::Audit, ""),
            Decision::Allow
        );
    }
}
