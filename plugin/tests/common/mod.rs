//! Helpers shared by the Engine tests: cheap hashing, a controllable clock, a signed-in admin.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use dagu_auth::clock::ManualClock;
use dagu_auth::config::Argon2Params;
use dagu_auth::service::{CreateUserRequest, UpdateUserRequest};
use dagu_auth::{Config, Engine};

pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const USER_PASSWORD: &str = "user-password-1";
/// 2026-01-01T00:00:00Z.
pub const START_MS: i64 = 1_767_225_600_000;

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
}

pub fn patch(json: serde_json::Value) -> UpdateUserRequest {
    serde_json::from_value(json).expect("patch json")
}
