//! API keys over HTTP as Dagu defines them: the surfaces a key may be used on (every HTTP request
//! is the REST API, on the plugin's endpoints and on the host's own resources alike), the checks
//! on create and update with Dagu's messages, and what becomes of a key when its owner is
//! disabled, deleted or changes role.

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo, Response};
use serde_json::{Value, json};

use crate::fixtures::{start_with_admin, visible_dags};

const KEYS: &str = "/api/v1/api-keys";
const NOT_FOR_THIS_SURFACE: &str = "API key is not allowed for this surface";
const INVALID_SURFACE: &str = "Invalid API key surface";
const INVALID_ATTRIBUTION: &str = "Invalid API key attribution";

fn key_path(id: &str) -> String {
    format!("{KEYS}/{id}")
}

fn body(name: &str, surfaces: Value, class: &str) -> Value {
    json!({"name": name, "role": "viewer", "allowedSurfaces": surfaces, "attributionClass": class})
}

/// Creates a key from `body`; answers (APIKey, key).
#[track_caller]
fn create_key(host: &HostDemo, admin: &str, body: &Value) -> (Value, String) {
    let response = host.post(KEYS, Some(admin), body);
    response.expect_status(201);
    let created = response.json();
    let key = created["key"].as_str().expect("key").to_owned();
    (created["apiKey"].clone(), key)
}

/// A key of the user `owner` for the REST API, as a developer; answers (key id, key).
#[track_caller]
fn owned_key(host: &HostDemo, admin: &str, name: &str, owner: &str) -> (String, String) {
    let body = json!({"name": name, "role": "developer", "allowedSurfaces": ["rest_api"], "attributionClass": "user_owned", "ownerUserId": owner});
    let (key, secret) = create_key(host, admin, &body);
    (key["id"].as_str().expect("id").to_owned(), secret)
}

fn get_key(host: &HostDemo, admin: &str, id: &str) -> Value {
    let response = host.get(&key_path(id), Some(admin));
    response.expect_status(200);
    response.json()["apiKey"].clone()
}

fn patch_key(host: &HostDemo, admin: &str, id: &str, body: &Value) -> Response {
    host.patch(&key_path(id), Some(admin), body)
}

/// `token` is refused with 401 by the plugin's endpoints and by the host's own resources.
#[track_caller]
fn assert_refused_as_unknown(host: &HostDemo, token: &str) {
    assert_error_shape(
        &host.get("/api/v1/auth/me", Some(token)),
        401,
        "unauthorized",
    );
    assert_error_shape(&host.get("/api/v1/dags", Some(token)), 401, "unauthorized");
}

#[track_caller]
fn assert_accepted(host: &HostDemo, token: &str) {
    host.get("/api/v1/auth/me", Some(token)).expect_status(200);
    visible_dags(host, token);
}

fn an_api_key_is_refused_with_403_on_a_surface_it_does_not_allow(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let (_, rest) = create_key(
        &host,
        &admin,
        &body("rest", json!(["rest_api"]), "service_account"),
    );
    let (_, mcp) = create_key(
        &host,
        &admin,
        &body("mcp", json!(["mcp"]), "service_account"),
    );
    assert_accepted(&host, &rest);
    assert_accepted(&host, &admin);
    // Refused by the plugin's endpoints and, through `authorize`, by the host's resources.
    for path in ["/api/v1/auth/me", "/api/v1/dags", "/api/v1/dags/demo-ops"] {
        assert_error(
            &host.get(path, Some(&mcp)),
            403,
            "forbidden",
            NOT_FOR_THIS_SURFACE,
        );
    }
    // A key that is no good at all is 401 first, whatever its surfaces.
    host.delete(&key_path(&id_of_key(&host, &admin, "mcp")), Some(&admin))
        .expect_status(204);
    assert_refused_as_unknown(&host, &mcp);
}

both_abis!(an_api_key_is_refused_with_403_on_a_surface_it_does_not_allow);

