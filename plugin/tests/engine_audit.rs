//! The audit trail through the Engine: what each event records (who, through which credential,
//! how it went), what it never records, who may read it, and the host's own entries.

mod common;

use common::*;
use dagu_auth::Error;
use dagu_auth::service::{
    AuditPage, AuditRequest, CreateApiKeyRequest, Credentials, UpdateApiKeyRequest,
};
use serde_json::{Value, json};

fn create_key(fx: &Fixture, admin: &str, name: &str, role: &str) -> (String, String) {
    let request: CreateApiKeyRequest = serde_json::from_value(json!({"name": name, "role": role,
        "allowedSurfaces": ["rest_api"], "attributionClass": "service_account"}))
    .expect("request json");
    let created = fx
        .engine
        .create_api_key(admin, request)
        .expect("create key");
    (created.api_key.id, created.key)
}

/// A listing asked for with the JSON the ABIs take.
fn list(fx: &Fixture, reader: &str, query: Value) -> AuditPage {
    let request: AuditRequest = serde_json::from_value(query).expect("query json");
    fx.engine.list_audit(reader, request).expect("audit")
}

/// Every entry, oldest first, as the JSON callers see.
fn entries(fx: &Fixture, reader: &str) -> Vec<Value> {
    let page = list(fx, reader, json!({"limit": 500}));
    let mut entries = serde_json::to_value(&page).expect("json")["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    entries.reverse();
    entries
}

fn actions(fx: &Fixture, reader: &str) -> Vec<String> {
    entries(fx, reader)
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The newest entry with `action`.
fn last(fx: &Fixture, reader: &str, action: &str) -> Value {
    entries(fx, reader)
        .into_iter()
        .rev()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} entry"))
}

#[test]
fn every_admin_action_leaves_one_audit_entry() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (bob, bob_token) = fx.user(&admin, "bob", "viewer");
    let _ = fx.engine.login("bob", "wrong-password", "192.0.2.7");
    fx.engine
        .update_user(&admin, &bob, patch(json!({"role": "operator"})))
        .expect("update");
    fx.engine
        .update_user(&admin, &bob, patch(json!({"isDisabled": true})))
        .expect("disable");
    fx.engine
        .update_user(&admin, &bob, patch(json!({"isDisabled": false})))
        .expect("enable");
    fx.engine
        .reset_password(&admin, &bob, "another-password-1")
        .expect("reset");
    let bob_token = fx
        .engine
        .login("bob", "another-password-1", "")
        .map(|l| l.token)
        .unwrap_or(bob_token);
    fx.engine
        .change_password(&bob_token, "another-password-1", "bobs-own-password")
        .expect("change");
    let (key_id, _) = create_key(&fx, &admin, "k", "viewer");
    let patch_key: UpdateApiKeyRequest =
        serde_json::from_value(json!({"description": "d"})).expect("patch");
    fx.engine
        .update_api_key(&admin, &key_id, patch_key)
        .expect("update key");
    fx.engine
        .delete_api_key(&admin, &key_id)
        .expect("delete key");
    fx.engine.delete_user(&admin, &bob).expect("delete");
    fx.engine.logout(&admin).expect("logout");
    let admin = fx
        .engine
        .login("admin", ADMIN_PASSWORD, "")
        .expect("login")
        .token;
    // Dagu's names: disabling and enabling are updates (the details say `is_disabled`).
    assert_eq!(
        actions(&fx, &admin),
        [
            "setup_admin",
            "user_create",
            "login",
            "login_failed",
            "user_update",
            "user_update",
            "user_update",
            "password_reset",
            "login",
            "password_change",
            "api_key_create",
            "api_key_update",
            "api_key_delete",
            "user_delete",
            "logout",
            "login",
        ]
    );
    let categories: Vec<Value> = entries(&fx, &admin)
        .iter()
        .map(|e| e["category"].clone())
        .collect();
    assert!(categories[10..13].iter().all(|c| c == "api_key"));
    assert!(categories[..10].iter().all(|c| c == "user"));
    let disable = &entries(&fx, &admin)[5];
    let details: Value = serde_json::from_str(disable["details"].as_str().expect("a string"))
        .expect("details are JSON");
    assert_eq!(
        details,
        json!({"target_user_id": bob, "target_username": "bob", "is_disabled": true})
    );
}

