//! Schema and migrations. `PRAGMA user_version` is the schema version; each step runs in one
//! transaction, and a database newer than this code is refused.

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::store::username_keys::{StoredName, rekey};

/// The columns of an audit entry, the same in `audit_entries` and `audit_recent` (a move copies
/// rows from one to the other whole). Part of migrations already applied: never edit it; a new
/// column is a new step that alters both tables. PostgreSQL writes its own (`BIGINT`, identity),
/// in its own history of steps.
macro_rules! audit_entry_columns {
    () => {
        "
        seq             INTEGER PRIMARY KEY,
        at              INTEGER NOT NULL,
        id              TEXT NOT NULL,
        category        TEXT NOT NULL,
        action          TEXT NOT NULL,
        user_id         TEXT NOT NULL,
        username        TEXT NOT NULL,
        source          TEXT NOT NULL,
        surface         TEXT NOT NULL,
        result          TEXT NOT NULL,
        correlation_id  TEXT NOT NULL,
        resource_type   TEXT NOT NULL,
        resource_id     TEXT NOT NULL,
        workspace       TEXT NOT NULL,
        credential_id   TEXT NOT NULL,
        credential_type TEXT NOT NULL,
        mcp_tool        TEXT NOT NULL,
        details         TEXT NOT NULL,
        ip_address      TEXT NOT NULL
    "
    };
}

