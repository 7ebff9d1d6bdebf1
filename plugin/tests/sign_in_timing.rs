//! Sign-in must not tell an attacker which usernames exist: unknown user, wrong password and
//! disabled account take the same time. Compares medians of interleaved tries with the production
//! argon2 parameters (a ratio, not a time budget).

mod common;

use std::time::{Duration, Instant};

use common::*;
use dagu_auth::config::Argon2Params;
use serde_json::json;

const TRIES: usize = 30;
const ALLOWED_DIFFERENCE: f64 = 0.15;

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64()
}

#[test]
fn unknown_user_wrong_password_and_disabled_account_take_the_same_time() {
    let fx = Fixture::with(|c| {
        c.argon2 = Argon2Params::default();
        c.login_limits.per_ip.max_failures = 10_000;
        c.login_limits.per_account.max_failures = 10_000;
    });
    let admin = fx.setup_admin();
    let (disabled, _) = fx.user(&admin, "disabled-user", "viewer");
    fx.engine
        .update_user(&admin, &disabled, patch(json!({"isDisabled": true})))
        .expect("disable");

    let cases = [
        ("no-such-user", USER_PASSWORD),
        ("admin", "wrong-password"),
        ("disabled-user", USER_PASSWORD),
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..TRIES {
        for (case, (username, password)) in cases.iter().enumerate() {
            let started = Instant::now();
            assert!(fx.engine.login(username, password, "192.0.2.1").is_err());
            samples[case].push(started.elapsed());
        }
    }
    let medians: Vec<f64> = samples.into_iter().map(median).collect();
    let (fastest, slowest) = medians
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), m| (lo.min(*m), hi.max(*m)));
    assert!(
        slowest <= fastest * (1.0 + ALLOWED_DIFFERENCE),
        "medians (unknown, wrong password, disabled) in seconds: {medians:?}"
    );
}
