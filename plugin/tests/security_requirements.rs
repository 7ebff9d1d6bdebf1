//! One test per security requirement of the plugin (passwords, sign-in, tokens, cross-site requests,
//! authorization and the files it keeps; the README's "Security model" summarises them), each named
//! after its
//! requirement. Each fails when its protection is removed. Other files test the same machinery in
//! more detail (engine_*.rs, http_router.rs, sign_in_timing.rs).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use dagu_auth::Error;
use dagu_auth::config::Argon2Params;
use dagu_auth::hashpool::HashingLimits;
use dagu_auth::http::{JSON_ONLY, ORIGIN_NOT_ALLOWED, Response};
use dagu_auth::service::SETUP_CODE_REQUIRED;
use dagu_auth_abi::DaguAuthAction as Action;
use rusqlite::Connection;
use serde_json::json;

fn create(fx: &Fixture, admin: &str, username: &str, password: &str) -> Result<String, Error> {
    fx.create_user_json(
        admin,
        json!({"username": username, "password": password, "role": "viewer"}),
    )
}

// Passwords

#[test]
fn passwords_use_argon2id_with_owasp_defaults_as_salted_phc_strings() {
    let fx = Fixture::with(|c| c.argon2 = Argon2Params::default());
    let admin = fx.setup_admin();
    let one = create(&fx, &admin, "one", USER_PASSWORD).expect("create one");
    let two = create(&fx, &admin, "two", USER_PASSWORD).expect("create two");
    let (one, two) = (fx.stored_hash(&one), fx.stored_hash(&two));
    assert!(one.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{one}");
    assert_ne!(one, two, "the same password hashes differently: salted");
}

#[test]
fn password_length_is_counted_in_code_points_after_nfkc_and_never_truncated() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    // Eight accented letters: 16 bytes, 8 code points.
    create(&fx, &admin, "accented", "éàüöçñøå").expect("8 code points is enough");
    let long = format!("{}{}", "x".repeat(200), "tail-one");
    create(&fx, &admin, "long", &long).expect("208 code points");
    let differs_at_the_end = format!("{}{}", "x".repeat(200), "tail-two");
    assert!(
        fx.engine.login("long", &differs_at_the_end, "").is_err(),
        "every character counts"
    );
    assert!(fx.engine.login("long", &long, "").is_ok());
}

