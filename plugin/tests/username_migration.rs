//! Usernames stored before PRECIS and UTS #39 applied, in a database of schema version 2 (written
//! here as that version created it), opened by this version on SQLite and on PostgreSQL: every
//! row is kept and re-keyed, the oldest row owns a clashing key or skeleton, nothing is merged,
//! and `db verify` names every row that clashes until it is renamed.

mod common;
mod pg;

use std::sync::Arc;

use dagu_auth::Engine;
use dagu_auth::clock::ManualClock;
use dagu_auth::config::Config;
use dagu_auth::hashpool::HashingLimits;
use dagu_auth::password::{self, PasswordHashing};

use common::{START_MS, USER_PASSWORD};

/// Rows as version 2 stored them: keyed by the trimmed, lower-cased name. `created_at` orders
/// them: the Latin admin is the oldest.
const OLD_ROWS: &[(&str, &str, i64)] = &[
    ("a", "admin", 1),
    ("b", "ＡＤＭＩＮ", 2),
    ("c", "\u{430}dmin", 3),
    ("d", "jose\u{301}", 4),
    ("e", "Jos\u{E9}", 5),
    ("f", "bob\u{200B}", 6),
    ("g", "carol", 7),
];

/// The old rows, every one with `USER_PASSWORD` hashed as the tests' config hashes.
fn old_rows(config: &Config) -> String {
    let hashing = PasswordHashing::new(&config.argon2, HashingLimits::default()).expect("hashing");
    let hash = hashing
        .hash(&password::normalize(USER_PASSWORD))
        .expect("hash");
    let access = r#"{"all":true,"grants":[]}"#;
    OLD_ROWS
        .iter()
        .map(|(id, name, at)| {
            let key = name.trim().to_lowercase();
            let role = if *id == "a" { "admin" } else { "viewer" };
            format!(
                "INSERT INTO users (id, username, username_folded, role, workspace_access, \
                 password_hash, disabled, created_at, updated_at) VALUES ('{id}', '{name}', \
                 '{key}', '{role}', '{access}', '{hash}', FALSE, {at}, {at});\n"
            )
        })
        .collect()
}

fn engine(config: Config) -> Engine {
    Engine::open_with_clock(config, Arc::new(ManualClock::at(START_MS))).expect("engine opens")
}

/// The id of the account a typed name signs into.
fn signs_into(engine: &Engine, typed: &str) -> String {
    engine
        .login(typed, USER_PASSWORD, "")
        .unwrap_or_else(|e| panic!("{typed:?} signs in: {e:?}"))
        .user
        .id
}

/// Every row is kept, and the oldest row of a clash signs in under every spelling of its name,
/// while a row that only reads alike keeps signing in under its own.
fn every_row_is_kept_and_the_oldest_owns_each_key(engine: &Engine) {
    let admin = engine
        .login("admin", USER_PASSWORD, "")
        .expect("the admin signs in")
        .token;
    let mut ids: Vec<String> = engine
        .list_users(&admin)
        .expect("list")
        .0
        .into_iter()
        .map(|user| user.id)
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["a", "b", "c", "d", "e", "f", "g"],
        "nothing merged or dropped"
    );
    assert_eq!(signs_into(engine, "ＡＤＭＩＮ"), "a");
    assert_eq!(signs_into(engine, "\u{430}dmin"), "c");
    assert_eq!(signs_into(engine, "jos\u{E9}"), "d");
    assert_eq!(signs_into(engine, "JOSE\u{301}"), "d");
    assert_eq!(
        signs_into(engine, "bob\u{200B}"),
        "f",
        "a refused name keeps its old key"
    );
    assert_eq!(signs_into(engine, "Carol"), "g");
}