fn id_of_key(host: &HostDemo, admin: &str, name: &str) -> String {
    let response = host.get(KEYS, Some(admin));
    response.expect_status(200);
    let keys = response.json()["apiKeys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    keys.iter()
        .find(|k| k["name"] == name)
        .and_then(|k| k["id"].as_str())
        .unwrap_or_else(|| panic!("no key named {name}"))
        .to_owned()
}

fn surfaces_and_attribution_are_checked_with_dagus_messages(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let (bob, _) = create_user_and_login(&host, &admin, "bob", "viewer", None);
    disable_user(&host, &admin, &id_of(&bob));
    let t = Some(admin.as_str());
    let mut refused = vec![
        (
            json!({"name": "k", "role": "viewer", "attributionClass": "service_account"}),
            INVALID_SURFACE,
        ),
        (
            json!({"name": "k", "role": "viewer", "allowedSurfaces": ["mcp"]}),
            INVALID_ATTRIBUTION,
        ),
    ];
    for surfaces in [json!([]), json!(["ftp"]), json!(["rest_api", "grpc"])] {
        refused.push((body("k", surfaces, "service_account"), INVALID_SURFACE));
    }
    for class in ["", "robot"] {
        refused.push((body("k", json!(["rest_api"]), class), INVALID_ATTRIBUTION));
    }
    for owner in [json!(null), json!("nobody"), json!(id_of(&bob))] {
        let mut owned = body("k", json!(["rest_api"]), "user_owned");
        owned["ownerUserId"] = owner;
        refused.push((owned, INVALID_ATTRIBUTION));
    }
    for (request, message) in refused {
        let response = host.post(KEYS, t, &request);
        assert_error(&response, 400, "bad_request", message);
    }
    let response = host.get(KEYS, t);
    assert_eq!(response.json()["apiKeys"], json!([]), "nothing was created");

    let (key, secret) = create_key(
        &host,
        &admin,
        &body("ci", json!(["mcp", "rest_api", "mcp"]), "service_account"),
    );
    assert_eq!(key["allowedSurfaces"], json!(["rest_api", "mcp"]));
    assert_eq!(key["keyPrefix"], &secret[..8]);
    assert_eq!(key["attributionClass"], "service_account");
    assert_eq!(
        key["serviceAccountId"],
        format!("api_key:{}", key["id"].as_str().expect("id"))
    );
    assert_eq!(key["serviceAccountName"], "ci");
    assert!(key.get("ownerUserId").is_none() && key.get("migratedAsServiceAccount").is_none());
}

both_abis!(surfaces_and_attribution_are_checked_with_dagus_messages);

fn patch_changes_the_owner_and_checks_the_attribution_again(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let (alice, _) = create_user_and_login(&host, &admin, "alice", "viewer", None);
    let (bob, _) = create_user_and_login(&host, &admin, "bob", "viewer", None);
    let (alice, bob) = (id_of(&alice), id_of(&bob));
    let (id, secret) = owned_key(&host, &admin, "k", &alice);
    assert_eq!(get_key(&host, &admin, &id)["ownerUsername"], "alice");

    let response = patch_key(&host, &admin, &id, &json!({"ownerUserId": bob}));
    response.expect_status(200);
    assert_eq!(response.json()["apiKey"]["ownerUserId"], bob.as_str());
    assert_eq!(get_key(&host, &admin, &id)["ownerUsername"], "bob");
    assert_eq!(me(&host, &secret)["id"], bob.as_str());

    for (change, message) in [
        (json!({"ownerUserId": "nobody"}), INVALID_ATTRIBUTION),
        (json!({"attributionClass": "robot"}), INVALID_ATTRIBUTION),
        (json!({"allowedSurfaces": []}), INVALID_SURFACE),
        (json!({"allowedSurfaces": ["ftp"]}), INVALID_SURFACE),
    ] {
        assert_error(
            &patch_key(&host, &admin, &id, &change),
            400,
            "bad_request",
            message,
        );
    }
    let response = patch_key(
        &host,
        &admin,
        &id,
        &json!({"attributionClass": "service_account", "allowedSurfaces": ["mcp"]}),
    );
    response.expect_status(200);
    let key = response.json()["apiKey"].clone();
    assert_eq!(key["serviceAccountName"], "k");
    assert_eq!(key["allowedSurfaces"], json!(["mcp"]));
    assert!(key.get("ownerUserId").is_none(), "{key}");
    assert_error(
        &host.get("/api/v1/auth/me", Some(&secret)),
        403,
        "forbidden",
        NOT_FOR_THIS_SURFACE,
    );
}

both_abis!(patch_changes_the_owner_and_checks_the_attribution_again);

fn a_key_follows_its_owner_disabled_deleted_or_demoted(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let (owner, _) = create_user_and_login(&host, &admin, "owner", "operator", None);
    let owner = id_of(&owner);
    let (id, secret) = owned_key(&host, &admin, "k", &owner);
    let me_now = me(&host, &secret);
    assert_eq!(
        (me_now["id"].as_str(), me_now["username"].as_str()),
        (Some(owner.as_str()), Some("owner"))
    );
    assert_eq!(me_now["role"], "developer", "the key's role");
    assert_eq!(me_now["authProvider"], "builtin");

    // Demoted or promoted: no effect, the key keeps its own role.
    for role in ["viewer", "admin"] {
        update_user(&host, &admin, &owner, &json!({"role": role})).expect_status(200);
        assert_eq!(me(&host, &secret)["role"], "developer", "owner now {role}");
    }
    update_user(&host, &admin, &owner, &json!({"role": "viewer"})).expect_status(200);

    // Disabled: 401 on every use, no update until re-attributed; re-enabled: works again.
    disable_user(&host, &admin, &owner);
    assert_refused_as_unknown(&host, &secret);
    assert_error(
        &patch_key(&host, &admin, &id, &json!({"name": "renamed"})),
        400,
        "bad_request",
        INVALID_ATTRIBUTION,
    );
    update_user(&host, &admin, &owner, &json!({"isDisabled": false})).expect_status(200);
    assert_accepted(&host, &secret);

    // Deleted: the key is kept and listed with its owner, refused on every use, and can be
    // re-attributed (then it works) or deleted.
    host.delete(&user_path(&owner), Some(&admin))
        .expect_status(204);
    assert_refused_as_unknown(&host, &secret);
    let kept = get_key(&host, &admin, &id);
    assert_eq!(
        (kept["ownerUserId"].as_str(), kept["ownerUsername"].as_str()),
        (Some(owner.as_str()), Some("owner"))
    );
    assert_error(
        &patch_key(&host, &admin, &id, &json!({"description": "x"})),
        400,
        "bad_request",
        INVALID_ATTRIBUTION,
    );
    patch_key(
        &host,
        &admin,
        &id,
        &json!({"attributionClass": "service_account"}),
    )
    .expect_status(200);
    assert_accepted(&host, &secret);
    assert_eq!(me(&host, &secret)["id"], format!("api_key:{id}"));
    host.delete(&key_path(&id), Some(&admin)).expect_status(204);
    assert_refused_as_unknown(&host, &secret);
}

both_abis!(a_key_follows_its_owner_disabled_deleted_or_demoted);
