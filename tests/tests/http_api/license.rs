//! The licence gate: user create, update and delete need the `rbac` feature.

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo, HostOptions};
use serde_json::json;

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
