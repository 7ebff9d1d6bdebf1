//! Reading users: `GET /users` and `GET /users/{id}`, and who may manage users at all.

use dagu_auth_tests::Abi;
use dagu_auth_tests::api::*;
use serde_json::json;

use crate::fixtures::start_with_admin;

fn users_are_listed_sorted_case_insensitively(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    for name in ["charlie", "Dave", "bob", "Alice"] {
        create_user(&host, &token, name, "viewer", None);
    }
    let response = host.get("/api/v1/users", Some(&token));
    response.expect_status(200).expect_json_content_type();
    let users = list_users(&host, &token);
    users.iter().for_each(assert_user_shape);
    assert_eq!(
        usernames(&users),
        ["admin", "Alice", "bob", "charlie", "Dave"]
    );
}

both_abis!(users_are_listed_sorted_case_insensitively);

/// Dagu's UI reads which sign-in providers manage roles and workspace access from every list;
/// without SSO none does. The whole list and a page answer the same fields.
fn users_lists_say_that_no_provider_manages_roles_or_access(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    create_user(&host, &token, "bob", "viewer", None);
    for path in [
        "/api/v1/users",
        "/api/v1/users?limit=1",
        "/api/v1/users?limit=1000",
    ] {
        let response = host.get(path, Some(&token));
        response.expect_status(200);
        let list = response.json();
        assert_eq!(list["managedRoleProviders"], json!([]), "{path}");
        assert_eq!(list["managedWorkspaceAccessProviders"], json!([]), "{path}");
        assert_eq!(list["oidcWorkspaceAccessSyncEnabled"], false, "{path}");
        assert!(
            list["users"]
                .as_array()
                .is_some_and(|users| !users.is_empty()),
            "{path}"
        );
    }
}

both_abis!(users_lists_say_that_no_provider_manages_roles_or_access);

fn users_list_requires_authentication(abi: Abi) {
    let (host, _) = start_with_admin(abi);
    assert_authentication_required(&host.get("/api/v1/users", None));
    assert_error_shape(
        &host.get("/api/v1/users", Some("not-a-token")),
        401,
        "unauthorized",
    );
}

both_abis!(users_list_requires_authentication);

fn user_management_is_refused_to_non_admins(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let admin_id = id_of(&me(&host, &token));
    let (manager, manager_token) = create_user_and_login(&host, &token, "mia", "manager", None);
    let manager_id = id_of(&manager);
    let t = Some(manager_token.as_str());

    for response in [
        host.get("/api/v1/users", t),
        host.get(&user_path(&admin_id), t),
        host.get(&user_path(&manager_id), t),
        host.post("/api/v1/users", t, &new_user("eve", "viewer", None)),
        host.patch(&user_path(&admin_id), t, &json!({"role": "viewer"})),
        host.patch(&user_path(&manager_id), t, &json!({"role": "admin"})),
        host.delete(&user_path(&admin_id), t),
        reset_password(&host, &manager_token, &admin_id, OTHER_PASSWORD),
    ] {
        assert_insufficient_permissions(&response);
    }
    assert_eq!(get_user(&host, &token, &manager_id)["role"], "manager");
    assert_eq!(usernames(&list_users(&host, &token)), ["admin", "mia"]);
    login_token(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
}

both_abis!(user_management_is_refused_to_non_admins);

fn get_user_returns_the_user(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let bob = create_user(&host, &token, "bob", "operator", None);
    let response = host.get(&user_path(&id_of(&bob)), Some(&token));
    response.expect_status(200).expect_json_content_type();
    let user = response.json()["user"].clone();
    assert_user_shape(&user);
    assert_eq!(user, bob);
}

both_abis!(get_user_returns_the_user);

fn get_unknown_user_is_not_found(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    assert_error(
        &host.get(&user_path(UNKNOWN_ID), Some(&token)),
        404,
        "not_found",
        "User not found",
    );
}

both_abis!(get_unknown_user_is_not_found);
