//! API keys, through the Engine (the audit trail: engine_audit.rs).

mod common;

use common::*;
use dagu_auth::Error;
use dagu_auth::service::{CreateApiKeyRequest, UpdateApiKeyRequest};
use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision};
use serde_json::json;

/// A create request from `body`, which names the surfaces and attribution when the test is about
/// them; otherwise a service account for the REST API.
fn key_request(mut body: serde_json::Value) -> CreateApiKeyRequest {
    for (field, default) in [
        ("allowedSurfaces", json!(["rest_api"])),
        ("attributionClass", json!("service_account")),
    ] {
        if body.get(field).is_none() {
            body[field] = default;
        }
    }
    serde_json::from_value(body).expect("request json")
}

fn create_key(fx: &Fixture, admin: &str, name: &str, role: &str) -> (String, String) {
    let created = fx
        .engine
        .create_api_key(admin, key_request(json!({"name": name, "role": role})))
        .expect("create key");
    (created.api_key.id, created.key)
}

#[test]
fn a_created_key_is_shown_once_and_stored_only_as_a_digest() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let created = fx
        .engine
        .create_api_key(
            &admin,
            key_request(json!({"name": "ci", "role": "operator"})),
        )
        .expect("create");
    assert!(created.key.starts_with("dagu_"));
    let body = serde_json::to_value(&created).expect("json");
    assert_eq!(body["key"], created.key.as_str());
    assert_eq!(body["apiKey"]["keyPrefix"], &created.key[..8]);
    assert_eq!(body["apiKey"]["allowedSurfaces"], json!(["rest_api"]));
    let listed =
        serde_json::to_string(&fx.engine.list_api_keys(&admin).expect("list")).expect("json");
    assert!(
        !listed.contains(&created.key),
        "the key never appears again"
    );
    let db = std::fs::read(fx.dir.path().join("auth/auth.db")).expect("db file");
    let wal = std::fs::read(fx.dir.path().join("auth/auth.db-wal")).unwrap_or_default();
    let needle = created.key.as_bytes();
    assert!(
        !db.windows(needle.len()).any(|w| w == needle)
            && !wal.windows(needle.len()).any(|w| w == needle)
    );
}

#[test]
fn a_key_authenticates_like_a_session_token_with_its_own_role_and_grants() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let access = json!({"all": false, "grants": [{"workspace": "ops", "role": "operator"}]});
    let created = fx
        .engine
        .create_api_key(
            &admin,
            key_request(json!({"name": "deploy", "role": "viewer", "workspaceAccess": access})),
        )
        .expect("create");
    let key = created.key.as_str();
    assert_eq!(
        fx.engine
            .authorize(key, Action::Execute, "ops")
            .expect("decision"),
        Decision::Allow
    );
    assert_eq!(
        fx.engine
            .authorize(key, Action::Write, "ops")
            .expect("decision"),
        Decision::Forbidden
    );
    assert_eq!(
        fx.engine
            .authorize(key, Action::View, "prod")
            .expect("decision"),
        Decision::NotVisible
    );
    let me = serde_json::to_value(fx.engine.principal(key).expect("me")).expect("json");
    assert_eq!(me["user"]["id"], format!("api_key:{}", created.api_key.id));
    assert_eq!(me["user"]["username"], "deploy");
    assert_eq!(me["user"]["role"], "viewer");
}

/// `verify` and `GET /auth/me` answer this User for a service-account key: the service account
/// Dagu attributes it to (`api_key:<id>`, its name), and the key's role, grants and times.
#[test]
fn a_key_is_answered_as_a_full_user_built_from_the_key() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let access = json!({"all": false, "grants": [{"workspace": "ops", "role": "operator"}]});
    let request = json!({"name": "deploy", "role": "viewer", "workspaceAccess": access});
    let created = fx
        .engine
        .create_api_key(&admin, key_request(request))
        .expect("create");
    fx.clock.advance_ms(3_600_000);
    let patch = serde_json::from_value(json!({"description": "later"})).expect("patch");
    let key_json = serde_json::to_value(
        fx.engine
            .update_api_key(&admin, &created.api_key.id, patch)
            .expect("update"),
    )
    .expect("json");
    let me =
        serde_json::to_value(fx.engine.principal(created.key.as_str()).expect("me")).expect("json");
    let user = &me["user"];
    assert_eq!(user["id"], format!("api_key:{}", created.api_key.id));
    assert_eq!(user["username"], "deploy");
    assert_eq!(user["role"], "viewer");
    assert_eq!(user["workspaceAccess"], access);
    assert_eq!(user["authProvider"], "builtin");
    assert_eq!(user["createdAt"], "2026-01-01T00:00:00Z");
    assert_eq!(user["createdAt"], key_json["apiKey"]["createdAt"]);
    assert_eq!(user["updatedAt"], "2026-01-01T01:00:00Z");
    assert_eq!(user["updatedAt"], key_json["apiKey"]["updatedAt"]);
    assert!(user.get("isDisabled").is_none(), "{user}");
}

