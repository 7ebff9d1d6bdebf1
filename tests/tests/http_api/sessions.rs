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
