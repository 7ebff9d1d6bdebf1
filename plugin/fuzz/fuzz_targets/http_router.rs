//! The HTTP router with arbitrary method, path, headers and body, on one Engine with an admin:
//! every request gets a response (never a panic, never a 500 from bad input), and error bodies keep
//! the `{code, message}` shape. Only the SSO doors outside the API (`/proxy-login`, `/oidc-*`) may
//! refuse in plain text, as Dagu's do (`/proxy-login` is such a door even when it is off).
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use dagu_auth::http::{Request, SSO_DOORS, handle};
use dagu_auth::{Config, Engine};
use libfuzzer_sys::fuzz_target;

const METHODS: [&str; 7] = ["GET", "POST", "PATCH", "DELETE", "PUT", "get", "OPTIONS"];

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    method: u8,
    /// Appended to `/api/v1/` unless `raw_path`, so most inputs reach a route.
    path: &'a str,
    raw_path: bool,
    as_admin: bool,
    headers: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
}

struct Fixture {
    engine: Engine,
    bearer: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // run.sh points TMPDIR at a folder it removes afterwards.
        let dir = std::env::temp_dir().join(format!("dagu-auth-fuzz-http-{}", std::process::id()));
        let json = serde_json::json!({
            "dataDir": dir,
            "argon2": {"memoryKib": 64, "iterations": 1, "parallelism": 1},
            "licenseFeatures": ["rbac", "audit"],
            "loginLimits": {"perIp": {"maxFailures": 1_000_000}, "perAccount": {"maxFailures": 1_000_000}},
        });
        let engine = Engine::open(Config::from_json(&json.to_string()).expect("config"))
            .expect("engine opens");
        let token = match engine.setup("admin", "fuzz-admin-password", "") {
            Ok(login) => login.token,
            Err(_) => engine
                .login("admin", "fuzz-admin-password", "")
                .expect("admin signs in")
                .token,
        };
        Fixture {
            engine,
            bearer: format!("Bearer {token}"),
        }
    })
}

fuzz_target!(|input: Input<'_>| {
    let fx = fixture();
    let path = match input.raw_path {
        true => input.path.to_string(),
        false => format!("/api/v1/{}", input.path),
    };
    let mut headers: Vec<(&str, &str)> = input.headers.clone();
    if input.as_admin {
        headers.push(("Authorization", &fx.bearer));
    }
    let request = Request {
        method: METHODS[usize::from(input.method) % METHODS.len()],
        path: &path,
        headers: &headers,
        body: input.body,
        client_ip: "127.0.0.1",
    };
    let response = handle(&fx.engine, &request);
    assert!(
        (200..500).contains(&response.status) || response.status == 503,
        "{request:?} answered {}: {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    if response.status >= 400 {
        let content_type = response.header("content-type");
        let bare_path = path.split_once('?').map_or(path.as_str(), |(bare, _)| bare);
        if content_type == Some("text/plain; charset=utf-8") {
            assert!(SSO_DOORS.contains(&bare_path), "{request:?} answered text");
            assert!(std::str::from_utf8(&response.body).is_ok(), "{request:?}");
        } else {
            let body: serde_json::Value =
                serde_json::from_slice(&response.body).expect("error bodies are JSON");
            assert!(
                body["code"].is_string() && body["message"].is_string(),
                "{body}"
            );
        }
    }
});