#[test]
fn deleting_or_expiring_a_key_makes_it_fail_at_once() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (id, key) = create_key(&fx, &admin, "doomed", "viewer");
    assert!(fx.engine.principal(key.as_str()).is_ok());
    fx.engine.delete_api_key(&admin, &id).expect("delete");
    assert!(matches!(
        fx.engine.principal(key.as_str()),
        Err(Error::Unauthenticated(_))
    ));

    let soon = "2026-01-01T01:00:00Z";
    let expiring = fx
        .engine
        .create_api_key(
            &admin,
            key_request(json!({"name": "brief", "role": "viewer", "expiresAt": soon})),
        )
        .expect("create");
    assert!(fx.engine.principal(expiring.key.as_str()).is_ok());
    fx.clock.advance_ms(3600 * 1000);
    assert!(matches!(
        fx.engine.principal(expiring.key.as_str()),
        Err(Error::Unauthenticated(_))
    ));
}

/// As in Dagu: the key stops while its owner is disabled and works again once the owner is
/// re-enabled; once the owner is deleted it never works again but is kept, listed with its owner.
#[test]
fn a_key_owned_by_a_user_stops_when_the_owner_is_disabled_or_deleted() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (owner, _) = fx.user(&admin, "owner", "developer");
    let body = json!({"name": "owned", "role": "developer", "ownerUserId": owner, "attributionClass": "user_owned"});
    let key = fx
        .engine
        .create_api_key(&admin, key_request(body))
        .expect("create")
        .key;
    assert!(fx.engine.principal(key.as_str()).is_ok());
    fx.engine
        .update_user(&admin, &owner, patch(json!({"isDisabled": true})))
        .expect("disable owner");
    assert!(fx.engine.principal(key.as_str()).is_err());
    fx.engine
        .update_user(&admin, &owner, patch(json!({"isDisabled": false})))
        .expect("enable owner");
    assert!(fx.engine.principal(key.as_str()).is_ok());
    fx.engine.delete_user(&admin, &owner).expect("delete owner");
    assert!(matches!(
        fx.engine.principal(key.as_str()),
        Err(Error::Unauthenticated(_))
    ));
    let listed = fx.engine.list_api_keys(&admin).expect("list").0;
    assert_eq!(listed.len(), 1, "the key outlives its owner");
    assert_eq!(listed[0].attribution.owner_user_id(), Some(owner.as_str()));
}

#[test]
fn key_names_are_unique_and_unlicensed_installations_keep_two() {
    let fx = Fixture::with(|c| c.license_features.clear());
    let admin = fx.setup_admin();
    create_key(&fx, &admin, "one", "viewer");
    let duplicate = fx.engine.create_api_key(
        &admin,
        key_request(json!({"name": "one", "role": "viewer"})),
    );
    assert!(matches!(duplicate, Err(Error::AlreadyExists(_))));
    create_key(&fx, &admin, "two", "viewer");
    match fx.engine.create_api_key(
        &admin,
        key_request(json!({"name": "three", "role": "viewer"})),
    ) {
        Err(Error::Forbidden(message)) => assert!(
            message.starts_with("Community edition supports up to 2 API keys."),
            "{message}"
        ),
        other => panic!("expected the community limit, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn only_admins_manage_keys_and_keys_follow_user_validation() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, manager) = fx.user(&admin, "manager", "manager");
    let forbidden = fx.engine.create_api_key(
        &manager,
        key_request(json!({"name": "x", "role": "viewer"})),
    );
    assert_eq!(
        forbidden.err(),
        Some(Error::Forbidden("Insufficient permissions".into()))
    );
    let scoped_admin = json!({"name": "x", "role": "developer", "workspaceAccess": {"all": false, "grants": [{"workspace": "ops", "role": "viewer"}]}});
    let invalid = fx.engine.create_api_key(&admin, key_request(scoped_admin));
    assert!(
        matches!(invalid, Err(Error::BadRequest(m)) if m.starts_with("invalid workspace access: "))
    );
}

#[test]
fn an_admin_key_can_manage_users_and_role_changes_apply_next_call() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (id, key) = create_key(&fx, &admin, "automation", "admin");
    assert!(fx.engine.list_users(key.as_str()).is_ok());
    let patch: UpdateApiKeyRequest =
        serde_json::from_value(json!({"role": "viewer"})).expect("patch");
    fx.engine
        .update_api_key(&admin, &id, patch)
        .expect("demote key");
    assert_eq!(
        fx.engine.list_users(key.as_str()).err(),
        Some(Error::Forbidden("Insufficient permissions".into()))
    );
}

#[test]
fn last_used_is_recorded_off_the_hot_path() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (id, key) = create_key(&fx, &admin, "busy", "viewer");
    fx.engine
        .authorize(&key, Action::View, "")
        .expect("authorize");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let used = fx
            .engine
            .get_api_key(&admin, &id)
            .expect("get")
            .0
            .last_used_at_ms;
        if used == Some(START_MS) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "lastUsedAt never recorded: {used:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
