//! Error shapes and bad input: every error is `{code, message}` with the right status.

use dagu_auth_tests::Abi;
use dagu_auth_tests::api::*;
use serde_json::json;

use crate::fixtures::{start, start_dag, start_with_admin};

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

fn wrong_content_type_is_415(abi: Abi) {
    let (host, _) = start_with_admin(abi);
    let body = serde_json::to_vec(&json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}))
        .unwrap();
    let response = host.send(
        "POST",
        "/api/v1/auth/login",
        &[("Content-Type", "text/plain")],
        Some(&body),
    );
    assert_error(
        &response,
        415,
        "bad_request",
        "Content-Type must be application/json",
    );
}

both_abis!(wrong_content_type_is_415);

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
