//! API keys as Dagu defines them, through the Engine: the surfaces a key may be used on, whom its
//! actions are attributed to, the checks (in Dagu's order, with Dagu's messages) on create and
//! update, and what becomes of a key when its owner is disabled, deleted or changes role.

mod common;

use common::*;
use dagu_auth::service::{CreateApiKeyRequest, Credentials, UpdateApiKeyRequest};
use dagu_auth::{Engine, Error};
use dagu_auth_abi::{
    DaguAuthAction as Action, DaguAuthDecision as Decision, DaguAuthSurface as Surface,
};
use serde_json::{Value, json};

const INVALID_SURFACE: &str = "Invalid API key surface";
const INVALID_ATTRIBUTION: &str = "Invalid API key attribution";
const NOT_FOR_THIS_SURFACE: &str = "API key is not allowed for this surface";

fn create(fx: &Fixture, admin: &str, body: Value) -> Result<(String, String), Error> {
    let request: CreateApiKeyRequest = serde_json::from_value(body).expect("request json");
    fx.engine
        .create_api_key(admin, request)
        .map(|created| (created.api_key.id, created.key))
}

/// A key for `surfaces`, as a service account.
fn key_for(fx: &Fixture, admin: &str, name: &str, surfaces: Value) -> String {
    let body = json!({"name": name, "role": "viewer", "allowedSurfaces": surfaces, "attributionClass": "service_account"});
    create(fx, admin, body).expect("create key").1
}

/// A key of `owner` (a user id) for the REST API; answers (key id, key).
fn owned_key(fx: &Fixture, admin: &str, name: &str, owner: &str) -> (String, String) {
    let body = json!({"name": name, "role": "developer", "allowedSurfaces": ["rest_api"], "attributionClass": "user_owned", "ownerUserId": owner});
    create(fx, admin, body).expect("create owned key")
}

fn update(fx: &Fixture, admin: &str, id: &str, body: Value) -> Result<Value, Error> {
    let request: UpdateApiKeyRequest = serde_json::from_value(body).expect("patch json");
    fx.engine
        .update_api_key(admin, id, request)
        .map(|key| serde_json::to_value(key).expect("json")["apiKey"].clone())
}

fn get(fx: &Fixture, admin: &str, id: &str) -> Value {
    let key = fx.engine.get_api_key(admin, id).expect("get key");
    serde_json::to_value(key).expect("json")["apiKey"].clone()
}

fn on(key: &str, surface: Surface) -> Credentials<'_> {
    Credentials::from(key).on(surface)
}

fn decide(engine: &Engine, key: &str, surface: Surface) -> Result<Decision, Error> {
    engine.authorize(on(key, surface), Action::View, "")
}

fn bad_request(message: &str) -> Result<(String, String), Error> {
    Err(Error::bad_request(message))
}

fn not_for_this_surface() -> Result<Decision, Error> {
    Err(Error::Forbidden(NOT_FOR_THIS_SURFACE.into()))
}

fn unauthenticated(result: Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(result, Err(Error::Unauthenticated(_)))
}

// ---- surfaces ----

#[test]
fn a_key_is_used_only_on_the_surfaces_it_allows() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let rest = key_for(&fx, &admin, "rest", json!(["rest_api"]));
    let mcp = key_for(&fx, &admin, "mcp", json!(["mcp"]));
    let both = key_for(&fx, &admin, "both", json!(["mcp", "rest_api"]));
    assert_eq!(
        decide(&fx.engine, &rest, Surface::RestApi),
        Ok(Decision::Allow)
    );
    assert_eq!(
        decide(&fx.engine, &rest, Surface::Mcp),
        not_for_this_surface()
    );
    assert_eq!(decide(&fx.engine, &mcp, Surface::Mcp), Ok(Decision::Allow));
    assert_eq!(
        decide(&fx.engine, &mcp, Surface::RestApi),
        not_for_this_surface()
    );
    for surface in Surface::ALL {
        assert_eq!(decide(&fx.engine, &both, surface), Ok(Decision::Allow));
    }
}

/// Everything without a surface is the REST API: `authorize` with a bare token, `principal`
/// (verify, `/auth/me`) and every management call, so an MCP-only key manages nothing.
#[test]
fn calls_without_a_surface_mean_the_rest_api() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let body = json!({"name": "mcp-admin", "role": "admin", "allowedSurfaces": ["mcp"], "attributionClass": "service_account"});
    let (_, mcp) = create(&fx, &admin, body).expect("create");
    let refused = Error::Forbidden(NOT_FOR_THIS_SURFACE.into());
    assert_eq!(
        fx.engine.authorize(mcp.as_str(), Action::View, "").err(),
        Some(refused.clone())
    );
    assert_eq!(
        fx.engine.principal(mcp.as_str()).err(),
        Some(refused.clone())
    );
    assert_eq!(fx.engine.list_api_keys(mcp.as_str()).err(), Some(refused));
    assert!(fx.engine.principal(on(&mcp, Surface::Mcp)).is_ok());
}

