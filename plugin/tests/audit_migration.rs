//! Audit events written before Dagu's shape migrate forward with nothing lost, on SQLite and on
//! PostgreSQL. Each test builds a database with the previous schema (`tests/fixtures/
//! schema_v2_*.sql`, the schema as it was), fills it with one event of every kind the plugin
//! recorded, opens it with this version and reads every entry back.

mod pg;

use dagu_auth::model::{AuditEntry, AuditQuery};
use dagu_auth::store::{SqliteStore, Store};

const SQLITE_V2: &str = include_str!("fixtures/schema_v2_sqlite.sql");
#[cfg(feature = "postgres")]
const POSTGRES_V2: &str = include_str!("fixtures/schema_v2_postgres.sql");

/// (id, at, action, actor, target, client_ip, detail) as schema 2 stored them.
type OldEvent = (
    i64,
    i64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const OLD_EVENTS: [OldEvent; 18] = [
    (
        1,
        1_000,
        "setup_admin",
        "u-admin",
        "u-admin",
        "10.0.0.1",
        r#"{"username":"Admin"}"#,
    ),
    (2, 2_000, "login", "u-admin", "u-admin", "10.0.0.1", "{}"),
    (
        3,
        3_000,
        "user_create",
        "u-admin",
        "u-bob",
        "10.0.0.1",
        r#"{"role":"viewer","username":"bob"}"#,
    ),
    (
        4,
        4_000,
        "login_failed",
        "bob",
        "bob",
        "10.0.0.2",
        r#"{"reason":"wrong password"}"#,
    ),
    (
        5,
        5_000,
        "login_failed",
        "hunter2",
        "hunter2",
        "10.0.0.3",
        r#"{"reason":"unknown user"}"#,
    ),
    (
        6,
        6_000,
        "rate_limited",
        "bob",
        "bob",
        "10.0.0.2",
        r#"{"retryAfterSecs":30}"#,
    ),
    (
        7,
        7_000,
        "user_disable",
        "u-admin",
        "u-bob",
        "10.0.0.1",
        r#"{"isDisabled":true}"#,
    ),
    (
        8,
        8_000,
        "user_enable",
        "u-admin",
        "u-bob",
        "10.0.0.1",
        r#"{"isDisabled":false}"#,
    ),
    (
        9,
        9_000,
        "api_key_create",
        "u-admin",
        "k1",
        "10.0.0.1",
        r#"{"name":"ci","role":"admin"}"#,
    ),
    (
        10,
        10_000,
        "user_update",
        "apikey:k1",
        "u-bob",
        "10.0.0.4",
        r#"{"role":"developer"}"#,
    ),
    (
        11,
        11_000,
        "db_backup",
        "operator",
        "/backups/a.db",
        "",
        r#"{"users":2}"#,
    ),
    (
        12,
        12_000,
        "user_delete",
        "u-admin",
        "u-gone",
        "10.0.0.1",
        r#"{"username":"gone"}"#,
    ),
    (13, 13_000, "logout", "u-admin", "u-admin", "10.0.0.1", "{}"),
    (
        14,
        14_000,
        "password_change",
        "u-bob",
        "u-bob",
        "10.0.0.2",
        "{}",
    ),
    (
        15,
        14_000,
        "user_import",
        "operator",
        "u-imp",
        "",
        r#"{"username":"imp"}"#,
    ),
    (
        16,
        15_000,
        "rate_limited",
        "ghost",
        "ghost",
        "10.0.0.9",
        "{}",
    ),
    (
        17,
        16_000,
        "password_reset",
        "u-gone",
        "u-bob",
        "10.0.0.5",
        r#"{"username":"bob"}"#,
    ),
    (
        18,
        17_000,
        "api_key_delete",
        "apikey:k-gone",
        "k1",
        "10.0.0.6",
        "{}",
    ),
];

/// What each old event must become, in the same order: (category, action, user id, username,
/// source, surface, result, resource type, credential id, credential type, details).
const EXPECTED: [[&str; 11]; 18] = [
    [
        "user",
        "setup_admin",
        "u-admin",
        "Admin",
        "rest",
        "rest_api",
        "succeeded",
        "user",
        "",
        "none",
        r#"{"username":"Admin"}"#,
    ],
    [
        "user",
        "login",
        "u-admin",
        "Admin",
        "rest",
        "rest_api",
        "succeeded",
        "user",
        "",
        "none",
        "",
    ],
    [
        "user",
        "user_create",
        "u-admin",
        "Admin",
        "rest",
        "rest_api",
        "succeeded",
        "user",
        "",
        "jwt",
        r#"{"role":"viewer","username":"bob"}"#,
    ],
    // A sign-in attempt names its user only where the name typed is an account's ...
    [
        "user",
        "login_failed",
        "u-bob",
        "bob",
        "rest",
        "rest_api",
        "failed",
        "user",
        "",
        "none",
        r#"{"reason":"wrong password"}"#,
    ],
    // ... and keeps what was typed as the resource, as it was recorded.
    [
        "user",
        "login_failed",
        "",
        "",
        "rest",
        "rest_api",
        "failed",
        "user",
        "",
        "none",
        r#"{"reason":"unknown user"}"#,
    ],
    [
        "user",
        "login_failed",
        "u-bob",
        "bob",
        "rest",
        "rest_api",
        "failed",
        "user",
        "",
        "none",
        r#"{"reason":"rate_limited","retryAfterSecs":30}"#,
    ],
    [
        "user",
        "user_update",
        "u-admin",
        "Admin",
        "rest",
        "rest_api",
        "succeeded",
        "user",
        "",
        "jwt",
        r#"{"isDisabled":true}"#,
    ],
    [
        "user",
        "user_update",
        "u-admin",
        "Admin",
        "rest",
        "rest_api",
        "succeeded",
        "user",
        "",
        "jwt",
        r#"{"isDisabled":false}"#,
    ],
    [
        "api_key",
        "api_key_create",
        "u-admin",
        "Admin",
        "rest",
        "rest_api",
        "succeeded",
        "api_key",
        "",
        "jwt",
        r#"{"name":"ci","role":"admin"}"#,
    ],
    [
        "user",
        "user_update",
        "apikey:k1",
        "apikey:ci",
        "rest",
        "rest_api",
        "succeeded",
        "user",
        "k1",
        "api_key",
        r#"{"role":"developer"}"#,
    ],
    [
        "system",
        "db_backup",
        "",
        "operator",
        "cli",
        "",
        "succeeded",
        "backup",
        "",
        "none",
        r#"{"users":2}"#,
    ],
    [
        "user",
        "user_delete",
        "u-admin",
        "Admin",
        "rest",
        "rest_api",
        "succeeded",
        "user",
        "",
        "jwt",
        r#"{"username":"gone"}"#,
    ],
    [
        "user",
        "logout",
        "u-admin",
        "Admin",
        "rest",
        "rest_api",
        "succeeded",
        "user",
        "",
        "jwt",
        "",
    ],
    [
        "user",
        "password_change",
        "u-bob",
        "bob",
        "rest",
        "rest_api",
        "succeeded",
        "user",
        "",
        "jwt",
        "",
    ],
    [
        "user",
        "user_import",
        "",
        "operator",
        "cli",
        "",
        "succeeded",
        "user",
        "",
        "none",
        r#"{"username":"imp"}"#,
    ],
    [
        "user",
        "login_failed",
        "",
        "",
        "rest",
        "rest_api",
        "failed",
        "user",
        "",
        "none",
        r#"{"reason":"rate_limited"}"#,
    ],
    // A user or key deleted since keeps its id; only the name is gone.
    [
        "user",
        "password_reset",
        "u-gone",
        "",
        "rest",
        "rest_api",
        "succeeded",
        "user",
        "",
        "jwt",
        r#"{"username":"bob"}"#,
    ],
    [
        "api_key",
        "api_key_delete",
        "apikey:k-gone",
        "",
        "rest",
        "rest_api",
        "succeeded",
        "api_key",
        "k-gone",
        "api_key",
        "",
    ],
];

fn expected_entries() -> Vec<AuditEntry> {
    OLD_EVENTS
        .iter()
        .zip(EXPECTED)
        .map(|(&(id, at, _, _, target, ip, _), e)| AuditEntry {
            seq: id,
            id: id.to_string(),
            at_ms: at,
            category: e[0].into(),
            action: e[1].into(),
            user_id: e[2].into(),
            username: e[3].into(),
            source: e[4].into(),
            surface: e[5].into(),
            result: e[6].into(),
            resource_type: e[7].into(),
            resource_id: target.into(),
            credential_id: e[8].into(),
            credential_type: e[9].into(),
            details: e[10].into(),
            ip_address: ip.into(),
            ..AuditEntry::default()
        })
        .collect()
}

/// The accounts the old events name: `u-gone` and `k-gone` were deleted since.
const OLD_ACCOUNTS: &str = r#"
    INSERT INTO users (id, username, username_folded, role, workspace_access, password_hash,
                       created_at, updated_at)
    VALUES ('u-admin', 'Admin', 'admin', 'admin', '{"all":true,"grants":[]}', 'x', 1, 1),
           ('u-bob', 'bob', 'bob', 'viewer', '{"all":true,"grants":[]}', 'x', 1, 1);
    INSERT INTO api_keys (id, name, description, role, workspace_access, key_prefix, digest,
                          created_at, updated_at, created_by, extra)
    VALUES ('k1', 'ci', '', 'admin', '{"all":true,"grants":[]}', 'dagu_abc', 'd1', 1, 1,
            'u-admin', '{"allowedSurfaces":[],"attributionClass":"","serviceAccountName":null}');
"#;

/// The old events as `INSERT` statements (`overriding` for PostgreSQL's identity column).
fn old_events_sql(overriding: &str) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', "''"));
    OLD_EVENTS
        .iter()
        .map(|(id, at, action, actor, target, ip, detail)| {
            format!(
                "INSERT INTO audit_events (id, at, action, actor, target, client_ip, detail) \
                 {overriding} VALUES ({id}, {at}, {}, {}, {}, {}, {});\n",
                quote(action),
                quote(actor),
                quote(target),
                quote(ip),
                quote(detail)
            )
        })
        .collect()
}