#[test]
fn every_entry_names_the_user_and_the_credential_it_came_through() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let admin_id = fx.engine.principal(&admin).expect("admin").id();
    let from = |token| Credentials::new(token, "192.0.2.10");
    fx.create_user_json(
        &admin,
        json!({"username": "bob", "password": USER_PASSWORD, "role": "viewer"}),
    )
    .expect("bob");
    let by_session = last(&fx, &admin, "user_create");
    assert_eq!(by_session["userId"], admin_id.as_str());
    assert_eq!(by_session["username"], "admin");
    assert_eq!(by_session["credentialType"], "jwt");
    assert_eq!(
        by_session.get("credentialId"),
        None,
        "empty fields are left out"
    );
    assert_eq!(
        (
            &by_session["source"],
            &by_session["surface"],
            &by_session["result"]
        ),
        (&json!("rest"), &json!("rest_api"), &json!("succeeded"))
    );
    assert_eq!(by_session["resourceType"], "user");
    assert!(uuid::Uuid::parse_str(by_session["id"].as_str().expect("id")).is_ok());

    let (key_id, key) = create_key(&fx, &admin, "automation", "admin");
    let request = serde_json::from_value(
        json!({"username": "carol", "password": USER_PASSWORD, "role": "viewer"}),
    )
    .expect("request");
    fx.engine.create_user(from(&key), request).expect("carol");
    let by_key = last(&fx, &admin, "user_create");
    assert_eq!(
        (&by_key["credentialType"], &by_key["credentialId"]),
        (&json!("api_key"), &json!(key_id))
    );
    // Attributed as Dagu attributes a key: a service account as `api_key:<id>` under its name.
    assert_eq!(
        (&by_key["userId"], &by_key["username"]),
        (&json!(format!("api_key:{key_id}")), &json!("automation"))
    );
    assert_eq!(by_key["ipAddress"], "192.0.2.10");

    // A user-owned key is attributed to its owner.
    let request: CreateApiKeyRequest = serde_json::from_value(json!({"name": "admins-key",
        "role": "admin", "allowedSurfaces": ["rest_api"], "attributionClass": "user_owned",
        "ownerUserId": admin_id}))
    .expect("request json");
    let owned = fx
        .engine
        .create_api_key(&admin, request)
        .expect("owned key");
    let request = serde_json::from_value(
        json!({"username": "dave", "password": USER_PASSWORD, "role": "viewer"}),
    )
    .expect("request");
    fx.engine
        .create_user(from(&owned.key), request)
        .expect("dave");
    let by_owned = last(&fx, &admin, "user_create");
    assert_eq!(
        (
            &by_owned["userId"],
            &by_owned["username"],
            &by_owned["credentialId"]
        ),
        (&json!(admin_id), &json!("admin"), &json!(owned.api_key.id))
    );

    // Setup and sign-in come with no credential; the entry names the user all the same.
    fx.engine.login("admin", ADMIN_PASSWORD, "").expect("login");
    let login = last(&fx, &admin, "login");
    assert_eq!(
        (
            &login["userId"],
            &login["username"],
            &login["credentialType"]
        ),
        (&json!(admin_id), &json!("admin"), &json!("none"))
    );
    let setup = last(&fx, &admin, "setup_admin");
    assert_eq!(
        (&setup["userId"], &setup["username"]),
        (&json!(admin_id), &json!("admin"))
    );
}

