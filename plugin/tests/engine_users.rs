//! User management rules and authorization, through the Engine.

mod common;

use common::*;
use dagu_auth::Error;
use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision};
use serde_json::json;

fn bad_request_starting(result: Result<impl std::fmt::Debug, Error>, prefix: &str) {
    match result {
        Err(Error::BadRequest(message)) => assert!(message.starts_with(prefix), "{message}"),
        other => panic!("expected BadRequest starting {prefix:?}, got {other:?}"),
    }
}

#[test]
fn users_are_listed_sorted_case_insensitively() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    for name in ["carol", "Bob", "alice"] {
        fx.user(&admin, name, "viewer");
    }
    let names: Vec<String> = fx
        .engine
        .list_users(&admin)
        .expect("list")
        .0
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["admin", "alice", "Bob", "carol"]);
}

/// Users whose JSON exercises every field: grants, a disabled user, escapes and non-ASCII names.
fn varied_users(fx: &Fixture, admin: &str) {
    let scoped = json!({"all": false, "grants": [
        {"workspace": "ops", "role": "operator"},
        {"workspace": "data", "role": "viewer"},
    ]});
    fx.user_with_access(admin, "scoped", "viewer", Some(scoped));
    for (name, role) in [
        ("Zoë", "developer"),
        ("quote\"back\\slash", "manager"),
        ("日本", "operator"),
        ("a/b<c>&'d", "admin"),
    ] {
        fx.user(admin, name, role);
    }
    let (disabled, _) = fx.user(admin, "gone", "viewer");
    fx.engine
        .update_user(admin, &disabled, patch(json!({"isDisabled": true})))
        .expect("disable");
}

#[test]
fn the_full_json_list_is_byte_for_byte_the_serialised_records() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    varied_users(&fx, &admin);
    let records = serde_json::to_vec(&fx.engine.list_users(&admin).expect("list")).expect("json");
    let text = String::from_utf8_lossy(&records);
    for part in [
        r#""isDisabled":true"#,
        r#""workspace":"ops""#,
        r#"quote\"back\\slash"#,
    ] {
        assert!(text.contains(part), "the fixture shows {part}");
    }
    // The second list is sized from the first one's measure; both must match.
    for round in 0..2 {
        let streamed = fx.engine.list_users_json(&admin).expect("json list");
        assert_eq!(
            String::from_utf8_lossy(&streamed),
            String::from_utf8_lossy(&records),
            "round {round}"
        );
    }
}

#[test]
fn the_full_json_list_of_a_lone_admin_is_byte_for_byte_the_serialised_records() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let records = serde_json::to_vec(&fx.engine.list_users(&admin).expect("list")).expect("json");
    assert_eq!(fx.engine.list_users_json(&admin), Ok(records));
}

#[test]
fn the_full_json_list_is_refused_as_the_record_list_is() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, manager) = fx.user(&admin, "manager", "manager");
    for caller in [manager.as_str(), "", "not-a-token"] {
        let refused = fx.engine.list_users(caller).err();
        assert!(refused.is_some(), "caller {caller:?}");
        assert_eq!(
            fx.engine.list_users_json(caller).err(),
            refused,
            "caller {caller:?}"
        );
    }
}

#[test]
fn usernames_are_unique_case_insensitively() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    fx.user(&admin, "alice", "viewer");
    let duplicate = fx.create_user_json(
        &admin,
        json!({"username": "ALICE", "password": USER_PASSWORD, "role": "viewer"}),
    );
    assert_eq!(
        duplicate.err(),
        Some(Error::AlreadyExists("Username already exists".into()))
    );
}

#[test]
fn renaming_onto_a_taken_username_conflicts() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    fx.user(&admin, "alice", "viewer");
    let (bob, _) = fx.user(&admin, "bob", "viewer");
    let result = fx
        .engine
        .update_user(&admin, &bob, patch(json!({"username": "Alice"})));
    assert_eq!(
        result.err(),
        Some(Error::AlreadyExists("Username already exists".into()))
    );
}

#[test]
fn omitted_workspace_access_means_all_workspaces() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let id = fx
        .create_user_json(
            &admin,
            json!({"username": "dev", "password": USER_PASSWORD, "role": "developer"}),
        )
        .expect("create");
    let user = serde_json::to_value(fx.engine.get_user(&admin, &id).expect("get")).expect("json");
    assert_eq!(
        user["user"]["workspaceAccess"],
        json!({"all": true, "grants": []})
    );
}

