//! The SQLite store on its own: invariants, files, schema versions and damage.

use std::os::unix::fs::PermissionsExt;

use dagu_auth::Error;
use dagu_auth::model::{Role, UserRecord, WorkspaceAccess};
use dagu_auth::store::{SqliteStore, Store, UpdateEffects};

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

/// Every store test ends here: integrity plus our invariants (plugin/src/store/sqlite/verify.rs).
fn assert_sound(store: &SqliteStore) {
    let report = store.verify().expect("verify runs");
    assert!(report.is_ok(), "database unsound: {report}");
}

fn disable(store: &SqliteStore, id: &str) -> Result<UserRecord, Error> {
    store.update_user(id, &mut |u| {
        u.disabled = true;
        Ok(UpdateEffects {
            revoke_sessions: true,
        })
    })
}

#[test]
fn the_store_refuses_to_disable_demote_or_delete_the_last_enabled_admin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    assert!(
        store
            .insert_first_user(&user("a", "alice", Role::Admin))
            .expect("first")
    );
    store
        .insert_user(&user("b", "bob", Role::Admin))
        .expect("second admin");
    disable(&store, "a").expect("bob remains");
    assert!(matches!(disable(&store, "b"), Err(Error::Conflict(_))));
    let demote = store.update_user("b", &mut |u| {
        u.role = Role::Viewer;
        Ok(UpdateEffects::default())
    });
    assert!(matches!(demote, Err(Error::Conflict(_))));
    assert!(matches!(
        store.delete_user("b", &mut |_| Ok(())),
        Err(Error::Conflict(_))
    ));
    let bob = store.user_by_id("b").expect("read").expect("bob exists");
    assert!(
        bob.is_enabled_admin(),
        "a refused change leaves the user as it was"
    );
    assert_sound(&store);
}

#[test]
fn a_second_first_user_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    assert!(
        store
            .insert_first_user(&user("a", "alice", Role::Admin))
            .expect("first")
    );
    assert!(
        !store
            .insert_first_user(&user("b", "bob", Role::Admin))
            .expect("second")
    );
    assert_eq!(store.user_count().expect("count"), 1);
    assert_sound(&store);
}

#[test]
fn database_and_secret_files_are_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = dagu_auth::Config::new(dir.path());
    config.argon2.memory_kib = 64;
    config.argon2.iterations = 1;
    dagu_auth::Engine::open(config).expect("open");
    let mode = |p: &str| {
        std::fs::metadata(dir.path().join(p))
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("auth"), 0o700);
    assert_eq!(mode("auth/auth.db"), 0o600);
    assert_eq!(mode("auth/token_secret"), 0o600);
}

#[test]
fn a_database_from_a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(SqliteStore::open(dir.path()).expect("create"));
    let conn = rusqlite::Connection::open(dir.path().join("auth.db")).expect("raw open");
    conn.pragma_update(None, "user_version", 99).expect("bump");
    drop(conn);
    match SqliteStore::open(dir.path()) {
        Err(Error::Storage(message)) => assert!(message.contains("schema version 99"), "{message}"),
        other => panic!("expected a storage error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_damaged_database_fails_closed_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("auth.db"), vec![0x5a; 8192]).expect("write junk");
    match SqliteStore::open(dir.path()) {
        Err(Error::Storage(message)) => assert!(message.contains("damaged"), "{message}"),
        other => panic!("expected a storage error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn deleting_a_user_deletes_their_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    store
        .insert_first_user(&user("a", "alice", Role::Admin))
        .expect("admin");
    store
        .insert_user(&user("b", "bob", Role::Viewer))
        .expect("bob");
    let session = dagu_auth::store::Session {
        jti: "j".into(),
        user_id: "b".into(),
        created_at_ms: 1,
        expires_at_ms: 2,
        last_used_at_ms: 1,
        client_ip: String::new(),
        user_agent: String::new(),
    };
    store.insert_session(&session).expect("session");
    store.delete_user("b", &mut |_| Ok(())).expect("delete");
    assert_eq!(store.session("j").expect("read"), None);
    assert_sound(&store);
}

/// A move of new audit entries into the indexed table that fails (here: a row another writer put
/// in `audit_entries` under the `seq` an unmoved entry holds, as a process still running an
/// older dagu-auth on the same file would) costs nothing: every append still succeeds, every
/// entry stays listed, and once the obstacle is gone the next move takes them all.
#[test]
fn a_move_of_audit_entries_that_fails_loses_nothing_and_fails_no_append() {
    use dagu_auth::model::{AuditEntry, AuditQuery};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let entry = |n: usize| AuditEntry {
        id: format!("e{n}"),
        at_ms: 1_000 + n as i64,
        category: "user".into(),
        action: "login".into(),
        ..AuditEntry::default()
    };
    for n in 0..10 {
        store.append_audit(&entry(n)).expect("append");
    }
    let raw = rusqlite::Connection::open(dir.path().join("auth.db")).expect("raw");
    raw.execute(
        "INSERT INTO audit_entries (seq, at, id, category, action, user_id, username, source, \
         surface, result, correlation_id, resource_type, resource_id, workspace, credential_id, \
         credential_type, mcp_tool, details, ip_address) \
         SELECT MIN(seq), 500, 'in-the-way', 'user', 'login', '', '', '', '', '', '', '', '', '', \
         '', '', '', '', '' FROM audit_recent",
        [],
    )
    .expect("a row in the way");
    let unmoved = |raw: &rusqlite::Connection| -> i64 {
        raw.query_row("SELECT COUNT(*) FROM audit_recent", [], |row| row.get(0))
            .expect("count")
    };
    for n in 10..300 {
        store
            .append_audit(&entry(n))
            .expect("an append never fails for a move");
    }
    assert_eq!(
        unmoved(&raw),
        300,
        "no move got through while the row was in the way"
    );
    let listed = |store: &SqliteStore| -> Vec<String> {
        let query = AuditQuery {
            limit: 1_000,
            ..AuditQuery::default()
        };
        let mut ids: Vec<String> = store
            .list_audit(&query)
            .expect("list")
            .entries
            .into_iter()
            .map(|e| e.id)
            .filter(|id| id.starts_with('e'))
            .collect();
        ids.sort();
        ids
    };
    let mut expected: Vec<String> = (0..300).map(|n| format!("e{n}")).collect();
    expected.sort();
    assert_eq!(listed(&store), expected, "every entry is listed");

    raw.execute("DELETE FROM audit_entries WHERE id = 'in-the-way'", [])
        .expect("clear the way");
    for n in 300..300 + 128 {
        store.append_audit(&entry(n)).expect("append");
    }
    let moved: i64 = raw
        .query_row(
            "SELECT COUNT(*) FROM audit_entries WHERE id LIKE 'e%'",
            [],
            |row| row.get(0),
        )
        .expect("moved");
    assert!(
        moved >= 300,
        "the next move took every waiting entry: {moved}"
    );
    assert_eq!(moved + unmoved(&raw), 428, "each entry in one table only");
    expected.extend((300..300 + 128).map(|n| format!("e{n}")));
    expected.sort();
    assert_eq!(listed(&store), expected);
    let total = store
        .list_audit(&AuditQuery {
            limit: 1,
            ..AuditQuery::default()
        })
        .expect("total")
        .total;
    assert_eq!(total, 428, "and counted each once");
    assert_sound(&store);
}
