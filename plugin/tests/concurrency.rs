//! Many writers at once: 8 threads x 1,000 mixed operations on one Engine, then two processes on one
//! data folder. Each thread owns its users and keeps a model of what every acknowledged call did;
//! afterwards the database must equal the union of the models.
//!
//! "No call saw a half-done change": a user's whole state is a function of the version in its
//! username (`p0t3u5v7`: role and disabled follow from 7), and every update changes them together.
//! Any listing, by any thread or process, that shows a user whose state does not match its name saw
//! half of an update.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use dagu_auth::model::Role;
use dagu_auth::service::{CreateUserRequest, UpdateUserRequest};
use dagu_auth::store::verify_database;
use dagu_auth::{Config, Engine, Error};
use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision};

const THREADS: usize = 8;
const OPERATIONS: usize = 1_000;
const ADMIN_PASSWORD: &str = "concurrency-admin-pw";
const CHILD_ENV: &str = "DAGU_AUTH_CONCURRENCY_CHILD";
const ROLES: [Role; 4] = [Role::Viewer, Role::Operator, Role::Developer, Role::Manager];

/// Cheap hashing (the cost is measured in benchmarks) and limits no honest mistake here can trip.
fn config(dir: &Path) -> Config {
    let json = serde_json::json!({
        "dataDir": dir,
        "argon2": {"memoryKib": 64, "iterations": 1, "parallelism": 1},
        "licenseFeatures": ["rbac", "audit"],
        "loginLimits": {"perIp": {"maxFailures": 1_000_000}, "perAccount": {"maxFailures": 1_000_000}},
        "hashing": {"maxQueued": 10_000},
    });
    Config::from_json(&json.to_string()).expect("test config")
}

/// The state a user must have at `version`: role and disabled change together on every update.
fn state_at(version: u32) -> (Role, bool) {
    (
        ROLES[version as usize % ROLES.len()],
        (version / 3) % 2 == 1,
    )
}

/// `p0t3u5v7` -> version 7; `None` for users this workload did not create.
fn version_in(username: &str) -> Option<u32> {
    let (_, version) = username.strip_prefix('p')?.rsplit_once('v')?;
    version.parse().ok()
}

/// xorshift64*: a seeded, reproducible choice of operations without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

struct ModelUser {
    id: String,
    key: String,
    version: u32,
    password: String,
    /// Tokens that must still work, and ones a reset, disable or delete must have ended.
    live_tokens: Vec<String>,
}

impl ModelUser {
    fn username(&self) -> String {
        format!("{}v{}", self.key, self.version)
    }
}

/// What the database must hold for one user at the end.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Expected {
    username: String,
    role: String,
    disabled: bool,
    password: String,
}

struct Worker<'a> {
    engine: &'a Engine,
    admin: &'a str,
    prefix: String,
    rng: Rng,
    users: Vec<ModelUser>,
    dead_tokens: Vec<String>,
    created: usize,
    client_ip: String,
}

impl<'a> Worker<'a> {
    fn new(engine: &'a Engine, admin: &'a str, process: usize, thread: usize) -> Self {
        Self {
            engine,
            admin,
            prefix: format!("p{process}t{thread}"),
            rng: Rng(0x9e37_79b9_7f4a_7c15 ^ (((process as u64) << 32) | (thread as u64 + 1))),
            users: Vec::new(),
            dead_tokens: Vec::new(),
            created: 0,
            client_ip: format!("10.{process}.{thread}.1"),
        }
    }

    fn run(mut self, operations: usize) -> Vec<Expected> {
        for step in 0..operations {
            let choice = match self.users.len() {
                0 => 0,
                _ => self.rng.below(10),
            };
            match choice {
                0 | 1 => self.create(),
                2 | 3 => self.update(),
                4 => self.delete(),
                5 => self.reset(),
                6 | 7 => self.sign_in(),
                _ => self.authorize(),
            }
            if step % 100 == 99 {
                check_listing(self.engine, self.admin);
            }
        }
        self.users
            .iter()
            .map(|user| {
                let (role, disabled) = state_at(user.version);
                Expected {
                    username: user.username(),
                    role: role.as_str().into(),
                    disabled,
                    password: user.password.clone(),
                }
            })
            .collect()
    }

    fn pick(&mut self) -> usize {
        self.rng.below(self.users.len())
    }

