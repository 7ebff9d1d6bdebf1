//! Unknown fields are ignored at every level of every request body, as Dagu's decoder ignores
//! them, so a client that sends one more field keeps working; a known field of the wrong type is
//! still a 400.

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, Response};
use serde_json::{Value, json};

use crate::fixtures::start;

/// Scoped access to `workspace` with an unknown field beside `all` and one inside the grant.
fn access_with_unknown_fields(workspace: &str) -> Value {
    json!({
        "all": false,
        "grants": [{"workspace": workspace, "role": "developer", "inherited": {"from": "team"}}],
        "syncedFrom": "oidc",
    })
}

#[track_caller]
fn assert_scoped_to(access: &Value, workspace: &str) {
    assert_eq!(access["all"], false, "{access}");
    assert_eq!(
        grant_set(access),
        [(workspace.to_owned(), "developer".to_owned())].into(),
        "{access}"
    );
}

#[track_caller]
fn json_with_status(response: &Response, status: u16) -> Value {
    response.expect_status(status);
    response.json()
}

fn sign_in_bodies_ignore_unknown_fields(abi: Abi) {
    let host = start(abi);
    let body = json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "remember": true});
    assert_login_response(&json_with_status(
        &host.post("/api/v1/auth/setup", None, &body),
        200,
    ));
    let body = json!({
        "username": ADMIN_USERNAME,
        "password": ADMIN_PASSWORD,
        "rememberMe": true,
        "client": {"name": "dagu-ui", "version": [2, 0]},
    });
    let login = json_with_status(&host.post("/api/v1/auth/login", None, &body), 200);
    assert_login_response(&login);
    let token = login["token"].as_str().expect("token");
    let body = json!({
        "currentPassword": ADMIN_PASSWORD,
        "newPassword": OTHER_PASSWORD,
        "confirmPassword": OTHER_PASSWORD,
    });
    host.post("/api/v1/auth/change-password", Some(token), &body)
        .expect_status(200);
    login_token(&host, ADMIN_USERNAME, OTHER_PASSWORD);
}

both_abis!(sign_in_bodies_ignore_unknown_fields);

fn user_bodies_ignore_unknown_fields_at_every_level(abi: Abi) {
    let host = start(abi);
    let token = setup_admin(&host);
    let body = json!({
        "username": "bob",
        "password": USER_PASSWORD,
        "role": "viewer",
        "workspaceAccess": access_with_unknown_fields("ops"),
        "email": "bob@example.com",
        "authProvider": "builtin",
    });
    let user = json_with_status(&create_user_with(&host, &token, &body), 201)["user"].clone();
    assert_scoped_to(&user["workspaceAccess"], "ops");
    let id = id_of(&user);

    let body = json!({
        "username": "bobby",
        "workspaceAccess": access_with_unknown_fields("qa"),
        "isDisabled": false,
        "displayName": "Bob",
    });
    let updated = json_with_status(&update_user(&host, &token, &id, &body), 200)["user"].clone();
    assert_eq!(updated["username"], "bobby");
    assert_scoped_to(&updated["workspaceAccess"], "qa");

    let body = json!({"newPassword": OTHER_PASSWORD, "notifyUser": true});
    host.post(
        &format!("{}/reset-password", user_path(&id)),
        Some(&token),
        &body,
    )
    .expect_status(200);
    login_token(&host, "bobby", OTHER_PASSWORD);
}

both_abis!(user_bodies_ignore_unknown_fields_at_every_level);

fn api_key_bodies_ignore_unknown_fields_at_every_level(abi: Abi) {
    let host = start(abi);
    let token = setup_admin(&host);
    let body = json!({
        "name": "ci",
        "role": "viewer",
        "workspaceAccess": access_with_unknown_fields("ops"),
        "allowedSurfaces": ["rest_api"],
        "attributionClass": "service_account",
        "scopes": ["dags:read"],
    });
    let created = json_with_status(&host.post("/api/v1/api-keys", Some(&token), &body), 201);
    let key = &created["apiKey"];
    assert_scoped_to(&key["workspaceAccess"], "ops");
    let id = key["id"].as_str().expect("id");

    let body = json!({
        "description": "nightly",
        "workspaceAccess": access_with_unknown_fields("qa"),
        "rotate": true,
    });
    let path = format!("/api/v1/api-keys/{id}");
    let updated = json_with_status(&host.patch(&path, Some(&token), &body), 200);
    assert_eq!(updated["apiKey"]["description"], "nightly");
    assert_scoped_to(&updated["apiKey"]["workspaceAccess"], "qa");
}

both_abis!(api_key_bodies_ignore_unknown_fields_at_every_level);

fn known_fields_of_the_wrong_type_are_still_refused(abi: Abi) {
    let host = start(abi);
    let token = setup_admin(&host);
    let wrong_accesses = [
        json!({"all": "no"}),
        json!({"all": false, "grants": "ops"}),
        json!({"all": false, "grants": [{"workspace": 7, "role": "developer"}]}),
    ];
    for access in wrong_accesses {
        let user = new_user("bob", "viewer", Some(access.clone()));
        assert_error_shape(&create_user_with(&host, &token, &user), 400, "bad_request");
        let key = json!({"name": "ci", "role": "viewer", "workspaceAccess": access});
        let response = host.post("/api/v1/api-keys", Some(&token), &key);
        assert_error_shape(&response, 400, "bad_request");
    }
    let body = json!({"username": ADMIN_USERNAME, "password": 12345678});
    let response = host.post("/api/v1/auth/login", None, &body);
    assert_error_shape(&response, 400, "bad_request");
}

both_abis!(known_fields_of_the_wrong_type_are_still_refused);