#[test]
fn a_session_token_is_good_on_every_surface() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    for surface in Surface::ALL {
        assert_eq!(
            decide(&fx.engine, &admin, surface),
            Ok(Decision::Allow),
            "{surface:?}"
        );
        assert!(fx.engine.principal(on(&admin, surface)).is_ok());
    }
}

/// A key that is no good at all is 401 on every surface, before any surface is looked at.
#[test]
fn a_bad_key_is_unauthenticated_on_every_surface() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (owner, _) = fx.user(&admin, "owner", "developer");
    let (_, owned) = owned_key(&fx, &admin, "owned", &owner);
    fx.engine
        .update_user(&admin, &owner, patch(json!({"isDisabled": true})))
        .expect("disable owner");
    let unknown = "dagu_NoSuchKey1111111111111111111111111111";
    for surface in Surface::ALL {
        assert!(unauthenticated(decide(&fx.engine, unknown, surface)));
        assert!(unauthenticated(decide(&fx.engine, &owned, surface)));
    }
}

#[test]
fn surfaces_can_be_changed_and_apply_on_the_next_call() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let body = json!({"name": "k", "role": "viewer", "allowedSurfaces": ["rest_api"], "attributionClass": "service_account"});
    let (id, key) = create(&fx, &admin, body).expect("create");
    assert_eq!(
        decide(&fx.engine, &key, Surface::Mcp),
        not_for_this_surface()
    );
    let changed = update(&fx, &admin, &id, json!({"allowedSurfaces": ["mcp"]})).expect("update");
    assert_eq!(changed["allowedSurfaces"], json!(["mcp"]));
    assert_eq!(decide(&fx.engine, &key, Surface::Mcp), Ok(Decision::Allow));
    assert_eq!(
        decide(&fx.engine, &key, Surface::RestApi),
        not_for_this_surface()
    );
}

// ---- checks on create, in Dagu's order ----

#[test]
fn surfaces_must_be_given_known_and_at_least_one() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let mut body = json!({"name": "k", "role": "viewer", "attributionClass": "service_account"});
    assert_eq!(
        create(&fx, &admin, body.clone()),
        bad_request(INVALID_SURFACE)
    );
    for refused in [
        json!(null),
        json!([]),
        json!(["ftp"]),
        json!(["rest_api", "ftp"]),
        json!(["REST_API"]),
    ] {
        body["allowedSurfaces"] = refused.clone();
        assert_eq!(
            create(&fx, &admin, body.clone()),
            bad_request(INVALID_SURFACE),
            "{refused}"
        );
    }
    body["allowedSurfaces"] = json!(["mcp", "mcp", "rest_api", "mcp"]);
    let (id, _) = create(&fx, &admin, body).expect("duplicates count once");
    assert_eq!(
        get(&fx, &admin, &id)["allowedSurfaces"],
        json!(["rest_api", "mcp"])
    );
}

#[test]
fn the_attribution_class_must_be_one_of_dagus_two() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let mut body = json!({"name": "k", "role": "viewer", "allowedSurfaces": ["rest_api"]});
    assert_eq!(
        create(&fx, &admin, body.clone()),
        bad_request(INVALID_ATTRIBUTION)
    );
    for refused in ["", "robot", "USER_OWNED", "service account"] {
        body["attributionClass"] = json!(refused);
        assert_eq!(
            create(&fx, &admin, body.clone()),
            bad_request(INVALID_ATTRIBUTION),
            "{refused}"
        );
    }
}

#[test]
fn a_user_owned_key_needs_an_existing_enabled_owner() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (disabled, _) = fx.user(&admin, "disabled", "viewer");
    fx.engine
        .update_user(&admin, &disabled, patch(json!({"isDisabled": true})))
        .expect("disable");
    let body = |owner: Value| json!({"name": "k", "role": "viewer", "allowedSurfaces": ["rest_api"], "attributionClass": "user_owned", "ownerUserId": owner});
    for owner in [
        json!(null),
        json!(""),
        json!("   "),
        json!("nobody"),
        json!(disabled),
    ] {
        assert_eq!(
            create(&fx, &admin, body(owner.clone())),
            bad_request(INVALID_ATTRIBUTION),
            "{owner}"
        );
    }
}