    fn create(&mut self) {
        let key = format!("{}u{}", self.prefix, self.created);
        self.created += 1;
        let password = format!("{key}-first-pass");
        let user = ModelUser {
            id: String::new(),
            key,
            version: 0,
            password,
            live_tokens: Vec::new(),
        };
        let request = CreateUserRequest {
            username: user.username(),
            password: user.password.clone(),
            role: state_at(0).0.as_str().into(),
            workspace_access: None,
        };
        let created = self
            .engine
            .create_user(self.admin, request)
            .expect("create is acknowledged");
        self.users.push(ModelUser {
            id: created.0.id,
            ..user
        });
    }

    fn update(&mut self) {
        let index = self.pick();
        let user = &mut self.users[index];
        let (role, disabled) = state_at(user.version + 1);
        let request = UpdateUserRequest {
            username: Some(format!("{}v{}", user.key, user.version + 1)),
            role: Some(role.as_str().into()),
            workspace_access: None,
            is_disabled: Some(disabled),
        };
        let updated = self
            .engine
            .update_user(self.admin, &user.id, request)
            .expect("update is acknowledged")
            .0;
        user.version += 1;
        assert_eq!(
            (updated.username.as_str(), updated.role, updated.disabled),
            (user.username().as_str(), role, disabled),
            "the update answered the state it wrote"
        );
        if disabled {
            self.dead_tokens.append(&mut user.live_tokens);
        }
    }

    fn delete(&mut self) {
        let index = self.pick();
        let mut user = self.users.swap_remove(index);
        self.engine
            .delete_user(self.admin, &user.id)
            .expect("delete is acknowledged");
        self.dead_tokens.append(&mut user.live_tokens);
        let gone = self.engine.get_user(self.admin, &user.id);
        assert!(matches!(gone, Err(Error::NotFound(_))), "{gone:?}");
    }

    fn reset(&mut self) {
        let index = self.pick();
        let user = &mut self.users[index];
        let password = format!("{}-reset-{}", user.key, self.rng.below(1_000_000));
        self.engine
            .reset_password(self.admin, &user.id, &password)
            .expect("reset is acknowledged");
        let old = std::mem::replace(&mut user.password, password);
        self.dead_tokens.append(&mut user.live_tokens);
        let username = user.username();
        let refused = self.engine.login(&username, &old, &self.client_ip);
        assert!(
            matches!(refused, Err(Error::Unauthenticated(_))),
            "the old password stops working at once: {refused:?}"
        );
    }

    fn sign_in(&mut self) {
        let index = self.pick();
        let user = &mut self.users[index];
        let (_, disabled) = state_at(user.version);
        // Sign-in matches usernames case-insensitively; upper case proves the folded lookup.
        let result = self.engine.login(
            &user.username().to_uppercase(),
            &user.password,
            &self.client_ip,
        );
        match (result, disabled) {
            (Ok(login), false) => {
                assert_eq!(login.user.id, user.id);
                user.live_tokens.push(login.token);
                if user.live_tokens.len() > 3 {
                    user.live_tokens.remove(0);
                }
            }
            (Err(Error::Unauthenticated(_)), true) => {}
            (other, disabled) => panic!(
                "sign-in of {} (disabled: {disabled}) answered {other:?}",
                user.username()
            ),
        }
    }

    fn authorize(&mut self) {
        if !self.dead_tokens.is_empty() && self.rng.below(4) == 0 {
            let token = &self.dead_tokens[self.rng.below(self.dead_tokens.len())];
            let result = self.engine.authorize(token, Action::Write, "");
            assert!(
                matches!(result, Err(Error::Unauthenticated(_))),
                "a revoked token still worked: {result:?}"
            );
            return;
        }
        let index = self.pick();
        let user = &self.users[index];
        let Some(token) = user.live_tokens.last() else {
            return;
        };
        let (role, _) = state_at(user.version);
        let expected = match role >= Role::Developer {
            true => Decision::Allow,
            false => Decision::Forbidden,
        };
        let decision = self
            .engine
            .authorize(token, Action::Write, "")
            .expect("a live token authorizes");
        assert_eq!(
            decision,
            expected,
            "{} as {role} after its last update",
            user.username()
        );
    }
}

/// Every user any thread or process created must be in a whole state in every listing.
fn check_listing(engine: &Engine, admin: &str) {
    for user in engine.list_users(admin).expect("list").0 {
        let Some(version) = version_in(&user.username) else {
            continue;
        };
        assert_eq!(
            (user.role, user.disabled),
            state_at(version),
            "{} was seen half-updated",
            user.username
        );
    }
}

fn admin_token(engine: &Engine) -> String {
    engine
        .login("admin", ADMIN_PASSWORD, "127.0.0.1")
        .expect("admin signs in")
        .token
}

