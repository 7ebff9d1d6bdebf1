//! `auth.mode: none`: the host loads no plugin and user management answers 401.

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo, HostOptions};
use serde_json::json;

fn user_management_is_not_enabled_in_mode_none(abi: Abi) {
    let host = HostDemo::start(HostOptions::new(abi).mode("none"));
    let user = user_path(UNKNOWN_ID);
    for response in [
        host.get("/api/v1/users", None),
        host.post("/api/v1/users", None, &new_user("bob", "viewer", None)),
        host.get(&user, None),
        host.patch(&user, None, &json!({"role": "viewer"})),
        host.delete(&user, None),
        host.post(
            &format!("{user}/reset-password"),
            None,
            &json!({"newPassword": OTHER_PASSWORD}),
        ),
    ] {
        assert_error(
            &response,
            401,
            "unauthorized",
            "User management is not enabled",
        );
    }
}

both_abis!(user_management_is_not_enabled_in_mode_none);