#[test]
fn a_failed_sign_in_says_why_and_names_only_an_account_that_exists() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (bob, _) = fx.user(&admin, "bob", "viewer");
    let reason = |entry: &Value| -> Value {
        serde_json::from_str(entry["details"].as_str().expect("details")).expect("json")
    };

    let _ = fx.engine.login("bob", "wrong-password", "192.0.2.7");
    let wrong = last(&fx, &admin, "login_failed");
    assert_eq!(
        (&wrong["userId"], &wrong["username"]),
        (&json!(bob), &json!("bob"))
    );
    assert_eq!(wrong["result"], "failed");
    assert_eq!(wrong["ipAddress"], "192.0.2.7");
    assert_eq!(reason(&wrong), json!({"reason": "invalid_credentials"}));

    fx.engine
        .update_user(&admin, &bob, patch(json!({"isDisabled": true})))
        .expect("disable");
    let _ = fx.engine.login("bob", USER_PASSWORD, "192.0.2.7");
    let disabled = last(&fx, &admin, "login_failed");
    assert_eq!(reason(&disabled), json!({"reason": "account_disabled"}));

    // A password typed into the username box: not an account, so it is nowhere in the entry.
    let typed = "Tr0ub4dor&3-secret";
    let _ = fx.engine.login(typed, "anything-at-all", "192.0.2.8");
    let unknown = last(&fx, &admin, "login_failed");
    assert_eq!(
        (&unknown["userId"], &unknown["username"]),
        (&json!(""), &json!(""))
    );
    assert_eq!(reason(&unknown), json!({"reason": "invalid_credentials"}));
    assert!(
        !unknown
            .to_string()
            .to_lowercase()
            .contains(&typed.to_lowercase())
    );
}

#[test]
fn a_rate_limited_sign_in_is_a_failed_login_with_its_reason() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let limited =
        (0..50).find_map(
            |_| match fx.engine.login("admin", "wrong-password", "203.0.113.5") {
                Err(Error::RateLimited { retry_after_secs }) => Some(retry_after_secs),
                _ => None,
            },
        );
    let retry_after_secs = limited.expect("the limit trips");
    let entry = last(&fx, &admin, "login_failed");
    let details: Value =
        serde_json::from_str(entry["details"].as_str().expect("details")).expect("json");
    assert_eq!(
        details,
        json!({"reason": "rate_limited", "retry_after_secs": retry_after_secs})
    );
    assert_eq!(
        (&entry["username"], &entry["result"]),
        (&json!("admin"), &json!("failed"))
    );
}

#[test]
fn a_wrong_current_password_is_a_failed_password_change() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let refused = fx
        .engine
        .change_password(&admin, "not-the-password", "a-new-password-2");
    assert!(matches!(refused, Err(Error::Unauthenticated(_))));
    let entry = last(&fx, &admin, "password_change");
    assert_eq!(
        (&entry["result"], &entry["username"]),
        (&json!("failed"), &json!("admin"))
    );
}

#[test]
fn audit_entries_never_hold_passwords_tokens_or_keys() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (carol, _) = fx.user(&admin, "carol", "viewer");
    let (_, key) = create_key(&fx, &admin, "secret-key", "viewer");
    let _ = fx.engine.login("carol", "a-guessed-password", "");
    let _ = fx.engine.login("a-password-as-name", "x", "");
    let _ = fx
        .engine
        .change_password(&admin, "a-wrong-current-one", "new-password-77");
    fx.engine
        .reset_password(&admin, &carol, "reset-password-55")
        .expect("reset");
    let page = fx
        .engine
        .list_audit(&admin, AuditRequest::default())
        .expect("audit");
    let text = serde_json::to_string(&page).expect("json");
    for secret in [
        ADMIN_PASSWORD,
        USER_PASSWORD,
        "a-guessed-password",
        "a-password-as-name",
        "a-wrong-current-one",
        "new-password-77",
        "reset-password-55",
        admin.as_str(),
        key.as_str(),
    ] {
        assert!(!text.contains(secret), "audit leaked {secret}");
    }
}

