//! The one fixture module of the plugin's integration tests: cheap hashing, a controllable clock,
//! a signed-in admin, requests through the HTTP router, and records for the store tests.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use dagu_auth::clock::ManualClock;
use dagu_auth::config::Argon2Params;
use dagu_auth::http::{self, Request, Response};
use dagu_auth::model::{Role, UserRecord, WorkspaceAccess};
use dagu_auth::service::{CreateUserRequest, UpdateUserRequest};
use dagu_auth::{Config, Engine, Error};
use serde_json::Value;

pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const USER_PASSWORD: &str = "user-password-1";
/// 2026-01-01T00:00:00Z.
pub const START_MS: i64 = 1_767_225_600_000;
/// A well-formed argon2id PHC string, for records written straight to a store.
pub const PASSWORD_HASH: &str = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA";

pub fn config(dir: &Path) -> Config {
    let mut config = Config::new(dir);
    // Tests exercise rules, not hash cost; the cost itself is measured in benchmarks.
    config.argon2 = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    config.license_features = vec!["rbac".into(), "audit".into()];
    config
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub engine: Engine,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    pub fn with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = config(dir.path());
        adjust(&mut config);
        let clock = ManualClock::at(START_MS);
        let engine =
            Engine::open_with_clock(config, Arc::new(clock.clone())).expect("engine opens");
        Self { dir, clock, engine }
    }

    /// A second Engine on the same data folder, like a second host process.
    pub fn second_engine(&self) -> Engine {
        Engine::open_with_clock(config(self.dir.path()), Arc::new(self.clock.clone()))
            .expect("second engine opens")
    }

    pub fn setup_admin(&self) -> String {
        self.engine
            .setup("admin", ADMIN_PASSWORD, "")
            .expect("setup")
            .token
    }

    /// Creates a user and returns (id, token).
    pub fn user(&self, admin: &str, username: &str, role: &str) -> (String, String) {
        self.user_with_access(admin, username, role, None)
    }

    pub fn user_with_access(
        &self,
        admin: &str,
        username: &str,
        role: &str,
        access: Option<serde_json::Value>,
    ) -> (String, String) {
        let request = CreateUserRequest {
            username: username.into(),
            password: USER_PASSWORD.into(),
            role: role.into(),
            workspace_access: access.map(|a| serde_json::from_value(a).expect("access json")),
        };
        let id = self
            .engine
            .create_user(admin, request)
            .expect("create user")
            .0
            .id;
        let token = self
            .engine
            .login(username, USER_PASSWORD, "127.0.0.1")
            .expect("login")
            .token;
        (id, token)
    }

    /// Creates a user from a request body as a caller would send it; answers the new id.
    pub fn create_user_json(&self, admin: &str, body: Value) -> Result<String, Error> {
        let request: CreateUserRequest = serde_json::from_value(body).expect("request json");
        self.engine
            .create_user(admin, request)
            .map(|user| user.0.id)
    }

    /// The password hash the store keeps for the user `id`, read behind the Engine's back.
    pub fn stored_hash(&self, id: &str) -> String {
        let db = rusqlite::Connection::open(self.dir.path().join("auth/auth.db")).expect("open db");
        db.query_row(
            "SELECT password_hash FROM users WHERE id = ?1",
            [id],
            |row| row.get(0),
        )
        .expect("stored hash")
    }

    /// One request through the HTTP router from 127.0.0.1 with exactly these headers.
    pub fn http_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let request = Request {
            method,
            path,
            headers,
            body,
            client_ip: "127.0.0.1",
        };
        http::handle(&self.engine, &request)
    }

    /// One request through the HTTP router from 127.0.0.1, with a JSON content type and `token`
    /// as the bearer: the status, the body as JSON (null when it is not JSON) and the response.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> (u16, Value, Response) {
        http_on(&self.engine, method, path, token, body)
    }
}

/// [`Fixture::http`] on any engine: a second host's, say.
pub fn http_on(
    engine: &Engine,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> (u16, Value, Response) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    let request = Request {
        method,
        path,
        headers: &headers,
        body,
        client_ip: "127.0.0.1",
    };
    let response = http::handle(engine, &request);
    let json = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (response.status, json, response)
}

/// A user record as a store keeps it, for tests that write to a store directly.
pub fn user_record(id: &str, name: &str, role: Role) -> UserRecord {
    UserRecord {
        sso: None,
        id: id.into(),
        username: name.into(),
        role,
        workspace_access: WorkspaceAccess::all(),
        password_hash: PASSWORD_HASH.into(),
        disabled: false,
        created_at_ms: 1,
        updated_at_ms: 1,
        mfa: Default::default(),
    }
}

pub fn patch(json: serde_json::Value) -> UpdateUserRequest {
    serde_json::from_value(json).expect("patch json")
}

/// Runs `each(0..count)` on `count` threads released together (a barrier), and answers their
/// results in that order: the shape of every "N requests at once" test.
pub fn at_once<T: Send>(count: usize, each: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let start = std::sync::Barrier::new(count);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..count)
            .map(|n| {
                let (start, each) = (&start, &each);
                scope.spawn(move || {
                    start.wait();
                    each(n)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().expect("a thread of at_once panicked"))
            .collect()
    })
}