/// Runs `threads` workers of process `process`, each with its own model; returns the union.
fn run_workers(engine: &Engine, process: usize, threads: usize) -> Vec<Expected> {
    let admin = admin_token(engine);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let admin = admin.as_str();
                scope.spawn(move || Worker::new(engine, admin, process, thread).run(OPERATIONS))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("worker finished"))
            .collect()
    })
}

/// The database equals the models: same users, same state, and each model password signs in.
fn assert_database_matches(engine: &Engine, expected: &[Expected]) {
    let admin = admin_token(engine);
    let stored: BTreeMap<String, (String, bool)> = engine
        .list_users(admin.as_str())
        .expect("list")
        .0
        .into_iter()
        .filter(|user| user.username != "admin")
        .map(|user| {
            (
                user.username,
                (user.role.as_str().to_string(), user.disabled),
            )
        })
        .collect();
    let modelled: BTreeMap<String, (String, bool)> = expected
        .iter()
        .map(|e| (e.username.clone(), (e.role.clone(), e.disabled)))
        .collect();
    let differences: Vec<String> = stored
        .keys()
        .chain(modelled.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|name| stored.get(*name) != modelled.get(*name))
        .map(|name| {
            format!(
                "{name}: stored {:?}, model {:?}",
                stored.get(name),
                modelled.get(name)
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "{} of {} users differ: {:?}",
        differences.len(),
        modelled.len(),
        &differences[..differences.len().min(10)]
    );
    for user in expected.iter().filter(|e| !e.disabled) {
        engine
            .login(&user.username, &user.password, "127.0.0.1")
            .unwrap_or_else(|e| {
                panic!(
                    "{} cannot sign in with its last password: {e}",
                    user.username
                )
            });
    }
}

fn fresh_installation(dir: &Path) -> Engine {
    let engine = Engine::open(config(dir)).expect("engine opens");
    engine
        .setup("admin", ADMIN_PASSWORD, "127.0.0.1")
        .expect("setup");
    engine
}

fn assert_sound(dir: &Path) {
    let report = verify_database(&dir.join("auth").join("auth.db")).expect("verify runs");
    assert!(report.is_ok(), "{report}");
}

#[test]
fn eight_threads_on_one_engine_lose_nothing_and_see_no_half_done_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = fresh_installation(dir.path());
    let expected = run_workers(&engine, 0, THREADS);
    assert_database_matches(&engine, &expected);
    drop(engine);
    assert_sound(dir.path());
}

#[test]
fn two_processes_on_one_data_folder_lose_nothing_and_see_no_half_done_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(fresh_installation(dir.path()));
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<_> = (1..=2)
        .map(|process| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "concurrency_child_process",
                    "--ignored",
                    "--nocapture",
                ])
                .args(["--test-threads", "1"])
                .env(CHILD_ENV, format!("{process}:{}", dir.path().display()))
                .stdout(Stdio::piped())
                .spawn()
                .expect("child starts")
        })
        .collect();
    let mut expected = Vec::new();
    for mut child in children {
        let stdout = child.stdout.take().expect("piped stdout");
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("child output");
            // libtest may have written "test ... " on the same line first.
            if let Some((_, json)) = line.split_once("EXPECTED ") {
                expected.push(serde_json::from_str::<Expected>(json).expect("model line"));
            }
        }
        assert!(
            child.wait().expect("child exits").success(),
            "a child failed"
        );
    }
    assert!(!expected.is_empty(), "the children reported their models");
    let engine = Engine::open(config(dir.path())).expect("engine reopens");
    assert_database_matches(&engine, &expected);
    drop(engine);
    assert_sound(dir.path());
}

/// One of the two processes above: half the threads each, the same operations, its own Engine.
#[test]
#[ignore = "run as a child process by two_processes_on_one_data_folder_..."]
fn concurrency_child_process() {
    let spec = std::env::var(CHILD_ENV).expect("started by the parent test");
    let (process, dir) = spec.split_once(':').expect("process:dir");
    let process: usize = process.parse().expect("process number");
    let engine = Engine::open(config(Path::new(dir))).expect("engine opens");
    let expected = run_workers(&engine, process, THREADS / 2);
    for user in expected {
        println!("EXPECTED {}", serde_json::to_string(&user).expect("json"));
    }
}

#[test]
fn the_workload_state_follows_from_the_version_in_the_name() {
    assert_eq!(version_in("p1t2u3v45"), Some(45));
    assert_eq!(version_in("admin"), None);
    assert_eq!(state_at(0), (Role::Viewer, false));
    assert_eq!(state_at(3), (Role::Manager, true));
    assert_eq!(state_at(6), (Role::Developer, false));
}
