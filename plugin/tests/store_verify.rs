//! `verify`: integrity_check plus our invariants, each broken on purpose behind the store's back.

use dagu_auth::model::{Role, UserRecord, WorkspaceAccess};
use dagu_auth::store::{Session, SqliteStore, Store, verify_database};

fn user(id: &str, name: &str, role: Role) -> UserRecord {
    UserRecord {
        sso: None,
        id: id.into(),
        username: name.into(),
        role,
        workspace_access: WorkspaceAccess::all(),
        password_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        disabled: false,
        created_at_ms: 1,
        updated_at_ms: 1,
        mfa: Default::default(),
    }
}

/// A store with an admin, a viewer and a session of the viewer; sound before anyone tampers.
fn populated() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    store
        .insert_first_user(&user("a", "alice", Role::Admin))
        .expect("admin");
    store
        .insert_user(&user("b", "bob", Role::Viewer))
        .expect("viewer");
    store
        .insert_session(&Session {
            jti: "s1".into(),
            user_id: "b".into(),
            created_at_ms: 1,
            expires_at_ms: 2,
            last_used_at_ms: 1,
            client_ip: String::new(),
            user_agent: String::new(),
        })
        .expect("session");
    let report = store.verify().expect("verify");
    assert!(report.is_ok(), "untouched store: {report}");
    (dir, store)
}

/// Writes with a plain connection, foreign keys off: the kind of damage a hand edit or a bug does.
fn tamper(store: &SqliteStore, sql: &str) {
    let conn = rusqlite::Connection::open(store.path()).expect("raw open");
    conn.execute_batch(&format!("PRAGMA foreign_keys = OFF; {sql}"))
        .expect("tamper");
}

fn problems(store: &SqliteStore) -> String {
    let report = store.verify().expect("verify");
    assert!(!report.is_ok(), "the damage went unnoticed");
    report.to_string()
}

#[test]
fn an_empty_database_verifies_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    assert!(store.verify().expect("verify").is_ok());
}

#[test]
fn users_without_an_enabled_admin_are_reported() {
    let (_dir, store) = populated();
    tamper(&store, "UPDATE users SET disabled = 1 WHERE id = 'a'");
    assert!(problems(&store).contains("no enabled admin"));
}

#[test]
fn a_stored_grant_that_breaks_the_access_rules_is_reported() {
    let (_dir, store) = populated();
    tamper(
        &store,
        r#"UPDATE users SET workspace_access = '{"all":false,"grants":[{"workspace":"ops","role":"admin"}]}' WHERE id = 'b'"#,
    );
    let text = problems(&store);
    assert!(
        text.contains("user b") && text.contains("admin cannot be scoped to a workspace"),
        "{text}"
    );
}

#[test]
fn an_unparseable_stored_role_is_reported() {
    let (_dir, store) = populated();
    tamper(&store, "UPDATE users SET role = 'root' WHERE id = 'b'");
    assert!(problems(&store).contains("user b"));
}

/// API keys outlive their owner, as in Dagu (they stop working, and an admin deletes or
/// re-attributes them), so such a key is no damage.
#[test]
fn an_api_key_of_a_missing_owner_is_not_a_problem() {
    let (_dir, store) = populated();
    tamper(
        &store,
        r#"INSERT INTO api_keys (id, name, description, role, workspace_access, key_prefix, digest,
           created_at, updated_at, created_by, owner_user_id, extra)
           VALUES ('k1', 'ci', '', 'viewer', '{"all":true,"grants":[]}', 'dagu_x', 'd1', 1, 1, 'a',
           'gone', '{}')"#,
    );
    let report = store.verify().expect("verify");
    assert!(report.is_ok(), "{report}");
}

#[test]
fn a_session_of_a_missing_user_is_reported() {
    let (_dir, store) = populated();
    tamper(&store, "DELETE FROM users WHERE id = 'b'");
    assert!(problems(&store).contains("session s1 belongs to a missing user"));
}

#[test]
fn a_damaged_page_is_reported_by_integrity_check() {
    let (dir, store) = populated();
    let path = store.path().to_path_buf();
    drop(store);
    // Flip every byte of the second page (a table's root); the file header still parses.
    let mut bytes = std::fs::read(&path).expect("read db");
    assert!(
        bytes.len() > 8192,
        "database has several pages: {}",
        bytes.len()
    );
    for byte in &mut bytes[4096..8192] {
        *byte ^= 0xa5;
    }
    std::fs::write(&path, bytes).expect("write db");
    match verify_database(&path) {
        Ok(report) => assert!(!report.is_ok(), "damage went unnoticed"),
        Err(error) => assert!(error.to_string().contains("malformed"), "{error}"),
    }
    drop(dir);
}

#[test]
fn verifying_a_missing_file_is_an_error_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("auth.db");
    assert!(verify_database(&path).is_err());
    assert!(!path.exists());
}
