//! Every password check is limited, not only sign-in: `change-password`'s check of the current
//! password counts against the sign-in limit of the account, is audited, and hashes within the
//! account's share of the pool, so one account's flood cannot starve other accounts' sign-ins.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use dagu_auth::Error;
use dagu_auth::config::Argon2Params;
use dagu_auth::hashpool::HashingLimits;
use dagu_auth::service::AuditRequest;
use serde_json::Value;

const WRONG: &str = "not-the-password";
const NEW_PASSWORD: &str = "a-new-password-9";

/// Every `password_change` entry, oldest first.
fn password_change_entries(fx: &Fixture, admin: &str) -> Vec<Value> {
    let page = fx
        .engine
        .list_audit(admin, AuditRequest::default())
        .expect("audit");
    let mut entries: Vec<Value> = serde_json::to_value(&page).expect("json")["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|entry| entry["action"] == "password_change")
        .collect();
    entries.reverse();
    entries
}

#[test]
fn change_password_with_a_wrong_current_password_counts_against_the_sign_in_limit() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, bob) = fx.user(&admin, "bob", "viewer");
    // The default per-account limit is 5 failures; each address below is fresh, so only the
    // account's limit can answer.
    for i in 0..5 {
        let wrong = fx
            .engine
            .change_password(&bob, WRONG, NEW_PASSWORD)
            .expect_err("wrong current password");
        assert!(
            matches!(wrong, Error::Unauthenticated(_)),
            "try {i}: {wrong:?}"
        );
    }
    assert!(matches!(
        fx.engine.change_password(&bob, USER_PASSWORD, NEW_PASSWORD),
        Err(Error::RateLimited { .. })
    ));
    assert!(
        matches!(
            fx.engine.login("bob", USER_PASSWORD, "192.0.2.77"),
            Err(Error::RateLimited { .. })
        ),
        "sign-in and change-password share one per-account limit"
    );
    fx.clock.advance_ms(5_000);
    fx.engine
        .change_password(&bob, USER_PASSWORD, NEW_PASSWORD)
        .expect("throttled, never locked: the owner gets through after the throttle gap");
}

#[test]
fn sign_in_failures_count_against_change_password_too() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, bob) = fx.user(&admin, "bob", "viewer");
    for i in 0..5 {
        let _ = fx.engine.login("bob", WRONG, &format!("198.51.100.{i}"));
    }
    assert!(matches!(
        fx.engine.change_password(&bob, USER_PASSWORD, NEW_PASSWORD),
        Err(Error::RateLimited { .. })
    ));
}

#[test]
fn each_failed_current_password_check_is_audited_as_a_failed_password_change() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (bob_id, bob) = fx.user(&admin, "bob", "viewer");
    for _ in 0..6 {
        let _ = fx.engine.change_password(&bob, WRONG, NEW_PASSWORD);
    }
    let entries = password_change_entries(&fx, &admin);
    assert_eq!(entries.len(), 6, "{entries:#?}");
    for entry in &entries {
        assert_eq!(entry["result"], "failed", "{entry}");
        assert_eq!(entry["userId"], bob_id.as_str(), "{entry}");
    }
    let reasons: Vec<String> = entries
        .iter()
        .map(|entry| {
            let details: Value =
                serde_json::from_str(entry["details"].as_str().unwrap_or("{}")).expect("details");
            details["reason"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "invalid_credentials",
            "invalid_credentials",
            "invalid_credentials",
            "invalid_credentials",
            "invalid_credentials",
            "rate_limited"
        ]
    );
    let text = serde_json::to_string(&entries).expect("json");
    assert!(
        !text.contains(WRONG),
        "a tried password never lands in the trail"
    );
}

/// One account floods `change-password` (its limit raised out of the way, so every try hashes)
/// while another account signs in. The pool has one slot and two places in line: without a
/// per-account share the flood keeps the line full and the other sign-in is turned away as
/// unavailable; with it, the flood holds one place at most (running or waiting), so the line
/// always has room for the other account.
#[test]
fn one_accounts_password_check_flood_cannot_starve_another_accounts_sign_in() {
    let fx = Arc::new(Fixture::with(|c| {
        c.argon2 = Argon2Params {
            memory_kib: 1024,
            iterations: 50,
            parallelism: 1,
        };
        c.hashing = HashingLimits {
            max_concurrent: 1,
            max_queued: 2,
        };
        c.login_limits.per_account.max_failures = u32::MAX;
    }));
    let admin = fx.setup_admin();
    let (_, flooder) = fx.user(&admin, "flooder", "viewer");
    fx.user(&admin, "victim", "viewer");
    let flooding = Arc::new(AtomicBool::new(true));
    let floods: Vec<_> = (0..8)
        .map(|_| {
            let (fx, flooding, flooder) = (Arc::clone(&fx), Arc::clone(&flooding), flooder.clone());
            std::thread::spawn(move || {
                while flooding.load(Ordering::Relaxed) {
                    let _ = fx.engine.change_password(&flooder, WRONG, NEW_PASSWORD);
                }
            })
        })
        .collect();
    // Every sign-in of the victim is admitted to the line and served, however the flood races it.
    let outcomes: Vec<_> = (0..20)
        .map(|_| fx.engine.login("victim", USER_PASSWORD, "").map(|_| ()))
        .collect();
    flooding.store(false, Ordering::Relaxed);
    for flood in floods {
        flood.join().expect("flood thread");
    }
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
}
