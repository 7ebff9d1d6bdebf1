//! The per-address sign-in limit is keyed on the accounts tried as well as on failures: one
//! person's typos on their own account leave the address open to everyone else behind it (an
//! office behind one NAT), while a spray across usernames from one address is still stopped.
//! And an attempted username reaches the audit trail only when it names an account.

mod common;

use common::*;
use dagu_auth::Error;
use dagu_auth::service::AuditRequest;
use serde_json::Value;

const OFFICE: &str = "203.0.113.9";

#[test]
fn one_persons_typos_on_their_own_account_do_not_lock_out_their_address() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    fx.user(&admin, "bob", "viewer");
    fx.user(&admin, "carol", "viewer");
    // Bob mistypes 20 times in under two minutes, as fast as his account's throttle lets him: as
    // many failures from the address as its limit allows when they are spread over accounts.
    let mut failures = 0;
    while failures < 20 {
        match fx.engine.login("bob", "bobs-typo", OFFICE) {
            Err(Error::Unauthenticated(_)) => failures += 1,
            Err(Error::RateLimited { .. }) => fx.clock.advance_ms(5_000),
            other => panic!("unexpected {other:?}"),
        }
    }
    fx.engine
        .login("carol", USER_PASSWORD, OFFICE)
        .expect("a colleague behind the same address signs in");
    fx.engine
        .login("admin", ADMIN_PASSWORD, OFFICE)
        .expect("and so does the admin");
}

#[test]
fn a_spray_across_usernames_from_one_address_is_still_stopped() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    fx.user(&admin, "carol", "viewer");
    for i in 0..20 {
        let _ = fx
            .engine
            .login(&format!("user{i}"), "Spring2026!", "198.51.100.66");
    }
    assert!(matches!(
        fx.engine.login("carol", USER_PASSWORD, "198.51.100.66"),
        Err(Error::RateLimited { .. })
    ));
}

#[test]
fn a_few_accounts_guessed_to_their_own_limits_still_stop_the_address() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    fx.user(&admin, "carol", "viewer");
    // Five failures on each of four accounts: each counts fully, twenty in all.
    for account in ["ann", "ben", "cat", "dan"] {
        for _ in 0..5 {
            let _ = fx.engine.login(account, "Spring2026!", "198.51.100.67");
        }
    }
    assert!(matches!(
        fx.engine.login("carol", USER_PASSWORD, "198.51.100.67"),
        Err(Error::RateLimited { .. })
    ));
}

/// Every `login_failed` entry as text.
fn failed_sign_ins(fx: &Fixture, admin: &str) -> Vec<Value> {
    let page = fx
        .engine
        .list_audit(admin, AuditRequest::default())
        .expect("audit");
    serde_json::to_value(&page).expect("json")["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|entry| entry["action"] == "login_failed")
        .collect()
}

#[test]
fn an_attempted_username_is_audited_only_when_it_names_an_account() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (bob, _) = fx.user(&admin, "bob", "viewer");
    let typed_password = "Correct-Horse-Battery-7";
    // Wrong passwords, then rate-limited tries: a password in the username box on both paths.
    for _ in 0..8 {
        let _ = fx
            .engine
            .login(typed_password, "bobs-password", "192.0.2.30");
        let _ = fx.engine.login("BOB", "wrong", "192.0.2.31");
    }
    let entries = failed_sign_ins(&fx, &admin);
    let text = serde_json::to_string(&entries).expect("json");
    assert!(
        !text.to_lowercase().contains(&typed_password.to_lowercase()),
        "{text}"
    );
    let named: Vec<&Value> = entries.iter().filter(|e| e["username"] != "").collect();
    assert_eq!(named.len(), 8, "bob's eight tries are named: {entries:#?}");
    assert!(
        named
            .iter()
            .all(|e| e["username"] == "bob" && e["userId"] == bob.as_str())
    );
    let reasons: Vec<String> = entries
        .iter()
        .map(|e| e["details"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("rate_limited")),
        "{reasons:?}"
    );
}