#[test]
fn a_user_owned_key_shows_its_owner_and_no_service_account() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (owner, _) = fx.user(&admin, "carol", "viewer");
    let body = json!({"name": "k", "role": "viewer", "allowedSurfaces": ["rest_api"], "attributionClass": "user_owned", "ownerUserId": owner, "serviceAccountName": "ignored"});
    let (id, _) = create(&fx, &admin, body).expect("create");
    let key = get(&fx, &admin, &id);
    assert_eq!(key["attributionClass"], "user_owned");
    assert_eq!(key["ownerUserId"], owner.as_str());
    assert_eq!(key["ownerUsername"], "carol");
    for absent in [
        "serviceAccountId",
        "serviceAccountName",
        "migratedAsServiceAccount",
    ] {
        assert!(key.get(absent).is_none(), "{absent} in {key}");
    }
}

#[test]
fn a_service_account_drops_any_owner_and_is_named_for_the_key_unless_named() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (owner, _) = fx.user(&admin, "carol", "viewer");
    let body = json!({"name": "deploy", "role": "viewer", "allowedSurfaces": ["rest_api"], "attributionClass": "service_account", "ownerUserId": owner, "serviceAccountName": "  "});
    let (id, _) = create(&fx, &admin, body).expect("create");
    let key = get(&fx, &admin, &id);
    assert_eq!(key["serviceAccountId"], format!("api_key:{id}"));
    assert_eq!(key["serviceAccountName"], "deploy");
    for absent in ["ownerUserId", "ownerUsername", "migratedAsServiceAccount"] {
        assert!(key.get(absent).is_none(), "{absent} in {key}");
    }
    let named = json!({"name": "other", "role": "viewer", "allowedSurfaces": ["rest_api"], "attributionClass": "service_account", "serviceAccountName": "robot"});
    let (id, _) = create(&fx, &admin, named).expect("create");
    assert_eq!(get(&fx, &admin, &id)["serviceAccountName"], "robot");
}

/// Dagu checks the role, then the access, then that surfaces and an attribution class are there,
/// then the name, then the surface names and the attribution itself.
#[test]
fn create_checks_run_in_dagus_order() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let scoped_developer =
        json!({"all": false, "grants": [{"workspace": "ops", "role": "viewer"}]});
    let role_first = create(&fx, &admin, json!({"name": "", "role": "emperor"}));
    assert!(
        matches!(&role_first, Err(Error::BadRequest(m)) if m.starts_with("invalid role")),
        "{role_first:?}"
    );
    let access = create(
        &fx,
        &admin,
        json!({"name": "", "role": "developer", "workspaceAccess": scoped_developer}),
    );
    assert!(
        matches!(&access, Err(Error::BadRequest(m)) if m.starts_with("invalid workspace access")),
        "{access:?}"
    );
    assert_eq!(
        create(
            &fx,
            &admin,
            json!({"name": "", "role": "viewer", "allowedSurfaces": []})
        ),
        bad_request(INVALID_SURFACE)
    );
    assert_eq!(
        create(
            &fx,
            &admin,
            json!({"name": "", "role": "viewer", "allowedSurfaces": ["ftp"]})
        ),
        bad_request(INVALID_ATTRIBUTION)
    );
    assert_eq!(
        create(
            &fx,
            &admin,
            json!({"name": "", "role": "viewer", "allowedSurfaces": ["ftp"], "attributionClass": "robot"})
        ),
        bad_request("name is required")
    );
    assert_eq!(
        create(
            &fx,
            &admin,
            json!({"name": "k", "role": "viewer", "allowedSurfaces": ["ftp"], "attributionClass": "robot"})
        ),
        bad_request(INVALID_SURFACE)
    );
}

// ---- updates ----

#[test]
fn an_update_can_give_a_key_another_owner() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (alice, _) = fx.user(&admin, "alice", "viewer");
    let (bob, _) = fx.user(&admin, "bob", "viewer");
    let (id, key) = owned_key(&fx, &admin, "k", &alice);
    let moved = update(&fx, &admin, &id, json!({"ownerUserId": bob})).expect("re-attribute");
    assert_eq!(moved["ownerUserId"], bob.as_str());
    assert_eq!(moved["ownerUsername"], "bob");
    assert_eq!(get(&fx, &admin, &id)["ownerUserId"], bob.as_str());
    let me = serde_json::to_value(fx.engine.principal(key.as_str()).expect("me")).expect("json");
    assert_eq!(me["user"]["id"], bob.as_str());
    // Alice no longer holds the key: disabling her changes nothing; disabling Bob stops it.
    fx.engine
        .update_user(&admin, &alice, patch(json!({"isDisabled": true})))
        .expect("disable alice");
    assert!(fx.engine.principal(key.as_str()).is_ok());
    fx.engine
        .update_user(&admin, &bob, patch(json!({"isDisabled": true})))
        .expect("disable bob");
    assert!(unauthenticated(fx.engine.principal(key.as_str())));
    assert_eq!(
        update(&fx, &admin, &id, json!({"ownerUserId": "nobody"})).err(),
        Some(Error::bad_request(INVALID_ATTRIBUTION))
    );
}

