//! Backups an operator can trust: online backups stay consistent under writes, restore refuses
//! what it cannot trust and never runs under a server, scheduled backups keep the newest N.

mod common;

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use dagu_auth::Error;
use dagu_auth::config::BackupSchedule;
use dagu_auth::service::{OperatorCommand, SERVER_LOCK_FILE, scheduled_name};
use dagu_auth::store::{SqliteStore, Store, verify_database};
use serde_json::json;

const HOUR_MS: i64 = 3600 * 1000;

fn usernames_in(backup: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("auth.db");
    fs::copy(backup, &copy).expect("copy the backup");
    let store = SqliteStore::open(dir.path()).expect("the backup opens as a store");
    store
        .list_users()
        .expect("list")
        .into_iter()
        .map(|u| u.username)
        .collect()
}

fn usernames(fx: &Fixture) -> Vec<String> {
    let answer = fx
        .engine
        .operator(OperatorCommand::ListUsers)
        .expect("list users");
    answer["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["username"].as_str().expect("username").to_string())
        .collect()
}

fn backup_of(fx: &Fixture, name: &str) -> PathBuf {
    let path = fx.dir.path().join(name);
    let summary = fx.engine.backup_to(&path).expect("backup");
    assert!(summary.report.is_ok(), "{}", summary.report);
    path
}

fn conflict_message(result: dagu_auth::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::Conflict(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_backup_taken_while_another_thread_writes_is_consistent_and_verifies() {
    let fx = Arc::new(Fixture::new());
    let admin = fx.setup_admin();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (fx, acknowledged, stop) = (fx.clone(), acknowledged.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Acquire) {
                fx.user(&admin, &format!("writer{n:04}"), "viewer");
                n += 1;
                acknowledged.store(n, Ordering::Release);
            }
        })
    };
    let mut backups = Vec::new();
    for round in 0..5 {
        std::thread::sleep(Duration::from_millis(30));
        let before = acknowledged.load(Ordering::Acquire);
        let path = backup_of(&fx, &format!("online-{round}.db"));
        let after = acknowledged.load(Ordering::Acquire);
        backups.push((path, before, after));
    }
    stop.store(true, Ordering::Release);
    writer.join().expect("writer");
    assert!(
        acknowledged.load(Ordering::Acquire) > backups[0].1,
        "the writer made progress during the backups"
    );
    for (path, before, after) in backups {
        let report = verify_database(&path).expect("verify");
        assert!(report.is_ok(), "{}: {report}", path.display());
        let names = usernames_in(&path);
        let writers = names.iter().filter(|n| n.starts_with("writer")).count();
        // One snapshot: every write acknowledged before the backup, nothing half-done after it,
        // and the writes it holds are a prefix of the writer's sequence.
        assert!(
            (before..=after + 1).contains(&writers),
            "{before} <= {writers} <= {after} + 1"
        );
        let expected: Vec<String> = (0..writers).map(|n| format!("writer{n:04}")).collect();
        assert_eq!(names[1..], expected[..], "{}", path.display());
    }
}

#[test]
fn a_backup_file_is_created_private_and_single() {
    let fx = Fixture::new();
    fx.setup_admin();
    let path = backup_of(&fx, "private.db");
    let mode = fs::metadata(&path).expect("metadata").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // A rollback-journal file: copying it alone copies everything.
    let sidecars: Vec<_> = fs::read_dir(fx.dir.path())
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| {
            name.starts_with("private.db") && name != "private.db" || name.ends_with(".partial")
        })
        .collect();
    assert!(sidecars.is_empty(), "{sidecars:?}");
}

#[test]
fn a_backup_never_overwrites_an_existing_file() {
    let fx = Fixture::new();
    fx.setup_admin();
    let path = fx.dir.path().join("taken.db");
    fs::write(&path, b"keep me").expect("write");
    assert!(matches!(
        fx.engine.backup_to(&path),
        Err(Error::AlreadyExists(_))
    ));
    assert_eq!(fs::read(&path).expect("read"), b"keep me");
}

#[test]
fn restore_brings_back_the_backed_up_users_and_ends_every_session() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    fx.user(&admin, "alice", "viewer");
    let path = backup_of(&fx, "before-bob.db");
    fx.user(&admin, "bob", "viewer");
    let summary = fx.engine.restore_from(&path).expect("restore");
    assert!(summary.report.is_ok(), "{}", summary.report);
    assert_eq!(usernames(&fx), ["admin", "alice"]);
    // A session revoked after the backup must not come back with it.
    assert!(fx.engine.list_users(&admin).is_err(), "old tokens end");
    let report = fx.engine.verify_store().expect("verify");
    assert!(report.is_ok(), "{report}");
}

#[test]
fn restore_refuses_a_backup_of_a_newer_schema() {
    let fx = Fixture::new();
    fx.setup_admin();
    let path = backup_of(&fx, "newer.db");
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    let version: i64 = raw
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("version");
    raw.pragma_update(None, "user_version", version + 1)
        .expect("bump");
    drop(raw);
    let before = fs::read(fx.dir.path().join("auth/auth.db")).expect("live");
    let message = conflict_message(fx.engine.restore_from(&path));
    assert!(message.contains("newer"), "{message}");
    assert_eq!(usernames(&fx), ["admin"]);
    assert_eq!(
        fs::read(fx.dir.path().join("auth/auth.db")).expect("live"),
        before,
        "nothing was written"
    );
}