fn everything(store: &dyn Store) -> Vec<AuditEntry> {
    let listing = store
        .list_audit(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .expect("list");
    assert_eq!(listing.total, listing.entries.len() as u64);
    listing.entries
}

/// Every old event is there, field for field, newest first (equal times by the old order), and
/// a new entry is numbered after them.
fn check_migrated(store: &dyn Store) {
    let mut expected = expected_entries();
    expected.reverse();
    let found = everything(store);
    assert_eq!(found.len(), expected.len());
    for (found, expected) in found.iter().zip(&expected) {
        assert_eq!(found, expected, "old event {}", expected.id);
    }
    let new = AuditEntry {
        id: "new".into(),
        at_ms: 1,
        category: "user".into(),
        action: "login".into(),
        ..AuditEntry::default()
    };
    store
        .append_audit(&new)
        .expect("append after the migration");
    let found = everything(store);
    let appended = found.iter().find(|entry| entry.id == "new").expect("found");
    assert_eq!(appended.seq, OLD_EVENTS.len() as i64 + 1);
}

#[test]
fn sqlite_audit_events_of_schema_2_migrate_with_every_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let conn = rusqlite::Connection::open(dir.path().join("auth.db")).expect("create");
        conn.execute_batch(SQLITE_V2).expect("schema 2");
        conn.execute_batch(OLD_ACCOUNTS).expect("accounts");
        conn.execute_batch(&old_events_sql("")).expect("old events");
        conn.pragma_update(None, "user_version", 2)
            .expect("version");
    }
    let store = SqliteStore::open(dir.path()).expect("open migrates");
    check_migrated(&store);
    assert_eq!(
        dagu_auth::store::schema_version(&dir.path().join("auth.db")),
        Ok(current_version()),
        "schema 2 migrates through every later step"
    );
    let report = dagu_auth::store::verify_database(&dir.path().join("auth.db")).expect("verify");
    assert!(report.is_ok(), "{report}");
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_audit_events_of_schema_2_migrate_with_every_field() {
    use dagu_auth::config::PostgresConfig;
    use dagu_auth::store::PostgresStore;
    let Some(schema) = pg::schema() else { return };
    schema.execute(POSTGRES_V2);
    schema.execute(
        "CREATE TABLE dagu_auth_schema (id INTEGER PRIMARY KEY CHECK (id = 1), \
         version INTEGER NOT NULL); INSERT INTO dagu_auth_schema VALUES (1, 2);",
    );
    schema.execute(OLD_ACCOUNTS);
    schema.execute(&old_events_sql("OVERRIDING SYSTEM VALUE"));
    let store = PostgresStore::open(&PostgresConfig::new(schema.url.clone())).expect("open");
    check_migrated(&store);
}