#[test]
fn an_update_can_switch_the_attribution_class_either_way() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (alice, _) = fx.user(&admin, "alice", "viewer");
    let (id, _) = owned_key(&fx, &admin, "k", &alice);
    let account = update(
        &fx,
        &admin,
        &id,
        json!({"attributionClass": "service_account", "serviceAccountName": "bot"}),
    )
    .expect("to a service account");
    assert_eq!(account["serviceAccountName"], "bot");
    assert_eq!(account["serviceAccountId"], format!("api_key:{id}"));
    assert!(account.get("ownerUserId").is_none() && account.get("ownerUsername").is_none());
    assert_eq!(
        update(&fx, &admin, &id, json!({"attributionClass": "user_owned"})).err(),
        Some(Error::bad_request(INVALID_ATTRIBUTION)),
        "user_owned needs an owner"
    );
    let owned = update(
        &fx,
        &admin,
        &id,
        json!({"attributionClass": "user_owned", "ownerUserId": alice}),
    )
    .expect("back to alice");
    assert_eq!(owned["ownerUsername"], "alice");
    assert!(owned.get("serviceAccountName").is_none());
    assert_eq!(
        update(&fx, &admin, &id, json!({"attributionClass": "robot"})).err(),
        Some(Error::bad_request(INVALID_ATTRIBUTION))
    );
}

#[test]
fn an_update_refuses_bad_surfaces_and_an_unknown_key() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let body = json!({"name": "k", "role": "viewer", "allowedSurfaces": ["rest_api"], "attributionClass": "service_account"});
    let (id, _) = create(&fx, &admin, body).expect("create");
    for refused in [json!([]), json!(["ftp"])] {
        assert_eq!(
            update(&fx, &admin, &id, json!({"allowedSurfaces": refused})).err(),
            Some(Error::bad_request(INVALID_SURFACE))
        );
    }
    assert_eq!(
        update(&fx, &admin, "nope", json!({"description": "x"})).err(),
        Some(Error::NotFound("API key not found".into()))
    );
    assert_eq!(
        get(&fx, &admin, &id)["allowedSurfaces"],
        json!(["rest_api"])
    );
}

#[test]
fn the_owner_username_is_a_snapshot_refreshed_by_each_update() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (alice, _) = fx.user(&admin, "alice", "viewer");
    let (id, key) = owned_key(&fx, &admin, "k", &alice);
    fx.engine
        .update_user(&admin, &alice, patch(json!({"username": "alicia"})))
        .expect("rename");
    assert_eq!(get(&fx, &admin, &id)["ownerUsername"], "alice");
    let me = serde_json::to_value(fx.engine.principal(key.as_str()).expect("me")).expect("json");
    assert_eq!(me["user"]["username"], "alice");
    let updated = update(&fx, &admin, &id, json!({"description": "d"})).expect("update");
    assert_eq!(updated["ownerUsername"], "alicia");
}

// ---- owners ----

#[test]
fn a_disabled_owners_key_answers_401_and_works_again_once_the_owner_is_enabled() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (owner, _) = fx.user(&admin, "owner", "viewer");
    let (id, key) = owned_key(&fx, &admin, "k", &owner);
    assert_eq!(
        decide(&fx.engine, &key, Surface::RestApi),
        Ok(Decision::Allow)
    );
    fx.engine
        .update_user(&admin, &owner, patch(json!({"isDisabled": true})))
        .expect("disable");
    assert!(unauthenticated(decide(&fx.engine, &key, Surface::RestApi)));
    assert!(unauthenticated(fx.engine.principal(key.as_str())));
    // Not even renamed until it is re-attributed.
    assert_eq!(
        update(&fx, &admin, &id, json!({"name": "renamed"})).err(),
        Some(Error::bad_request(INVALID_ATTRIBUTION))
    );
    assert_eq!(get(&fx, &admin, &id)["name"], "k");
    fx.engine
        .update_user(&admin, &owner, patch(json!({"isDisabled": false})))
        .expect("enable");
    assert_eq!(
        decide(&fx.engine, &key, Surface::RestApi),
        Ok(Decision::Allow)
    );
}