#[test]
fn restore_refuses_a_corrupt_backup_and_one_that_breaks_our_invariants() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    for n in 0..40 {
        fx.user(&admin, &format!("user{n:02}"), "viewer");
    }
    let path = backup_of(&fx, "corrupt.db");
    let mut bytes = fs::read(&path).expect("read");
    assert!(bytes.len() >= 3 * 4096, "several pages");
    for byte in &mut bytes[4096..3 * 4096] {
        *byte ^= 0x5a;
    }
    fs::write(&path, &bytes).expect("corrupt");
    let message = conflict_message(fx.engine.restore_from(&path));
    assert!(
        message.contains("does not verify") || message.contains("damaged"),
        "{message}"
    );

    let path = backup_of(&fx, "no-admin.db");
    rusqlite::Connection::open(&path)
        .expect("raw open")
        .execute("UPDATE users SET disabled = 1 WHERE role = 'admin'", [])
        .expect("tamper");
    let message = conflict_message(fx.engine.restore_from(&path));
    assert!(message.contains("no enabled admin"), "{message}");

    let garbage = fx.dir.path().join("garbage.db");
    fs::write(&garbage, vec![7u8; 8192]).expect("write");
    assert!(fx.engine.restore_from(&garbage).is_err());
    assert_eq!(usernames(&fx).len(), 41, "the live database is untouched");
}

#[test]
fn restore_is_refused_while_a_server_holds_the_data_folder() {
    let fx = Fixture::new();
    fx.setup_admin();
    let path = backup_of(&fx, "b.db");
    let lock_path = fx.dir.path().join("auth").join(SERVER_LOCK_FILE);
    fs::write(&lock_path, "4242").expect("pid");
    let server = File::open(&lock_path).expect("open");
    server.lock_shared().expect("a server's shared lock");
    let message = conflict_message(fx.engine.restore_from(&path));
    assert!(
        message.contains("server is running") && message.contains("4242"),
        "{message}"
    );
    drop(server);
    fx.engine
        .restore_from(&path)
        .expect("restores once the server is gone");
}

#[test]
fn scheduled_backups_run_once_per_interval_and_keep_the_newest_n() {
    let backups = tempfile::tempdir().expect("tempdir");
    let dir = backups.path().join("nested");
    let fx = Fixture::with(|config| {
        config.backup = Some(BackupSchedule {
            dir: dir.clone(),
            interval: Duration::from_secs(3600),
            keep: 3,
        })
    });
    fx.setup_admin();
    fs::create_dir_all(&dir).expect("dir");
    fs::write(dir.join("notes.txt"), "not ours").expect("write");
    let mut taken = Vec::new();
    for _ in 0..5 {
        let path = fx
            .engine
            .run_scheduled_backup()
            .expect("backup")
            .expect("due");
        assert_eq!(
            fx.engine.run_scheduled_backup().expect("second call"),
            None,
            "not due again within the interval"
        );
        taken.push(path);
        fx.clock.advance_ms(HOUR_MS);
    }
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let newest: Vec<String> = (2..5)
        .map(|i| scheduled_name(START_MS + i * HOUR_MS).expect("name"))
        .collect();
    assert_eq!(names, [&newest[..], &["notes.txt".to_string()]].concat());
    for name in &newest {
        assert!(verify_database(&dir.join(name)).expect("verify").is_ok());
    }
}

#[test]
fn operator_commands_back_up_restore_and_verify() {
    let fx = Fixture::new();
    fx.setup_admin();
    let path = fx.dir.path().join("op.db");
    let command = |value: serde_json::Value| -> OperatorCommand {
        serde_json::from_value(value).expect("command")
    };
    let answer = fx
        .engine
        .operator(command(json!({"command": "db.backup", "path": path})))
        .expect("backup");
    assert_eq!(
        (answer["users"].clone(), answer["verify"]["ok"].clone()),
        (json!(1), json!(true))
    );
    let answer = fx
        .engine
        .operator(command(json!({"command": "db.restore", "path": path})))
        .expect("restore");
    assert_eq!(answer["verify"]["ok"], true);
    let answer = fx
        .engine
        .operator(command(json!({"command": "db.verify"})))
        .expect("verify");
    assert_eq!(answer, json!({"ok": true, "problems": []}));
}

#[test]
fn the_maintenance_thread_takes_the_scheduled_backup() {
    let backups = tempfile::tempdir().expect("tempdir");
    let fx = Fixture::with(|config| config.backup = Some(BackupSchedule::new(backups.path())));
    let admin = fx.setup_admin();
    let request = serde_json::from_value(json!({"name": "ci", "role": "viewer", "allowedSurfaces": ["rest_api"], "attributionClass": "service_account"})).expect("request");
    let key = fx.engine.create_api_key(&admin, request).expect("key").key;
    // A key use wakes the thread, which then also runs its periodic work.
    fx.engine
        .authorize(&key, dagu_auth_abi::DaguAuthAction::View, "")
        .expect("key works");
    let expected = backups.path().join(scheduled_name(START_MS).expect("name"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !expected.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        expected.exists(),
        "no scheduled backup at {}",
        expected.display()
    );
}