#[test]
fn audit_pages_newest_first_by_offset_or_cursor_with_the_total() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    for i in 0..5 {
        fx.user(&admin, &format!("ghost{i}"), "viewer");
        let _ = fx.engine.login(&format!("ghost{i}"), "wrong-password", "");
    }
    let names = |page: &AuditPage| -> Vec<String> {
        page.entries.iter().map(|e| e.username.clone()).collect()
    };
    let first = list(&fx, &admin, json!({"action": "login_failed", "limit": 2}));
    assert_eq!(
        (names(&first), first.total),
        (vec!["ghost4".into(), "ghost3".into()], 5)
    );
    let by_cursor = list(
        &fx,
        &admin,
        json!({"action": "login_failed", "limit": 2, "cursor": first.next_cursor}),
    );
    let by_offset = list(
        &fx,
        &admin,
        json!({"action": "login_failed", "limit": 2, "offset": 2}),
    );
    for second in [&by_cursor, &by_offset] {
        assert_eq!(
            (names(second), second.total),
            (vec!["ghost2".into(), "ghost1".into()], 5)
        );
    }
    let end = list(&fx, &admin, json!({"action": "login_failed", "offset": 4}));
    assert_eq!(
        (names(&end), end.next_cursor),
        (vec!["ghost0".to_string()], None)
    );
}

#[test]
fn a_bad_time_or_cursor_is_a_bad_request_naming_the_parameter() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let refused = |query: Value| {
        let request: AuditRequest = serde_json::from_value(query).expect("json");
        fx.engine.list_audit(&admin, request).err()
    };
    assert_eq!(
        refused(json!({"endTime": "tomorrow"})),
        Some(Error::BadRequest(
            "Invalid format for parameter endTime: error parsing 'tomorrow' as RFC3339 or \
             2006-01-02 time"
                .into()
        ))
    );
    assert_eq!(
        refused(json!({"cursor": "42"})),
        Some(Error::BadRequest(
            "cursor is not one this server issued".into()
        ))
    );
}

#[test]
fn audit_is_for_admins_and_managers() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, manager) = fx.user(&admin, "manager", "manager");
    let (_, developer) = fx.user(&admin, "developer", "developer");
    assert!(
        fx.engine
            .list_audit(&manager, AuditRequest::default())
            .is_ok()
    );
    let refused = fx
        .engine
        .list_audit(&developer, AuditRequest::default())
        .err();
    assert_eq!(
        refused,
        Some(Error::Forbidden("Insufficient permissions".into()))
    );
}

#[test]
fn audit_needs_the_audit_licence_feature() {
    let fx = Fixture::with(|c| c.license_features = vec!["rbac".into()]);
    let admin = fx.setup_admin();
    let refused = fx.engine.list_audit(&admin, AuditRequest::default()).err();
    assert_eq!(
        refused,
        Some(Error::Forbidden(
            "Audit logs require a Dagu Pro license".into()
        ))
    );
}

#[test]
fn a_host_entry_names_the_user_and_credential_of_its_token() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (bob, bob_token) = fx.user(&admin, "bob", "operator");
    let entry = json!({
        "category": "dag",
        "action": "dag_execute",
        "resourceType": "dag",
        "resourceId": "nightly",
        "workspace": "ops",
        "details": {"dag_name": "nightly"},
        "ipAddress": "192.0.2.20",
        "correlationId": "req-1",
        "somethingNew": true,
    });
    fx.engine
        .append_audit(&bob_token, &entry.to_string())
        .expect("append");
    let recorded = last(&fx, &admin, "dag_execute");
    let id = recorded["id"].clone();
    let timestamp = recorded["timestamp"].clone();
    assert_eq!(
        recorded,
        json!({
            "id": id,
            "timestamp": timestamp,
            "category": "dag",
            "action": "dag_execute",
            "userId": bob,
            "username": "bob",
            "source": "rest",
            "surface": "rest_api",
            "result": "succeeded",
            "correlationId": "req-1",
            "resourceType": "dag",
            "resourceId": "nightly",
            "workspace": "ops",
            "credentialType": "jwt",
            "details": "{\"dag_name\":\"nightly\"}",
            "ipAddress": "192.0.2.20",
        })
    );

    let (key_id, key) = create_key(&fx, &admin, "scheduler", "operator");
    let mcp = json!({"category": "mcp", "action": "mcp.tool_call.failed", "surface": "mcp",
                     "result": "failed", "mcpTool": "run_dag"});
    fx.engine
        .append_audit(&key, &mcp.to_string())
        .expect("append");
    let recorded = last(&fx, &admin, "mcp.tool_call.failed");
    assert_eq!(
        (&recorded["credentialType"], &recorded["credentialId"]),
        (&json!("api_key"), &json!(key_id))
    );
    assert_eq!(
        (
            &recorded["source"],
            &recorded["surface"],
            &recorded["result"],
            &recorded["mcpTool"]
        ),
        (
            &json!("mcp"),
            &json!("mcp"),
            &json!("failed"),
            &json!("run_dag")
        )
    );

    fx.engine
        .append_audit("", r#"{"category":"system","action":"scheduler_start"}"#)
        .expect("the host itself");
    let recorded = last(&fx, &admin, "scheduler_start");
    assert_eq!(
        (
            &recorded["userId"],
            &recorded["username"],
            &recorded["credentialType"]
        ),
        (&json!(""), &json!("system"), &json!("none"))
    );
}