#[test]
fn a_deleted_owners_key_is_kept_and_can_only_be_deleted_or_re_attributed() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (owner, _) = fx.user(&admin, "owner", "viewer");
    let (id, key) = owned_key(&fx, &admin, "k", &owner);
    let (other_id, other) = owned_key(&fx, &admin, "other", &owner);
    assert_eq!(
        decide(&fx.engine, &key, Surface::RestApi),
        Ok(Decision::Allow)
    );
    fx.engine.delete_user(&admin, &owner).expect("delete owner");
    assert!(unauthenticated(decide(&fx.engine, &key, Surface::RestApi)));
    assert!(unauthenticated(fx.engine.principal(key.as_str())));
    let listed = get(&fx, &admin, &id);
    assert_eq!(listed["ownerUserId"], owner.as_str());
    assert_eq!(listed["ownerUsername"], "owner");
    assert_eq!(
        update(&fx, &admin, &id, json!({"role": "admin"})).err(),
        Some(Error::bad_request(INVALID_ATTRIBUTION))
    );
    let account = update(
        &fx,
        &admin,
        &id,
        json!({"attributionClass": "service_account"}),
    )
    .expect("re-attributed");
    assert_eq!(account["serviceAccountName"], "k");
    assert_eq!(
        decide(&fx.engine, &key, Surface::RestApi),
        Ok(Decision::Allow)
    );
    fx.engine
        .delete_api_key(&admin, &other_id)
        .expect("a dead key can be deleted");
    assert!(unauthenticated(decide(
        &fx.engine,
        &other,
        Surface::RestApi
    )));
}

/// The owner's role is never consulted: the key has its own role and workspace access.
#[test]
fn an_owners_role_change_leaves_the_key_as_it_was() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (owner, _) = fx.user(&admin, "owner", "operator");
    let (_, key) = owned_key(&fx, &admin, "k", &owner);
    let write = |key: &str| fx.engine.authorize(key, Action::Write, "").expect("decide");
    assert_eq!(write(&key), Decision::Allow, "the key is a developer");
    for role in ["viewer", "admin", "operator"] {
        fx.engine
            .update_user(&admin, &owner, patch(json!({"role": role})))
            .expect("change the owner's role");
        assert_eq!(write(&key), Decision::Allow, "owner now {role}");
        assert_eq!(
            fx.engine
                .authorize(key.as_str(), Action::Admin, "")
                .expect("decide"),
            Decision::Forbidden,
            "owner now {role}"
        );
    }
    let me = serde_json::to_value(fx.engine.principal(key.as_str()).expect("me")).expect("json");
    assert_eq!(me["user"]["role"], "developer");
}

/// The principal cache must not keep serving a key whose owner is gone: neither after a delete
/// in this process, nor after one by another process sharing the store (noticed within the
/// cache's refresh interval).
#[test]
fn a_deleted_owner_stops_a_cached_key_in_this_process_and_in_another() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let other_host = fx.second_engine();
    for (name, deleter) in [("here", &fx.engine), ("elsewhere", &other_host)] {
        let (owner, _) = fx.user(&admin, name, "viewer");
        let (_, key) = owned_key(&fx, &admin, name, &owner);
        // Hot in both caches.
        for engine in [&fx.engine, &other_host] {
            assert_eq!(decide(engine, &key, Surface::RestApi), Ok(Decision::Allow));
        }
        deleter.delete_user(&admin, &owner).expect("delete owner");
        fx.clock.advance_ms(1_000);
        for engine in [&fx.engine, &other_host] {
            assert!(
                unauthenticated(decide(engine, &key, Surface::RestApi)),
                "{name}"
            );
        }
    }
}

/// /auth/me for a user-owned key: the owner's id and the username the key keeps, with the key's
/// own role and access, `builtin`, and the key's times.
#[test]
fn a_user_owned_key_is_answered_as_its_owner_with_the_keys_rights() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (owner, _) = fx.user(&admin, "owner", "viewer");
    let (id, key) = owned_key(&fx, &admin, "k", &owner);
    let me = serde_json::to_value(fx.engine.principal(key.as_str()).expect("me")).expect("json");
    let user = &me["user"];
    assert_eq!(user["id"], owner.as_str());
    assert_eq!(user["username"], "owner");
    assert_eq!(user["role"], "developer", "the key's role, not the owner's");
    assert_eq!(user["workspaceAccess"], json!({"all": true, "grants": []}));
    assert_eq!(user["authProvider"], "builtin");
    assert_eq!(user["createdAt"], get(&fx, &admin, &id)["createdAt"]);
    assert!(user.get("isDisabled").is_none());
}
