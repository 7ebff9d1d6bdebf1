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
const ROUNDS: usize = 3;

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

    // Noise from other processes only ever widens the gap, so a real difference fails every round
    // while a busy machine still passes in one of them.
    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        let medians = round(&fx);
        if within_bound(&medians) {
            return;
        }
        rounds.push(medians);
    }
    panic!("medians (unknown, wrong password, disabled) in seconds, per round: {rounds:?}");
}

fn round(fx: &Fixture) -> Vec<f64> {
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
    samples.into_iter().map(median).collect()
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64()
}

fn within_bound(medians: &[f64]) -> bool {
    let (fastest, slowest) = medians
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), m| (lo.min(*m), hi.max(*m)));
    slowest <= fastest * (1.0 + ALLOWED_DIFFERENCE)
}