/// Index i holds the step from version i to i + 1.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE users (
        id               TEXT PRIMARY KEY,
        username         TEXT NOT NULL,
        username_folded  TEXT NOT NULL UNIQUE,
        role             TEXT NOT NULL,
        workspace_access TEXT NOT NULL,
        password_hash    TEXT NOT NULL,
        disabled         INTEGER NOT NULL DEFAULT 0,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE sessions (
        jti        TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX sessions_by_user ON sessions(user_id);
    CREATE INDEX sessions_by_expiry ON sessions(expires_at);
"#,
    r#"
    CREATE TABLE api_keys (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        description   TEXT NOT NULL,
        role          TEXT NOT NULL,
        workspace_access TEXT NOT NULL,
        key_prefix    TEXT NOT NULL,
        digest        TEXT NOT NULL UNIQUE,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        created_by    TEXT NOT NULL,
        last_used_at  INTEGER,
        expires_at    INTEGER,
        owner_user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
        extra         TEXT NOT NULL
    ) STRICT;
    CREATE INDEX api_keys_by_owner ON api_keys(owner_user_id);
    CREATE TABLE audit_events (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        at        INTEGER NOT NULL,
        action    TEXT NOT NULL,
        actor     TEXT NOT NULL,
        target    TEXT NOT NULL,
        client_ip TEXT NOT NULL,
        detail    TEXT NOT NULL
    ) STRICT;
    CREATE INDEX audit_by_time ON audit_events(at);
"#,
    // Dagu's audit entries (see `store/audit_upgrade.rs` for how old rows map). No AUTOINCREMENT:
    // `seq` only orders entries, and the sqlite_sequence row it would update is one more page
    // written per entry. Indexes lead with a filter and end with the time, so one equality and a
    // time range read a page and count the total from one index; the sparse columns are indexed
    // only where set, so an entry without them costs nothing there.
    concat!(
        r#"
    CREATE TABLE audit_entries ("#,
        audit_entry_columns!(),
        r#") STRICT;
    INSERT INTO audit_entries (seq, at, id, category, action, user_id, username, source, surface,
        result, correlation_id, resource_type, resource_id, workspace, credential_id,
        credential_type, mcp_tool, details, ip_address)
"#,
        audit_rows_of_schema_2!(),
        r#"
    ORDER BY e.id;
    DROP TABLE audit_events;
    CREATE INDEX audit_by_time ON audit_entries (at);
    CREATE INDEX audit_by_category ON audit_entries (category, at);
    CREATE INDEX audit_by_action ON audit_entries (action, at);
    CREATE INDEX audit_by_user ON audit_entries (user_id, at);
    CREATE INDEX audit_by_resource ON audit_entries (resource_id, at) WHERE resource_id <> '';
    CREATE INDEX audit_by_credential ON audit_entries (credential_id, at) WHERE credential_id <> '';
    CREATE INDEX audit_by_correlation ON audit_entries (correlation_id, at)
        WHERE correlation_id <> '';
    CREATE INDEX audit_by_workspace ON audit_entries (workspace, at) WHERE workspace <> '';
    CREATE INDEX audit_unsucceeded ON audit_entries (result, at) WHERE result <> 'succeeded';
"#
    ),
    // API keys outlive their owner, as in Dagu: the owner column loses its foreign key (SQLite
    // drops one only by rebuilding the table) and its index, which only the cascade used. Each
    // owned key gets the snapshot of its owner's username that Dagu lists as `ownerUsername`.
    r#"
    CREATE TABLE api_keys_outliving_owners (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        description   TEXT NOT NULL,
        role          TEXT NOT NULL,
        workspace_access TEXT NOT NULL,
        key_prefix    TEXT NOT NULL,
        digest        TEXT NOT NULL UNIQUE,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        created_by    TEXT NOT NULL,
        last_used_at  INTEGER,
        expires_at    INTEGER,
        owner_user_id TEXT,
        extra         TEXT NOT NULL
    ) STRICT;
    INSERT INTO api_keys_outliving_owners
        SELECT id, name, description, role, workspace_access, key_prefix, digest, created_at,
               updated_at, created_by, last_used_at, expires_at, owner_user_id, extra
        FROM api_keys;
    DROP TABLE api_keys;
    ALTER TABLE api_keys_outliving_owners RENAME TO api_keys;
    UPDATE api_keys
        SET extra = json_set(extra, '$.ownerUsername',
                             (SELECT username FROM users WHERE users.id = api_keys.owner_user_id))
        WHERE owner_user_id IN (SELECT id FROM users);
"#,
    // Session controls: where a session was signed in from, and its last use (batched; a row from
    // before this step counts as last used when it was created).
    r#"
    ALTER TABLE sessions ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
    ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
    UPDATE sessions SET last_used_at = created_at;
"#,
    // Usernames under PRECIS and UTS #39 (README, "Usernames"): the confusable skeleton of each
    // name is unique as well. SQL cannot compute either, so this step adds the column and queues
    // every existing row; `rekey_pending_usernames` recomputes keys and skeletons in Rust after
    // the steps, in its own transaction, and drops the queue.
    r#"
    ALTER TABLE users ADD COLUMN username_skeleton TEXT;
    CREATE UNIQUE INDEX users_by_skeleton ON users (username_skeleton);
    CREATE TABLE username_rekey_pending (id TEXT PRIMARY KEY) STRICT;
    INSERT INTO username_rekey_pending SELECT id FROM users;
"#,
    // Two-factor sign-in (TOTP, recovery codes, the pending sign-in challenge) as one JSON column
    // of the user, so it changes in the user's own transaction; empty for users without it.
    r#"
    ALTER TABLE users ADD COLUMN mfa TEXT NOT NULL DEFAULT '';
"#,
    // SSO users: the provider that signed them in and the identity that finds them again,
    // unique per provider, so one identity never becomes two accounts.
    r#"
    ALTER TABLE users ADD COLUMN auth_provider TEXT NOT NULL DEFAULT 'builtin';
    ALTER TABLE users ADD COLUMN sso_issuer TEXT;
    ALTER TABLE users ADD COLUMN sso_subject TEXT;
    CREATE UNIQUE INDEX users_by_sso_identity ON users (auth_provider, sso_issuer, sso_subject)
        WHERE sso_subject IS NOT NULL;
"#,
    // The audit trail's hourly counts (`store/audit_counts.rs`), kept with every insert and prune,
    // so a total by category, action or the other few-valued fields is a sum of a few rows per
    // hour. Category and action lose their indexes, which cost every insert two more index
    // writes: their totals come from the counts, their pages from the time index. The hour is
    // rounded down, also before 1970 (SQLite's `/` rounds towards zero).
    r#"
    CREATE TABLE audit_counts (
        hour            INTEGER NOT NULL,
        category        TEXT NOT NULL,
        action          TEXT NOT NULL,
        result          TEXT NOT NULL,
        source          TEXT NOT NULL,
        surface         TEXT NOT NULL,
        credential_type TEXT NOT NULL,
        resource_type   TEXT NOT NULL,
        mcp_tool        TEXT NOT NULL,
        n               INTEGER NOT NULL,
        PRIMARY KEY (hour, category, action, result, source, surface, credential_type,
                     resource_type, mcp_tool)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO audit_counts (hour, category, action, result, source, surface, credential_type,
                              resource_type, mcp_tool, n)
        SELECT at / 3600000 - (at < 0 AND at % 3600000 <> 0), category, action, result, source,
               surface, credential_type, resource_type, mcp_tool, COUNT(*)
        FROM audit_entries
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
    DROP INDEX audit_by_category;
    DROP INDEX audit_by_action;
"#,
    // New audit entries land in `audit_recent`, which has no index and no counts, so recording
    // one writes one b-tree; every `sqlite::audit::MOVE_AT` entries they move into
    // `audit_entries` in one go, where the index and count writes of the whole batch share their
    // pages (`store/sqlite/audit.rs`). Listings read both tables. With the index writes off the
    // caller's path, the client address gets an index of its own.
    concat!(
        "CREATE TABLE audit_recent (",
        audit_entry_columns!(),
        r#") STRICT;
    CREATE INDEX audit_by_ip ON audit_entries (ip_address, at) WHERE ip_address <> '';
"#
    ),
];

pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(Error::storage)?;
    if found > CURRENT_VERSION {
        return Err(Error::Storage(format!(
            "the database has schema version {found}, newer than this dagu-auth supports \
             ({CURRENT_VERSION}); upgrade dagu-auth or restore an older backup"
        )));
    }
    for (index, step) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(Error::storage)?;
        // Another process may have migrated while we waited for the write lock.
        let now: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(Error::storage)?;
        if now > index as i64 {
            continue;
        }
        tx.execute_batch(step).map_err(Error::storage)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)
            .map_err(Error::storage)?;
        tx.commit().map_err(Error::storage)?;
    }
    rekey_pending_usernames(conn)
}

