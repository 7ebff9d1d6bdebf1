//! Property tests: workspace-access validation and the effective role per workspace, against a
//! reference model written here from the rules in the plainest terms (role ranks as numbers,
//! names checked character by character), independent of the code under test.

use dagu_auth::model::{Grant, GrantInput, Role, WorkspaceAccess, WorkspaceAccessInput};
use dagu_auth::policy::{decide, effective_role};
use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision};
use proptest::prelude::*;

const ROLE_NAMES: [&str; 5] = ["admin", "manager", "developer", "operator", "viewer"];

/// The model's own ranking: higher is more privileged.
fn rank(role: &str) -> u8 {
    match role {
        "admin" => 4,
        "manager" => 3,
        "developer" => 2,
        "operator" => 1,
        _ => 0,
    }
}

fn model_name_ok(name: &str) -> bool {
    let reserved = ["all", "default", "global"].contains(&name.to_lowercase().as_str());
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !reserved
}

/// Validation of a WorkspaceAccess, with grant roles as text: `all` admits no grants; otherwise
/// the top-level role is viewer and there is at least one grant, each on a valid workspace name
/// that no other grant repeats (case-insensitively), with a known role other than admin.
fn model_valid(all: bool, grants: &[(String, String)], role: &str) -> bool {
    if all {
        return grants.is_empty();
    }
    let mut seen: Vec<String> = Vec::new();
    for (workspace, grant_role) in grants {
        let folded = workspace.to_lowercase();
        if !model_name_ok(workspace)
            || !ROLE_NAMES.contains(&grant_role.as_str())
            || grant_role == "admin"
            || seen.contains(&folded)
        {
            return false;
        }
        seen.push(folded);
    }
    role == "viewer" && !grants.is_empty()
}

/// The effective role in workspace W: the top-level role in the default workspace (empty name) or
/// with access to all workspaces, else the role of the grant named exactly W, else none.
fn model_effective(
    role: &str,
    all: bool,
    grants: &[(String, String)],
    workspace: &str,
) -> Option<String> {
    if workspace.is_empty() || all {
        return Some(role.to_string());
    }
    grants
        .iter()
        .find(|(name, _)| name == workspace)
        .map(|(_, grant_role)| grant_role.clone())
}

fn model_decide(
    role: &str,
    all: bool,
    grants: &[(String, String)],
    action: Action,
    workspace: &str,
) -> Decision {
    let (needed, installation_wide) = match action {
        Action::View => (0, false),
        Action::Execute => (1, false),
        Action::Write => (2, false),
        Action::Audit => (3, true),
        Action::Admin => (4, true),
    };
    let applies = match installation_wide {
        true => Some(role.to_string()),
        false => model_effective(role, all, grants, workspace),
    };
    match applies {
        None => Decision::NotVisible,
        Some(role) if rank(&role) >= needed => Decision::Allow,
        Some(_) => Decision::Forbidden,
    }
}

fn role_name() -> impl Strategy<Value = String> {
    prop::sample::select(ROLE_NAMES.to_vec()).prop_map(String::from)
}

/// Grant roles as callers send them: mostly real, sometimes not.
fn grant_role_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => role_name(),
        1 => prop::sample::select(vec!["Admin", "", "root", "VIEWER"]).prop_map(String::from),
    ]
}

/// Workspace names around every edge of the rules.
fn workspace_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z]{1,3}",
        2 => "[A-Za-z0-9_-]{1,70}",
        1 => prop::sample::select(vec!["all", "ALL", "Default", "global", "", "a b", "ü", "x/y", "ops", "OPS"])
            .prop_map(String::from),
        1 => "\\PC{0,8}",
    ]
}

fn grants() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((workspace_name(), grant_role_text()), 0..5)
}

fn input(all: bool, grants: &[(String, String)]) -> WorkspaceAccessInput {
    WorkspaceAccessInput {
        all,
        grants: grants
            .iter()
            .map(|(workspace, role)| GrantInput {
                workspace: workspace.clone(),
                role: role.clone(),
            })
            .collect(),
    }
}

fn parse(role: &str) -> Role {
    role.parse().expect("a role name")
}

/// Access the Engine would store: valid by construction (all, or unique scoped grants for a viewer).
fn stored_access() -> impl Strategy<Value = (String, bool, Vec<(String, String)>)> {
    prop_oneof![
        role_name().prop_map(|role| (role, true, Vec::new())),
        prop::collection::btree_map(
            // Three letters can spell `all`, which is reserved: such an access is not stored.
            "[a-z]{1,3}".prop_filter("a name that can be stored", |name| model_name_ok(name)),
            prop::sample::select(vec!["manager", "developer", "operator", "viewer"]),
            1..4
        )
        .prop_map(|grants| {
            let grants = grants
                .into_iter()
                .map(|(w, r)| (w, r.to_string()))
                .collect();
            ("viewer".to_string(), false, grants)
        }),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop::sample::select(vec![
        Action::View,
        Action::Execute,
        Action::Write,
        Action::Audit,
        Action::Admin,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn workspace_access_is_accepted_exactly_when_the_model_accepts_it(
        role in role_name(), all in any::<bool>(), grants in grants()
    ) {
        let verdict = input(all, &grants).resolve(parse(&role));
        prop_assert_eq!(
            verdict.is_ok(),
            model_valid(all, &grants, &role),
            "{:?} for {} answered {:?}", grants, role, verdict
        );
    }

    #[test]
    fn accepted_access_is_stored_as_sent(
        role in role_name(), all in any::<bool>(), grants in grants()
    ) {
        if let Ok(access) = input(all, &grants).resolve(parse(&role)) {
            let expected: Vec<Grant> = grants
                .iter()
                .map(|(workspace, role)| Grant { workspace: workspace.clone(), role: parse(role) })
                .collect();
            prop_assert_eq!(access, WorkspaceAccess { all, grants: expected });
        }
    }

    #[test]
    fn the_effective_role_follows_the_model_in_every_workspace(
        (role, all, grants) in stored_access(), workspace in workspace_name()
    ) {
        let access = input(all, &grants).resolve(parse(&role)).expect("valid by construction");
        let expected = model_effective(&role, all, &grants, &workspace).map(|r| parse(&r));
        prop_assert_eq!(effective_role(parse(&role), &access, &workspace), expected);
    }

    #[test]
    fn every_decision_follows_the_model(
        (role, all, grants) in stored_access(), workspace in workspace_name(), action in action()
    ) {
        let access = input(all, &grants).resolve(parse(&role)).expect("valid by construction");
        prop_assert_eq!(
            decide(parse(&role), &access, action, &workspace),
            model_decide(&role, all, &grants, action, &workspace)
        );
    }
}