#[cfg(not(feature = "postgres"))]
#[test]
fn postgres_audit_events_of_schema_2_migrate_with_every_field() {
    pg::schema();
}

/// The schema version a new database gets.
fn current_version() -> i64 {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(SqliteStore::open(dir.path()).expect("create"));
    dagu_auth::store::schema_version(&dir.path().join("auth.db")).expect("version")
}

/// The schema version before the audit counts (`audit_counts`) were added. Two steps are newer:
/// the counts, and the table new entries land in (SQLite) with the address index; going back
/// undoes both. A step added after them must be undone in these tests too.
fn before_counts() -> i64 {
    current_version() - 2
}

/// Entries of a few kinds over three hours, and the totals by category they make.
fn entries_before_counts() -> Vec<AuditEntry> {
    (0..40i64)
        .map(|n| AuditEntry {
            id: format!("e{n}"),
            at_ms: 7_200_000 * 1_000 + n * 300_000,
            category: ["user", "dag", "system"][(n % 3) as usize].into(),
            action: ["login", "dag_execute", "db_backup"][(n % 3) as usize].into(),
            result: if n % 4 == 0 { "failed" } else { "succeeded" }.into(),
            source: "rest".into(),
            user_id: format!("u{}", n % 5),
            ..AuditEntry::default()
        })
        .collect()
}