#[test]
fn passwords_outside_the_length_bounds_are_rejected_before_hashing() {
    // With the hashing pool full, anything that reached a hash would answer "unavailable".
    let fx = Arc::new(Fixture::with(|c| {
        c.argon2 = Argon2Params {
            memory_kib: 1024,
            iterations: 400,
            parallelism: 1,
        };
        c.hashing = HashingLimits {
            max_concurrent: 1,
            max_queued: 0,
        };
    }));
    let admin = fx.setup_admin();
    let busy = Arc::new(AtomicBool::new(true));
    let hashing = {
        let (fx, busy) = (Arc::clone(&fx), Arc::clone(&busy));
        std::thread::spawn(move || {
            while busy.load(Ordering::Relaxed) {
                let _ = fx.engine.login("admin", "wrong-password", "192.0.2.50");
            }
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    for password in ["short", &"p".repeat(257)] {
        match create(&fx, &admin, "bounded", password) {
            Err(Error::BadRequest(_)) => {}
            other => panic!("expected a rule error without hashing, got {other:?}"),
        }
    }
    busy.store(false, Ordering::Relaxed);
    hashing.join().expect("hashing thread");
}

#[test]
fn no_composition_rules_are_imposed() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    create(&fx, &admin, "plain", "lowercase letters only").expect("no digits or symbols needed");
}

#[test]
fn common_passwords_are_refused_with_a_message_that_says_why() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    match create(&fx, &admin, "weak", "Password1") {
        Err(Error::BadRequest(message)) => assert!(message.contains("too common"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn hashing_runs_in_a_bounded_pool_and_a_full_queue_fails_fast() {
    let fx = Arc::new(Fixture::with(|c| {
        c.argon2 = Argon2Params {
            memory_kib: 1024,
            iterations: 200,
            parallelism: 1,
        };
        c.hashing = HashingLimits {
            max_concurrent: 1,
            max_queued: 0,
        };
        c.login_limits.per_account.max_failures = 1000;
    }));
    fx.setup_admin();
    let barrier = Arc::new(std::sync::Barrier::new(4));
    // Spawn all four before joining any: they must meet at the barrier.
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (fx, barrier) = (Arc::clone(&fx), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                fx.engine
                    .login("admin", "wrong-password", &format!("192.0.2.{i}"))
                    .err()
            })
        })
        .collect();
    let outcomes: Vec<_> = handles
        .into_iter()
        .map(|handle| handle.join().expect("thread"))
        .collect();
    assert!(
        outcomes
            .iter()
            .any(|e| matches!(e, Some(Error::Unavailable(_)))),
        "{outcomes:?}"
    );
}

#[test]
fn no_lock_is_held_while_hashing() {
    let fx = Arc::new(Fixture::with(|c| {
        c.argon2 = Argon2Params {
            memory_kib: 1024,
            iterations: 400,
            parallelism: 1,
        }
    }));
    let admin = fx.setup_admin();
    let done = Arc::new(AtomicBool::new(false));
    let slow = {
        let (fx, done) = (Arc::clone(&fx), Arc::clone(&done));
        std::thread::spawn(move || {
            let _ = fx.engine.login("admin", "wrong-password", "192.0.2.9");
            done.store(true, Ordering::SeqCst);
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    for _ in 0..100 {
        fx.engine
            .authorize(&admin, Action::View, "")
            .expect("authorize");
        fx.engine.list_users(&admin).expect("a database read");
    }
    assert!(
        !done.load(Ordering::SeqCst),
        "authorize and reads finished while the hash was still running"
    );
    slow.join().expect("slow sign-in");
}

// Sign-in

#[test]
fn unknown_user_wrong_password_and_disabled_account_answer_the_same_error() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let id = create(&fx, &admin, "off", USER_PASSWORD).expect("create");
    fx.engine
        .update_user(&admin, &id, patch(json!({"isDisabled": true})))
        .expect("disable");
    let answers = [
        fx.engine.login("nobody", USER_PASSWORD, "").err(),
        fx.engine.login("admin", "wrong-password", "").err(),
        fx.engine.login("off", USER_PASSWORD, "").err(),
    ];
    assert!(
        answers
            .iter()
            .all(|a| *a == answers[0] && matches!(a, Some(Error::Unauthenticated(_)))),
        "{answers:?}"
    );
}

#[test]
fn failed_sign_ins_are_limited_per_ip_and_per_account_with_retry_after() {
    let fx = Fixture::new();
    fx.setup_admin();
    for _ in 0..5 {
        let _ = fx.engine.login("admin", "wrong-password", "198.51.100.1");
    }
    assert!(matches!(
        fx.engine.login("admin", ADMIN_PASSWORD, "198.51.100.2"),
        Err(Error::RateLimited { .. })
    ));
    for i in 0..20 {
        let _ = fx
            .engine
            .login(&format!("user{i}"), "wrong-password", "198.51.100.3");
    }
    assert!(matches!(
        fx.engine.login("someone", "x", "198.51.100.3"),
        Err(Error::RateLimited { .. })
    ));
}

#[test]
fn the_per_account_limit_throttles_and_never_locks_the_owner_out_for_long() {
    let fx = Fixture::new();
    fx.setup_admin();
    for round in 0..10 {
        for i in 0..10 {
            let _ = fx.engine.login(
                "admin",
                "wrong-password",
                &format!("203.0.113.{}", round * 10 + i),
            );
        }
        fx.clock.advance_ms(5_000);
    }
    assert!(
        fx.engine
            .login("admin", ADMIN_PASSWORD, "192.0.2.200")
            .is_ok(),
        "five seconds after the attack's last try"
    );
}

#[test]
fn several_forwarded_for_lines_are_one_list_walked_from_the_right() {
    let fx = Fixture::with(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
        c.login_limits.per_account.max_failures = 100;
    });
    let admin = fx.setup_admin();
    let body = json!({"username": "admin", "password": "wrong-password"}).to_string();
    // A proxy that adds a line per hop (HAProxy's `option forwardfor`): the client writes the
    // first line itself, a new address every time; the proxy's line says who really called.
    let statuses: Vec<u16> = (0..21)
        .map(|i| {
            let spoofed = format!("198.51.100.{i}");
            let headers = [
                ("Content-Type", "application/json"),
                ("X-Forwarded-For", spoofed.as_str()),
                ("X-Forwarded-For", "203.0.113.77"),
            ];
            fx.http_raw("POST", "/api/v1/auth/login", &headers, body.as_bytes())
                .status
        })
        .collect();
    assert_eq!(statuses[..20], [401; 20]);
    assert_eq!(statuses[20], 429, "the client's own address is limited");
    let (_, page, _) = fx.http(
        "GET",
        "/api/v1/audit?action=login_failed",
        Some(&admin),
        b"",
    );
    let entries = page["entries"].as_array().expect("entries");
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["ipAddress"] == "203.0.113.77"),
        "{entries:?}"
    );
}

// Tokens

#[test]
fn session_tokens_are_hs256_jwts_with_dagu_claims_and_a_jti() {
    use base64::Engine as _;
    let fx = Fixture::new();
    let token = fx.setup_admin();
    let parts: Vec<&str> = token.split('.').collect();
    let decode = |part: &str| -> serde_json::Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("json")
    };
    assert_eq!(decode(parts[0])["alg"], "HS256");
    let claims = decode(parts[1]);
    for claim in ["sub", "uid", "username", "role", "iat", "exp", "jti"] {
        assert!(claims.get(claim).is_some(), "claim {claim} missing");
    }
}

