//! Revocation and changes taking effect: disable and delete end sessions at once; role and
//! workspace changes apply to the next request.

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo};
use serde_json::{Value, json};

use crate::fixtures::{dag_set, start_dag, start_with_admin, visible_dags};

/// bob, a developer, signed in; his token has been used on the plugin's endpoints and on the
/// host's own resources, so both have seen it before it is revoked.
fn signed_in_developer(host: &HostDemo, admin_token: &str) -> (Value, String) {
    let (bob, bob_token) = create_user_and_login(host, admin_token, "bob", "developer", None);
    assert_eq!(me_status(host, &bob_token), 200);
    visible_dags(host, &bob_token);
    (bob, bob_token)
}

/// `token` is refused with 401 by the plugin's endpoints and by the host's own resources.
#[track_caller]
fn assert_signed_out(host: &HostDemo, token: &str) {
    assert_error_shape(
        &host.get("/api/v1/auth/me", Some(token)),
        401,
        "unauthorized",
    );
    assert_error_shape(&host.get("/api/v1/dags", Some(token)), 401, "unauthorized");
}

fn disabling_a_user_revokes_their_tokens_at_once(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (bob, bob_token) = signed_in_developer(&host, &token);

    disable_user(&host, &token, &id_of(&bob));
    assert_signed_out(&host, &bob_token);
}

both_abis!(disabling_a_user_revokes_their_tokens_at_once);

fn deleting_a_user_revokes_their_tokens_at_once(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (bob, bob_token) = signed_in_developer(&host, &token);

    host.delete(&user_path(&id_of(&bob)), Some(&token))
        .expect_status(204);
    assert_signed_out(&host, &bob_token);
}

both_abis!(deleting_a_user_revokes_their_tokens_at_once);

fn role_changes_apply_on_the_next_request(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let (bob, bob_token) = create_user_and_login(&host, &token, "bob", "viewer", None);
    let id = id_of(&bob);
    let bob_t = Some(bob_token.as_str());

    assert_eq!(start_dag(&host, bob_t, "demo-ops").status, 403);
    assert_insufficient_permissions(&host.get("/api/v1/users", bob_t));

    update_user(&host, &token, &id, &json!({"role": "operator"})).expect_status(200);
    assert_eq!(start_dag(&host, bob_t, "demo-ops").status, 202);

    update_user(&host, &token, &id, &json!({"role": "admin"})).expect_status(200);
    host.get("/api/v1/users", bob_t).expect_status(200);

    update_user(&host, &token, &id, &json!({"role": "viewer"})).expect_status(200);
    assert_insufficient_permissions(&host.get("/api/v1/users", bob_t));
    assert_eq!(start_dag(&host, bob_t, "demo-ops").status, 403);
}

both_abis!(role_changes_apply_on_the_next_request);

fn workspace_changes_apply_on_the_next_request(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let access = scoped(&[("ops", "viewer")]);
    let (bob, bob_token) = create_user_and_login(&host, &token, "bob", "viewer", Some(access));
    let bob_t = Some(bob_token.as_str());

    assert_eq!(
        visible_dags(&host, &bob_token),
        dag_set(&[("demo-default", None), ("demo-ops", Some("ops"))])
    );
    assert_eq!(start_dag(&host, bob_t, "demo-ops").status, 403);

    let wider = scoped(&[("ops", "operator"), ("finance", "viewer")]);
    update_user(
        &host,
        &token,
        &id_of(&bob),
        &json!({"workspaceAccess": wider}),
    )
    .expect_status(200);
    assert_eq!(start_dag(&host, bob_t, "demo-ops").status, 202);
    assert_eq!(
        visible_dags(&host, &bob_token),
        dag_set(&[
            ("demo-default", None),
            ("demo-finance", Some("finance")),
            ("demo-ops", Some("ops")),
        ])
    );
}

both_abis!(workspace_changes_apply_on_the_next_request);
