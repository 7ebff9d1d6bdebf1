//! Operator commands: the admin rules without a bearer token, for a host's command line.

mod common;

use common::{ADMIN_PASSWORD, Fixture, USER_PASSWORD};
use dagu_auth::Error;
use dagu_auth::service::{AuditRequest, OperatorCommand};
use serde_json::{Value, json};

fn run(fx: &Fixture, command: Value) -> Result<Value, Error> {
    let command: OperatorCommand = serde_json::from_value(command).map_err(|e| {
        // Shape errors are what the ABIs report as INVALID_JSON.
        Error::InvalidJson(e.to_string())
    })?;
    fx.engine.operator(command)
}

fn ok(fx: &Fixture, command: Value) -> Value {
    run(fx, command.clone()).unwrap_or_else(|e| panic!("{command}: {e}"))
}

/// Creates a user through the `users.create` command; answers the new id.
fn operator_creates(fx: &Fixture, username: &str, role: &str) -> String {
    let created = ok(
        fx,
        json!({"command": "users.create", "username": username, "password": USER_PASSWORD, "role": role}),
    );
    created["user"]["id"].as_str().expect("id").to_string()
}

/// A Dagu user file as Dagu's file store writes it, with a real (cheap) bcrypt hash.
fn dagu_user(id: &str, username: &str, password: &str) -> Value {
    json!({
        "id": id,
        "username": username,
        "password_hash": bcrypt::hash(password, 4).expect("bcrypt"),
        "role": "developer",
        "created_at": "2025-03-04T05:06:07.123456789Z",
        "updated_at": "2025-04-05T06:07:08Z",
    })
}

fn import(fx: &Fixture, users: Vec<Value>) -> Vec<Value> {
    let answer = ok(fx, json!({"command": "import_dagu_users", "users": users}));
    answer["results"].as_array().expect("results").clone()
}

/// (action, username, source) of every entry.
fn audit_actors(fx: &Fixture, admin: &str) -> Vec<(String, String, String)> {
    let request = AuditRequest {
        limit: Some(500),
        ..Default::default()
    };
    let page = fx.engine.list_audit(admin, request).expect("audit");
    page.entries
        .into_iter()
        .map(|e| (e.action, e.username, e.source))
        .collect()
}

#[test]
fn setup_creates_the_first_admin_without_a_session() {
    let fx = Fixture::new();
    let answer = ok(
        &fx,
        json!({"command": "setup", "username": "root", "password": ADMIN_PASSWORD}),
    );
    assert_eq!(answer["user"]["role"], "admin");
    assert!(answer.get("token").is_none());
    assert!(!fx.engine.setup_required().expect("setup required"));
    fx.engine
        .login("root", ADMIN_PASSWORD, "")
        .expect("the new admin signs in");
}

#[test]
fn setup_is_refused_once_a_user_exists() {
    let fx = Fixture::new();
    fx.setup_admin();
    let error = run(
        &fx,
        json!({"command": "setup", "username": "second", "password": ADMIN_PASSWORD}),
    )
    .expect_err("refused");
    assert_eq!(
        error,
        Error::Forbidden("Setup has already been completed".into())
    );
}

#[test]
fn create_applies_the_api_validation() {
    let fx = Fixture::new();
    fx.setup_admin();
    let weak = run(
        &fx,
        json!({"command": "users.create", "username": "bob", "password": "password1", "role": "viewer"}),
    );
    assert!(matches!(weak, Err(Error::BadRequest(m)) if m.contains("too common")));
    let scoped_developer = run(
        &fx,
        json!({"command": "users.create", "username": "bob", "password": USER_PASSWORD,
               "role": "developer", "workspaceAccess": {"all": false, "grants": [{"workspace": "ops", "role": "viewer"}]}}),
    );
    assert!(
        matches!(scoped_developer, Err(Error::BadRequest(m)) if m.starts_with("invalid workspace access: "))
    );
    operator_creates(&fx, "bob", "viewer");
    let duplicate = run(
        &fx,
        json!({"command": "users.create", "username": "BOB", "password": USER_PASSWORD, "role": "viewer"}),
    );
    assert_eq!(
        duplicate.expect_err("duplicate"),
        Error::AlreadyExists("Username already exists".into())
    );
}