#[test]
fn a_generated_token_secret_has_256_bits_and_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    let path = fx.dir.path().join("auth/token_secret");
    let secret = std::fs::read_to_string(&path).expect("secret file");
    assert_eq!(secret.trim().len(), 64, "32 random bytes as hex");
    assert_eq!(
        std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn a_missing_data_folder_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().expect("tempdir");
    let parent = root.path().join("missing");
    let data = parent.join("data");
    let _engine = dagu_auth::Engine::open(config(&data)).expect("opens on a missing folder");
    for folder in [&parent, &data, &data.join("auth")] {
        let mode = std::fs::metadata(folder)
            .expect("created")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{}", folder.display());
    }
}

#[test]
fn tokens_are_revoked_at_once_by_password_change_reset_disable_delete_and_logout() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let mut tokens = Vec::new();
    for name in ["change", "reset", "disable", "delete", "logout"] {
        tokens.push(fx.user(&admin, name, "viewer"));
    }
    fx.engine
        .change_password(&tokens[0].1, USER_PASSWORD, "a-brand-new-one")
        .expect("change");
    fx.engine
        .reset_password(&admin, &tokens[1].0, "a-brand-new-one")
        .expect("reset");
    fx.engine
        .update_user(&admin, &tokens[2].0, patch(json!({"isDisabled": true})))
        .expect("disable");
    fx.engine.delete_user(&admin, &tokens[3].0).expect("delete");
    fx.engine.logout(&tokens[4].1).expect("logout");
    for (_, token) in &tokens {
        assert!(matches!(
            fx.engine.principal(token),
            Err(Error::Unauthenticated(_))
        ));
    }
}

