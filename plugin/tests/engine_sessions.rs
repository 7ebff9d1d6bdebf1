//! Setup, sign-in, tokens and revocation, through the Engine.

mod common;

use std::sync::Arc;

use common::*;
use dagu_auth::Error;
use dagu_auth::config::InitialAdmin;
use serde_json::json;

fn is_unauthenticated<T: std::fmt::Debug>(result: Result<T, Error>) -> bool {
    matches!(result, Err(Error::Unauthenticated(_)))
}

#[test]
fn setup_creates_an_admin_with_all_workspaces_and_signs_in() {
    let fx = Fixture::new();
    assert!(fx.engine.setup_required().expect("query"));
    let login = fx.engine.setup("root", ADMIN_PASSWORD, "").expect("setup");
    let body = serde_json::to_value(&login).expect("json");
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(
        body["user"]["workspaceAccess"],
        json!({"all": true, "grants": []})
    );
    assert_eq!(body["expiresAt"], "2026-01-02T00:00:00Z");
    assert!(!fx.engine.setup_required().expect("query"));
    assert!(fx.engine.principal(&login.token).is_ok());
}

#[test]
fn setup_is_refused_once_a_user_exists_before_the_password_is_checked() {
    let fx = Fixture::new();
    fx.setup_admin();
    let weak = fx.engine.setup("other", "x", "").err();
    assert_eq!(
        weak,
        Some(Error::Forbidden("Setup has already been completed".into()))
    );
}

#[test]
fn concurrent_setups_create_exactly_one_admin() {
    let fx = Arc::new(Fixture::new());
    let winners: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let fx = Arc::clone(&fx);
                scope.spawn(move || {
                    fx.engine
                        .setup(&format!("admin{i}"), ADMIN_PASSWORD, "")
                        .is_ok() as usize
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    assert_eq!(winners, 1);
    let signed_in: Vec<_> = (0..16)
        .filter_map(|i| {
            fx.engine
                .login(&format!("admin{i}"), ADMIN_PASSWORD, "")
                .ok()
        })
        .collect();
    assert_eq!(signed_in.len(), 1);
    assert_eq!(
        fx.engine
            .list_users(&signed_in[0].token)
            .expect("list")
            .0
            .len(),
        1
    );
}

#[test]
fn initial_admin_is_created_only_when_no_user_exists() {
    let fx = Fixture::with(|c| {
        c.initial_admin = Some(InitialAdmin {
            username: "boot".into(),
            password: ADMIN_PASSWORD.into(),
        })
    });
    assert!(fx.engine.login("boot", ADMIN_PASSWORD, "").is_ok());
    // Reopening with another initial admin changes nothing.
    let mut again = config(fx.dir.path());
    again.initial_admin = Some(InitialAdmin {
        username: "second".into(),
        password: ADMIN_PASSWORD.into(),
    });
    let engine = dagu_auth::Engine::open(again).expect("reopen");
    assert!(is_unauthenticated(engine.login(
        "second",
        ADMIN_PASSWORD,
        ""
    )));
}

#[test]
fn a_rejected_initial_admin_password_stops_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(dir.path());
    config.initial_admin = Some(InitialAdmin {
        username: "boot".into(),
        password: "short".into(),
    });
    match dagu_auth::Engine::open(config) {
        Err(Error::InvalidConfig(message)) => assert!(
            message.contains("initial admin") && message.contains("at least 8"),
            "{message}"
        ),
        other => panic!("expected InvalidConfig, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn sign_in_matches_usernames_case_insensitively() {
    let fx = Fixture::new();
    fx.setup_admin();
    assert!(fx.engine.login("  ADMIN ", ADMIN_PASSWORD, "").is_ok());
}

#[test]
fn unknown_user_wrong_password_and_disabled_account_get_the_same_error() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (id, _) = fx.user(&admin, "bob", "viewer");
    fx.engine
        .update_user(&admin, &id, patch(json!({"isDisabled": true})))
        .expect("disable");
    let errors = [
        fx.engine.login("nobody", USER_PASSWORD, "").err(),
        fx.engine.login("admin", "wrong-password", "").err(),
        fx.engine.login("bob", USER_PASSWORD, "").err(),
        fx.engine.login("", "", "").err(),
    ];
    for error in errors {
        assert_eq!(
            error,
            Some(Error::Unauthenticated(
                "Invalid username or password".into()
            ))
        );
    }
}

#[test]
fn logout_revokes_that_token_only() {
    let fx = Fixture::new();
    let first = fx.setup_admin();
    let second = fx
        .engine
        .login("admin", ADMIN_PASSWORD, "")
        .expect("login")
        .token;
    fx.engine.logout(&first).expect("logout");
    assert!(is_unauthenticated(fx.engine.principal(&first)));
    assert!(fx.engine.principal(&second).is_ok());
}

#[test]
fn password_change_revokes_every_session_and_the_new_password_works() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let other = fx
        .engine
        .login("admin", ADMIN_PASSWORD, "")
        .expect("login")
        .token;
    fx.engine
        .change_password(&admin, ADMIN_PASSWORD, "brand-new-password")
        .expect("change");
    assert!(is_unauthenticated(fx.engine.principal(&admin)));
    assert!(is_unauthenticated(fx.engine.principal(&other)));
    assert!(fx.engine.login("admin", "brand-new-password", "").is_ok());
    assert!(is_unauthenticated(fx.engine.login(
        "admin",
        ADMIN_PASSWORD,
        ""
    )));
}

#[test]
fn password_change_needs_the_current_password() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let error = fx
        .engine
        .change_password(&admin, "not-my-password", "brand-new-password")
        .err();
    assert_eq!(
        error,
        Some(Error::Unauthenticated(
            "Current password is incorrect".into()
        ))
    );
    assert!(fx.engine.principal(&admin).is_ok());
}

