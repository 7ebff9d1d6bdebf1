//! Crash safety: a child process writes users in a loop and is killed with SIGKILL at a random
//! moment, 20 times over one data folder. After each kill the database opens, passes
//! `integrity_check` and our invariants, and holds every write the child acknowledged (over a pipe)
//! before it died.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dagu_auth::service::CreateUserRequest;
use dagu_auth::store::verify_database;
use dagu_auth::{Config, Engine};

const ROUNDS: usize = 20;
const ADMIN_PASSWORD: &str = "crash-admin-password";
const CHILD_ENV: &str = "DAGU_AUTH_CRASH_CHILD";

fn config(dir: &Path) -> Config {
    let json = serde_json::json!({
        "dataDir": dir,
        "argon2": {"memoryKib": 64, "iterations": 1, "parallelism": 1},
        "licenseFeatures": ["rbac"],
    });
    Config::from_json(&json.to_string()).expect("test config")
}

/// One acknowledged write: a user exists and signs in with `password`, or with `pending` when the
/// child died between a password reset's commit and its acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    username: String,
    password: String,
    pending: Option<String>,
}

/// Starts the writer, kills it after `delay`, and returns what it acknowledged before dying.
fn run_and_kill(dir: &Path, round: usize, delay: Duration) -> Vec<Ack> {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "crash_writer_child_process",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, format!("{round}:{}", dir.display()))
        .stdout(Stdio::piped())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest may have written "test ... " on the same line first.
            let Some(start) = line.find("ACK ").or_else(|| line.find("TRY ")) else {
                continue;
            };
            let mut words = line[start..].split(' ');
            if let (Some(kind), Some(username), Some(password)) =
                (words.next(), words.next(), words.next())
            {
                let _ = sender.send((kind == "ACK", username.to_string(), password.to_string()));
            }
        }
    });
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reaped");
    assert!(!status.success(), "the child was killed, it did not finish");
    reader.join().expect("reader");
    let mut acks: Vec<Ack> = Vec::new();
    for (acknowledged, username, password) in receiver.try_iter() {
        let known = acks.iter_mut().find(|ack| ack.username == username);
        match (acknowledged, known) {
            (true, Some(ack)) => (ack.password, ack.pending) = (password, None),
            (false, Some(ack)) => ack.pending = Some(password),
            (true, None) => acks.push(Ack {
                username,
                password,
                pending: None,
            }),
            // A create that was never acknowledged may or may not have happened.
            (false, None) => {}
        }
    }
    acks
}

fn millis_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64 | 1)
}

#[test]
fn a_writer_killed_at_random_moments_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(config(dir.path())).expect("engine opens");
    engine
        .setup("admin", ADMIN_PASSWORD, "")
        .expect("first admin");
    drop(engine);

    let mut seed = millis_seed();
    println!("crash-safety seed {seed}");
    let mut acknowledged = Vec::new();
    let mut longest_round = Duration::ZERO;
    for round in 0..ROUNDS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(20 + seed % 400);
        let started = Instant::now();
        let acks = run_and_kill(dir.path(), round, delay);

        let report = verify_database(&dir.path().join("auth/auth.db")).expect("verify runs");
        assert!(report.is_ok(), "round {round}: {report}");
        let engine = Engine::open(config(dir.path()))
            .unwrap_or_else(|e| panic!("round {round}: the database does not open: {e}"));
        for ack in &acks {
            let signs_in =
                |password: &str| engine.login(&ack.username, password, "127.0.0.1").is_ok();
            assert!(
                signs_in(&ack.password) || ack.pending.as_deref().is_some_and(signs_in),
                "round {round} (killed after {delay:?}): acknowledged {ack:?} is lost"
            );
        }
        acknowledged.extend(acks);
        longest_round = longest_round.max(started.elapsed());
    }
    // Writes of earlier rounds survive later crashes too.
    let engine = Engine::open(config(dir.path())).expect("final open");
    let admin = engine
        .login("admin", ADMIN_PASSWORD, "")
        .expect("admin")
        .token;
    let stored: std::collections::HashSet<String> = engine
        .list_users(&admin)
        .expect("list")
        .0
        .into_iter()
        .map(|user| user.username)
        .collect();
    for ack in &acknowledged {
        assert!(stored.contains(&ack.username), "{} is lost", ack.username);
    }
    assert!(
        acknowledged.len() >= ROUNDS,
        "the children acknowledged writes before dying ({} in {ROUNDS} rounds)",
        acknowledged.len()
    );
    println!(
        "{} acknowledged writes over {ROUNDS} kills, longest round {longest_round:?}",
        acknowledged.len()
    );
}

/// The writer: creates users and now and then resets a password, acknowledging each after the call
/// returned. It never finishes on its own; the parent kills it.
#[test]
#[ignore = "run as a child process by a_writer_killed_at_random_moments_..."]
fn crash_writer_child_process() {
    let spec = std::env::var(CHILD_ENV).expect("started by the parent test");
    let (round, dir) = spec.split_once(':').expect("round:dir");
    let engine = Engine::open(config(Path::new(dir))).expect("engine opens");
    let admin = engine
        .login("admin", ADMIN_PASSWORD, "")
        .expect("admin")
        .token;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out);
    let mut last_id: Option<(String, String)> = None;
    for n in 0.. {
        let username = format!("r{round}n{n}");
        match (n % 4, &last_id) {
            (3, Some((id, name))) => {
                let password = format!("{name}-reset-{n}");
                let _ = writeln!(out, "TRY {name} {password}");
                let _ = out.flush();
                engine.reset_password(&admin, id, &password).expect("reset");
                let _ = writeln!(out, "ACK {name} {password}");
            }
            _ => {
                let password = format!("{username}-password");
                let request = CreateUserRequest {
                    username: username.clone(),
                    password: password.clone(),
                    role: "viewer".into(),
                    workspace_access: None,
                };
                let user = engine.create_user(&admin, request).expect("create").0;
                let _ = writeln!(out, "ACK {username} {password}");
                last_id = Some((user.id, username));
            }
        }
        let _ = out.flush();
    }
}
