//! The HTTP API of `HTTP_API.md`, driven through `host-demo` with the plugin loaded through
//! each ABI. One behaviour per test; every body runs once per ABI (`both_abis!`).
//!
//! API keys and the audit log are covered elsewhere (a later issue); an admin API key is used
//! only where no user session can reach a rule (the last enabled admin deleted or disabled by
//! somebody else).

use std::collections::BTreeSet;

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo, HostOptions, Response, StartError};
use serde_json::{Value, json};

/// `both_abis!(name)` turns `fn name(abi: Abi)` into the tests `name::rust_abi` and
/// `name::c_abi`.
macro_rules! both_abis {
    ($(#[$meta:meta])* $name:ident) => {
        mod $name {
            use super::Abi;

            #[test]
            $(#[$meta])*
            fn rust_abi() {
                super::$name(Abi::Rust)
            }

            #[test]
            $(#[$meta])*
            fn c_abi() {
                super::$name(Abi::C)
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// helpers

fn start(abi: Abi) -> HostDemo {
    HostDemo::start(HostOptions::new(abi))
}

/// A host whose first admin is set up; returns the admin's token.
fn start_with_admin(abi: Abi) -> (HostDemo, String) {
    let host = start(abi);
    let token = setup_admin(&host);
    (host, token)
}

fn me(host: &HostDemo, token: &str) -> Value {
    let response = host.get("/api/v1/auth/me", Some(token));
    response.expect_status(200);
    response.json()["user"].clone()
}

fn get_user(host: &HostDemo, token: &str, id: &str) -> Value {
    let response = host.get(&user_path(id), Some(token));
    response.expect_status(200);
    response.json()["user"].clone()
}

fn list_users(host: &HostDemo, token: &str) -> Vec<Value> {
    let response = host.get("/api/v1/users", Some(token));
    response.expect_status(200);
    response.json()["users"]
        .as_array()
        .unwrap_or_else(|| panic!("GET /users without a users array: {}", response.text()))
        .clone()
}

fn usernames(users: &[Value]) -> Vec<String> {
    users
        .iter()
        .map(|u| u["username"].as_str().expect("username").to_owned())
        .collect()
}

fn change_password(host: &HostDemo, token: &str, current: &str, new: &str) -> Response {
    host.post(
        "/api/v1/auth/change-password",
        Some(token),
        &json!({"currentPassword": current, "newPassword": new}),
    )
}

fn reset_password(host: &HostDemo, token: &str, id: &str, new: &str) -> Response {
    host.post(
        &format!("{}/reset-password", user_path(id)),
        Some(token),
        &json!({"newPassword": new}),
    )
}

fn setup_required(host: &HostDemo) -> bool {
    let response = host.get("/api/v1/auth/setup", None);
    response.expect_status(200);
    response.json()["setupRequired"]
        .as_bool()
        .unwrap_or_else(|| panic!("setupRequired is not a bool: {}", response.text()))
}

/// The grants of a WorkspaceAccess as a set of (workspace, role).
fn grant_set(access: &Value) -> BTreeSet<(String, String)> {
    access["grants"]
        .as_array()
        .expect("grants")
        .iter()
        .map(|g| {
            (
                g["workspace"].as_str().expect("workspace").to_owned(),
                g["role"].as_str().expect("role").to_owned(),
            )
        })
        .collect()
}

/// Creating a user with `role` and `access` is refused as invalid workspace access.
#[track_caller]
fn assert_create_refused(host: &HostDemo, token: &str, role: &str, access: Value) {
    let response = create_user_with(host, token, &new_user("wsuser", role, Some(access)));
    assert_invalid_workspace_access(&response);
}

/// A token with one character of its middle changed (for a JWT: in the claims).
fn tampered(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let index = match token.find('.') {
        Some(first_dot) => first_dot + 6,
        None => chars.len() / 2,
    }
    .min(chars.len() - 1);
    chars[index] = if chars[index] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// (name, workspace) of the DAGs `token` sees.
fn visible_dags(host: &HostDemo, token: &str) -> BTreeSet<(String, Option<String>)> {
    let response = host.get("/api/v1/dags", Some(token));
    response.expect_status(200);
    response.json()["dags"]
        .as_array()
        .unwrap_or_else(|| panic!("GET /dags without a dags array: {}", response.text()))
        .iter()
        .map(|d| {
            (
                d["name"].as_str().expect("name").to_owned(),
                d["workspace"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn dag_set(dags: &[(&str, Option<&str>)]) -> BTreeSet<(String, Option<String>)> {
    dags.iter()
        .map(|(n, w)| (n.to_string(), w.map(str::to_owned)))
        .collect()
}

fn start_dag(host: &HostDemo, token: Option<&str>, name: &str) -> Response {
    host.post_empty(&format!("/api/v1/dags/{name}/start"), token)
}

fn edit_dag(host: &HostDemo, token: Option<&str>, name: &str) -> Response {
    host.put(&format!("/api/v1/dags/{name}"), token, &json!({}))
}

/// Admin A (the setup admin) plus a second admin that is disabled: A is the last enabled
/// admin. Returns (host, A's token, A's id, the disabled admin's id).
fn last_enabled_admin(abi: Abi) -> (HostDemo, String, String, String) {
    let (host, token) = start_with_admin(abi);
    let admin_id = id_of(&me(&host, &token));
    let second = create_user(&host, &token, "second-admin", "admin", None);
    let second_id = id_of(&second);
    disable_user(&host, &token, &second_id);
    (host, token, admin_id, second_id)
}

/// Starting the host must fail: it exits non-zero during start-up. Returns its output.
#[track_caller]
fn assert_start_fails(options: HostOptions) -> String {
    match HostDemo::try_start(options) {
        Ok(host) => panic!(
            "host-demo started although it should have refused:\n{}",
            host.stop()
        ),
        Err(StartError::Exited { status, output }) => {
            assert!(
                !status.success(),
                "host-demo exited with success:\n{output}"
            );
            output
        }
        Err(error @ StartError::Timeout { .. }) => {
            panic!("host-demo neither started nor exited: {error}")
        }
    }
}

/// Lower case with `_`, `-` and `.` read as spaces.
fn normalised(text: &str) -> String {
    text.to_lowercase().replace(['_', '-', '.'], " ")
}

// ---------------------------------------------------------------------------------------------
// setup

fn setup_is_required_until_the_first_user_exists(abi: Abi) {
    let host = start(abi);
    let response = host.get("/api/v1/auth/setup", None);
    response.expect_status(200).expect_json_content_type();
    assert_eq!(response.json(), json!({"setupRequired": true}));

    setup_admin(&host);

    let response = host.get("/api/v1/auth/setup", None);
    response.expect_status(200);
    assert_eq!(response.json(), json!({"setupRequired": false}));
}
both_abis!(setup_is_required_until_the_first_user_exists);

fn setup_creates_an_admin_with_all_workspaces_and_signs_in(abi: Abi) {
    let host = start(abi);
    let response = setup(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
    response.expect_status(200).expect_json_content_type();
    let body = response.json();
    assert_login_response(&body);
    let user = &body["user"];
    assert_eq!(user["username"], ADMIN_USERNAME);
    assert_eq!(user["role"], "admin");
    assert_eq!(user["workspaceAccess"], all_workspaces());

    let token = body["token"].as_str().expect("token");
    assert_eq!(me(&host, token)["id"], user["id"]);
    login_token(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
}
both_abis!(setup_creates_an_admin_with_all_workspaces_and_signs_in);

fn setup_is_refused_once_a_user_exists(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    assert_error(
        &setup(&host, "second", OTHER_PASSWORD),
        403,
        "forbidden",
        "Setup has already been completed",
    );
    // Checked before the password: a weak one still gets the 403.
    assert_error(
        &setup(&host, "third", "short"),
        403,
        "forbidden",
        "Setup has already been completed",
    );
    assert_eq!(usernames(&list_users(&host, &token)), [ADMIN_USERNAME]);
}
both_abis!(setup_is_refused_once_a_user_exists);

fn setup_rejects_a_weak_password(abi: Abi) {
    let host = start(abi);
    assert_error_shape(&setup(&host, ADMIN_USERNAME, "short"), 400, "bad_request");
    assert!(setup_required(&host), "a refused setup must create nobody");
}
both_abis!(setup_rejects_a_weak_password);

fn concurrent_setup_creates_exactly_one_admin(abi: Abi) {
    let host = start(abi);
    let responses: Vec<Response> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let client = host.client().clone();
                scope.spawn(move || setup(&client, &format!("admin{i}"), ADMIN_PASSWORD))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    let winners: Vec<&Response> = responses.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one setup wins: {statuses:?}");
    for response in responses.iter().filter(|r| r.status != 200) {
        assert_error(
            response,
            403,
            "forbidden",
            "Setup has already been completed",
        );
    }
    let token = winners[0].json()["token"].as_str().unwrap().to_owned();
    assert_eq!(list_users(&host, &token).len(), 1);
}
both_abis!(concurrent_setup_creates_exactly_one_admin);

// ---------------------------------------------------------------------------------------------
// login

fn login_returns_a_login_response(abi: Abi) {
    let host = start(abi);
    setup_admin(&host);
    let response = login(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
    response.expect_status(200).expect_json_content_type();
    let body = response.json();
    assert_login_response(&body);
    assert_eq!(body["user"]["username"], ADMIN_USERNAME);
    assert_eq!(body["user"]["role"], "admin");

    // The default lifetime is 24h.
    let expires = parse_rfc3339(body["expiresAt"].as_str().unwrap()).unwrap();
    let ttl = expires - unix_now();
    assert!(
        (24 * 3600 - 300..=24 * 3600 + 60).contains(&ttl),
        "default token lifetime should be 24h, is {ttl} s"
    );
    assert_eq!(me_status(&host, body["token"].as_str().unwrap()), 200);
}
both_abis!(login_returns_a_login_response);

fn token_ttl_sets_the_expiry(abi: Abi) {
    let host = HostDemo::start(HostOptions::new(abi).token_ttl("2h"));
    setup_admin(&host);
    let body = login(&host, ADMIN_USERNAME, ADMIN_PASSWORD).json();
    let expires = parse_rfc3339(body["expiresAt"].as_str().expect("expiresAt")).unwrap();
    let ttl = expires - unix_now();
    assert!(
        (2 * 3600 - 300..=2 * 3600 + 60).contains(&ttl),
        "DAGU_AUTH_TOKEN_TTL=2h should give a 2h token, got {ttl} s"
    );
}
both_abis!(token_ttl_sets_the_expiry);

fn login_rejects_an_unknown_user(abi: Abi) {
    let (host, _) = start_with_admin(abi);
    assert_invalid_credentials(&login(&host, "nobody", ADMIN_PASSWORD));
}
both_abis!(login_rejects_an_unknown_user);

fn login_rejects_a_wrong_password(abi: Abi) {
    let (host, _) = start_with_admin(abi);
    assert_invalid_credentials(&login(&host, ADMIN_USERNAME, "Wrong-Pass-0000-moss"));
}
both_abis!(login_rejects_a_wrong_password);

fn login_rejects_a_disabled_user_with_the_same_message(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let bob = create_user(&host, &token, "bob", "developer", None);
    disable_user(&host, &token, &id_of(&bob));
    // The right password answers exactly as a wrong one.
    assert_invalid_credentials(&login(&host, "bob", USER_PASSWORD));
    assert_invalid_credentials(&login(&host, "bob", OTHER_PASSWORD));
}
both_abis!(login_rejects_a_disabled_user_with_the_same_message);

fn login_matches_usernames_case_insensitively(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    create_user(&host, &token, "Alice", "developer", None);
    for spelling in ["alice", "ALICE", "Alice"] {
        let response = login(&host, spelling, USER_PASSWORD);
        response.expect_status(200);
        assert_eq!(response.json()["user"]["username"], "Alice");
    }
}
both_abis!(login_matches_usernames_case_insensitively);

fn repeated_failed_logins_are_rate_limited(abi: Abi) {
    let (host, _) = start_with_admin(abi);
    let mut limited = None;
    for _ in 0..25 {
        let response = login(&host, ADMIN_USERNAME, "Wrong-Pass-0000-moss");
        if response.status == 429 {
            limited = Some(response);
            break;
        }
        assert_invalid_credentials(&response);
    }
    let response = limited.expect("25 failed sign-ins in a row were never answered 429");
    assert_error_shape(&response, 429, "rate_limited");
    let retry_after = response.header("retry-after").unwrap_or("");
    assert!(
        retry_after.parse::<u64>().is_ok_and(|s| s >= 1),
        "Retry-After should be a number of seconds, is {retry_after:?}"
    );
}
both_abis!(repeated_failed_logins_are_rate_limited);

// ---------------------------------------------------------------------------------------------
// logout and me

fn logout_revokes_only_that_token(abi: Abi) {
    let (host, _) = start_with_admin(abi);
    let first = login_token(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
    let second = login_token(&host, ADMIN_USERNAME, ADMIN_PASSWORD);

    let response = host.post_empty("/api/v1/auth/logout", Some(&first));
    response.expect_status(204);
    assert!(response.body.is_empty(), "a 204 has no body");

    assert_error_shape(
        &host.get("/api/v1/auth/me", Some(&first)),
        401,
        "unauthorized",
    );
    // The host's own resources refuse it too.
    assert_error_shape(&host.get("/api/v1/dags", Some(&first)), 401, "unauthorized");
    assert_eq!(me_status(&host, &second), 200, "other sessions stay valid");
}
both_abis!(logout_revokes_only_that_token);

fn logout_requires_authentication(abi: Abi) {
    let (host, _) = start_with_admin(abi);
    assert_error_shape(
        &host.post_empty("/api/v1/auth/logout", None),
        401,
        "unauthorized",
    );
}
both_abis!(logout_requires_authentication);

fn me_returns_the_current_user(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let access = scoped(&[("ops", "developer")]);
    let (bob, bob_token) = create_user_and_login(&host, &token, "bob", "viewer", Some(access));
    let response = host.get("/api/v1/auth/me", Some(&bob_token));
    response.expect_status(200).expect_json_content_type();
    let user = response.json()["user"].clone();
    assert_user_shape(&user);
    assert_eq!(user, bob);
}
both_abis!(me_returns_the_current_user);

fn me_refuses_a_missing_or_invalid_token(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let forged = tampered(&token);
    let bearer = format!("Bearer {forged}");
    for response in [
        host.get("/api/v1/auth/me", None),
        host.get("/api/v1/auth/me", Some("not-a-token")),
        host.send(
            "GET",
            "/api/v1/auth/me",
            &[("Authorization", &bearer)],
            None,
        ),
        host.send(
            "GET",
            "/api/v1/auth/me",
            &[("Authorization", "Basic YWRtaW46cGFzcw==")],
            None,
        ),
    ] {
        assert_error_shape(&response, 401, "unauthorized");
    }
}
both_abis!(me_refuses_a_missing_or_invalid_token);

// ---------------------------------------------------------------------------------------------
// change password

fn change_password_revokes_old_tokens_and_the_new_password_works(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (_, first) = create_user_and_login(&host, &token, "bob", "developer", None);
    let second = login_token(&host, "bob", USER_PASSWORD);

    let response = change_password(&host, &first, USER_PASSWORD, OTHER_PASSWORD);
    response.expect_status(200).expect_json_content_type();
    assert_eq!(
        response.json(),
        json!({"message": "Password changed successfully"})
    );

    assert_eq!(me_status(&host, &second), 401, "other sessions are revoked");
    assert_eq!(me_status(&host, &first), 401, "the old session is revoked");
    assert_invalid_credentials(&login(&host, "bob", USER_PASSWORD));
    let fresh = login_token(&host, "bob", OTHER_PASSWORD);
    assert_eq!(me_status(&host, &fresh), 200);
}
both_abis!(change_password_revokes_old_tokens_and_the_new_password_works);

fn change_password_rejects_an_incorrect_current_password(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (_, bob) = create_user_and_login(&host, &token, "bob", "developer", None);
    assert_error(
        &change_password(&host, &bob, "Wrong-Pass-0000-moss", OTHER_PASSWORD),
        401,
        "unauthorized",
        "Current password is incorrect",
    );
    assert_eq!(me_status(&host, &bob), 200, "the session stays valid");
    login_token(&host, "bob", USER_PASSWORD);
}
both_abis!(change_password_rejects_an_incorrect_current_password);

fn change_password_rejects_a_weak_new_password(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (_, bob) = create_user_and_login(&host, &token, "bob", "developer", None);
    let too_long = "x".repeat(257);
    for weak in ["short", too_long.as_str()] {
        assert_error_shape(
            &change_password(&host, &bob, USER_PASSWORD, weak),
            400,
            "bad_request",
        );
    }
    assert_eq!(me_status(&host, &bob), 200);
    login_token(&host, "bob", USER_PASSWORD);
}
both_abis!(change_password_rejects_a_weak_new_password);

fn change_password_requires_authentication(abi: Abi) {
    let (host, _) = start_with_admin(abi);
    let response = host.post(
        "/api/v1/auth/change-password",
        None,
        &json!({"currentPassword": ADMIN_PASSWORD, "newPassword": OTHER_PASSWORD}),
    );
    assert_error_shape(&response, 401, "unauthorized");
    login_token(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
}
both_abis!(change_password_requires_authentication);

// ---------------------------------------------------------------------------------------------
// list users, access to user management

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

// ---------------------------------------------------------------------------------------------
// create

fn create_user_returns_the_new_user(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let response = create_user_with(&host, &token, &new_user("bob", "developer", None));
    response.expect_status(201).expect_json_content_type();
    let body = response.json();
    let user = body["user"].clone();
    assert_user_shape(&user);
    assert_eq!(user["username"], "bob");
    assert_eq!(user["role"], "developer");
    assert!(user.get("isDisabled").is_none());
    assert_eq!(get_user(&host, &token, &id_of(&user)), user);
    login_token(&host, "bob", USER_PASSWORD);
}
both_abis!(create_user_returns_the_new_user);

fn create_user_without_workspace_access_grants_all_workspaces(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (user, bob) = create_user_and_login(&host, &token, "bob", "viewer", None);
    assert_eq!(user["workspaceAccess"], all_workspaces());
    assert_eq!(
        visible_dags(&host, &bob).len(),
        4,
        "bob sees every workspace"
    );
}
both_abis!(create_user_without_workspace_access_grants_all_workspaces);

fn create_user_trims_the_username(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let user = create_user(&host, &token, "  carol  ", "viewer", None);
    assert_eq!(user["username"], "carol");
    login_token(&host, "carol", USER_PASSWORD);
}
both_abis!(create_user_trims_the_username);

fn create_user_rejects_a_duplicate_username_in_any_case(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    create_user(&host, &token, "bob", "viewer", None);
    for name in ["bob", "BOB", "Bob", " bob ", "ADMIN"] {
        assert_error(
            &create_user_with(&host, &token, &new_user(name, "viewer", None)),
            409,
            "already_exists",
            "Username already exists",
        );
    }
    assert_eq!(usernames(&list_users(&host, &token)), ["admin", "bob"]);
}
both_abis!(create_user_rejects_a_duplicate_username_in_any_case);

fn create_user_rejects_an_invalid_role(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    for role in ["superuser", ""] {
        assert_error_shape(
            &create_user_with(&host, &token, &new_user("bob", role, None)),
            400,
            "bad_request",
        );
    }
    let missing_role = json!({"username": "bob", "password": USER_PASSWORD});
    assert_error_shape(
        &create_user_with(&host, &token, &missing_role),
        400,
        "bad_request",
    );
    assert_eq!(usernames(&list_users(&host, &token)), ["admin"]);
}
both_abis!(create_user_rejects_an_invalid_role);

fn create_user_with_password(host: &HostDemo, token: &str, name: &str, password: &str) -> Response {
    create_user_with(
        host,
        token,
        &json!({"username": name, "password": password, "role": "viewer"}),
    )
}

fn create_user_rejects_passwords_outside_8_to_256_code_points(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let longest: String = "Kq7-".repeat(64);
    let too_long = format!("{longest}x");
    assert_eq!(longest.chars().count(), 256);
    // 7 code points (14 bytes) is too short: length counts code points, not bytes.
    for (name, password) in [
        ("short1", "Ab1-xyz"),
        ("short2", "ééééééé"),
        ("long1", too_long.as_str()),
    ] {
        assert_error_shape(
            &create_user_with_password(&host, &token, name, password),
            400,
            "bad_request",
        );
    }
    for (name, password) in [
        ("ok8", "Ab1-xyzQ"),
        ("ok8wide", "ĀĒĪŌŪ123"),
        ("ok256", longest.as_str()),
    ] {
        create_user_with_password(&host, &token, name, password).expect_status(201);
    }
    login_token(&host, "ok256", &longest);
}
both_abis!(create_user_rejects_passwords_outside_8_to_256_code_points);

fn password_length_counts_code_points_after_nfkc(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    // Four ligatures "ﬁ" are 4 code points, 8 after NFKC ("fifififi").
    create_user_with_password(&host, &token, "ligature", "ﬁﬁﬁﬁ").expect_status(201);
    // "e" + combining acute, four times: 8 code points, 4 after NFKC ("éééé").
    assert_error_shape(
        &create_user_with_password(
            &host,
            &token,
            "combining",
            "e\u{301}e\u{301}e\u{301}e\u{301}",
        ),
        400,
        "bad_request",
    );
}
both_abis!(password_length_counts_code_points_after_nfkc);

fn common_passwords_are_rejected(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    for (name, password) in [("p1", "password"), ("p2", "12345678")] {
        assert_error_shape(
            &create_user_with_password(&host, &token, name, password),
            400,
            "bad_request",
        );
    }
}
both_abis!(common_passwords_are_rejected);

fn create_user_rejects_usernames_outside_1_to_64_characters(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let too_long = "u".repeat(65);
    for name in ["", "   ", too_long.as_str()] {
        assert_error_shape(
            &create_user_with(&host, &token, &new_user(name, "viewer", None)),
            400,
            "bad_request",
        );
    }
    let missing_username = json!({"password": USER_PASSWORD, "role": "viewer"});
    assert_error_shape(
        &create_user_with(&host, &token, &missing_username),
        400,
        "bad_request",
    );
    let longest = "u".repeat(64);
    let user = create_user(&host, &token, &longest, "viewer", None);
    assert_eq!(user["username"], longest.as_str());
}
both_abis!(create_user_rejects_usernames_outside_1_to_64_characters);

// ---------------------------------------------------------------------------------------------
// workspace access validation (on create; PATCH below)

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

// ---------------------------------------------------------------------------------------------
// get

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

// ---------------------------------------------------------------------------------------------
// update (PATCH)

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

// ---------------------------------------------------------------------------------------------
// delete

fn delete_removes_the_user(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let id = id_of(&create_user(&host, &token, "bob", "developer", None));
    let response = host.delete(&user_path(&id), Some(&token));
    response.expect_status(204);
    assert!(response.body.is_empty(), "a 204 has no body");
    assert_error(
        &host.get(&user_path(&id), Some(&token)),
        404,
        "not_found",
        "User not found",
    );
    assert_eq!(usernames(&list_users(&host, &token)), ["admin"]);
    assert_invalid_credentials(&login(&host, "bob", USER_PASSWORD));
    // The name is free again.
    create_user(&host, &token, "bob", "viewer", None);
}
both_abis!(delete_removes_the_user);

fn admin_cannot_delete_their_own_account(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    create_user(&host, &token, "second-admin", "admin", None);
    let admin_id = id_of(&me(&host, &token));
    assert_error(
        &host.delete(&user_path(&admin_id), Some(&token)),
        403,
        "forbidden",
        "Cannot delete your own account",
    );
    assert_eq!(me_status(&host, &token), 200);
}
both_abis!(admin_cannot_delete_their_own_account);

fn delete_unknown_user_is_not_found(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    assert_error(
        &host.delete(&user_path(UNKNOWN_ID), Some(&token)),
        404,
        "not_found",
        "User not found",
    );
}
both_abis!(delete_unknown_user_is_not_found);

// ---------------------------------------------------------------------------------------------
// reset password

fn reset_password_sets_the_password_and_revokes_tokens(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (bob, bob_token) = create_user_and_login(&host, &token, "bob", "developer", None);
    let response = reset_password(&host, &token, &id_of(&bob), OTHER_PASSWORD);
    response.expect_status(200).expect_json_content_type();
    assert_eq!(
        response.json(),
        json!({"message": "Password reset successfully"})
    );
    assert_eq!(
        me_status(&host, &bob_token),
        401,
        "bob's session is revoked"
    );
    assert_invalid_credentials(&login(&host, "bob", USER_PASSWORD));
    let fresh = login_token(&host, "bob", OTHER_PASSWORD);
    assert_eq!(me_status(&host, &fresh), 200);
    assert_eq!(
        me_status(&host, &token),
        200,
        "the admin's session is untouched"
    );
}
both_abis!(reset_password_sets_the_password_and_revokes_tokens);

fn reset_password_rejects_a_weak_password(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (bob, bob_token) = create_user_and_login(&host, &token, "bob", "developer", None);
    let too_long = "x".repeat(257);
    for weak in ["short", too_long.as_str()] {
        assert_error_shape(
            &reset_password(&host, &token, &id_of(&bob), weak),
            400,
            "bad_request",
        );
    }
    assert_eq!(me_status(&host, &bob_token), 200);
    login_token(&host, "bob", USER_PASSWORD);
}
both_abis!(reset_password_rejects_a_weak_password);

fn reset_password_of_unknown_user_is_not_found(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    assert_error(
        &reset_password(&host, &token, UNKNOWN_ID, OTHER_PASSWORD),
        404,
        "not_found",
        "User not found",
    );
}
both_abis!(reset_password_of_unknown_user_is_not_found);

// ---------------------------------------------------------------------------------------------
// the last enabled admin

fn last_enabled_admin_cannot_be_demoted(abi: Abi) {
    let (host, token, admin_id, second_id) = last_enabled_admin(abi);
    assert_error_shape(
        &update_user(&host, &token, &admin_id, &json!({"role": "manager"})),
        409,
        "conflict",
    );
    assert_eq!(get_user(&host, &token, &admin_id)["role"], "admin");
    list_users(&host, &token);

    // With the second admin enabled again, the demotion is allowed.
    update_user(&host, &token, &second_id, &json!({"isDisabled": false})).expect_status(200);
    update_user(&host, &token, &admin_id, &json!({"role": "manager"})).expect_status(200);
    assert_insufficient_permissions(&host.get("/api/v1/users", Some(&token)));
}
both_abis!(last_enabled_admin_cannot_be_demoted);

// An enabled admin acting on another admin never leaves zero enabled admins, and the self
// rules (403) come first for oneself; so only a non-user admin principal (an admin API key)
// can reach the rule for delete and disable.

fn last_enabled_admin_cannot_be_disabled(abi: Abi) {
    let (host, token, admin_id, _) = last_enabled_admin(abi);
    let key = create_admin_api_key(&host, &token, "ops-key");
    assert_error_shape(
        &update_user(&host, &key, &admin_id, &json!({"isDisabled": true})),
        409,
        "conflict",
    );
    assert_error_shape(
        &update_user(&host, &key, &admin_id, &json!({"role": "viewer"})),
        409,
        "conflict",
    );
    assert_eq!(me_status(&host, &token), 200);
    assert_eq!(get_user(&host, &token, &admin_id)["role"], "admin");
}
both_abis!(last_enabled_admin_cannot_be_disabled);

fn last_enabled_admin_cannot_be_deleted(abi: Abi) {
    let (host, token, admin_id, _) = last_enabled_admin(abi);
    let key = create_admin_api_key(&host, &token, "ops-key");
    assert_error_shape(
        &host.delete(&user_path(&admin_id), Some(&key)),
        409,
        "conflict",
    );
    assert_eq!(me_status(&host, &token), 200);
}
both_abis!(last_enabled_admin_cannot_be_deleted);

// ---------------------------------------------------------------------------------------------
// license

const LICENSE_REQUIRED: &str = "User management requires a Dagu Pro license";

fn user_management_requires_a_license(abi: Abi) {
    let host = HostDemo::start(HostOptions::new(abi).license_features(""));
    let token = setup_admin(&host);
    let admin_id = id_of(&me(&host, &token));
    let t = Some(token.as_str());

    // Authentication comes first.
    assert_authentication_required(&host.post(
        "/api/v1/users",
        None,
        &new_user("bob", "viewer", None),
    ));

    for response in [
        host.post("/api/v1/users", t, &new_user("bob", "viewer", None)),
        host.patch(&user_path(&admin_id), t, &json!({"username": "root"})),
        host.patch(&user_path(UNKNOWN_ID), t, &json!({"role": "viewer"})),
        host.delete(&user_path(UNKNOWN_ID), t),
    ] {
        assert_error(&response, 403, "forbidden", LICENSE_REQUIRED);
    }
    // Reading and resetting are not licensed operations.
    assert_eq!(usernames(&list_users(&host, &token)), ["admin"]);
    get_user(&host, &token, &admin_id);
    assert_error(
        &reset_password(&host, &token, UNKNOWN_ID, OTHER_PASSWORD),
        404,
        "not_found",
        "User not found",
    );
}
both_abis!(user_management_requires_a_license);

fn user_management_requires_the_rbac_feature(abi: Abi) {
    let host = HostDemo::start(HostOptions::new(abi).license_features("audit"));
    let token = setup_admin(&host);
    assert_error(
        &create_user_with(&host, &token, &new_user("bob", "viewer", None)),
        403,
        "forbidden",
        LICENSE_REQUIRED,
    );
}
both_abis!(user_management_requires_the_rbac_feature);

// ---------------------------------------------------------------------------------------------
// revocation and changes taking effect

fn disabling_a_user_revokes_their_tokens_at_once(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (bob, bob_token) = create_user_and_login(&host, &token, "bob", "developer", None);
    assert_eq!(me_status(&host, &bob_token), 200);
    visible_dags(&host, &bob_token);

    disable_user(&host, &token, &id_of(&bob));
    assert_error_shape(
        &host.get("/api/v1/auth/me", Some(&bob_token)),
        401,
        "unauthorized",
    );
    assert_error_shape(
        &host.get("/api/v1/dags", Some(&bob_token)),
        401,
        "unauthorized",
    );
}
both_abis!(disabling_a_user_revokes_their_tokens_at_once);

fn deleting_a_user_revokes_their_tokens_at_once(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (bob, bob_token) = create_user_and_login(&host, &token, "bob", "developer", None);
    assert_eq!(me_status(&host, &bob_token), 200);
    visible_dags(&host, &bob_token);

    host.delete(&user_path(&id_of(&bob)), Some(&token))
        .expect_status(204);
    assert_error_shape(
        &host.get("/api/v1/auth/me", Some(&bob_token)),
        401,
        "unauthorized",
    );
    assert_error_shape(
        &host.get("/api/v1/dags", Some(&bob_token)),
        401,
        "unauthorized",
    );
}
both_abis!(deleting_a_user_revokes_their_tokens_at_once);

fn role_changes_apply_on_the_next_request(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (bob, bob_token) = create_user_and_login(&host, &token, "bob", "viewer", None);
    let id = id_of(&bob);
    let bob_t = Some(bob_token.as_str());

    assert_eq!(start_dag(&host, bob_t, "demo-ops").status, 403);
    assert_insufficient_permissions(&host.get("/api/v1/users", bob_t));

    update_user(&host, &token, &id, &json!({"role": "operator"})).expect_status(200);
    assert_eq!(start_dag(&host, bob_t, "demo-ops").status, 202);

    update_user(&host, &token, &id, &json!({"role": "admin"})).expect_status(200);
    host.get("/api/v1/users", bob_t).expect_status(200);

    update_user(&host, &token, &id, &json!({"role": "viewer"})).expect_status(200);
    assert_insufficient_permissions(&host.get("/api/v1/users", bob_t));
    assert_eq!(start_dag(&host, bob_t, "demo-ops").status, 403);
}
both_abis!(role_changes_apply_on_the_next_request);

fn workspace_changes_apply_on_the_next_request(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let access = scoped(&[("ops", "viewer")]);
    let (bob, bob_token) = create_user_and_login(&host, &token, "bob", "viewer", Some(access));
    let bob_t = Some(bob_token.as_str());

    assert_eq!(
        visible_dags(&host, &bob_token),
        dag_set(&[("demo-default", None), ("demo-ops", Some("ops"))])
    );
    assert_eq!(start_dag(&host, bob_t, "demo-ops").status, 403);

    let wider = scoped(&[("ops", "operator"), ("finance", "viewer")]);
    update_user(
        &host,
        &token,
        &id_of(&bob),
        &json!({"workspaceAccess": wider}),
    )
    .expect_status(200);
    assert_eq!(start_dag(&host, bob_t, "demo-ops").status, 202);
    assert_eq!(
        visible_dags(&host, &bob_token),
        dag_set(&[
            ("demo-default", None),
            ("demo-finance", Some("finance")),
            ("demo-ops", Some("ops")),
        ])
    );
}
both_abis!(workspace_changes_apply_on_the_next_request);

// ---------------------------------------------------------------------------------------------
// error shapes and bad input

fn every_401_has_a_json_body_and_the_bearer_challenge(abi: Abi) {
    let (host, _) = start_with_admin(abi);
    let basic = [("Authorization", "Basic YWRtaW46cGFzcw==")];
    for response in [
        host.get("/api/v1/auth/me", None),
        host.get("/api/v1/auth/me", Some("garbage")),
        host.send("GET", "/api/v1/users", &basic, None),
        host.get("/api/v1/users", None),
        host.get(&user_path(UNKNOWN_ID), None),
        host.post_empty("/api/v1/auth/logout", None),
        login(&host, ADMIN_USERNAME, "Wrong-Pass-0000-moss"),
        host.get("/api/v1/dags", None),
        host.get("/api/v1/dags", Some("garbage")),
        start_dag(&host, None, "demo-ops"),
    ] {
        assert_error_shape(&response, 401, "unauthorized");
    }
}
both_abis!(every_401_has_a_json_body_and_the_bearer_challenge);

fn malformed_json_is_a_bad_request(abi: Abi) {
    let host = start(abi);
    assert_error_shape(
        &host.send_raw_json("POST", "/api/v1/auth/setup", None, b"{"),
        400,
        "bad_request",
    );
    let token = setup_admin(&host);
    let id = id_of(&create_user(&host, &token, "bob", "viewer", None));
    let t = Some(token.as_str());
    for response in [
        host.send_raw_json("POST", "/api/v1/auth/login", None, b"{\"username\":"),
        host.send_raw_json("POST", "/api/v1/users", t, b"not json"),
        host.send_raw_json("PATCH", &user_path(&id), t, b"{\"role\": }"),
        host.send_raw_json("POST", "/api/v1/auth/change-password", t, b"{"),
        host.send_raw_json(
            "POST",
            &format!("{}/reset-password", user_path(&id)),
            t,
            b"[",
        ),
    ] {
        assert_error_shape(&response, 400, "bad_request");
    }
}
both_abis!(malformed_json_is_a_bad_request);

fn wrong_field_types_are_a_bad_request(abi: Abi) {
    let host = start(abi);
    assert_error_shape(
        &host.post(
            "/api/v1/auth/setup",
            None,
            &json!({"username": ["admin"], "password": ADMIN_PASSWORD}),
        ),
        400,
        "bad_request",
    );
    let token = setup_admin(&host);
    let id = id_of(&create_user(&host, &token, "bob", "viewer", None));
    let t = Some(token.as_str());
    let reset = format!("{}/reset-password", user_path(&id));
    for response in [
        host.post(
            "/api/v1/auth/login",
            None,
            &json!({"username": 123, "password": ADMIN_PASSWORD}),
        ),
        host.post("/api/v1/auth/login", None, &json!([ADMIN_USERNAME])),
        host.post(
            "/api/v1/users",
            t,
            &json!({"username": "carol", "password": USER_PASSWORD, "role": 5}),
        ),
        host.post(
            "/api/v1/users",
            t,
            &json!({"username": "carol", "password": USER_PASSWORD, "role": "viewer",
                    "workspaceAccess": "all"}),
        ),
        host.post(
            "/api/v1/users",
            t,
            &json!({"username": "carol", "password": USER_PASSWORD, "role": "viewer",
                    "workspaceAccess": {"all": "yes", "grants": []}}),
        ),
        host.patch(&user_path(&id), t, &json!({"isDisabled": "yes"})),
        host.patch(&user_path(&id), t, &json!({"username": 7})),
        host.post(
            "/api/v1/auth/change-password",
            t,
            &json!({"currentPassword": 1, "newPassword": OTHER_PASSWORD}),
        ),
        host.post(&reset, t, &json!({"newPassword": true})),
    ] {
        assert_error_shape(&response, 400, "bad_request");
    }
    assert_eq!(usernames(&list_users(&host, &token)), ["admin", "bob"]);
}
both_abis!(wrong_field_types_are_a_bad_request);

fn wrong_content_type_is_a_bad_request(abi: Abi) {
    let (host, _) = start_with_admin(abi);
    let body = serde_json::to_vec(&json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}))
        .unwrap();
    let response = host.send(
        "POST",
        "/api/v1/auth/login",
        &[("Content-Type", "text/plain")],
        Some(&body),
    );
    assert_error_shape(&response, 400, "bad_request");
}
both_abis!(wrong_content_type_is_a_bad_request);

fn unknown_auth_path_is_a_json_not_found(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    for response in [
        host.get("/api/v1/auth/xyz", None),
        host.get("/api/v1/auth/xyz", Some(&token)),
        host.post("/api/v1/auth/xyz", Some(&token), &json!({})),
    ] {
        assert_error_shape(&response, 404, "not_found");
    }
}
both_abis!(unknown_auth_path_is_a_json_not_found);

fn body_over_1_mib_is_payload_too_large(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let filler = "a".repeat(1024 * 1024 + 1024);
    let login_body = format!("{{\"username\":\"{filler}\",\"password\":\"x\"}}");
    let user_body = format!(
        "{{\"username\":\"{filler}\",\"password\":\"{USER_PASSWORD}\",\"role\":\"viewer\"}}"
    );
    for (path, token, body) in [
        ("/api/v1/auth/login", None, login_body),
        ("/api/v1/users", Some(token.as_str()), user_body),
    ] {
        let response = host.send_raw_json("POST", path, token, body.as_bytes());
        assert_error_shape(&response, 413, "payload_too_large");
    }
}
both_abis!(body_over_1_mib_is_payload_too_large);

fn responses_never_expose_password_hashes(abi: Abi) {
    let host = start(abi);
    let mut responses = vec![setup(&host, ADMIN_USERNAME, ADMIN_PASSWORD)];
    let token = responses[0].json()["token"].as_str().unwrap().to_owned();
    let t = Some(token.as_str());
    let created = create_user_with(&host, &token, &new_user("bob", "viewer", None));
    let id = id_of(&created.json()["user"]);
    responses.push(created);
    responses.push(login(&host, "bob", USER_PASSWORD));
    responses.extend([
        login(&host, ADMIN_USERNAME, ADMIN_PASSWORD),
        host.get("/api/v1/auth/me", t),
        host.get("/api/v1/users", t),
        host.get(&user_path(&id), t),
        update_user(&host, &token, &id, &json!({"role": "developer"})),
        update_user(&host, &token, &id, &json!({"isDisabled": true})),
        host.get("/api/v1/users", t),
        update_user(&host, &token, &id, &json!({"isDisabled": false})),
        reset_password(&host, &token, &id, OTHER_PASSWORD),
        change_password(&host, &token, ADMIN_PASSWORD, OTHER_PASSWORD),
    ]);
    for response in &responses {
        assert!(
            (200..300).contains(&response.status),
            "{}: {} {}",
            response.request,
            response.status,
            response.text()
        );
        assert_no_secrets(&response.json());
        let text = response.text();
        for needle in ["$argon2", USER_PASSWORD, ADMIN_PASSWORD, OTHER_PASSWORD] {
            assert!(
                !text.contains(needle),
                "{}: the body contains {needle:?}: {text}",
                response.request
            );
        }
    }
}
both_abis!(responses_never_expose_password_hashes);

fn openapi_document_describes_the_api(abi: Abi) {
    let host = start(abi);
    let response = host.get("/api/v1/openapi.yaml", None);
    response.expect_status(200);
    let text = response.text();
    let version = text
        .lines()
        .find_map(|line| line.strip_prefix("openapi:"))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_owned())
        .unwrap_or_default();
    assert!(
        version.starts_with("3."),
        "not an OpenAPI 3 document (openapi: {version:?}):\n{text}"
    );
    for path in [
        "/auth/setup",
        "/auth/login",
        "/auth/logout",
        "/auth/me",
        "/auth/change-password",
        "/users",
        "/users/{",
        "/reset-password",
    ] {
        assert!(
            text.contains(path),
            "the OpenAPI document does not describe {path}"
        );
    }
}
both_abis!(openapi_document_describes_the_api);

// ---------------------------------------------------------------------------------------------
// initial admin from the environment

fn initial_admin_from_env_is_created_and_can_sign_in(abi: Abi) {
    let host = HostDemo::start(HostOptions::new(abi).initial_admin("boss", OTHER_PASSWORD));
    assert!(!setup_required(&host));
    let response = login(&host, "boss", OTHER_PASSWORD);
    response.expect_status(200);
    let user = response.json()["user"].clone();
    assert_eq!(user["role"], "admin");
    assert_eq!(user["workspaceAccess"], all_workspaces());
    assert_error(
        &setup(&host, ADMIN_USERNAME, ADMIN_PASSWORD),
        403,
        "forbidden",
        "Setup has already been completed",
    );
}
both_abis!(initial_admin_from_env_is_created_and_can_sign_in);

fn initial_admin_needs_both_username_and_password(abi: Abi) {
    let mut only_username = HostOptions::new(abi);
    only_username.initial_admin_username = Some("boss".to_owned());
    let mut only_password = HostOptions::new(abi);
    only_password.initial_admin_password = Some(OTHER_PASSWORD.to_owned());
    for options in [only_username, only_password] {
        let output = assert_start_fails(options);
        assert!(
            normalised(&output).contains("initial admin"),
            "the message should name the initial admin settings:\n{output}"
        );
    }
}
both_abis!(initial_admin_needs_both_username_and_password);

fn initial_admin_with_a_weak_password_stops_startup(abi: Abi) {
    let output = assert_start_fails(HostOptions::new(abi).initial_admin("boss", "short"));
    assert!(
        output.to_lowercase().contains("password"),
        "the message should say the password was refused:\n{output}"
    );
}
both_abis!(initial_admin_with_a_weak_password_stops_startup);

fn initial_admin_is_only_created_when_no_user_exists(abi: Abi) {
    let data = tempfile::tempdir().expect("tempdir");
    let first = HostDemo::start(HostOptions::new(abi).data_dir(data.path()));
    setup_admin(&first);
    first.stop();

    let host = HostDemo::start(
        HostOptions::new(abi)
            .data_dir(data.path())
            .initial_admin("boss", OTHER_PASSWORD),
    );
    assert!(!setup_required(&host));
    assert_invalid_credentials(&login(&host, "boss", OTHER_PASSWORD));
    let token = login_token(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
    assert_eq!(usernames(&list_users(&host, &token)), [ADMIN_USERNAME]);
}
both_abis!(initial_admin_is_only_created_when_no_user_exists);

// ---------------------------------------------------------------------------------------------
// auth mode none

fn user_management_is_not_enabled_in_mode_none(abi: Abi) {
    let host = HostDemo::start(HostOptions::new(abi).mode("none"));
    let user = user_path(UNKNOWN_ID);
    for response in [
        host.get("/api/v1/users", None),
        host.post("/api/v1/users", None, &new_user("bob", "viewer", None)),
        host.get(&user, None),
        host.patch(&user, None, &json!({"role": "viewer"})),
        host.delete(&user, None),
        host.post(
            &format!("{user}/reset-password"),
            None,
            &json!({"newPassword": OTHER_PASSWORD}),
        ),
    ] {
        assert_error(
            &response,
            401,
            "unauthorized",
            "User management is not enabled",
        );
    }
}
both_abis!(user_management_is_not_enabled_in_mode_none);

// ---------------------------------------------------------------------------------------------
// the host's demo DAGs: authorize through the plugin

fn scoped_user_sees_and_acts_only_in_granted_workspaces(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let access = scoped(&[("ops", "developer"), ("prod", "operator")]);
    let (_, bob) = create_user_and_login(&host, &token, "bob", "viewer", Some(access));
    let t = Some(bob.as_str());

    // The default workspace uses the top-level role (viewer), so demo-default is visible.
    assert_eq!(
        visible_dags(&host, &bob),
        dag_set(&[
            ("demo-default", None),
            ("demo-ops", Some("ops")),
            ("demo-prod", Some("prod")),
        ])
    );
    assert_eq!(
        start_dag(&host, t, "demo-ops").status,
        202,
        "developer runs in ops"
    );
    assert_eq!(
        edit_dag(&host, t, "demo-ops").status,
        200,
        "developer edits in ops"
    );
    assert_eq!(
        start_dag(&host, t, "demo-prod").status,
        202,
        "operator runs in prod"
    );
    assert_eq!(
        edit_dag(&host, t, "demo-prod").status,
        403,
        "operator cannot edit"
    );
    assert_eq!(
        start_dag(&host, t, "demo-default").status,
        403,
        "viewer cannot run"
    );
    assert_eq!(
        edit_dag(&host, t, "demo-default").status,
        403,
        "viewer cannot edit"
    );
    assert_eq!(
        start_dag(&host, t, "demo-finance").status,
        404,
        "finance is not visible"
    );
    assert_eq!(
        edit_dag(&host, t, "demo-finance").status,
        404,
        "finance is not visible"
    );
    assert_eq!(start_dag(&host, t, "demo-nope").status, 404);
    assert_error_shape(&start_dag(&host, None, "demo-ops"), 401, "unauthorized");
    assert_error_shape(&host.get("/api/v1/dags", None), 401, "unauthorized");
}
both_abis!(scoped_user_sees_and_acts_only_in_granted_workspaces);

fn admin_sees_and_runs_every_dag(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    assert_eq!(
        visible_dags(&host, &token),
        dag_set(&[
            ("demo-default", None),
            ("demo-finance", Some("finance")),
            ("demo-ops", Some("ops")),
            ("demo-prod", Some("prod")),
        ])
    );
    for dag in ["demo-default", "demo-finance", "demo-ops", "demo-prod"] {
        assert_eq!(
            start_dag(&host, Some(&token), dag).status,
            202,
            "start {dag}"
        );
        assert_eq!(edit_dag(&host, Some(&token), dag).status, 200, "edit {dag}");
    }
    assert_eq!(start_dag(&host, Some(&token), "demo-nope").status, 404);
}
both_abis!(admin_sees_and_runs_every_dag);