#[test]
fn password_change_checks_the_current_password_before_the_new_ones_rules() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    assert_eq!(
        fx.engine
            .change_password(&admin, "not-my-password", "short")
            .err(),
        Some(Error::Unauthenticated(
            "Current password is incorrect".into()
        ))
    );
    assert!(matches!(
        fx.engine.change_password(&admin, ADMIN_PASSWORD, "short"),
        Err(Error::BadRequest(_))
    ));
    assert!(fx.engine.principal(&admin).is_ok());
}

#[test]
fn reset_disable_and_delete_revoke_the_users_tokens_at_once() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (reset_id, reset_token) = fx.user(&admin, "reset", "viewer");
    let (disable_id, disable_token) = fx.user(&admin, "disable", "viewer");
    let (delete_id, delete_token) = fx.user(&admin, "delete", "viewer");
    fx.engine
        .reset_password(&admin, &reset_id, "another-password")
        .expect("reset");
    fx.engine
        .update_user(&admin, &disable_id, patch(json!({"isDisabled": true})))
        .expect("disable");
    fx.engine.delete_user(&admin, &delete_id).expect("delete");
    for token in [reset_token, disable_token, delete_token] {
        assert!(is_unauthenticated(fx.engine.principal(&token)));
    }
}

#[test]
fn re_enabling_does_not_bring_old_tokens_back() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (id, token) = fx.user(&admin, "bob", "viewer");
    fx.engine
        .update_user(&admin, &id, patch(json!({"isDisabled": true})))
        .expect("disable");
    fx.engine
        .update_user(&admin, &id, patch(json!({"isDisabled": false})))
        .expect("enable");
    assert!(is_unauthenticated(fx.engine.principal(&token)));
    assert!(fx.engine.login("bob", USER_PASSWORD, "").is_ok());
}

#[test]
fn tokens_expire_after_the_configured_ttl() {
    let fx = Fixture::with(|c| c.token_ttl = std::time::Duration::from_secs(90 * 60));
    let admin = fx.setup_admin();
    fx.clock.advance_ms(90 * 60 * 1000 - 1000);
    assert!(fx.engine.principal(&admin).is_ok());
    fx.clock.advance_ms(1000);
    assert!(is_unauthenticated(fx.engine.principal(&admin)));
}

/// `authorize` decides a cached session without the path `principal` takes; it must see the same
/// time bounds and the same revocations.
#[test]
fn authorize_refuses_a_cached_token_once_it_expires_or_its_user_is_disabled() {
    use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision};
    let fx = Fixture::with(|c| c.token_ttl = std::time::Duration::from_secs(60 * 60));
    let admin = fx.setup_admin();
    let (id, token) = fx.user(&admin, "bob", "viewer");
    let view = |token: &str| fx.engine.authorize(token, Action::View, "");
    assert_eq!(view(&token), Ok(Decision::Allow), "loaded");
    assert_eq!(view(&token), Ok(Decision::Allow), "cached");
    fx.engine
        .update_user(&admin, &id, patch(json!({"isDisabled": true})))
        .expect("disable");
    assert!(is_unauthenticated(view(&token)), "disabled");

    fx.clock.advance_ms(60 * 60 * 1000 - 1000);
    assert_eq!(
        view(&admin),
        Ok(Decision::Allow),
        "cached again, about to expire"
    );
    fx.clock.advance_ms(1000);
    assert!(is_unauthenticated(view(&admin)), "expired while cached");
    assert!(is_unauthenticated(view(&admin)), "and on every later call");
}

#[test]
fn a_token_from_another_installation_is_refused() {
    let one = Fixture::new();
    let two = Fixture::new();
    let token = one.setup_admin();
    two.setup_admin();
    assert!(is_unauthenticated(two.engine.principal(&token)));
}

#[test]
fn a_revocation_on_another_engine_reaches_this_one_within_the_refresh_bound() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (id, token) = fx.user(&admin, "bob", "viewer");
    let other_host = fx.second_engine();
    assert!(fx.engine.principal(&token).is_ok(), "cached here");
    other_host
        .update_user(&admin, &id, patch(json!({"isDisabled": true})))
        .expect("disable elsewhere");
    fx.clock.advance_ms(1000);
    assert!(is_unauthenticated(fx.engine.principal(&token)));
}

