//! WorkspaceAccess validation on `POST /users` (the same rules on PATCH are in `users_update`).

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo};
use serde_json::{Value, json};

use crate::fixtures::start_with_admin;

/// Creating a user with `role` and `access` is refused as invalid workspace access.
#[track_caller]
fn assert_create_refused(host: &HostDemo, token: &str, role: &str, access: Value) {
    let response = create_user_with(host, token, &new_user("wsuser", role, Some(access)));
    assert_invalid_workspace_access(&response);
}

fn workspace_access_with_all_and_grants_is_rejected(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let access = json!({"all": true, "grants": [{"workspace": "ops", "role": "developer"}]});
    assert_create_refused(&host, &token, "viewer", access.clone());
    assert_create_refused(&host, &token, "developer", access);
}

both_abis!(workspace_access_with_all_and_grants_is_rejected);

fn scoped_workspace_access_requires_the_viewer_role(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    for role in ["admin", "manager", "developer", "operator"] {
        assert_create_refused(&host, &token, role, scoped(&[("ops", "operator")]));
    }
}

both_abis!(scoped_workspace_access_requires_the_viewer_role);

fn scoped_workspace_access_requires_a_grant(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    assert_create_refused(&host, &token, "viewer", json!({"all": false, "grants": []}));
    assert_create_refused(&host, &token, "viewer", json!({"all": false}));
}

both_abis!(scoped_workspace_access_requires_a_grant);

fn workspace_names_must_be_valid(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let too_long = "w".repeat(65);
    for name in [
        "",
        "bad name",
        "ops/prod",
        "ops.prod",
        "café",
        " ops",
        too_long.as_str(),
    ] {
        assert_create_refused(&host, &token, "viewer", scoped(&[(name, "viewer")]));
    }
}

both_abis!(workspace_names_must_be_valid);

fn duplicate_workspace_grants_are_rejected(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let cases = [
        scoped(&[("ops", "developer"), ("ops", "operator")]),
        scoped(&[("ops", "viewer"), ("prod", "viewer"), ("ops", "viewer")]),
    ];
    for access in cases {
        assert_create_refused(&host, &token, "viewer", access);
    }
}

both_abis!(duplicate_workspace_grants_are_rejected);

fn reserved_workspace_names_are_rejected(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    for name in ["all", "default", "global", "ALL", "Default", "gLoBaL"] {
        assert_create_refused(&host, &token, "viewer", scoped(&[(name, "viewer")]));
    }
}

both_abis!(reserved_workspace_names_are_rejected);

fn grant_roles_must_be_valid(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    for role in ["superuser", ""] {
        assert_create_refused(&host, &token, "viewer", scoped(&[("ops", role)]));
    }
}

both_abis!(grant_roles_must_be_valid);

fn admin_grants_are_rejected(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    assert_create_refused(&host, &token, "viewer", scoped(&[("ops", "admin")]));
    assert_eq!(usernames(&list_users(&host, &token)), ["admin"]);
}

both_abis!(admin_grants_are_rejected);

fn valid_scoped_workspace_access_is_accepted(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let longest = "w".repeat(64);
    let grants = [
        ("ops", "developer"),
        ("prod", "operator"),
        ("finance", "viewer"),
        ("Team_A-9", "manager"),
        (longest.as_str(), "viewer"),
    ];
    let access = scoped(&grants);
    let user = create_user(&host, &token, "bob", "viewer", Some(access.clone()));
    assert_eq!(user["workspaceAccess"]["all"], false);
    assert_eq!(grant_set(&user["workspaceAccess"]), grant_set(&access));
}

both_abis!(valid_scoped_workspace_access_is_accepted);