#[test]
fn token_expiry_defaults_to_24h_and_is_at_most_8760h() {
    let fx = Fixture::new();
    let token = fx.setup_admin();
    fx.clock.advance_ms(24 * 3600 * 1000);
    assert!(fx.engine.principal(&token).is_err());
    let too_long = r#"{"dataDir": "/tmp/x", "tokenTtl": "8761h"}"#;
    assert!(matches!(
        dagu_auth::Config::from_json(too_long),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn api_keys_are_stored_as_a_digest_never_the_key() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let request = serde_json::from_value(json!({"name": "k", "role": "viewer", "allowedSurfaces": ["rest_api"], "attributionClass": "service_account"})).expect("request");
    let key = fx
        .engine
        .create_api_key(&admin, request)
        .expect("create")
        .key;
    let conn = Connection::open(fx.dir.path().join("auth/auth.db")).expect("db");
    let digest: String = conn
        .query_row("SELECT digest FROM api_keys", [], |row| row.get(0))
        .expect("row");
    assert_ne!(digest, key);
    assert_eq!(digest.len(), 64);
    let found: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM api_keys WHERE digest = ?1 OR key_prefix = ?1",
            [&key],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(found, 0);
}

// Cross-site and browser

fn json_of(response: &Response) -> serde_json::Value {
    serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null)
}

#[test]
fn state_changing_endpoints_take_json_only() {
    let fx = Fixture::new();
    let credentials = json!({"username": "evil", "password": ADMIN_PASSWORD}).to_string();
    // What a cross-site form or no-cors fetch can send: no type, or one of the "simple" ones.
    for content_type in [
        None,
        Some("text/plain"),
        Some("text/plain; charset=utf-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/json-seq"),
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|value| ("Content-Type", value))
            .into_iter()
            .collect();
        for path in ["/api/v1/auth/setup", "/api/v1/auth/login"] {
            for body in [credentials.as_bytes(), b""] {
                let response = fx.http_raw("POST", path, &headers, body);
                assert_eq!(
                    (response.status, json_of(&response)),
                    (415, json!({"code": "bad_request", "message": JSON_ONLY})),
                    "{path} with {content_type:?}"
                );
            }
        }
    }
    assert!(fx.engine.setup_required().expect("status"), "nobody made");
    let headers = [("Content-Type", "Application/JSON; charset=utf-8")];
    let response = fx.http_raw(
        "POST",
        "/api/v1/auth/setup",
        &headers,
        credentials.as_bytes(),
    );
    assert_eq!(response.status, 200, "a parameter is fine");
}

#[test]
fn a_present_origin_must_be_the_hosts_own_or_one_configured() {
    let fx = Fixture::with(|c| c.allowed_origins = vec!["https://dagu.example.com".into()]);
    let credentials = json!({"username": "evil", "password": ADMIN_PASSWORD}).to_string();
    for origin in ["http://evil.example", "null", "http://127.0.0.1:9999"] {
        let headers = [
            ("Content-Type", "application/json"),
            ("Host", "127.0.0.1:8080"),
            ("Origin", origin),
        ];
        let response = fx.http_raw(
            "POST",
            "/api/v1/auth/setup",
            &headers,
            credentials.as_bytes(),
        );
        assert_eq!(
            (response.status, json_of(&response)),
            (
                403,
                json!({"code": "forbidden", "message": ORIGIN_NOT_ALLOWED})
            ),
            "{origin}"
        );
    }
    assert!(fx.engine.setup_required().expect("status"), "nobody made");
    for origin in ["http://127.0.0.1:8080", "https://dagu.example.com"] {
        let headers = [
            ("Content-Type", "application/json"),
            ("Host", "127.0.0.1:8080"),
            ("Origin", origin),
        ];
        let response = fx.http_raw(
            "POST",
            "/api/v1/auth/login",
            &headers,
            credentials.as_bytes(),
        );
        assert_eq!(response.status, 401, "{origin} reaches sign-in");
    }
}

