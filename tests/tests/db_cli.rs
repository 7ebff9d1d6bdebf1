//! `host-demo db backup|restore|verify` as real processes, next to a server on the same data
//! folder and after it has stopped.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use dagu_auth_tests::api::*;
use dagu_auth_tests::cli::{cli, cli_setup_admin};
use dagu_auth_tests::{Abi, HostDemo, HostOptions};

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

#[test]
fn a_backup_taken_while_serving_restores_only_after_the_server_stops() {
    let data = tempfile::tempdir().expect("data dir");
    let dir = data.path().to_path_buf();
    let host = HostDemo::start(HostOptions::new(Abi::Rust).data_dir(&dir));
    let admin = setup_admin(&host);
    create_user(&host, &admin, "alice", "viewer", None);
    let backups = tempfile::tempdir().expect("backup dir");
    let backup = backups.path().join("auth-backup.db");

    let run = cli(&dir, &["db", "backup", path_arg(&backup)], "").ok();
    assert!(run.stdout.contains("backed up 2 users"), "{}", run.stdout);
    let mode = fs::metadata(&backup)
        .expect("backup file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the backup holds password hashes");
    // The server kept serving through the backup, and writes on.
    login(&host, "alice", USER_PASSWORD).expect_status(200);
    create_user(&host, &admin, "bob", "viewer", None);

    let lock = fs::read_to_string(dir.join("auth/server.lock")).expect("lock file");
    let run = cli(&dir, &["db", "restore", path_arg(&backup)], "").code(1);
    assert!(
        run.stderr.contains("a server is running") && run.stderr.contains(lock.trim()),
        "{}",
        run.stderr
    );
    login(&host, "bob", USER_PASSWORD).expect_status(200);

    host.stop();
    let run = cli(&dir, &["db", "restore", path_arg(&backup)], "").ok();
    assert!(run.stdout.contains("restored 2 users"), "{}", run.stdout);
    let host = HostDemo::start(HostOptions::new(Abi::C).data_dir(&dir));
    login(&host, "alice", USER_PASSWORD).expect_status(200);
    assert_invalid_credentials(&login(&host, "bob", USER_PASSWORD));
    assert_eq!(me_status(&host, &admin), 401, "restore ends every session");
}

#[test]
fn verify_exits_zero_when_clean_and_one_when_an_invariant_breaks() {
    let dir = tempfile::tempdir().expect("data dir");
    cli_setup_admin(dir.path());
    let run = cli(dir.path(), &["db", "verify"], "").ok();
    assert!(run.stdout.starts_with("ok"), "{}", run.stdout);

    // What no API allows: the last admin disabled, by a hand edit of the file.
    rusqlite::Connection::open(dir.path().join("auth/auth.db"))
        .expect("raw open")
        .execute("UPDATE users SET disabled = 1", [])
        .expect("tamper");
    let run = cli(dir.path(), &["db", "verify"], "").code(1);
    assert!(run.stdout.contains("no enabled admin"), "{}", run.stdout);
    assert!(run.stderr.contains("does not verify"), "{}", run.stderr);
}

#[test]
fn verify_exits_one_for_a_damaged_file() {
    let dir = tempfile::tempdir().expect("data dir");
    cli_setup_admin(dir.path());
    let path = dir.path().join("auth/auth.db");
    // Fold the WAL in first, so the flipped bytes are the only copy of those pages.
    rusqlite::Connection::open(&path)
        .expect("raw open")
        .pragma_update(None, "journal_mode", "DELETE")
        .expect("checkpoint");
    let mut bytes = fs::read(&path).expect("read");
    let end = bytes.len().min(3 * 4096);
    for byte in &mut bytes[4096..end] {
        *byte ^= 0x5a;
    }
    fs::write(&path, &bytes).expect("corrupt");
    let run = cli(dir.path(), &["db", "verify"], "").code(1);
    assert!(run.stderr.contains("damaged"), "{}", run.stderr);
}
