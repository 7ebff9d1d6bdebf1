//! How long a revocation on one host takes to be enforced on another: two Engines on one
//! PostgreSQL schema (and, for comparison, two on one SQLite folder), as two hosts would be.
//!
//! `cargo bench -p dagu-auth --features postgres --bench revocation_delay` with
//! `DAGU_AUTH_TEST_POSTGRES_URL` set (a schema of its own per run; without it only SQLite runs).
//! For each of `REVOCATIONS` users: host B answers the user's token from its cache, host A signs
//! the token out, and host B is asked again and again until it refuses; the delay runs from A's
//! commit to B's first refusal. Each revocation starts at a random point of B's refresh cycle.

mod common;

use std::time::{Duration, Instant};

use dagu_auth::config::{Argon2Params, PostgresConfig, StoreConfig};
use dagu_auth::service::CreateUserRequest;
use dagu_auth::{Config, Engine, Error};
use dagu_auth_abi::DaguAuthAction as Action;

const PASSWORD: &str = "bench-password-1";
const SECRET: &[u8] = b"a benchmark secret of at least 32 bytes";
const REVOCATIONS: usize = 100;

fn host(dir: &std::path::Path, store: &StoreConfig) -> Engine {
    let mut config = Config::new(dir);
    config.argon2 = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    config.license_features = vec!["rbac".into()];
    config.token_secret = Some(SECRET.to_vec());
    config.store = store.clone();
    Engine::open(config).expect("engine opens")
}

/// Milliseconds from host A's sign-out of each token to host B's first refusal of it.
fn delays(store: &StoreConfig) -> Vec<Duration> {
    let dir = tempfile::tempdir().expect("tempdir");
    let host_a = host(dir.path(), store);
    let host_b = host(dir.path(), store);
    let admin = host_a.setup("admin", PASSWORD, "").expect("setup").token;
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut delays = Vec::with_capacity(REVOCATIONS);
    for i in 0..REVOCATIONS {
        let username = format!("user{i}");
        let request = CreateUserRequest {
            username: username.clone(),
            password: PASSWORD.into(),
            role: "viewer".into(),
            workspace_access: None,
        };
        host_a.create_user(admin.as_str(), request).expect("create");
        let token = host_a.login(&username, PASSWORD, "").expect("login").token;
        // B must have the token cached (and have noticed the create) before the clock starts.
        let cached = Instant::now();
        while host_b.authorize(token.as_str(), Action::View, "").is_err() {
            assert!(cached.elapsed() < Duration::from_secs(5), "B never accepts");
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_micros(seed % 250_000));
        host_a.logout(token.as_str()).expect("logout");
        let revoked = Instant::now();
        loop {
            match host_b.authorize(token.as_str(), Action::View, "") {
                Err(Error::Unauthenticated(_)) => break,
                _ => assert!(
                    revoked.elapsed() < Duration::from_secs(10),
                    "never enforced"
                ),
            }
        }
        delays.push(revoked.elapsed());
    }
    delays
}

fn report(name: &str, mut delays: Vec<Duration>) {
    delays.sort();
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    println!(
        "revocation delay {name}: {} revocations, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        delays.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no options.
    println!(
        "load {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    report("sqlite", delays(&StoreConfig::Sqlite));
    let Ok(url) = std::env::var("DAGU_AUTH_TEST_POSTGRES_URL") else {
        println!("DAGU_AUTH_TEST_POSTGRES_URL unset: PostgreSQL skipped");
        return;
    };
    let schema = format!("dagu_revocation_{}", std::process::id());
    let scoped = common::fresh_postgres_schema(&url, &schema).expect("schema");
    report(
        "postgres",
        delays(&StoreConfig::Postgres(PostgresConfig::new(scoped))),
    );
    common::drop_postgres_schema(&url, &schema);
}
