//! Creating users: `POST /users`, with the username and password rules.

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo, Response};
use serde_json::json;

use crate::fixtures::{start_with_admin, visible_dags};

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

fn create_user_refuses_names_that_read_like_another_users(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    for (name, code_point) in [("admin\u{200B}", "U+200B"), ("\u{202E}nimda", "U+202E")] {
        let message = assert_error_shape(
            &create_user_with(&host, &token, &new_user(name, "viewer", None)),
            400,
            "bad_request",
        );
        assert!(message.contains(code_point), "{name:?}: {message}");
    }
    for name in ["ａｄｍｉｎ", "ADMIN"] {
        assert_error(
            &create_user_with(&host, &token, &new_user(name, "viewer", None)),
            409,
            "already_exists",
            "Username already exists",
        );
    }
    assert_error_prefix(
        &create_user_with(&host, &token, &new_user("\u{430}dmin", "viewer", None)),
        409,
        "already_exists",
        "Username looks the same as an existing username",
    );
    create_user(&host, &token, "jose\u{301}", "viewer", None);
    assert_error(
        &create_user_with(&host, &token, &new_user("jos\u{E9}", "viewer", None)),
        409,
        "already_exists",
        "Username already exists",
    );
    assert_eq!(
        usernames(&list_users(&host, &token)),
        ["admin", "jos\u{E9}"]
    );
}

both_abis!(create_user_refuses_names_that_read_like_another_users);
