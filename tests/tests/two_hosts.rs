//! Two `host-demo` processes, each with its own data folder, on one PostgreSQL database and one
//! token secret, behave as one installation: one first admin, tokens valid on both, a revocation
//! on one refused by the other within the documented second, and one sign-in limit for both.
//!
//! Needs `DAGU_AUTH_TEST_POSTGRES_URL`; skipped with the reason printed without it, failed under
//! `DAGU_AUTH_REQUIRE_ALL=1`.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use dagu_auth_tests::api::*;
use dagu_auth_tests::native::require_all;
use dagu_auth_tests::{Abi, HostDemo, HostOptions};

const URL_VAR: &str = "DAGU_AUTH_TEST_POSTGRES_URL";
const SECRET: &str = "two-hosts-share-this-secret-of-32+-bytes";
/// The Engine looks for other hosts' writes once a second; a request's own time comes on top.
const INVALIDATION_BOUND: Duration = Duration::from_millis(1000);
const REQUEST_SLACK: Duration = Duration::from_millis(500);

/// A schema of its own in the test database, dropped at the end.
struct Database {
    admin_url: String,
    schema: String,
    url: String,
}

impl Database {
    fn create() -> Option<Database> {
        let Some(admin_url) = std::env::var(URL_VAR).ok().filter(|u| !u.is_empty()) else {
            let reason = format!("{URL_VAR} is not set (a PostgreSQL URL for tests)");
            assert!(!require_all(), "DAGU_AUTH_REQUIRE_ALL=1 but {reason}");
            eprintln!("skipped: {reason}");
            return None;
        };
        let schema = format!("dagu_two_hosts_{}_{}", std::process::id(), unix_now_nanos());
        let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{URL_VAR} is set but PostgreSQL is unreachable: {e}"));
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("create a schema");
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
        Some(Database {
            admin_url,
            schema,
            url,
        })
    }

    /// A host on this database, with the shared secret and a data folder of its own.
    fn host(&self) -> HostDemo {
        HostDemo::start(
            HostOptions::new(Abi::Rust)
                .env("DAGU_AUTH_BUILTIN_STORE", "postgres")
                .env("DAGU_AUTH_POSTGRES_URL", &self.url)
                .env("DAGU_AUTH_TOKEN_SECRET", SECRET),
        )
    }