#[test]
fn a_bad_host_entry_is_refused_with_a_status_that_says_why() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let huge = json!({"category": "dag", "action": "dag_update",
                      "details": {"spec": "x".repeat(64 * 1024)}});
    type Case = (&'static str, String, fn(&Error) -> bool);
    let cases: [Case; 14] = [
        ("not JSON", "{".into(), |e| {
            matches!(e, Error::InvalidJson(_))
        }),
        ("an array", "[]".into(), |e| {
            matches!(e, Error::InvalidJson(_))
        }),
        (
            "no category",
            r#"{"action":"a"}"#.into(),
            |e| matches!(e, Error::InvalidJson(m) if m.contains("category")),
        ),
        (
            "no action",
            r#"{"category":"dag"}"#.into(),
            |e| matches!(e, Error::InvalidJson(m) if m.contains("action")),
        ),
        (
            "a number as the action",
            r#"{"category":"dag","action":5}"#.into(),
            |e| matches!(e, Error::InvalidJson(_)),
        ),
        (
            "an empty category",
            r#"{"category":"","action":"a"}"#.into(),
            |e| *e == Error::BadRequest("category is required".into()),
        ),
        (
            "an upper-case action",
            r#"{"category":"dag","action":"Start"}"#.into(),
            |e| matches!(e, Error::BadRequest(m) if m.starts_with("action must be 1-64 characters")),
        ),
        (
            "a long category",
            json!({"category": "c".repeat(65), "action": "a"}).to_string(),
            |e| matches!(e, Error::BadRequest(_)),
        ),
        (
            "the user category",
            r#"{"category":"user","action":"login"}"#.into(),
            |e| {
                *e == Error::BadRequest(
                    "the category user is reserved for the plugin's own events".into(),
                )
            },
        ),
        (
            "the api_key category",
            r#"{"category":"api_key","action":"api_key_delete"}"#.into(),
            |e| matches!(e, Error::BadRequest(m) if m.contains("reserved")),
        ),
        (
            "an unknown surface",
            r#"{"category":"dag","action":"a","surface":"ftp"}"#.into(),
            |e| matches!(e, Error::BadRequest(m) if m.starts_with("surface must be one of rest_api, mcp")),
        ),
        (
            "an unknown result",
            r#"{"category":"dag","action":"a","result":"maybe"}"#.into(),
            |e| matches!(e, Error::BadRequest(m) if m.starts_with("result must be one of")),
        ),
        (
            "details that are no object",
            r#"{"category":"dag","action":"a","details":"x"}"#.into(),
            |e| *e == Error::BadRequest("details must be a JSON object".into()),
        ),
        (
            "over 64 KiB",
            huge.to_string(),
            |e| matches!(e, Error::BadRequest(m) if m.contains("at most 65536")),
        ),
    ];
    for (case, entry, expected) in cases {
        let error = fx.engine.append_audit(&admin, &entry).expect_err(case);
        assert!(expected(&error), "{case}: {error:?}");
    }
    assert_eq!(
        fx.engine
            .append_audit("not-a-token", r#"{"category":"dag","action":"a"}"#)
            .err(),
        Some(Error::Unauthenticated("Invalid or expired token".into()))
    );
    let host_entries = list(&fx, &admin, json!({"category": "dag"}));
    assert_eq!(host_entries.total, 0, "nothing refused was written");
}
