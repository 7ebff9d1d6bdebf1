//! A credential answered from the cache (found by its own bytes, without its HMAC or digest) still
//! stops on its very next call once it is revoked, expired or disabled, and only its exact bytes
//! are answered from the cache.

mod common;

use common::*;
use dagu_auth::Error;
use dagu_auth::service::CreateApiKeyRequest;
use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision};
use serde_json::json;

fn is_unauthenticated(result: Result<Decision, Error>) -> bool {
    matches!(result, Err(Error::Unauthenticated(_)))
}

/// Two calls: the first loads the credential, the second is answered from the cache.
fn hot(fx: &Fixture, credential: &str) {
    for _ in 0..2 {
        assert_eq!(
            fx.engine.authorize(credential, Action::View, ""),
            Ok(Decision::Allow)
        );
    }
}

fn view(fx: &Fixture, credential: &str) -> Result<Decision, Error> {
    fx.engine.authorize(credential, Action::View, "")
}

fn key(fx: &Fixture, admin: &str, body: serde_json::Value) -> (String, String) {
    let mut body = body;
    body["allowedSurfaces"] = json!(["rest_api"]);
    if body.get("attributionClass").is_none() {
        body["attributionClass"] = json!("service_account");
    }
    let request: CreateApiKeyRequest = serde_json::from_value(body).expect("request json");
    let created = fx
        .engine
        .create_api_key(admin, request)
        .expect("create key");
    (created.api_key.id, created.key)
}

#[test]
fn a_hot_session_stops_on_the_call_after_sign_out() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, token) = fx.user(&admin, "bob", "viewer");
    hot(&fx, &token);
    fx.engine.logout(token.as_str()).expect("sign out");
    assert!(is_unauthenticated(view(&fx, &token)));
    assert!(is_unauthenticated(view(&fx, &token)), "and stays out");
}

#[test]
fn a_hot_session_stops_on_the_call_after_its_user_is_disabled_or_deleted() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (bob, bob_token) = fx.user(&admin, "bob", "viewer");
    let (carol, carol_token) = fx.user(&admin, "carol", "viewer");
    hot(&fx, &bob_token);
    hot(&fx, &carol_token);
    fx.engine
        .update_user(&admin, &bob, patch(json!({"isDisabled": true})))
        .expect("disable");
    assert!(is_unauthenticated(view(&fx, &bob_token)), "disabled");
    fx.engine.delete_user(&admin, &carol).expect("delete");
    assert!(is_unauthenticated(view(&fx, &carol_token)), "deleted");
}

#[test]
fn a_hot_session_stops_on_the_call_after_it_expires() {
    let ttl_ms = 60 * 60 * 1000;
    let fx = Fixture::with(|c| c.token_ttl = std::time::Duration::from_millis(ttl_ms as u64));
    let admin = fx.setup_admin();
    let (_, token) = fx.user(&admin, "bob", "viewer");
    hot(&fx, &token);
    fx.clock.advance_ms(ttl_ms - 1000);
    hot(&fx, &token);
    fx.clock.advance_ms(1000);
    assert!(is_unauthenticated(view(&fx, &token)));
}

#[test]
fn a_token_differing_from_a_hot_one_in_any_part_is_refused() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, token) = fx.user(&admin, "bob", "viewer");
    hot(&fx, &token);
    let signature_at = token.rfind('.').expect("signed token") + 1;
    let payload_at = token.find('.').expect("header") + 1;
    for at in [0, payload_at, payload_at + 5, signature_at, token.len() - 2] {
        let mut forged = token.clone().into_bytes();
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).expect("ascii");
        assert!(is_unauthenticated(view(&fx, &forged)), "byte {at} altered");
    }
    for forged in [
        format!("{token}A"),
        token[..token.len() - 1].to_owned(),
        format!(" {token}"),
    ] {
        assert!(is_unauthenticated(view(&fx, &forged)), "{forged}");
    }
    hot(&fx, &token);
}

#[test]
fn a_hot_api_key_stops_on_the_call_after_it_is_deleted_or_expires() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (id, doomed) = key(&fx, &admin, json!({"name": "doomed", "role": "viewer"}));
    hot(&fx, &doomed);
    fx.engine.delete_api_key(&admin, &id).expect("delete");
    assert!(is_unauthenticated(view(&fx, &doomed)), "deleted");

    let soon = "2026-01-01T01:00:00Z";
    let (_, brief) = key(
        &fx,
        &admin,
        json!({"name": "brief", "role": "viewer", "expiresAt": soon}),
    );
    hot(&fx, &brief);
    fx.clock.advance_ms(3600 * 1000);
    assert!(is_unauthenticated(view(&fx, &brief)), "expired");
}

#[test]
fn a_hot_api_key_stops_on_the_call_after_its_owner_is_disabled() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (owner, _) = fx.user(&admin, "owner", "viewer");
    let body = json!({"name": "owned", "role": "viewer", "ownerUserId": owner, "attributionClass": "user_owned"});
    let (_, owned) = key(&fx, &admin, body);
    hot(&fx, &owned);
    fx.engine
        .update_user(&admin, &owner, patch(json!({"isDisabled": true})))
        .expect("disable owner");
    assert!(is_unauthenticated(view(&fx, &owned)));
}

#[test]
fn a_key_differing_from_a_hot_one_is_refused() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, secret) = key(&fx, &admin, json!({"name": "ci", "role": "viewer"}));
    hot(&fx, &secret);
    let last = secret.len() - 1;
    let flipped = if secret.as_bytes()[last] == b'a' {
        "b"
    } else {
        "a"
    };
    for forged in [
        format!("{}{flipped}", &secret[..last]),
        format!("{secret}a"),
        secret[..last].to_owned(),
    ] {
        assert!(is_unauthenticated(view(&fx, &forged)), "{forged}");
    }
}

#[test]
fn a_revocation_on_another_engine_stops_a_hot_credential_within_the_refresh_bound() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (id, token) = fx.user(&admin, "bob", "viewer");
    let (key_id, secret) = key(&fx, &admin, json!({"name": "ci", "role": "viewer"}));
    hot(&fx, &token);
    hot(&fx, &secret);
    let other_host = fx.second_engine();
    other_host
        .update_user(&admin, &id, patch(json!({"isDisabled": true})))
        .expect("disable elsewhere");
    other_host
        .delete_api_key(&admin, &key_id)
        .expect("delete elsewhere");
    fx.clock.advance_ms(1000);
    assert!(is_unauthenticated(view(&fx, &token)));
    assert!(is_unauthenticated(view(&fx, &secret)));
}
