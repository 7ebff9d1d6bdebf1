//! Passwords: `POST /auth/change-password` (one's own) and `POST /users/{id}/reset-password`
//! (an admin's).

use dagu_auth_tests::Abi;
use dagu_auth_tests::api::*;
use serde_json::json;

use crate::fixtures::start_with_admin;

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

fn an_admin_cannot_reset_their_own_password_without_the_current_one(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let me = id_of(&me(&host, &token));
    assert_error(
        &reset_password(&host, &token, &me, OTHER_PASSWORD),
        403,
        "forbidden",
        "Use change-password to change your own password",
    );
    assert_eq!(me_status(&host, &token), 200, "the session stays valid");
    login_token(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
}

both_abis!(an_admin_cannot_reset_their_own_password_without_the_current_one);
