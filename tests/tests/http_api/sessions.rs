//! Sessions: `POST /auth/logout` and `GET /auth/me`.

use dagu_auth_tests::Abi;
use dagu_auth_tests::api::*;

use crate::fixtures::start_with_admin;

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

/// `GET /auth/sessions` lists the caller's own sessions with where they signed in from;
/// `DELETE /auth/sessions/{id}` ends one, `DELETE /auth/sessions` the others, and
/// `DELETE /users/{id}/sessions` (admin) every one of a user's, the password kept.
fn session_controls_list_and_end_sessions(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let (bob, first) = create_user_and_login(&host, &admin, "bob", "viewer", None);
    let body = serde_json::json!({"username": "bob", "password": USER_PASSWORD});
    let signed_in = host.send(
        "POST",
        "/api/v1/auth/login",
        &[
            ("Content-Type", "application/json"),
            ("User-Agent", "session-test/1.0"),
        ],
        Some(body.to_string().as_bytes()),
    );
    signed_in.expect_status(200);
    let second = signed_in.json()["token"]
        .as_str()
        .expect("token")
        .to_string();
    let third = login_token(&host, "bob", USER_PASSWORD);

    let listed = host.get("/api/v1/auth/sessions", Some(&second));
    listed.expect_status(200).expect_json_content_type();
    let sessions = listed.json()["sessions"]
        .as_array()
        .cloned()
        .expect("sessions");
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[0]["userAgent"], "session-test/1.0");
    assert!(
        sessions[0]["clientIp"]
            .as_str()
            .is_some_and(|ip| !ip.is_empty())
    );
    assert_no_secrets(&listed.json());

    // The first token's session, by its id, ended from the second.
    let first_id = host.get("/api/v1/auth/sessions", Some(&first)).json()["sessions"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    host.delete(&format!("/api/v1/auth/sessions/{first_id}"), Some(&second))
        .expect_status(204);
    assert_eq!(me_status(&host, &first), 401);
    assert_error_shape(
        &host.delete(&format!("/api/v1/auth/sessions/{first_id}"), Some(&second)),
        404,
        "not_found",
    );

    let ended = host.delete("/api/v1/auth/sessions", Some(&second));
    ended.expect_status(200);
    assert_eq!(ended.json(), serde_json::json!({"ended": 1}));
    assert_eq!(
        (me_status(&host, &third), me_status(&host, &second)),
        (401, 200)
    );

    assert_insufficient_permissions(&host.delete(
        &format!("{}/sessions", user_path(&id_of(&bob))),
        Some(&second),
    ));
    let ended = host.delete(
        &format!("{}/sessions", user_path(&id_of(&bob))),
        Some(&admin),
    );
    ended.expect_status(200);
    assert_eq!(ended.json(), serde_json::json!({"ended": 1}));
    assert_eq!(me_status(&host, &second), 401);
    login(&host, "bob", USER_PASSWORD).expect_status(200);
    assert_authentication_required(&host.get("/api/v1/auth/sessions", None));
}

both_abis!(session_controls_list_and_end_sessions);