#[test]
fn list_shows_every_user_without_hashes() {
    let fx = Fixture::new();
    fx.setup_admin();
    operator_creates(&fx, "bob", "viewer");
    let answer = ok(&fx, json!({"command": "users.list"}));
    let names: Vec<&str> = answer["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["username"].as_str().expect("username"))
        .collect();
    assert_eq!(names, ["admin", "bob"]);
    assert!(!answer.to_string().contains("argon2"));
}

#[test]
fn users_are_named_by_username_or_id() {
    let fx = Fixture::new();
    fx.setup_admin();
    let id = operator_creates(&fx, "bob", "viewer");
    let by_name = ok(
        &fx,
        json!({"command": "users.set_disabled", "user": "Bob", "disabled": true}),
    );
    assert_eq!(by_name["user"]["isDisabled"], true);
    let by_id = ok(
        &fx,
        json!({"command": "users.set_disabled", "user": id, "disabled": false}),
    );
    assert!(by_id["user"].get("isDisabled").is_none());
    let missing = run(&fx, json!({"command": "users.delete", "user": "nobody"}));
    assert_eq!(
        missing.expect_err("missing"),
        Error::NotFound("User not found".into())
    );
}

#[test]
fn reset_password_revokes_sessions_and_the_new_password_works() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    ok(
        &fx,
        json!({"command": "users.reset_password", "user": "admin", "newPassword": "recovered-pass-9"}),
    );
    assert!(matches!(
        fx.engine.principal(admin.as_str()),
        Err(Error::Unauthenticated(_))
    ));
    fx.engine
        .login("admin", "recovered-pass-9", "")
        .expect("new password");
}

#[test]
fn reset_password_applies_the_password_rules() {
    let fx = Fixture::new();
    fx.setup_admin();
    let short = run(
        &fx,
        json!({"command": "users.reset_password", "user": "admin", "newPassword": "short"}),
    );
    assert!(matches!(short, Err(Error::BadRequest(m)) if m.contains("at least 8")));
}

#[test]
fn disabling_revokes_the_users_sessions() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, token) = fx.user(&admin, "bob", "viewer");
    ok(
        &fx,
        json!({"command": "users.set_disabled", "user": "bob", "disabled": true}),
    );
    assert!(matches!(
        fx.engine.principal(token.as_str()),
        Err(Error::Unauthenticated(_))
    ));
}

#[test]
fn the_last_enabled_admin_cannot_be_disabled_or_deleted() {
    let fx = Fixture::new();
    fx.setup_admin();
    let disable = run(
        &fx,
        json!({"command": "users.set_disabled", "user": "admin", "disabled": true}),
    );
    assert!(matches!(disable, Err(Error::Conflict(_))), "{disable:?}");
    let delete = run(&fx, json!({"command": "users.delete", "user": "admin"}));
    assert!(matches!(delete, Err(Error::Conflict(_))), "{delete:?}");
}

#[test]
fn the_operator_may_delete_an_admin_while_another_remains() {
    let fx = Fixture::new();
    fx.setup_admin();
    operator_creates(&fx, "second", "admin");
    ok(&fx, json!({"command": "users.delete", "user": "admin"}));
    let users = ok(&fx, json!({"command": "users.list"}));
    assert_eq!(users["users"].as_array().expect("users").len(), 1);
}

#[test]
fn writes_need_the_rbac_licence_but_recovery_does_not() {
    let fx = Fixture::with(|config| config.license_features.clear());
    fx.setup_admin();
    let create = run(
        &fx,
        json!({"command": "users.create", "username": "bob", "password": USER_PASSWORD, "role": "viewer"}),
    );
    assert_eq!(
        create.expect_err("unlicensed"),
        Error::Forbidden("User management requires a Dagu Pro license".into())
    );
    ok(
        &fx,
        json!({"command": "users.reset_password", "user": "admin", "newPassword": "recovered-pass-9"}),
    );
}

#[test]
fn operator_changes_are_audited_with_the_operator_as_actor() {
    let fx = Fixture::new();
    ok(
        &fx,
        json!({"command": "setup", "username": "admin", "password": ADMIN_PASSWORD}),
    );
    operator_creates(&fx, "bob", "viewer");
    ok(&fx, json!({"command": "users.delete", "user": "bob"}));
    let admin = fx
        .engine
        .login("admin", ADMIN_PASSWORD, "")
        .expect("login")
        .token;
    let actors = audit_actors(&fx, &admin);
    for action in ["setup_admin", "user_create", "user_delete"] {
        let by_operator = (
            action.to_string(),
            "operator".to_string(),
            "cli".to_string(),
        );
        assert!(
            actors.contains(&by_operator),
            "{action} by operator in {actors:?}"
        );
    }
}

#[test]
fn an_unknown_command_is_invalid_json() {
    let fx = Fixture::new();
    let error = run(&fx, json!({"command": "users.promote", "user": "x"})).expect_err("unknown");
    assert!(matches!(error, Error::InvalidJson(m) if m.contains("unknown variant")));
}