#[test]
fn setup_honours_a_configured_one_time_setup_code() {
    const CODE: &str = "5f1c0e7a9b2d4c3e8f6a0b1c2d3e4f50";
    let fx = Fixture::with(|c| c.setup_code = Some(CODE.into()));
    let (status, body, _) = fx.http("GET", "/api/v1/auth/setup", None, b"");
    assert_eq!(
        (status, body),
        (
            200,
            json!({"setupRequired": true, "setupCodeRequired": true})
        )
    );
    let setup = |code: Option<&str>| {
        let mut body = json!({"username": "admin", "password": ADMIN_PASSWORD});
        if let Some(code) = code {
            body["setupCode"] = code.into();
        }
        fx.http(
            "POST",
            "/api/v1/auth/setup",
            None,
            body.to_string().as_bytes(),
        )
    };
    for code in [None, Some(""), Some("5f1c0e7a9b2d4c3e8f6a0b1c2d3e4f51")] {
        let (status, body, _) = setup(code);
        assert_eq!(
            (status, body),
            (
                403,
                json!({"code": "forbidden", "message": SETUP_CODE_REQUIRED})
            ),
            "{code:?}"
        );
    }
    assert_eq!(setup(Some(CODE)).0, 200);
    let (_, body, _) = fx.http("GET", "/api/v1/auth/setup", None, b"");
    assert_eq!(body, json!({"setupRequired": false}));
    let (status, body, _) = setup(Some(CODE));
    assert_eq!(
        (status, body["message"].as_str()),
        (403, Some("Setup has already been completed")),
        "the code is good for one admin only"
    );
}

#[test]
fn api_answers_are_never_sniffed_and_never_stored() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let key_body = json!({"name": "ci", "role": "viewer", "allowedSurfaces": ["rest_api"],
                         "attributionClass": "service_account"})
    .to_string();
    let sign_in = json!({"username": "admin", "password": ADMIN_PASSWORD}).to_string();
    let answers = [
        fx.http("GET", "/api/v1/auth/setup", None, b"").2,
        fx.http("POST", "/api/v1/auth/login", None, sign_in.as_bytes())
            .2,
        fx.http(
            "POST",
            "/api/v1/api-keys",
            Some(&admin),
            key_body.as_bytes(),
        )
        .2,
        fx.http("GET", "/api/v1/auth/me", Some(&admin), b"").2,
        fx.http("GET", "/api/v1/users", Some(&admin), b"").2,
        fx.http("GET", "/api/v1/api-keys", Some(&admin), b"").2,
        fx.http("GET", "/api/v1/audit?format=csv", Some(&admin), b"")
            .2,
        fx.http("GET", "/api/v1/openapi.yaml", None, b"").2,
        fx.http("GET", "/api/v1/users", None, b"").2,
        fx.http("GET", "/api/v1/nowhere", None, b"").2,
        fx.http("POST", "/api/v1/auth/logout", Some(&admin), b"").2,
    ];
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [200, 200, 201, 200, 200, 200, 200, 200, 401, 404, 204]
    );
    for answer in &answers {
        assert_eq!(
            (
                answer.header("x-content-type-options"),
                answer.header("cache-control")
            ),
            (Some("nosniff"), Some("no-store")),
            "{answer:?}"
        );
    }
}

// Authorization

#[test]
fn every_admin_operation_rechecks_the_callers_current_role() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (second_id, second) = fx.user(&admin, "second", "admin");
    fx.engine.list_users(&second).expect("admin now");
    fx.engine
        .update_user(&admin, &second_id, patch(json!({"role": "viewer"})))
        .expect("demote");
    let forbidden = Some(Error::Forbidden("Insufficient permissions".into()));
    assert_eq!(fx.engine.list_users(&second).err(), forbidden);
    assert_eq!(
        create(&fx, &second, "sneaky", USER_PASSWORD).err(),
        forbidden
    );
}

