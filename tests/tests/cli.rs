//! The operator command line of `host-demo`, run as a real process on a temporary data folder,
//! alone and next to a server that serves the same folder.

use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use dagu_auth_tests::api::*;
use dagu_auth_tests::cli::{cli, cli_at_terminal, cli_setup_admin};
use dagu_auth_tests::{Abi, HostDemo, HostOptions};
use serde_json::{Value, json};

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary data dir")
}

/// The admin, and bob, a viewer.
fn with_admin_and_bob(dir: &Path) {
    cli_setup_admin(dir);
    let args = [
        "users",
        "create",
        "bob",
        "--role",
        "viewer",
        "--password-stdin",
    ];
    cli(dir, &args, &format!("{USER_PASSWORD}\n")).ok();
}

fn list_json(dir: &Path) -> Vec<Value> {
    let run = cli(dir, &["users", "list", "--json"], "").ok();
    let answer: Value = serde_json::from_str(&run.stdout).expect("list --json is JSON");
    answer["users"].as_array().expect("users").clone()
}

fn user_named<'a>(users: &'a [Value], name: &str) -> &'a Value {
    users
        .iter()
        .find(|u| u["username"] == name)
        .unwrap_or_else(|| panic!("{name} in {users:?}"))
}

/// The server notices another process's write within a bounded delay; waits for `status`.
fn wait_for_status(host: &HostDemo, token: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = me_status(host, token);
        if seen == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "GET /auth/me stayed {seen}, expected {status}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// A Dagu `users/<id>.json` file as Dagu's file store writes it.
fn write_dagu_user(dir: &Path, id: &str, username: &str, hash: &str, extra: Value) {
    let mut user = json!({
        "id": id,
        "username": username,
        "password_hash": hash,
        "role": "developer",
        "created_at": "2025-02-03T04:05:06.789Z",
        "updated_at": "2025-02-03T04:05:06.789Z",
    });
    if let (Some(user), Some(extra)) = (user.as_object_mut(), extra.as_object()) {
        user.extend(extra.clone());
    }
    fs::write(dir.join(format!("{id}.json")), user.to_string()).expect("write user file");
}

#[test]
fn setup_from_stdin_creates_an_admin_who_signs_in_over_http() {
    let dir = data_dir();
    let run = cli_setup_admin(dir.path());
    assert!(run.stdout.contains("created admin admin"), "{}", run.stdout);
    let host = HostDemo::start(HostOptions::new(Abi::Rust).data_dir(dir.path()));
    login(&host, ADMIN_USERNAME, ADMIN_PASSWORD).expect_status(200);
}

#[test]
fn setup_refuses_once_a_user_exists() {
    let dir = data_dir();
    cli_setup_admin(dir.path());
    let run = cli(
        dir.path(),
        &["setup", "--username", "second", "--password-stdin"],
        &format!("{OTHER_PASSWORD}\n"),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Setup has already been completed"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_weak_password_is_refused_with_the_api_message() {
    let dir = data_dir();
    let run = cli(
        dir.path(),
        &["setup", "--username", "admin", "--password-stdin"],
        "password1\n",
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("too common"), "{}", run.stderr);
}

#[test]
fn users_create_with_workspaces_and_list_shows_the_grants() {
    let dir = data_dir();
    cli_setup_admin(dir.path());
    let args = [
        "users",
        "create",
        "carol",
        "--role",
        "viewer",
        "--workspace",
        "ops=operator",
        "--workspace",
        "data=developer",
        "--password-stdin",
    ];
    cli(dir.path(), &args, &format!("{USER_PASSWORD}\n")).ok();
    let users = list_json(dir.path());
    assert_eq!(
        user_named(&users, "carol")["workspaceAccess"],
        json!({"all": false, "grants": [
            {"workspace": "ops", "role": "operator"}, {"workspace": "data", "role": "developer"}]})
    );
    let table = cli(dir.path(), &["users", "list"], "").ok().stdout;
    let carol = table
        .lines()
        .find(|l| l.starts_with("carol"))
        .expect("carol row");
    assert!(carol.contains("ops=operator,data=developer"), "{table}");
}

#[test]
fn the_last_enabled_admin_cannot_be_disabled_from_the_shell_either() {
    let dir = data_dir();
    cli_setup_admin(dir.path());
    let run = cli(dir.path(), &["users", "disable", ADMIN_USERNAME], "");
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("last enabled admin"), "{}", run.stderr);
}

#[test]
fn delete_without_a_terminal_needs_yes() {
    let dir = data_dir();
    with_admin_and_bob(dir.path());
    let refused = cli(dir.path(), &["users", "delete", "bob"], "");
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_eq!(list_json(dir.path()).len(), 2);
    cli(dir.path(), &["users", "delete", "bob", "--yes"], "").ok();
    assert_eq!(list_json(dir.path()).len(), 1);
}

#[test]
fn setup_at_a_terminal_asks_for_the_name_and_the_password_twice_without_echo() {
    let dir = data_dir();
    let dialogue = [
        ("Admin username: ", ADMIN_USERNAME),
        ("New password: ", ADMIN_PASSWORD),
        ("Repeat password: ", ADMIN_PASSWORD),
    ];
    let Some(run) = cli_at_terminal(dir.path(), &["setup"], &dialogue) else {
        return;
    };
    let run = run.ok();
    assert!(run.stdout.contains("created admin admin"), "{}", run.stdout);
    assert!(
        !run.stdout.contains(ADMIN_PASSWORD),
        "the password was echoed:\n{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("Admin username: {ADMIN_USERNAME}")),
        "the name is echoed as typed:\n{}",
        run.stdout
    );
    assert_eq!(
        user_named(&list_json(dir.path()), ADMIN_USERNAME)["role"],
        "admin"
    );
}

#[test]
fn passwords_that_differ_at_a_terminal_create_nobody() {
    let dir = data_dir();
    let dialogue = [
        ("Admin username: ", ADMIN_USERNAME),
        ("New password: ", ADMIN_PASSWORD),
        ("Repeat password: ", USER_PASSWORD),
    ];
    let Some(run) = cli_at_terminal(dir.path(), &["setup"], &dialogue) else {
        return;
    };
    let run = run.code(1);
    assert!(
        run.stdout.contains("the passwords do not match"),
        "{}",
        run.stdout
    );
    assert!(list_json(dir.path()).is_empty());
}

#[test]
fn deleting_at_a_terminal_asks_first_and_only_yes_deletes() {
    let dir = data_dir();
    with_admin_and_bob(dir.path());
    let question = "Delete user bob? [y/N] ";
    let Some(kept) = cli_at_terminal(dir.path(), &["users", "delete", "bob"], &[(question, "n")])
    else {
        return;
    };
    let kept = kept.code(1);
    assert!(kept.stdout.contains("not deleted"), "{}", kept.stdout);
    assert_eq!(list_json(dir.path()).len(), 2, "answering n keeps bob");
    cli_at_terminal(dir.path(), &["users", "delete", "bob"], &[(question, "y")])
        .expect("script was found a moment ago")
        .ok();
    assert_eq!(list_json(dir.path()).len(), 1, "answering y deletes bob");
}

#[test]
fn the_cli_recovers_users_while_a_server_serves_the_same_data_dir() {
    let host = HostDemo::start(HostOptions::new(Abi::C));
    let admin_token = setup_admin(&host);
    let (_, user_token) = create_user_and_login(&host, &admin_token, "dave", "viewer", None);
    let dir = host.data_dir().to_path_buf();

    cli(&dir, &["users", "disable", "dave"], "").ok();
    wait_for_status(&host, &user_token, 401);
    assert_invalid_credentials(&login(&host, "dave", USER_PASSWORD));

    // The locked-out admin gets a new password from the shell; the old session ends.
    cli(
        &dir,
        &[
            "users",
            "reset-password",
            ADMIN_USERNAME,
            "--password-stdin",
        ],
        &format!("{OTHER_PASSWORD}\n"),
    )
    .ok();
    wait_for_status(&host, &admin_token, 401);
    login(&host, ADMIN_USERNAME, OTHER_PASSWORD).expect_status(200);

    cli(&dir, &["users", "enable", "dave"], "").ok();
    login(&host, "dave", USER_PASSWORD).expect_status(200);
}

#[test]
fn dagu_users_import_keeps_accounts_and_bcrypt_passwords_sign_in() {
    let dir = data_dir();
    cli_setup_admin(dir.path());
    let users = tempfile::tempdir().expect("users dir");
    let hash = bcrypt::hash("dagu-pass-erin", 4).expect("bcrypt");
    write_dagu_user(
        users.path(),
        "11111111-1111-4111-8111-111111111111",
        "erin",
        &hash,
        json!({}),
    );
    write_dagu_user(
        users.path(),
        "22222222-2222-4222-8222-222222222222",
        "frank",
        &bcrypt::hash("dagu-pass-frank", 4).expect("bcrypt"),
        json!({"role": "viewer", "is_disabled": true, "workspace_access": {"all": false,
              "grants": [{"workspace": "ops", "role": "operator"}]}}),
    );
    fs::write(users.path().join("broken.json"), "{not json").expect("write");
    let dir_arg = users.path().to_str().expect("utf-8 path");

    let first = cli(dir.path(), &["import-dagu-users", dir_arg], "").ok();
    assert!(
        first.stdout.contains("imported 2, skipped 1 of 3"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("skipped broken.json: not JSON"),
        "{}",
        first.stdout
    );
    let again = cli(dir.path(), &["import-dagu-users", dir_arg], "").ok();
    assert!(
        again.stdout.contains("imported 0, skipped 3 of 3"),
        "{}",
        again.stdout
    );

    let listed = list_json(dir.path());
    let frank = user_named(&listed, "frank");
    assert_eq!(frank["id"], "22222222-2222-4222-8222-222222222222");
    assert_eq!(frank["isDisabled"], true);
    assert_eq!(frank["workspaceAccess"]["grants"][0]["workspace"], "ops");

    let host = HostDemo::start(HostOptions::new(Abi::Rust).data_dir(dir.path()));
    login(&host, "erin", "dagu-pass-erin").expect_status(200);
    // Re-hashed to argon2id at the first sign-in, the password still works.
    login(&host, "erin", "dagu-pass-erin").expect_status(200);
    assert_invalid_credentials(&login(&host, "frank", "dagu-pass-frank"));
}

#[test]
fn a_large_import_reports_progress() {
    let dir = data_dir();
    cli_setup_admin(dir.path());
    let users = tempfile::tempdir().expect("users dir");
    // One hash for all: the test is about the import's progress, not bcrypt's cost.
    let hash = bcrypt::hash("shared-pass-1", 4).expect("bcrypt");
    for n in 0..450 {
        let id = format!("00000000-0000-4000-8000-{n:012}");
        write_dagu_user(users.path(), &id, &format!("user{n:03}"), &hash, json!({}));
    }
    let run = cli(
        dir.path(),
        &["import-dagu-users", users.path().to_str().expect("utf-8")],
        "",
    )
    .ok();
    let progress: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("progress:"))
        .collect();
    assert_eq!(
        progress,
        [
            "progress: 200/450 files (imported 200, skipped 0)",
            "progress: 400/450 files (imported 400, skipped 0)",
            "progress: 450/450 files (imported 450, skipped 0)",
        ]
    );
    assert!(
        run.stdout.contains("imported 450, skipped 0 of 450"),
        "{}",
        run.stdout
    );
}
