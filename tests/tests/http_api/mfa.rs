//! Two-factor sign-in over HTTP (plugin/openapi.yaml, "Two-factor"): setup, the second step of
//! a sign-in, recovery codes, the role that requires it, and the admin reset. Every code comes
//! from `oathtool` (`dagu_auth_tests::oath`); without it each test skips, saying why.

use dagu_auth_tests::api::*;
use dagu_auth_tests::oath::totp_code;
use dagu_auth_tests::{Abi, Client, HostDemo, HostOptions};
use serde_json::{Value, json};

use crate::fixtures::start_with_admin;

/// Sets TOTP up for the holder of `token`: answers the base32 secret and the recovery codes, or
/// `None` without oathtool. The confirming code is the current step's.
fn enrol(client: &Client, token: &str) -> Option<(String, Vec<String>)> {
    let setup = client.post_empty("/api/v1/auth/mfa/totp/setup", Some(token));
    setup.expect_status(200);
    let setup = setup.json();
    let secret = setup["secret"].as_str().expect("secret").to_owned();
    let url = setup["otpauthUrl"].as_str().expect("otpauthUrl");
    assert!(
        url.starts_with("otpauth://totp/") && url.contains(&secret),
        "{url}"
    );
    let code = totp_code(&secret, 0)?;
    let confirmed = client.post(
        "/api/v1/auth/mfa/totp/confirm",
        Some(token),
        &json!({"code": code}),
    );
    confirmed.expect_status(200);
    let codes: Vec<String> = confirmed.json()["recoveryCodes"]
        .as_array()
        .expect("recoveryCodes")
        .iter()
        .map(|code| code.as_str().expect("code").to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    Some((secret, codes))
}

/// The password step of a TOTP user: 401 `mfa_required` with an `mfaToken` and no session.
#[track_caller]
fn password_step(client: &Client, username: &str) -> String {
    let response = login(client, username, USER_PASSWORD);
    response.expect_status(401);
    let body = response.json();
    assert_eq!(body["code"], "mfa_required");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(body.get("token").is_none());
    body["mfaToken"].as_str().expect("mfaToken").to_owned()
}

fn code_step(client: &Client, mfa_token: &str, code: &str) -> dagu_auth_tests::Response {
    client.post(
        "/api/v1/auth/login/mfa",
        None,
        &json!({"mfaToken": mfa_token, "code": code}),
    )
}

fn session_of(response: &dagu_auth_tests::Response) -> String {
    response.expect_status(200);
    let body: Value = response.json();
    assert_login_response(&body);
    assert_eq!(body["user"]["mfaEnabled"], true);
    body["token"].as_str().expect("token").to_owned()
}

fn a_totp_user_signs_in_in_two_steps_and_no_code_works_twice(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let bob = create_user(&host, &admin, "bob", "developer", None);
    let bob_id = bob["id"].as_str().expect("id").to_owned();
    let bob_token = login_token(&host, "bob", USER_PASSWORD);
    assert_eq!(me(&host, &bob_token)["mfaEnabled"], false);
    let Some((secret, recovery)) = enrol(&host, &bob_token) else {
        return;
    };

    // The next step's code: the current one was spent confirming.
    let code = totp_code(&secret, 30).expect("oathtool");
    let session = session_of(&code_step(&host, &password_step(&host, "bob"), &code));
    assert_eq!(me(&host, &session)["mfaEnabled"], true);
    let replay = code_step(&host, &password_step(&host, "bob"), &code);
    replay.expect_status(401);
    assert_eq!(replay.json()["code"], "unauthorized");

    // A recovery code works once.
    let mfa_token = password_step(&host, "bob");
    session_of(&code_step(&host, &mfa_token, &recovery[0]));
    code_step(&host, &password_step(&host, "bob"), &recovery[0]).expect_status(401);
    // The token of a finished sign-in is spent.
    code_step(&host, &mfa_token, &recovery[1]).expect_status(401);

    // The admin reset: 204, the user's sessions end, the password alone signs in again.
    let reset = host.delete(&format!("/api/v1/users/{bob_id}/mfa"), Some(&admin));
    reset.expect_status(204);
    assert_eq!(me_status(&host, &session), 401);
    let again = login(&host, "bob", USER_PASSWORD);
    again.expect_status(200);
    assert_eq!(again.json()["user"]["mfaEnabled"], false);
}

both_abis!(a_totp_user_signs_in_in_two_steps_and_no_code_works_twice);

fn a_role_that_requires_it_is_held_to_enrolling(abi: Abi) {
    let host =
        HostDemo::start(HostOptions::new(abi).env("DAGU_AUTH_BUILTIN_MFA_REQUIRED_ROLES", "admin"));
    let admin = setup_admin(&host);
    let refused = host.get("/api/v1/users", Some(&admin));
    refused.expect_status(403);
    assert_eq!(refused.json()["code"], "mfa_enrollment_required");
    assert_eq!(me_status(&host, &admin), 200);
    if enrol(&host, &admin).is_none() {
        return;
    }
    host.get("/api/v1/users", Some(&admin)).expect_status(200);
}

both_abis!(a_role_that_requires_it_is_held_to_enrolling);

fn turning_it_off_needs_the_password_and_a_code(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    create_user(&host, &admin, "bob", "developer", None);
    let bob = login_token(&host, "bob", USER_PASSWORD);
    let Some((secret, _)) = enrol(&host, &bob) else {
        return;
    };
    let code = totp_code(&secret, 30).expect("oathtool");
    let off = |password: &str, code: &str| {
        host.request(
            "DELETE",
            "/api/v1/auth/mfa/totp",
            Some(&bob),
            Some(&json!({"currentPassword": password, "code": code})),
        )
    };
    off(OTHER_PASSWORD, &code).expect_status(401);
    off(USER_PASSWORD, &code).expect_status(200);
    login(&host, "bob", USER_PASSWORD).expect_status(200);
}

both_abis!(turning_it_off_needs_the_password_and_a_code);
