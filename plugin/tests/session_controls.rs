//! The session controls: one test per security requirement on sessions (the README's "Session
//! controls" lists them), each named after it, then the rules behind them: what a session's id
//! reveals, who may end what, the idle timeout across hosts, and "last used" written in batches
//! rather than by every `authorize`.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;
use dagu_auth::Error;
use dagu_auth::service::SignInOrigin;
use dagu_auth_abi::DaguAuthAction as Action;
use rusqlite::Connection;
use serde_json::{Value, json};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CURL: &str = "curl/8.5.0";
const MINUTE_MS: i64 = 60 * 1000;

fn sign_in(fx: &Fixture, username: &str, password: &str, ip: &str, agent: &str) -> String {
    fx.engine
        .login_from(username, password, SignInOrigin::new(ip, agent))
        .expect("sign in")
        .token
}

fn sessions(fx: &Fixture, token: &str) -> Vec<Value> {
    let listed = fx.engine.list_sessions(token).expect("list sessions");
    match serde_json::to_value(listed) {
        Ok(Value::Object(mut body)) => match body.remove("sessions") {
            Some(Value::Array(sessions)) => sessions,
            other => panic!("no session array: {other:?}"),
        },
        other => panic!("not an object: {other:?}"),
    }
}

fn signed_in(fx: &Fixture, token: &str) -> bool {
    match fx.engine.principal(token) {
        Ok(_) => true,
        Err(Error::Unauthenticated(_)) => false,
        Err(other) => panic!("neither signed in nor out: {other}"),
    }
}

fn db(fx: &Fixture) -> Connection {
    Connection::open(fx.dir.path().join("auth/auth.db")).expect("open db")
}

fn audited_actions(fx: &Fixture) -> Vec<String> {
    let db = db(fx);
    let mut stmt = db
        .prepare(
            "SELECT action FROM (SELECT seq, action FROM audit_entries \
             UNION ALL SELECT seq, action FROM audit_recent) ORDER BY seq",
        )
        .expect("prepare");
    let rows = stmt.query_map([], |row| row.get(0)).expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

/// Waits for the maintenance thread to write a queued use (it writes as soon as one arrives).
fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        thread::sleep(Duration::from_millis(20));
    }
}

fn stored_last_use(fx: &Fixture) -> Vec<i64> {
    let db = db(fx);
    let mut stmt = db
        .prepare("SELECT last_used_at FROM sessions ORDER BY created_at, jti")
        .expect("prepare");
    let rows = stmt.query_map([], |row| row.get(0)).expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

// The requirements

#[test]
fn a_user_lists_their_own_sessions_with_created_last_used_client_ip_and_user_agent() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    fx.user(&admin, "bob", "viewer");
    let laptop = sign_in(&fx, "bob", USER_PASSWORD, "10.0.0.5", FIREFOX);
    fx.clock.advance_ms(5_000);
    let script = sign_in(&fx, "bob", USER_PASSWORD, "10.0.0.6", CURL);

    let listed = sessions(&fx, &laptop);
    // bob's two sessions here and the one the fixture signed in; none of the admin's.
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(
        listed[0]["current"], true,
        "the current session comes first"
    );
    assert_eq!(listed[0]["userAgent"], FIREFOX);
    assert_eq!(listed[0]["clientIp"], "10.0.0.5");
    assert_eq!(listed[0]["createdAt"], "2026-01-01T00:00:00Z");
    assert_eq!(
        listed[0]["lastUsedAt"], "2026-01-01T00:00:05Z",
        "in use now"
    );
    let other = &listed[1];
    assert_eq!(other["current"], false);
    assert_eq!(
        (other["clientIp"].as_str(), other["userAgent"].as_str()),
        (Some("10.0.0.6"), Some(CURL))
    );
    assert_eq!(other["createdAt"], "2026-01-01T00:00:05Z");
    for session in &listed {
        let id = session["id"].as_str().expect("id");
        assert!(
            !laptop.contains(id) && !script.contains(id),
            "an id is not part of a token"
        );
        assert!(session["expiresAt"].is_string());
    }
}

#[test]
fn a_user_ends_any_one_of_their_sessions() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, first) = fx.user(&admin, "bob", "viewer");
    let second = sign_in(&fx, "bob", USER_PASSWORD, "10.0.0.6", CURL);
    let id_of_second = sessions(&fx, &first)
        .iter()
        .find(|s| s["userAgent"] == CURL)
        .and_then(|s| s["id"].as_str().map(str::to_string))
        .expect("the second session is listed");

    fx.engine
        .end_session(&first, &id_of_second)
        .expect("end the other one");
    assert!(!signed_in(&fx, &second), "the ended session stops at once");
    assert!(signed_in(&fx, &first));

    // The current one too: that is signing out.
    let id_of_first = sessions(&fx, &first)[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    fx.engine
        .end_session(&first, &id_of_first)
        .expect("end this one");
    assert!(!signed_in(&fx, &first));
    let actions = audited_actions(&fx);
    assert_eq!(
        actions.iter().filter(|a| *a == "session_end").count(),
        2,
        "{actions:?}"
    );
}

