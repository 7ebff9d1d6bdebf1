//! The last enabled admin can be neither demoted, disabled nor deleted (409 `conflict`).

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo};
use serde_json::json;

use crate::fixtures::start_with_admin;

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