#[test]
fn invalid_roles_usernames_and_passwords_are_bad_requests() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let cases = [
        (
            json!({"username": "x", "password": USER_PASSWORD, "role": "root"}),
            "invalid role",
        ),
        (
            json!({"username": "  ", "password": USER_PASSWORD, "role": "viewer"}),
            "username is required",
        ),
        (
            json!({"username": "x".repeat(65), "password": USER_PASSWORD, "role": "viewer"}),
            "username must be at most",
        ),
        (
            json!({"username": "x", "password": "1234567", "role": "viewer"}),
            "password must be at least 8",
        ),
        (
            json!({"username": "x", "password": "p".repeat(257), "role": "viewer"}),
            "password must be at most 256",
        ),
    ];
    for (body, prefix) in cases {
        bad_request_starting(fx.create_user_json(&admin, body), prefix);
    }
}

#[test]
fn create_checks_role_access_password_then_username_as_dagu_does() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let no_grants = json!({"all": false, "grants": []});
    let cases = [
        (
            json!({"username": " ", "password": "short", "role": "root", "workspaceAccess": no_grants}),
            "invalid role",
        ),
        (
            json!({"username": " ", "password": "short", "role": "developer", "workspaceAccess": no_grants}),
            "invalid workspace access: ",
        ),
        (
            json!({"username": " ", "password": "short", "role": "developer"}),
            "password must be at least 8",
        ),
    ];
    for (body, prefix) in cases {
        bad_request_starting(fx.create_user_json(&admin, body), prefix);
    }
}

#[test]
fn setup_checks_the_password_before_the_username_as_dagu_does() {
    let fx = Fixture::new();
    assert!(matches!(
        fx.engine.setup(" ", "short", ""),
        Err(Error::BadRequest(message)) if message.starts_with("password must be at least 8")
    ));
    assert!(matches!(
        fx.engine.setup(" ", "long enough password", ""),
        Err(Error::BadRequest(message)) if message == "username is required"
    ));
}

#[test]
fn workspace_access_rules_are_enforced_on_create() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let grant = |ws: &str, role: &str| json!({"workspace": ws, "role": role});
    let cases = [
        (
            "viewer",
            json!({"all": true, "grants": [grant("ops", "viewer")]}),
        ),
        (
            "developer",
            json!({"all": false, "grants": [grant("ops", "developer")]}),
        ),
        ("viewer", json!({"all": false, "grants": []})),
        (
            "viewer",
            json!({"all": false, "grants": [grant("", "viewer")]}),
        ),
        (
            "viewer",
            json!({"all": false, "grants": [grant("bad name", "viewer")]}),
        ),
        (
            "viewer",
            json!({"all": false, "grants": [grant("ops", "viewer"), grant("ops", "developer")]}),
        ),
        (
            "viewer",
            json!({"all": false, "grants": [grant("Global", "viewer")]}),
        ),
        (
            "viewer",
            json!({"all": false, "grants": [grant("ops", "admin")]}),
        ),
    ];
    for (i, (role, access)) in cases.into_iter().enumerate() {
        let body = json!({"username": format!("u{i}"), "password": USER_PASSWORD, "role": role, "workspaceAccess": access});
        bad_request_starting(
            fx.create_user_json(&admin, body),
            "invalid workspace access: ",
        );
    }
}

#[test]
fn an_invalid_grant_role_is_a_workspace_access_error() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let access = json!({"all": false, "grants": [{"workspace": "ops", "role": "boss"}]});
    let body = json!({"username": "x", "password": USER_PASSWORD, "role": "viewer", "workspaceAccess": access});
    bad_request_starting(
        fx.create_user_json(&admin, body),
        "invalid workspace access: ",
    );
}

#[test]
fn only_admins_manage_users() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (id, manager) = fx.user(&admin, "manager", "manager");
    let forbidden = Some(Error::Forbidden("Insufficient permissions".into()));
    assert_eq!(fx.engine.list_users(&manager).err(), forbidden);
    assert_eq!(fx.engine.get_user(&manager, &id).err(), forbidden);
    assert_eq!(
        fx.create_user_json(
            &manager,
            json!({"username": "x", "password": USER_PASSWORD, "role": "admin"})
        )
        .err(),
        forbidden
    );
    assert_eq!(
        fx.engine
            .update_user(&manager, &id, patch(json!({"role": "admin"})))
            .err(),
        forbidden
    );
    assert_eq!(
        fx.engine
            .reset_password(&manager, &id, "another-password")
            .err(),
        forbidden
    );
    assert_eq!(fx.engine.delete_user(&manager, &id).err(), forbidden);
}

