//! Shared by the benchmark suites: a deterministic data set of users, sessions and API keys written
//! straight through the Store (one precomputed password hash, no sign-ins), the plugin's built
//! library, and small measuring helpers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dagu_auth::config::Argon2Params;
use dagu_auth::hashpool::HashingLimits;
use dagu_auth::model::{
    ApiKeyRecord, Attribution, Grant, Role, Surfaces, UserRecord, WorkspaceAccess,
};
use dagu_auth::password::{self, PasswordHashing};
use dagu_auth::store::{Session, SqliteStore, Store};
use dagu_auth::token::{ApiKeyDigest, Claims, TokenCodec};

pub const SECRET: &str = "bench-secret-0123456789abcdef0123456789abcdef";
pub const PASSWORD: &str = "bench-password-1";
pub const WORKSPACES: usize = 100;
/// Session tokens signed per data set: every user at 1,000, a spread sample at 100,000.
pub const MAX_SESSIONS: usize = 10_000;
pub const MAX_KEYS: usize = 200;
/// Far in the future so a cached data set stays valid between runs.
const SESSION_EXPIRES_MS: i64 = 4_102_444_800_000;

/// xorshift64*: deterministic, dependency-free, good enough to spread grants.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub fn workspace(i: usize) -> String {
    format!("ws{i:02}")
}

pub fn user_id(i: usize) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", i, i * 7919)
}

#[derive(Clone, Debug)]
pub struct Principal {
    pub id: String,
    pub role: Role,
    pub access: WorkspaceAccess,
}

/// 1-3 grants with random roles out of [`WORKSPACES`]; index 0 is an all-workspace admin.
fn principal(rng: &mut Rng, id: String, admin: bool) -> Principal {
    if admin {
        return Principal {
            id,
            role: Role::Admin,
            access: WorkspaceAccess::all(),
        };
    }
    // Scoped access requires the top-level role viewer (WorkspaceAccess::validate).
    let role = Role::Viewer;
    let count = 1 + rng.below(3);
    let mut grants: Vec<Grant> = Vec::with_capacity(count);
    while grants.len() < count {
        let ws = workspace(rng.below(WORKSPACES));
        if grants.iter().all(|g| g.workspace != ws) {
            grants.push(Grant {
                workspace: ws,
                // Admin is never scoped to a workspace (WorkspaceAccess::validate), so a grant
                // takes one of the other four roles.
                role: Role::ALL[1 + rng.below(4)],
            });
        }
    }
    Principal {
        id,
        role,
        access: WorkspaceAccess { all: false, grants },
    }
}