#[test]
fn a_user_ends_all_their_other_sessions() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, kept) = fx.user(&admin, "bob", "viewer");
    let others: Vec<String> = (0..3)
        .map(|i| sign_in(&fx, "bob", USER_PASSWORD, &format!("10.0.0.{i}"), CURL))
        .collect();
    let (_, carol) = fx.user(&admin, "carol", "viewer");

    let ended = fx.engine.end_other_sessions(&kept).expect("end others");
    assert_eq!(ended.ended, 3);
    assert!(signed_in(&fx, &kept), "the caller's own session stays");
    for token in &others {
        assert!(!signed_in(&fx, token));
    }
    assert!(signed_in(&fx, &carol), "nobody else's sessions end");
    assert!(signed_in(&fx, &admin));
    assert_eq!(sessions(&fx, &kept).len(), 1);
    assert!(audited_actions(&fx).contains(&"session_end_others".to_string()));
}

#[test]
fn an_admin_ends_all_sessions_of_a_user_without_resetting_the_password() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (bob_id, bob) = fx.user(&admin, "bob", "developer");
    let bob_elsewhere = sign_in(&fx, "bob", USER_PASSWORD, "10.0.0.9", CURL);
    let hash_before = fx.stored_hash(&bob_id);
    let key = fx
        .engine
        .create_api_key(
            &admin,
            serde_json::from_value(json!({"name": "bob-ci", "role": "viewer",
                "allowedSurfaces": ["rest_api"], "attributionClass": "user_owned",
                "ownerUserId": bob_id}))
            .expect("request"),
        )
        .expect("key")
        .key;

    let ended = fx
        .engine
        .end_user_sessions(&admin, &bob_id)
        .expect("end sessions");
    assert_eq!(ended.ended, 2);
    assert!(!signed_in(&fx, &bob) && !signed_in(&fx, &bob_elsewhere));
    assert_eq!(fx.stored_hash(&bob_id), hash_before, "the password stays");
    fx.engine
        .login("bob", USER_PASSWORD, "")
        .expect("bob signs in again with the same password");
    assert!(signed_in(&fx, &key), "API keys are not sessions and stay");
    assert!(signed_in(&fx, &admin), "the admin's own session stays");

    // Only an admin, and only an existing user.
    let (_, viewer) = fx.user(&admin, "vera", "viewer");
    assert!(matches!(
        fx.engine.end_user_sessions(&viewer, &bob_id),
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        fx.engine.end_user_sessions(&admin, "no-such-user"),
        Err(Error::NotFound(_))
    ));
    assert!(audited_actions(&fx).contains(&"user_sessions_end".to_string()));
}

#[test]
fn an_idle_timeout_is_configurable_beside_the_absolute_ttl() {
    let fx = Fixture::with(|config| config.token_idle_timeout = Duration::from_secs(30 * 60));
    let admin = fx.setup_admin();
    let (_, busy) = fx.user(&admin, "bob", "viewer");
    let (_, idle) = fx.user(&admin, "carol", "viewer");
    // Used every 10 minutes for 2 hours: never idle, though far past the timeout since sign-in.
    for _ in 0..12 {
        fx.clock.advance_ms(10 * MINUTE_MS);
        assert!(signed_in(&fx, &busy));
    }
    assert!(
        !signed_in(&fx, &idle),
        "unused for 2 hours, past the 30 minute idle timeout"
    );
    // Still bounded by the absolute TTL (24 hours by default).
    for _ in 0..(22 * 6) {
        fx.clock.advance_ms(10 * MINUTE_MS);
        fx.engine.principal(&busy).ok();
    }
    assert!(!signed_in(&fx, &busy), "past the TTL however busy");
}

// The rules behind them

#[test]
fn without_an_idle_timeout_an_unused_session_lasts_until_its_ttl() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    fx.clock.advance_ms(23 * 60 * MINUTE_MS);
    assert!(signed_in(&fx, &admin), "off by default, as in Dagu");
}

#[test]
fn a_session_idle_longer_than_the_timeout_stops_on_its_next_call_even_when_cached() {
    let fx = Fixture::with(|config| config.token_idle_timeout = Duration::from_secs(120));
    let admin = fx.setup_admin();
    assert_eq!(
        fx.engine.authorize(&admin, Action::Admin, ""),
        Ok(dagu_auth_abi::DaguAuthDecision::Allow)
    );
    fx.clock.advance_ms(2 * MINUTE_MS + 1_000);
    assert!(matches!(
        fx.engine.authorize(&admin, Action::View, ""),
        Err(Error::Unauthenticated(_))
    ));
    assert!(!signed_in(&fx, &admin), "and it stays ended");
}