#[test]
fn a_demoted_admin_loses_admin_on_the_next_call() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (second_id, second) = fx.user(&admin, "second", "admin");
    assert!(fx.engine.list_users(&second).is_ok());
    fx.engine
        .update_user(&admin, &second_id, patch(json!({"role": "developer"})))
        .expect("demote");
    assert_eq!(
        fx.engine.list_users(&second).err(),
        Some(Error::Forbidden("Insufficient permissions".into()))
    );
}

#[test]
fn writes_need_the_rbac_licence_after_the_admin_check() {
    let fx = Fixture::with(|c| c.license_features.clear());
    let admin = fx.setup_admin();
    let unlicensed = Some(Error::Forbidden(
        "User management requires a Dagu Pro license".into(),
    ));
    let me = fx.engine.principal(&admin).expect("me").id();
    assert_eq!(
        fx.create_user_json(
            &admin,
            json!({"username": "x", "password": USER_PASSWORD, "role": "viewer"})
        )
        .err(),
        unlicensed
    );
    assert_eq!(
        fx.engine
            .update_user(&admin, &me, patch(json!({"username": "root"})))
            .err(),
        unlicensed
    );
    assert_eq!(fx.engine.delete_user(&admin, "someone").err(), unlicensed);
    assert!(
        fx.engine.list_users(&admin).is_ok(),
        "reading needs no licence"
    );
}

#[test]
fn admins_cannot_disable_or_delete_themselves() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let me = fx.engine.principal(&admin).expect("me").id();
    let disable = fx
        .engine
        .update_user(&admin, &me, patch(json!({"isDisabled": true})))
        .err();
    assert_eq!(
        disable,
        Some(Error::Forbidden("Cannot disable your own account".into()))
    );
    assert_eq!(
        fx.engine.delete_user(&admin, &me).err(),
        Some(Error::Forbidden("Cannot delete your own account".into()))
    );
}

#[test]
fn last_enabled_admin_cannot_demote_themselves() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (second_id, second) = fx.user(&admin, "second", "admin");
    let first_id = fx.engine.principal(&admin).expect("me").id();
    fx.engine
        .update_user(&second, &first_id, patch(json!({"isDisabled": true})))
        .expect("two admins: fine");
    let demote = fx
        .engine
        .update_user(&second, &second_id, patch(json!({"role": "manager"})));
    assert!(matches!(demote, Err(Error::Conflict(_))), "{demote:?}");
    assert_eq!(
        fx.engine
            .principal(&second)
            .expect("still admin")
            .role()
            .as_str(),
        "admin"
    );
}

#[test]
fn two_admins_disabling_each_other_at_once_leave_one_enabled() {
    for _ in 0..5 {
        let fx = Fixture::new();
        let first = fx.setup_admin();
        let (second_id, second) = fx.user(&first, "second", "admin");
        let first_id = fx.engine.principal(&first).expect("me").id();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                fx.engine
                    .update_user(&first, &second_id, patch(json!({"isDisabled": true})))
            });
            scope.spawn(|| {
                fx.engine
                    .update_user(&second, &first_id, patch(json!({"isDisabled": true})))
            });
        });
        let admin_left = [("admin", ADMIN_PASSWORD), ("second", USER_PASSWORD)]
            .iter()
            .filter(|(name, password)| fx.engine.login(name, password, "").is_ok())
            .count();
        assert_eq!(admin_left, 1);
    }
}

#[test]
fn scoped_viewer_moves_to_another_role_only_with_all_workspaces() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let access = json!({"all": false, "grants": [{"workspace": "ops", "role": "developer"}]});
    let (id, _) = fx.user_with_access(&admin, "scoped", "viewer", Some(access));
    bad_request_starting(
        fx.engine
            .update_user(&admin, &id, patch(json!({"role": "developer"}))),
        "invalid workspace access: ",
    );
    let moved = fx
        .engine
        .update_user(
            &admin,
            &id,
            patch(json!({"role": "developer", "workspaceAccess": {"all": true}})),
        )
        .expect("move");
    assert_eq!(moved.0.role.as_str(), "developer");
}

#[test]
fn workspace_access_without_role_is_validated_against_the_current_role() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (id, _) = fx.user(&admin, "dev", "developer");
    let scoped = json!({"all": false, "grants": [{"workspace": "ops", "role": "developer"}]});
    bad_request_starting(
        fx.engine
            .update_user(&admin, &id, patch(json!({"workspaceAccess": scoped}))),
        "invalid workspace access: ",
    );
}

