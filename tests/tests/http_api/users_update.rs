//! Updating users: `PATCH /users/{id}`, Dagu's PATCH semantics included.

use dagu_auth_tests::Abi;
use dagu_auth_tests::api::*;
use serde_json::json;

use crate::fixtures::start_with_admin;

fn patch_changes_the_role(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let bob = create_user(&host, &token, "bob", "developer", None);
    let id = id_of(&bob);
    let response = update_user(&host, &token, &id, &json!({"role": "operator"}));
    response.expect_status(200).expect_json_content_type();
    let user = response.json()["user"].clone();
    assert_user_shape(&user);
    assert_eq!(user["role"], "operator");
    assert_eq!(user["username"], "bob");
    assert_eq!(user["workspaceAccess"], all_workspaces());
    assert_eq!(get_user(&host, &token, &id)["role"], "operator");
}

both_abis!(patch_changes_the_role);

fn patch_renames_the_user(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let id = id_of(&create_user(&host, &token, "bob", "developer", None));
    let response = update_user(&host, &token, &id, &json!({"username": "robert"}));
    response.expect_status(200);
    assert_eq!(response.json()["user"]["username"], "robert");
    login_token(&host, "robert", USER_PASSWORD);
    assert_invalid_credentials(&login(&host, "bob", USER_PASSWORD));
}

both_abis!(patch_renames_the_user);

fn patch_to_a_taken_username_is_a_conflict(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    create_user(&host, &token, "bob", "developer", None);
    let carol = id_of(&create_user(&host, &token, "carol", "developer", None));
    for name in ["bob", "BOB", "admin"] {
        assert_error(
            &update_user(&host, &token, &carol, &json!({"username": name})),
            409,
            "already_exists",
            "Username already exists",
        );
    }
    assert_eq!(get_user(&host, &token, &carol)["username"], "carol");
}

both_abis!(patch_to_a_taken_username_is_a_conflict);

fn patch_sets_workspace_access(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let id = id_of(&create_user(&host, &token, "bob", "viewer", None));
    let access = scoped(&[("ops", "developer"), ("prod", "operator")]);
    let response = update_user(&host, &token, &id, &json!({"workspaceAccess": access}));
    response.expect_status(200);
    let user = response.json()["user"].clone();
    assert_eq!(user["role"], "viewer");
    assert_eq!(user["workspaceAccess"]["all"], false);
    assert_eq!(grant_set(&user["workspaceAccess"]), grant_set(&access));
    assert_eq!(
        grant_set(&get_user(&host, &token, &id)["workspaceAccess"]),
        grant_set(&access)
    );
}

both_abis!(patch_sets_workspace_access);

fn patch_validates_workspace_access(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let id = id_of(&create_user(&host, &token, "bob", "viewer", None));
    let invalid = [
        json!({"all": true, "grants": [{"workspace": "ops", "role": "developer"}]}),
        json!({"all": false, "grants": []}),
        scoped(&[("default", "viewer")]),
        scoped(&[("ops", "admin")]),
        scoped(&[("ops", "viewer"), ("ops", "developer")]),
        scoped(&[("bad name", "viewer")]),
    ];
    for access in invalid {
        assert_invalid_workspace_access(&update_user(
            &host,
            &token,
            &id,
            &json!({"workspaceAccess": access}),
        ));
    }
    assert_eq!(
        get_user(&host, &token, &id)["workspaceAccess"],
        all_workspaces()
    );
}

both_abis!(patch_validates_workspace_access);

fn patch_rejects_an_invalid_role(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let id = id_of(&create_user(&host, &token, "bob", "viewer", None));
    assert_error_shape(
        &update_user(&host, &token, &id, &json!({"role": "superuser"})),
        400,
        "bad_request",
    );
    assert_eq!(get_user(&host, &token, &id)["role"], "viewer");
}

both_abis!(patch_rejects_an_invalid_role);

fn patch_disables_and_enables_a_user(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let id = id_of(&create_user(&host, &token, "bob", "developer", None));

    let response = update_user(&host, &token, &id, &json!({"isDisabled": true}));
    response.expect_status(200);
    let user = response.json()["user"].clone();
    assert_user_shape(&user);
    assert_eq!(user["isDisabled"], true);
    let listed = list_users(&host, &token);
    let bob = listed.iter().find(|u| u["username"] == "bob").unwrap();
    assert_eq!(bob["isDisabled"], true);
    assert_invalid_credentials(&login(&host, "bob", USER_PASSWORD));

    let response = update_user(&host, &token, &id, &json!({"isDisabled": false}));
    response.expect_status(200);
    let user = response.json()["user"].clone();
    assert_user_shape(&user);
    assert!(
        user.get("isDisabled").is_none(),
        "isDisabled is absent for an enabled user: {user}"
    );
    login_token(&host, "bob", USER_PASSWORD);
}

both_abis!(patch_disables_and_enables_a_user);

fn admin_cannot_disable_their_own_account(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    // A second enabled admin, so only the self rule applies.
    create_user(&host, &token, "second-admin", "admin", None);
    let admin_id = id_of(&me(&host, &token));
    assert_error(
        &update_user(&host, &token, &admin_id, &json!({"isDisabled": true})),
        403,
        "forbidden",
        "Cannot disable your own account",
    );
    assert_eq!(me_status(&host, &token), 200);
    assert!(me(&host, &token).get("isDisabled").is_none());
}

both_abis!(admin_cannot_disable_their_own_account);

fn patch_unknown_user_is_not_found(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    assert_error(
        &update_user(&host, &token, UNKNOWN_ID, &json!({"role": "viewer"})),
        404,
        "not_found",
        "User not found",
    );
}

both_abis!(patch_unknown_user_is_not_found);

fn patch_workspace_access_alone_is_validated_against_the_current_role(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let access = scoped(&[("ops", "developer")]);
    let developer = id_of(&create_user(&host, &token, "dev", "developer", None));
    assert_invalid_workspace_access(&update_user(
        &host,
        &token,
        &developer,
        &json!({"workspaceAccess": access}),
    ));
    let viewer = id_of(&create_user(&host, &token, "view", "viewer", None));
    let response = update_user(&host, &token, &viewer, &json!({"workspaceAccess": access}));
    response.expect_status(200);
    assert_eq!(response.json()["user"]["workspaceAccess"]["all"], false);
}

both_abis!(patch_workspace_access_alone_is_validated_against_the_current_role);

fn moving_a_scoped_viewer_to_another_role_requires_all_workspaces(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let access = scoped(&[("ops", "developer")]);
    let id = id_of(&create_user(
        &host,
        &token,
        "bob",
        "viewer",
        Some(access.clone()),
    ));

    assert_invalid_workspace_access(&update_user(
        &host,
        &token,
        &id,
        &json!({"role": "developer"}),
    ));
    assert_invalid_workspace_access(&update_user(
        &host,
        &token,
        &id,
        &json!({"role": "developer", "workspaceAccess": access}),
    ));
    let unchanged = get_user(&host, &token, &id);
    assert_eq!(unchanged["role"], "viewer");
    assert_eq!(unchanged["workspaceAccess"]["all"], false);

    let response = update_user(
        &host,
        &token,
        &id,
        &json!({"role": "developer", "workspaceAccess": {"all": true}}),
    );
    response.expect_status(200);
    let user = response.json()["user"].clone();
    assert_eq!(user["role"], "developer");
    assert_eq!(user["workspaceAccess"], all_workspaces());
}

both_abis!(moving_a_scoped_viewer_to_another_role_requires_all_workspaces);