#[test]
fn missing_token_asks_for_authentication() {
    let fx = Fixture::new();
    assert_eq!(
        fx.engine.principal("").err(),
        Some(Error::Unauthenticated("Authentication required".into()))
    );
}

#[test]
fn failed_sign_ins_from_one_address_are_rate_limited_with_a_retry_time() {
    let fx = Fixture::new();
    fx.setup_admin();
    for i in 0..20 {
        let _ = fx
            .engine
            .login(&format!("nobody{i}"), "wrong-password", "203.0.113.5");
    }
    match fx.engine.login("admin", ADMIN_PASSWORD, "203.0.113.5") {
        Err(Error::RateLimited { retry_after_secs }) => {
            assert!((1..=300).contains(&retry_after_secs))
        }
        other => panic!("expected a rate limit, got {:?}", other.map(|_| ())),
    }
    assert!(
        fx.engine
            .login("admin", ADMIN_PASSWORD, "203.0.113.6")
            .is_ok(),
        "other addresses still sign in"
    );
    fx.clock.advance_ms(5 * 60 * 1000);
    assert!(
        fx.engine
            .login("admin", ADMIN_PASSWORD, "203.0.113.5")
            .is_ok(),
        "the window moved on"
    );
}

#[test]
fn an_attacked_account_is_throttled_but_its_owner_gets_in_seconds_later() {
    let fx = Fixture::new();
    fx.setup_admin();
    for i in 0..5 {
        let _ = fx
            .engine
            .login("ADMIN", "wrong-password", &format!("198.51.100.{i}"));
    }
    let throttled = fx.engine.login("admin", ADMIN_PASSWORD, "192.0.2.1");
    assert!(
        matches!(
            throttled,
            Err(Error::RateLimited {
                retry_after_secs: 1..=5
            })
        ),
        "{:?}",
        throttled.map(|_| ())
    );
    fx.clock.advance_ms(5_000);
    assert!(
        fx.engine
            .login("admin", ADMIN_PASSWORD, "192.0.2.1")
            .is_ok()
    );
}

#[test]
fn a_successful_sign_in_resets_the_account_counter() {
    let fx = Fixture::new();
    fx.setup_admin();
    for _ in 0..4 {
        let _ = fx.engine.login("admin", "wrong-password", "192.0.2.1");
    }
    fx.engine
        .login("admin", ADMIN_PASSWORD, "192.0.2.1")
        .expect("fifth try is right");
    let _ = fx.engine.login("admin", "wrong-password", "192.0.2.1");
    assert!(
        fx.engine
            .login("admin", ADMIN_PASSWORD, "192.0.2.1")
            .is_ok(),
        "one failure after a reset is not a throttle"
    );
}

/// A sign-in reads the account, then spends a whole password hash checking it. A password reset
/// that lands in that time must leave no session behind: the password checked is the old one. A
/// sign-in that finished before the reset landed got a session the reset ends.
#[test]
fn a_sign_in_still_hashing_when_its_password_is_reset_leaves_no_session() {
    let fx = Fixture::with(|config| {
        // Hashes slow enough that a reset can land while a sign-in is checking.
        config.argon2 = dagu_auth::config::Argon2Params {
            memory_kib: 16 * 1024,
            iterations: 4,
            parallelism: 1,
        };
        // Rounds where the reset lands first are wrong passwords; they must not lock the account.
        config.login_limits.per_account.max_failures = 1000;
    });
    let admin = fx.setup_admin();
    let (id, _) = fx.user(&admin, "ann", "developer");
    let started = std::time::Instant::now();
    fx.engine
        .login("ann", USER_PASSWORD, "10.0.0.1")
        .expect("signs in");
    let one_hash = started.elapsed();

    let mut password = USER_PASSWORD.to_string();
    let mut raced = 0;
    for round in 0..20 {
        let new = format!("reset-password-{round}");
        let sign_in = std::thread::scope(|scope| {
            // The reset hashes first and stores after; the sign-in reads the old hash meanwhile.
            let reset = scope.spawn(|| fx.engine.reset_password(&admin, &id, &new));
            std::thread::sleep(one_hash / 3);
            let sign_in = fx.engine.login("ann", &password, "10.0.0.1");
            reset.join().expect("reset thread").expect("reset");
            sign_in
        });
        if let Ok(login) = &sign_in {
            assert!(
                fx.engine.principal(&login.token).is_err(),
                "a session from the old password outlived the reset"
            );
        }
        let trail = fx
            .engine
            .list_audit(&admin, dagu_auth::service::AuditRequest::default())
            .expect("audit");
        raced = serde_json::to_string(&trail)
            .expect("json")
            .matches("account_changed")
            .count();
        password = new;
        if raced >= 3 {
            break;
        }
    }
    assert!(
        raced >= 1,
        "no sign-in read the old hash before the reset landed: {one_hash:?} per hash"
    );
}