#[test]
fn unknown_users_are_not_found() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let not_found = Some(Error::NotFound("User not found".into()));
    assert_eq!(fx.engine.get_user(&admin, "nope").err(), not_found);
    assert_eq!(
        fx.engine
            .update_user(&admin, "nope", patch(json!({"role": "viewer"})))
            .err(),
        not_found
    );
    assert_eq!(fx.engine.delete_user(&admin, "nope").err(), not_found);
    assert_eq!(
        fx.engine
            .reset_password(&admin, "nope", "another-password")
            .err(),
        not_found
    );
}

#[test]
fn authorize_follows_grants_and_role_changes_apply_on_the_next_call() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let access = json!({"all": false, "grants": [{"workspace": "ops", "role": "developer"}, {"workspace": "prod", "role": "operator"}]});
    let (id, token) = fx.user_with_access(&admin, "scoped", "viewer", Some(access));
    let decide = |action, ws| fx.engine.authorize(&token, action, ws).expect("decision");
    assert_eq!(decide(Action::Write, "ops"), Decision::Allow);
    assert_eq!(decide(Action::Execute, "prod"), Decision::Allow);
    assert_eq!(decide(Action::Write, "prod"), Decision::Forbidden);
    assert_eq!(decide(Action::View, "finance"), Decision::NotVisible);
    assert_eq!(decide(Action::View, ""), Decision::Allow);
    assert_eq!(decide(Action::Execute, ""), Decision::Forbidden);
    fx.engine.update_user(&admin, &id, patch(json!({"workspaceAccess": {"all": false, "grants": [{"workspace": "finance", "role": "viewer"}]}}))).expect("regrant");
    assert_eq!(decide(Action::Write, "ops"), Decision::NotVisible);
    assert_eq!(decide(Action::View, "finance"), Decision::Allow);
}

#[test]
fn authorize_with_a_bad_token_is_unauthenticated() {
    let fx = Fixture::new();
    fx.setup_admin();
    assert!(matches!(
        fx.engine.authorize("garbage", Action::View, ""),
        Err(Error::Unauthenticated(_))
    ));
}

/// A token of each kind (a session of a user, an API key) for a principal with `role` and
/// `access`: authorize decides them on different paths (packed and plain).
fn both_tokens(fx: &Fixture, admin: &str, role: &str, access: serde_json::Value) -> [String; 2] {
    let (_, session) =
        fx.user_with_access(admin, &format!("{role}-user"), role, Some(access.clone()));
    let request = json!({"name": format!("{role}-key"), "role": role, "workspaceAccess": access, "allowedSurfaces": ["rest_api"], "attributionClass": "service_account"});
    let request = serde_json::from_value(request).expect("key request");
    let key = fx.engine.create_api_key(admin, request).expect("key").key;
    [session, key]
}

#[test]
fn all_workspace_principals_are_allowed_on_names_no_grant_could_hold() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let all = json!({"all": true, "grants": []});
    let long = "x".repeat(65);
    for token in both_tokens(&fx, &admin, "developer", all) {
        for name in ["has space", "ü", "a/b", "all", "Default", long.as_str()] {
            let decision = fx.engine.authorize(&token, Action::Write, name);
            assert_eq!(decision, Ok(Decision::Allow), "{name:?}");
        }
    }
}

#[test]
fn grant_matching_is_case_sensitive() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let ops = json!({"all": false, "grants": [{"workspace": "ops", "role": "developer"}]});
    for token in both_tokens(&fx, &admin, "viewer", ops) {
        assert_eq!(
            fx.engine.authorize(&token, Action::Write, "ops"),
            Ok(Decision::Allow)
        );
        for name in ["OPS", "Ops", "ops "] {
            let decision = fx.engine.authorize(&token, Action::View, name);
            assert_eq!(decision, Ok(Decision::NotVisible), "{name:?}");
        }
    }
}

#[test]
fn audit_or_admin_in_an_ungranted_workspace_is_forbidden_not_invisible() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let ops = json!({"all": false, "grants": [{"workspace": "ops", "role": "developer"}]});
    for token in both_tokens(&fx, &admin, "viewer", ops) {
        let authorize = |action| fx.engine.authorize(&token, action, "finance");
        assert_eq!(authorize(Action::View), Ok(Decision::NotVisible));
        assert_eq!(authorize(Action::Audit), Ok(Decision::Forbidden));
        assert_eq!(authorize(Action::Admin), Ok(Decision::Forbidden));
    }
}