pub struct Dataset {
    pub users: usize,
    /// The data folder (`<dir>/auth/auth.db`): open copies of it, never this one, from the .so.
    pub dir: PathBuf,
    pub principals: Vec<Principal>,
    /// (index into `principals`, session token); index 0 is the admin.
    pub sessions: Vec<(usize, String)>,
    /// (index into `key_principals`, API key).
    pub keys: Vec<(usize, String)>,
    pub key_principals: Vec<Principal>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `DAGU_AUTH_BENCH_DATA` when set (a RAM disk such as `/dev/shm/dagu-bench` writes the large data
/// sets in a fraction of the time: every insert commits with a sync), else `target/bench-data`.
pub fn bench_data_root() -> PathBuf {
    match std::env::var_os("DAGU_AUTH_BENCH_DATA") {
        Some(root) => PathBuf::from(root),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data"),
    }
}

/// One argon2id hash with the default (production) parameters, shared by every generated user.
pub fn precomputed_hash() -> String {
    let hashing =
        PasswordHashing::new(&Argon2Params::default(), HashingLimits::default()).expect("hashing");
    hashing.hash(&password::normalize(PASSWORD)).expect("hash")
}

impl Dataset {
    /// The data set of `users` users, written once under `target/bench-data/users-v2-<n>` and
    /// reused while its `ready` marker exists (the records are regenerated from the same seed).
    /// v2: grants no longer carry the admin role, so `db verify` and the backup accept the set.
    pub fn get(users: usize) -> Self {
        let dir = bench_data_root().join(format!("users-v2-{users}"));
        let mut rng = Rng::new(users as u64);
        let principals: Vec<Principal> = (0..users)
            .map(|i| principal(&mut rng, user_id(i), i == 0))
            .collect();
        let session_count = users.min(MAX_SESSIONS);
        let step = users / session_count;
        let session_users: Vec<usize> = (0..session_count).map(|i| i * step).collect();
        let key_principals: Vec<Principal> = (0..users.min(MAX_KEYS))
            .map(|i| principal(&mut rng, format!("key{i:04}"), false))
            .collect();
        let key_strings: Vec<String> = (0..key_principals.len())
            .map(|i| format!("dagu_bench{i:06}{}", "x".repeat(32)))
            .collect();

        if !dir.join("ready").exists() {
            let started = std::time::Instant::now();
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("auth")).expect("data dir");
            let store = SqliteStore::open(&dir.join("auth")).expect("store");
            let hash = precomputed_hash();
            let now = now_ms();
            for (i, p) in principals.iter().enumerate() {
                store
                    .insert_user(&UserRecord {
                        sso: None,
                        id: p.id.clone(),
                        username: format!("user{i:06}"),
                        role: p.role,
                        workspace_access: p.access.clone(),
                        password_hash: hash.clone(),
                        disabled: false,
                        created_at_ms: now,
                        updated_at_ms: now,
                        mfa: Default::default(),
                    })
                    .expect("insert user");
            }
            for &u in &session_users {
                store
                    .insert_session(&Session {
                        jti: format!("jti-{u:08}"),
                        user_id: principals[u].id.clone(),
                        created_at_ms: now,
                        expires_at_ms: SESSION_EXPIRES_MS,
                        last_used_at_ms: now,
                        client_ip: String::new(),
                        user_agent: String::new(),
                    })
                    .expect("insert session");
            }
            let digest = ApiKeyDigest::new(SECRET.as_bytes()).expect("digest");
            for (i, (p, key)) in key_principals.iter().zip(&key_strings).enumerate() {
                store
                    .insert_api_key(
                        &ApiKeyRecord {
                            id: p.id.clone(),
                            name: p.id.clone(),
                            description: String::new(),
                            role: p.role,
                            workspace_access: p.access.clone(),
                            key_prefix: key[..8].to_string(),
                            digest: digest.digest(key),
                            created_at_ms: now,
                            updated_at_ms: now,
                            created_by: principals[0].id.clone(),
                            last_used_at_ms: None,
                            expires_at_ms: None,
                            allowed_surfaces: Surfaces::ALL,
                            // Half belong to a user, so the owner check runs too.
                            attribution: match i % 2 {
                                0 => Attribution::UserOwned {
                                    owner_user_id: principals[i * step].id.clone(),
                                    owner_username: format!("user{:06}", i * step),
                                },
                                _ => Attribution::ServiceAccount {
                                    name: p.id.clone(),
                                    migrated: false,
                                },
                            },
                        },
                        None,
                    )
                    .expect("insert key");
            }
            drop(store);
            std::fs::write(dir.join("ready"), b"").expect("marker");
            eprintln!(
                "generated {users} users, {} sessions, {} keys in {:.1} s",
                session_users.len(),
                key_strings.len(),
                started.elapsed().as_secs_f64()
            );
        }

        let codec = TokenCodec::new(SECRET.as_bytes(), Duration::from_secs(86_400)).expect("codec");
        let now_secs = now_ms() / 1000;
        let sessions = session_users
            .iter()
            .map(|&u| {
                let claims = Claims {
                    sub: principals[u].id.clone(),
                    uid: principals[u].id.clone(),
                    username: format!("user{u:06}"),
                    role: principals[u].role,
                    iat: now_secs - 60,
                    exp: now_secs + 86_400,
                    jti: format!("jti-{u:08}"),
                };
                (u, codec.sign(&claims).expect("sign"))
            })
            .collect();
        Self {
            users,
            dir,
            principals,
            sessions,
            keys: key_strings.into_iter().enumerate().collect(),
            key_principals,
        }
    }

    /// A private copy of the data folder, so each engine (and each SQLite copy in the process)
    /// has its own files.
    pub fn copy_to(&self, name: &str) -> PathBuf {
        let target = bench_data_root().join(format!("run-{name}-{}", self.users));
        let _ = std::fs::remove_dir_all(&target);
        std::fs::create_dir_all(target.join("auth")).expect("copy dir");
        std::fs::copy(self.dir.join("auth/auth.db"), target.join("auth/auth.db")).expect("copy db");
        target
    }

    pub fn config_json(&self, data_dir: &Path) -> String {
        serde_json::json!({
            "dataDir": data_dir,
            "tokenSecret": SECRET,
            "licenseFeatures": ["rbac", "audit"],
        })
        .to_string()
    }

    /// A config for an in-process Engine on `data_dir`.
    pub fn config(&self, data_dir: &Path) -> dagu_auth::Config {
        dagu_auth::Config::from_json(&self.config_json(data_dir)).expect("config")
    }

    pub fn admin_token(&self) -> &str {
        &self.sessions[0].1
    }
}

/// A request to decide: who (by index), what and where.
#[derive(Clone, Debug)]
pub struct Case {
    pub principal: usize,
    pub action: u32,
    pub workspace: String,
}

/// Per principal one case: a random action in a granted workspace, another workspace or the
/// default one, so allows, forbiddens and invisibles all occur.
pub fn cases(principals: &[Principal], picks: &[usize], seed: u64) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    picks
        .iter()
        .map(|&p| {
            let action = 1 + rng.below(5) as u32;
            let workspace = match (rng.below(3), principals[p].access.grants.first()) {
                (0, Some(_)) => {
                    let grants = &principals[p].access.grants;
                    grants[rng.below(grants.len())].workspace.clone()
                }
                (1, _) => workspace(rng.below(WORKSPACES)),
                _ => String::new(),
            };
            Case {
                principal: p,
                action,
                workspace,
            }
        })
        .collect()
}