/// Every entry is still listed, and the totals the counts give (everything, by category, by
/// result, over a window inside hours) equal the entries counted one by one.
fn check_counted(store: &dyn Store, entries: &[AuditEntry]) {
    use dagu_auth::model::AuditField;
    let listed = everything(store);
    assert_eq!(listed.len(), entries.len(), "every row is kept");
    let window = (entries[3].at_ms + 1, entries[entries.len() - 3].at_ms - 1);
    for (field, value) in [
        (AuditField::Category, "user"),
        (AuditField::Category, "dag"),
        (AuditField::Result, "failed"),
        (AuditField::Action, "db_backup"),
    ] {
        for (start_ms, end_ms) in [(None, None), (Some(window.0), Some(window.1))] {
            let expected = entries
                .iter()
                .filter(|e| start_ms.is_none_or(|s| e.at_ms >= s))
                .filter(|e| end_ms.is_none_or(|end| e.at_ms <= end))
                .filter(|e| match field {
                    AuditField::Category => e.category == value,
                    AuditField::Result => e.result == value,
                    _ => e.action == value,
                })
                .count() as u64;
            let query = AuditQuery {
                filters: vec![(field, value.into())],
                start_ms,
                end_ms,
                limit: 1,
                ..AuditQuery::default()
            };
            let total = store.list_audit(&query).expect("list").total;
            assert_eq!(
                total, expected,
                "{field:?}={value} {start_ms:?}..={end_ms:?}"
            );
        }
    }
}

#[test]
fn sqlite_audit_counts_are_built_from_the_entries_of_the_previous_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let entries = entries_before_counts();
    {
        let store = SqliteStore::open(dir.path()).expect("create");
        for entry in &entries {
            store.append_audit(entry).expect("append");
        }
    }
    {
        // Back to the version before the counts: every entry in the one table, no address
        // index, no counts, and the two indexes it had.
        let conn = rusqlite::Connection::open(dir.path().join("auth.db")).expect("open");
        conn.execute_batch(
            "INSERT INTO audit_entries SELECT * FROM audit_recent;
             DROP TABLE audit_recent;
             DROP INDEX audit_by_ip;
             DROP TABLE audit_counts;
             CREATE INDEX audit_by_category ON audit_entries (category, at);
             CREATE INDEX audit_by_action ON audit_entries (action, at);",
        )
        .expect("previous version");
        conn.pragma_update(None, "user_version", before_counts())
            .expect("version");
    }
    let store = SqliteStore::open(dir.path()).expect("open migrates");
    check_counted(&store, &entries);
    let report = dagu_auth::store::verify_database(&dir.path().join("auth.db")).expect("verify");
    assert!(report.is_ok(), "{report}");
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_audit_counts_are_built_from_the_entries_of_the_previous_version() {
    use dagu_auth::config::PostgresConfig;
    use dagu_auth::store::PostgresStore;
    let Some(schema) = pg::schema() else { return };
    let entries = entries_before_counts();
    let config = PostgresConfig::new(schema.url.clone());
    {
        let store = PostgresStore::open(&config).expect("create");
        for entry in &entries {
            store.append_audit(entry).expect("append");
        }
    }
    schema.execute(&format!(
        "DROP INDEX audit_by_ip;
         DROP TABLE audit_counts;
         CREATE INDEX audit_by_category ON audit_entries (category, at, seq);
         CREATE INDEX audit_by_action ON audit_entries (action, at, seq);
         UPDATE dagu_auth_schema SET version = {};",
        before_counts()
    ));
    let store = PostgresStore::open(&config).expect("open migrates");
    check_counted(&store, &entries);
}

#[cfg(not(feature = "postgres"))]
#[test]
fn postgres_audit_counts_are_built_from_the_entries_of_the_previous_version() {
    pg::schema();
}