#[test]
fn no_path_lets_a_non_admin_change_roles_grants_or_other_users() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let me = fx.engine.principal(&admin).expect("me").id();
    for role in ["manager", "developer", "operator", "viewer"] {
        let (own_id, token) = fx.user(&admin, &format!("{role}-user"), role);
        let forbidden = |r: Result<(), Error>| matches!(r, Err(Error::Forbidden(_)));
        assert!(forbidden(
            fx.engine
                .update_user(&token, &own_id, patch(json!({"role": "admin"})))
                .map(drop)
        ));
        assert!(forbidden(
            fx.engine
                .update_user(&token, &me, patch(json!({"isDisabled": true})))
                .map(drop)
        ));
        assert!(forbidden(
            fx.engine
                .reset_password(&token, &me, "taken-over-now")
                .map(drop)
        ));
        assert!(forbidden(fx.engine.delete_user(&token, &me)));
        let key = serde_json::from_value(json!({"name": role, "role": "admin", "allowedSurfaces": ["rest_api"], "attributionClass": "service_account"})).expect("request");
        assert!(forbidden(fx.engine.create_api_key(&token, key).map(drop)));
    }
}

#[test]
fn no_path_creates_a_second_first_admin() {
    let fx = Arc::new(Fixture::new());
    let winners: usize = (0..50)
        .map(|i| {
            let fx = Arc::clone(&fx);
            std::thread::spawn(move || {
                fx.engine
                    .setup(&format!("first{i}"), ADMIN_PASSWORD, "")
                    .is_ok() as usize
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|handle| handle.join().expect("thread"))
        .sum();
    assert_eq!(winners, 1);
}

#[test]
fn the_last_enabled_admin_cannot_be_removed_disabled_or_demoted() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let me = fx.engine.principal(&admin).expect("me").id();
    let demote = fx
        .engine
        .update_user(&admin, &me, patch(json!({"role": "manager"})));
    assert!(matches!(demote, Err(Error::Conflict(_))), "{demote:?}");
}

#[test]
fn authentication_comes_before_the_body_is_read() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (id, viewer) = fx.user(&admin, "viewer", "viewer");
    let user = format!("/api/v1/users/{id}");
    let reset = format!("{user}/reset-password");
    let routes = [
        ("POST", "/api/v1/users", true),
        ("PATCH", user.as_str(), true),
        ("POST", reset.as_str(), true),
        ("POST", "/api/v1/api-keys", true),
        ("PATCH", "/api/v1/api-keys/some-key", true),
        ("POST", "/api/v1/auth/change-password", false),
    ];
    let bodies: [(Option<&str>, &[u8]); 4] = [
        (Some("application/json"), b"{}"),
        (Some("application/json"), b"{not json"),
        (Some("text/plain"), b"{}"),
        (None, b""),
    ];
    for (method, path, admin_only) in routes {
        for (content_type, body) in bodies {
            for token in [None, Some("not-a-token"), Some(viewer.as_str())] {
                let bearer = token.map(|t| format!("Bearer {t}"));
                let headers: Vec<(&str, &str)> = [
                    content_type.map(|v| ("Content-Type", v)),
                    bearer.as_deref().map(|v| ("Authorization", v)),
                ]
                .into_iter()
                .flatten()
                .collect();
                let response = fx.http_raw(method, path, &headers, body);
                let expected = match token {
                    None | Some("not-a-token") => 401,
                    Some(_) if admin_only => 403,
                    // A signed-in caller may send this body: now it is read, and judged.
                    Some(_) if content_type.is_none() || content_type == Some("text/plain") => 415,
                    Some(_) => 400,
                };
                assert_eq!(
                    response.status,
                    expected,
                    "{method} {path} {content_type:?} {token:?}: {}",
                    String::from_utf8_lossy(&response.body)
                );
            }
        }
    }
}

#[test]
fn an_admin_changes_their_own_password_only_with_the_current_one() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let me = fx.engine.principal(&admin).expect("me").id();
    assert_eq!(
        fx.engine
            .reset_password(&admin, &me, "taken-over-now")
            .map(drop)
            .err(),
        Some(Error::Forbidden(
            "Use change-password to change your own password".into()
        ))
    );
    assert!(fx.engine.login("admin", ADMIN_PASSWORD, "").is_ok());
}