    /// A host as [`Database::host`] gives, with an idle timeout.
    fn host_with_idle_timeout(&self, idle_timeout: &str) -> HostDemo {
        HostDemo::start(
            HostOptions::new(Abi::Rust)
                .env("DAGU_AUTH_BUILTIN_STORE", "postgres")
                .env("DAGU_AUTH_POSTGRES_URL", &self.url)
                .env("DAGU_AUTH_TOKEN_SECRET", SECRET)
                .env("DAGU_AUTH_TOKEN_IDLE_TIMEOUT", idle_timeout),
        )
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

fn unix_now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[test]
fn concurrent_setup_on_both_hosts_creates_exactly_one_admin() {
    let Some(db) = Database::create() else { return };
    let hosts = [db.host(), db.host()];
    assert_ne!(hosts[0].data_dir(), hosts[1].data_dir());
    let barrier = Arc::new(Barrier::new(8));
    let statuses: Vec<u16> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (host, barrier) = (&hosts[i % 2], Arc::clone(&barrier));
                scope.spawn(move || {
                    barrier.wait();
                    setup(host, &format!("admin{i}"), ADMIN_PASSWORD).status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 403),
        "{statuses:?}"
    );
    for host in &hosts {
        let status = host.get("/api/v1/auth/setup", None);
        status.expect_status(200);
        assert_eq!(status.json()["setupRequired"], false);
    }
}

#[test]
fn a_token_signed_in_on_one_host_works_on_the_other() {
    let Some(db) = Database::create() else { return };
    let (a, b) = (db.host(), db.host());
    setup_admin(&a);
    let token = login_token(&a, ADMIN_USERNAME, ADMIN_PASSWORD);
    assert_eq!(me_status(&b, &token), 200);
    let users = b.get("/api/v1/users", Some(&token));
    users.expect_status(200);
    assert_eq!(users.json()["users"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_user_disabled_on_one_host_is_refused_by_the_other_within_a_second() {
    let Some(db) = Database::create() else { return };
    let (a, b) = (db.host(), db.host());
    let admin = setup_admin(&a);
    let (bob, token) = create_user_and_login(&a, &admin, "bob", "viewer", None);
    // Host A has bob's principal in its cache from here on.
    assert_eq!(me_status(&a, &token), 200);
    disable_user(&b, &admin, &id_of(&bob));
    let disabled_at = Instant::now();
    while me_status(&a, &token) == 200 {
        assert!(
            disabled_at.elapsed() < INVALIDATION_BOUND + REQUEST_SLACK,
            "host A still accepts a token host B revoked after {:?}",
            disabled_at.elapsed()
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(me_status(&a, &token), 401);
    eprintln!(
        "host A refused the token {:?} after host B disabled bob",
        disabled_at.elapsed()
    );
}

#[test]
fn failed_sign_ins_count_against_one_limit_on_both_hosts() {
    let Some(db) = Database::create() else { return };
    let (a, b) = (db.host(), db.host());
    setup_admin(&a);
    // The default per-account limit: five failures, then one attempt per few seconds.
    for i in 0..5 {
        let host = if i % 2 == 0 { &a } else { &b };
        assert_invalid_credentials(&login(host, ADMIN_USERNAME, "Wrong-Pass-0000-door"));
    }
    for host in [&a, &b] {
        let limited = login(host, ADMIN_USERNAME, ADMIN_PASSWORD);
        assert_eq!(limited.status, 429, "{}", limited.text());
        assert!(limited.header("retry-after").is_some());
    }
}

/// Polls until `token` is refused on `host`, within the documented bound.
fn refused_within_the_bound(host: &HostDemo, token: &str, what: &str) {
    let ended_at = Instant::now();
    while me_status(host, token) == 200 {
        assert!(
            ended_at.elapsed() < INVALIDATION_BOUND + REQUEST_SLACK,
            "{what}: still accepted after {:?}",
            ended_at.elapsed()
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(me_status(host, token), 401, "{what}");
}

#[test]
fn sessions_ended_on_one_host_are_refused_by_the_other_within_a_second() {
    let Some(db) = Database::create() else { return };
    let (a, b) = (db.host(), db.host());
    let admin = setup_admin(&a);
    let (bob, kept) = create_user_and_login(&a, &admin, "bob", "viewer", None);
    let other = login_token(&a, "bob", USER_PASSWORD);
    // Host A has both of bob's sessions in its cache from here on.
    assert_eq!((me_status(&a, &kept), me_status(&a, &other)), (200, 200));
    b.delete("/api/v1/auth/sessions", Some(&kept))
        .expect_status(200);
    refused_within_the_bound(&a, &other, "a session ended as one of the others");
    assert_eq!(me_status(&a, &kept), 200, "the caller's own session stays");

    b.delete(
        &format!("/api/v1/users/{}/sessions", id_of(&bob)),
        Some(&admin),
    )
    .expect_status(200);
    refused_within_the_bound(&a, &kept, "a session an admin ended");
    login(&a, "bob", USER_PASSWORD).expect_status(200);
}

#[test]
fn a_session_used_on_one_host_is_not_idle_on_the_other_and_ends_on_both_when_idle() {
    let Some(db) = Database::create() else { return };
    // 3 s idle: uses are written at most once a second (a tenth, at least 1 s).
    let (a, b) = (
        db.host_with_idle_timeout("3s"),
        db.host_with_idle_timeout("3s"),
    );
    let admin = setup_admin(&a);
    assert_eq!(me_status(&a, &admin), 200, "cached on host A");
    // Used only on host B for twice the idle timeout.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        assert_eq!(me_status(&b, &admin), 200);
        thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        me_status(&a, &admin),
        200,
        "host A asks the store, which has host B's uses"
    );
    // Unused anywhere for longer than the timeout: refused on both.
    thread::sleep(Duration::from_millis(3500));
    assert_eq!(me_status(&a, &admin), 401);
    assert_eq!(me_status(&b, &admin), 401);
}
