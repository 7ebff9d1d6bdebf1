//! Sign-in: `POST /auth/login`, its answer, its refusals and its rate limit.

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo, HostOptions};

use crate::fixtures::{start, start_with_admin};

fn login_answers_a_login_response_with_a_24_hour_token(abi: Abi) {
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

both_abis!(login_answers_a_login_response_with_a_24_hour_token);

fn the_token_ttl_setting_sets_the_expiry(abi: Abi) {
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

both_abis!(the_token_ttl_setting_sets_the_expiry);

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