#[test]
fn imported_users_keep_id_role_grants_times_and_disabled_flag() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let mut scoped = dagu_user(
        "7f0c1a8e-0000-4000-8000-000000000001",
        "carol",
        "carol-pass-1",
    );
    scoped["role"] = json!("viewer");
    scoped["workspace_access"] = json!({"all": false, "grants": [
        {"workspace": "ops", "role": "operator"}, {"workspace": "data", "role": "developer"}]});
    scoped["is_disabled"] = json!(true);
    let results = import(&fx, vec![scoped]);
    assert_eq!(results[0]["status"], "imported", "{results:?}");
    let user = fx
        .engine
        .get_user(admin.as_str(), "7f0c1a8e-0000-4000-8000-000000000001")
        .expect("kept id")
        .0;
    assert_eq!(user.username, "carol");
    assert_eq!(user.role.as_str(), "viewer");
    assert_eq!(user.workspace_access.grants.len(), 2);
    assert!(user.disabled);
    assert_eq!(user.created_at_ms, 1_741_064_767_123);
}

#[test]
fn an_imported_bcrypt_password_signs_in_and_is_rehashed_to_argon2id() {
    let fx = Fixture::new();
    fx.setup_admin();
    import(&fx, vec![dagu_user("id-dave", "dave", "dave-pass-1")]);
    assert!(fx.stored_hash("id-dave").starts_with("$2b$"));
    fx.engine
        .login("dave", "wrong-pass-1", "")
        .expect_err("wrong password");
    fx.engine
        .login("dave", "dave-pass-1", "")
        .expect("bcrypt verifies");
    assert!(fx.stored_hash("id-dave").starts_with("$argon2id$"));
    // The argon2id hash now answers the same password.
    fx.engine
        .login("dave", "dave-pass-1", "")
        .expect("argon2id verifies");
}

/// The first sign-ins of an imported user, at once (a double submit, clients started together):
/// one upgrades the hash, and the others must still be signed in, not refused as if the password
/// had changed under them.
#[test]
fn first_sign_ins_of_an_imported_user_at_once_all_sign_in() {
    let fx = Fixture::new();
    fx.setup_admin();
    import(&fx, vec![dagu_user("id-dave", "dave", "dave-pass-1")]);
    let answers = common::at_once(4, |_| {
        fx.engine.login("dave", "dave-pass-1", "").map(|_| ())
    });
    for answer in &answers {
        // The hashing pool may turn one account's extra attempts away at once (429); a 401
        // would be a right password refused.
        assert!(
            matches!(answer, Ok(()) | Err(Error::RateLimited { .. })),
            "{answers:?}"
        );
    }
    assert!(answers.iter().any(Result::is_ok));
    assert!(fx.stored_hash("id-dave").starts_with("$argon2id$"));
}

#[test]
fn importing_twice_imports_nothing_twice() {
    let fx = Fixture::new();
    fx.setup_admin();
    let users = vec![
        dagu_user("id-1", "erin", "erin-pass-1"),
        dagu_user("id-2", "frank", "frank-pass-1"),
    ];
    let first = import(&fx, users.clone());
    assert!(first.iter().all(|r| r["status"] == "imported"), "{first:?}");
    let second = import(&fx, users);
    assert!(
        second.iter().all(|r| r["status"] == "skipped"),
        "{second:?}"
    );
    let listed = ok(&fx, json!({"command": "users.list"}));
    assert_eq!(listed["users"].as_array().expect("users").len(), 3);
}

#[test]
fn import_skips_bad_entries_with_a_reason_and_keeps_the_rest() {
    let fx = Fixture::new();
    fx.setup_admin();
    let mut oidc = dagu_user("id-o", "oidc-user", "x-pass-123");
    oidc["auth_provider"] = json!("oidc");
    oidc["password_hash"] = json!("");
    let mut bad_role = dagu_user("id-r", "rolf", "x-pass-123");
    bad_role["role"] = json!("superuser");
    let taken = dagu_user("id-t", "ADMIN", "x-pass-123");
    let no_id = dagu_user("", "nobody", "x-pass-123");
    let good = dagu_user("id-g", "grace", "x-pass-123");
    let results = import(
        &fx,
        vec![oidc, bad_role, taken, no_id, json!("not an object"), good],
    );
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        [
            "skipped", "skipped", "skipped", "skipped", "skipped", "imported"
        ]
    );
    assert!(results[..5].iter().all(|r| r["reason"].is_string()));
    assert_eq!(results[2]["reason"], "Username already exists");
}