#[test]
fn a_session_used_on_another_host_is_not_idle_on_this_one() {
    let fx = Fixture::with(|config| config.token_idle_timeout = Duration::from_secs(600));
    let admin = fx.setup_admin();
    let (_, bob) = fx.user(&admin, "bob", "viewer");
    let other_host = fx.second_engine();
    assert!(signed_in(&fx, &bob), "cached here at the start");
    // Used only on the other host for a while; its uses reach the shared store in batches.
    for _ in 0..3 {
        fx.clock.advance_ms(4 * MINUTE_MS);
        assert!(other_host.principal(&bob).is_ok());
    }
    // 12 minutes after its last use here, 0 after its last use there.
    let used_there = START_MS + 12 * MINUTE_MS;
    wait_until(|| stored_last_use(&fx).contains(&used_there));
    assert!(signed_in(&fx, &bob));
}

#[test]
fn last_used_is_written_once_per_interval_not_by_every_authorize() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let db = db(&fx);
    let version = || -> i64 {
        db.query_row("PRAGMA data_version", [], |row| row.get(0))
            .expect("data_version")
    };
    let before = version();
    for _ in 0..1000 {
        fx.engine
            .authorize(&admin, Action::View, "")
            .expect("authorize");
    }
    assert_eq!(version(), before, "no write for uses inside one interval");
    assert_eq!(stored_last_use(&fx), [START_MS]);

    fx.clock.advance_ms(MINUTE_MS);
    for _ in 0..1000 {
        fx.engine
            .authorize(&admin, Action::View, "")
            .expect("authorize");
    }
    wait_until(|| stored_last_use(&fx) == [START_MS + MINUTE_MS]);
    let listed = sessions(&fx, &admin);
    assert_eq!(listed.len(), 1);
}

#[test]
fn another_users_session_id_is_not_found_and_an_api_key_has_no_sessions() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (_, bob) = fx.user(&admin, "bob", "viewer");
    let bobs_id = sessions(&fx, &bob)[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert!(matches!(
        fx.engine.end_session(&admin, &bobs_id),
        Err(Error::NotFound(_))
    ));
    assert!(signed_in(&fx, &bob));
    let key = fx
        .engine
        .create_api_key(
            &admin,
            serde_json::from_value(json!({"name": "ops", "role": "admin",
                "allowedSurfaces": ["rest_api"], "attributionClass": "service_account"}))
            .expect("request"),
        )
        .expect("key")
        .key;
    assert!(matches!(
        fx.engine.list_sessions(&key),
        Err(Error::BadRequest(_))
    ));
    assert!(matches!(
        fx.engine.end_other_sessions(&key),
        Err(Error::BadRequest(_))
    ));
    // An admin key may end a user's sessions: it is an admin operation, not one on its own.
    let bob_id = fx.engine.principal(&bob).expect("bob").id().to_string();
    assert!(fx.engine.end_user_sessions(&key, &bob_id).is_ok());
    assert!(!signed_in(&fx, &bob));
}

#[test]
fn a_recorded_user_agent_is_bounded_and_has_no_control_characters() {
    let fx = Fixture::new();
    fx.setup_admin();
    let forged = format!("evil\r\nX-Admin: yes\u{7}{}", "a".repeat(5000));
    let token = sign_in(&fx, "admin", ADMIN_PASSWORD, "10.0.0.1", &forged);
    let listed = sessions(&fx, &token);
    let agent = listed[0]["userAgent"].as_str().expect("agent");
    assert!(agent.starts_with("evilX-Admin: yes"));
    assert_eq!(agent.chars().count(), 256);
    assert!(!agent.chars().any(char::is_control));
}

#[test]
fn the_session_routes_answer_over_http_with_the_user_agent_recorded_at_sign_in() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let body = json!({"username": "admin", "password": ADMIN_PASSWORD}).to_string();
    let response = fx.http_raw(
        "POST",
        "/api/v1/auth/login",
        &[
            ("Content-Type", "application/json"),
            ("User-Agent", FIREFOX),
        ],
        body.as_bytes(),
    );
    assert_eq!(response.status, 200);
    let login: Value = serde_json::from_slice(&response.body).expect("json");
    let token = login["token"].as_str().expect("token");

    let (status, listed, _) = fx.http("GET", "/api/v1/auth/sessions", Some(token), b"");
    assert_eq!(status, 200);
    let listed = listed["sessions"].as_array().expect("sessions").clone();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (&listed[0]["userAgent"], &listed[0]["clientIp"]),
        (&json!(FIREFOX), &json!("127.0.0.1"))
    );
    let (status, ended, _) = fx.http("DELETE", "/api/v1/auth/sessions", Some(token), b"");
    assert_eq!((status, ended), (200, json!({"ended": 1})));
    assert!(!signed_in(&fx, &admin));

    let id = listed[0]["id"].as_str().expect("id");
    let path = format!("/api/v1/auth/sessions/{id}");
    assert_eq!(fx.http("DELETE", &path, Some(token), b"").0, 204);
    assert_eq!(
        fx.http("GET", "/api/v1/auth/sessions", Some(token), b"").0,
        401
    );
    assert_eq!(fx.http("GET", "/api/v1/auth/sessions", None, b"").0, 401);
    assert_eq!(
        fx.http("PUT", "/api/v1/auth/sessions", None, b"").0,
        405,
        "a known path with another method"
    );
}