/// The problems name exactly the rows that lost a key or skeleton or break the rules.
fn the_clashes_are_reported(problems: &[String]) {
    let flagged = |id: &str| {
        problems
            .iter()
            .any(|problem| problem.starts_with(&format!("username of user {id} ")))
    };
    // b: fullwidth admin folds to admin's key; c: reads like admin; e: NFC of d's NFD name;
    // f: a format character the rules refuse.
    for id in ["b", "c", "e", "f"] {
        assert!(flagged(id), "{id} must be reported: {problems:#?}");
    }
    for id in ["a", "d", "g"] {
        assert!(!flagged(id), "{id} owns its key: {problems:#?}");
    }
}

/// The SQLite schema at version 2.
const SQLITE_V2: &str = include_str!("fixtures/schema_v2_sqlite.sql");

#[test]
fn sqlite_usernames_are_rekeyed_keeping_every_row_and_verify_reports_the_collisions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("auth/auth.db");
    std::fs::create_dir_all(dir.path().join("auth")).expect("auth folder");
    let conn = rusqlite::Connection::open(&db).expect("create the old database");
    conn.execute_batch(SQLITE_V2).expect("the version 2 schema");
    conn.pragma_update(None, "user_version", 2)
        .expect("version 2");
    conn.execute_batch(&old_rows(&common::config(dir.path())))
        .expect("the old rows");
    drop(conn);

    let engine = engine(common::config(dir.path()));
    every_row_is_kept_and_the_oldest_owns_each_key(&engine);
    let report = dagu_auth::store::verify_database(&db).expect("verify");
    the_clashes_are_reported(&report.problems);
    drop(engine);
    // Opening again does not re-key (the queue is gone) and changes nothing.
    let engine = self::engine(common::config(dir.path()));
    let again = dagu_auth::store::verify_database(&db).expect("verify");
    assert_eq!(again.problems, report.problems);
    every_row_is_kept_and_the_oldest_owns_each_key(&engine);
}

/// The PostgreSQL schema at version 2.
const POSTGRES_V2: &str = include_str!("fixtures/schema_v2_postgres.sql");

#[cfg(feature = "postgres")]
#[test]
fn postgres_usernames_are_rekeyed_keeping_every_row() {
    use dagu_auth::config::{PostgresConfig, StoreConfig};
    let Some(schema) = pg::schema() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    schema.execute(POSTGRES_V2);
    schema.execute(
        "CREATE TABLE dagu_auth_schema (id INTEGER PRIMARY KEY CHECK (id = 1), \
         version INTEGER NOT NULL); INSERT INTO dagu_auth_schema VALUES (1, 2);",
    );
    schema.execute(&old_rows(&common::config(dir.path())));
    let mut config = common::config(dir.path());
    config.store = StoreConfig::Postgres(PostgresConfig::new(&schema.url));
    let engine = engine(config);
    every_row_is_kept_and_the_oldest_owns_each_key(&engine);
}

#[cfg(not(feature = "postgres"))]
#[test]
fn postgres_usernames_are_rekeyed_keeping_every_row() {
    let _ = POSTGRES_V2;
    pg::schema();
}

#[test]
fn a_backup_with_clashing_usernames_restores_and_still_reports_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("auth/auth.db");
    std::fs::create_dir_all(dir.path().join("auth")).expect("auth folder");
    let conn = rusqlite::Connection::open(&db).expect("create the old database");
    conn.execute_batch(SQLITE_V2).expect("the version 2 schema");
    conn.pragma_update(None, "user_version", 2)
        .expect("version 2");
    conn.execute_batch(&old_rows(&common::config(dir.path())))
        .expect("the old rows");
    drop(conn);
    let backup = dir.path().join("backup.db");
    {
        let store = dagu_auth::store::SqliteStore::open(&dir.path().join("auth")).expect("open");
        dagu_auth::store::Store::backup_to(&store, &backup).expect("backup");
        let restored =
            dagu_auth::store::Store::restore_from(&store, &backup).expect("restores all the same");
        the_clashes_are_reported(&restored.report.problems);
    }
}