/// Recomputes every user's account key and skeleton when the schema step above queued them; a
/// crash before the commit leaves the queue for the next open.
fn rekey_pending_usernames(conn: &mut Connection) -> Result<()> {
    let queued = |conn: &Connection| {
        conn.query_row(
            "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'username_rekey_pending'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .map_err(Error::storage)
    };
    // Every open passes here: a plain read first, so an open takes the write lock only when
    // there is re-keying to do.
    if queued(conn)? == 0 {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(Error::storage)?;
    // Another process may have re-keyed while we waited for the write lock.
    if queued(&tx)? == 0 {
        return Ok(());
    }
    let rows = {
        let mut stmt = tx
            .prepare("SELECT id, username, username_folded FROM users ORDER BY created_at, id")
            .map_err(Error::storage)?;
        let rows = stmt
            .query_map([], |row| {
                Ok(StoredName {
                    id: row.get(0)?,
                    username: row.get(1)?,
                    old_key: row.get(2)?,
                })
            })
            .map_err(Error::storage)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(Error::storage)?
    };
    // Every key is moved out of the way first, so no update clashes with a key about to move.
    tx.execute_batch("UPDATE users SET username_folded = char(1) || id, username_skeleton = NULL;")
        .map_err(Error::storage)?;
    for row in rekey(&rows) {
        tx.execute(
            "UPDATE users SET username_folded = ?2, username_skeleton = ?3 WHERE id = ?1",
            rusqlite::params![row.id, row.key, row.skeleton],
        )
        .map_err(Error::storage)?;
    }
    tx.execute_batch("DROP TABLE username_rekey_pending;")
        .map_err(Error::storage)?;
    tx.commit().map_err(Error::storage)
}