/// The built plugin library: `DAGU_AUTH_SO`, else the release build's, else the copy `cargo bench`
/// leaves in `target/release/deps/` (it does not put the cdylib in `target/release/`).
pub fn plugin_library() -> PathBuf {
    if let Some(path) = std::env::var_os("DAGU_AUTH_SO") {
        return PathBuf::from(path);
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release");
    let candidates = [
        target.join("deps/libdagu_auth.so"),
        target.join("libdagu_auth.so"),
    ];
    // The newest, so a stale copy in one place does not win over a fresh build in the other.
    candidates
        .iter()
        .filter_map(|p| Some((std::fs::metadata(p).ok()?.modified().ok()?, p.clone())))
        .max()
        .map(|(_, p)| p)
        .expect("libdagu_auth.so: run `cargo build --release -p dagu-auth` or set DAGU_AUTH_SO")
}

/// This process's resident set and its peak, in KiB, from /proc.
pub fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets VmHWM so a later peak belongs to what ran in between.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn quantiles(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99), at(1.0))
}

pub type Shared<T> = Arc<T>;

/// A fresh schema `name` on the PostgreSQL server at `url` (dropped first if a run left it), and
/// the URL whose connections work in it: what a bench gives an Engine as its store.
pub fn fresh_postgres_schema(url: &str, name: &str) -> Result<String, postgres::Error> {
    let mut admin = postgres::Client::connect(url, postgres::NoTls)?;
    admin.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
    ))?;
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{separator}options=-csearch_path%3D{name}"))
}

/// Drops a schema [`fresh_postgres_schema`] made; a failure leaves it for the next run to drop.
pub fn drop_postgres_schema(url: &str, name: &str) {
    if let Ok(mut admin) = postgres::Client::connect(url, postgres::NoTls) {
        let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
    }
}

/// One `GET path` with `token` as the bearer, through the plugin's HTTP layer in process (no
/// socket): its status and body.
pub fn http_get(engine: &dagu_auth::Engine, token: &str, path: &str) -> (u16, Vec<u8>) {
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str())];
    let request = dagu_auth::http::Request {
        method: "GET",
        path,
        headers: &headers,
        body: b"",
        client_ip: "127.0.0.1",
    };
    let response = dagu_auth::http::handle(engine, &request);
    (response.status, response.body)
}
