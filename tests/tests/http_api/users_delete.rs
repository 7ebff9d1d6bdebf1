//! Deleting users: `DELETE /users/{id}`.

use dagu_auth_tests::Abi;
use dagu_auth_tests::api::*;

use crate::fixtures::start_with_admin;

fn delete_removes_the_user_and_frees_the_name(abi: Abi) {
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

both_abis!(delete_removes_the_user_and_frees_the_name);

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
