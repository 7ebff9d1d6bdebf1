//! PostgreSQL schema and migrations. The one-row table `dagu_auth_schema` holds the version; all
//! pending steps run in one transaction under an advisory lock, so hosts starting together migrate
//! once, and a database newer than this code is refused.

use postgres::Client;

use super::pool::Pool;
use super::{PgError, PgResult, lock};
use crate::error::{Error, Result};
use crate::store::username_keys::{StoredName, rekey};

/// Index i holds the step from version i to i + 1. Columns follow the SQLite schema; times are
/// milliseconds since the epoch.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE users (
        id               TEXT PRIMARY KEY,
        username         TEXT NOT NULL,
        username_folded  TEXT NOT NULL UNIQUE,
        role             TEXT NOT NULL,
        workspace_access TEXT NOT NULL,
        password_hash    TEXT NOT NULL,
        disabled         BOOLEAN NOT NULL DEFAULT FALSE,
        created_at       BIGINT NOT NULL,
        updated_at       BIGINT NOT NULL
    );
    CREATE TABLE sessions (
        jti        TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX sessions_by_user ON sessions(user_id);
    CREATE INDEX sessions_by_expiry ON sessions(expires_at);
    CREATE TABLE api_keys (
        id               TEXT PRIMARY KEY,
        name             TEXT NOT NULL UNIQUE,
        description      TEXT NOT NULL,
        role             TEXT NOT NULL,
        workspace_access TEXT NOT NULL,
        key_prefix       TEXT NOT NULL,
        digest           TEXT NOT NULL UNIQUE,
        created_at       BIGINT NOT NULL,
        updated_at       BIGINT NOT NULL,
        created_by       TEXT NOT NULL,
        last_used_at     BIGINT,
        expires_at       BIGINT,
        owner_user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
        extra            TEXT NOT NULL
    );
    CREATE INDEX api_keys_by_owner ON api_keys(owner_user_id);
    CREATE TABLE audit_events (
        id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at        BIGINT NOT NULL,
        action    TEXT NOT NULL,
        actor     TEXT NOT NULL,
        target    TEXT NOT NULL,
        client_ip TEXT NOT NULL,
        detail    TEXT NOT NULL
    );
    CREATE INDEX audit_by_time ON audit_events(at);
    CREATE TABLE login_failures (
        scope TEXT NOT NULL,
        key   TEXT NOT NULL,
        at    BIGINT NOT NULL
    );
    CREATE INDEX login_failures_by_key ON login_failures(scope, key, at);
    CREATE INDEX login_failures_by_time ON login_failures(at);
    CREATE TABLE change_counter (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        value BIGINT NOT NULL
    );
    INSERT INTO change_counter (id, value) VALUES (1, 0);
"#,
    // The list order of the store (byte order): without it every page of `GET /users` sorted the
    // whole table (~20 ms at 100,000 users, against ~0.1 ms with it).
    r#"
    CREATE INDEX users_in_list_order ON users (username_folded COLLATE "C", id COLLATE "C");
"#,
    // Dagu's audit entries (see `store/audit_upgrade.rs` for how old rows map). The old ids carry
    // on as `seq`, and the identity continues after the largest. Each index ends with the time and
    // `seq`, the listing order, so a filtered page is read in order from one index; the sparse
    // columns are indexed only where set.
    concat!(
        r#"
    CREATE TABLE audit_entries (
        seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at              BIGINT NOT NULL,
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
    );
    INSERT INTO audit_entries (seq, at, id, category, action, user_id, username, source, surface,
        result, correlation_id, resource_type, resource_id, workspace, credential_id,
        credential_type, mcp_tool, details, ip_address)
    OVERRIDING SYSTEM VALUE
"#,
        audit_rows_of_schema_2!(),
        r#"
    ORDER BY e.id;
    SELECT setval(pg_get_serial_sequence('audit_entries', 'seq'),
                  COALESCE((SELECT max(seq) FROM audit_entries), 0) + 1, false);
    DROP TABLE audit_events;
    CREATE INDEX audit_by_time ON audit_entries (at, seq);
    CREATE INDEX audit_by_category ON audit_entries (category, at, seq);
    CREATE INDEX audit_by_action ON audit_entries (action, at, seq);
    CREATE INDEX audit_by_user ON audit_entries (user_id, at, seq);
    CREATE INDEX audit_by_resource ON audit_entries (resource_id, at, seq) WHERE resource_id <> '';
    CREATE INDEX audit_by_credential ON audit_entries (credential_id, at, seq)
        WHERE credential_id <> '';
    CREATE INDEX audit_by_correlation ON audit_entries (correlation_id, at, seq)
        WHERE correlation_id <> '';
    CREATE INDEX audit_by_workspace ON audit_entries (workspace, at, seq) WHERE workspace <> '';
    CREATE INDEX audit_unsucceeded ON audit_entries (result, at, seq) WHERE result <> 'succeeded';
"#
    ),
    // API keys outlive their owner, as in Dagu: the owner column loses its foreign key and the
    // index only the cascade used. Each owned key gets the snapshot of its owner's username that
    // Dagu lists as `ownerUsername`.
    r#"
    ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_owner_user_id_fkey;
    DROP INDEX IF EXISTS api_keys_by_owner;
    UPDATE api_keys
        SET extra = jsonb_set(extra::jsonb, '{ownerUsername}', to_jsonb(users.username))::text
        FROM users
        WHERE users.id = api_keys.owner_user_id;
"#,
    // Session controls: where a session was signed in from, and its last use (batched; a row from
    // before this step counts as last used when it was created).
    r#"
    ALTER TABLE sessions ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
    ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
    UPDATE sessions SET last_used_at = created_at;
"#,
    // Usernames under PRECIS and UTS #39 (README, "Usernames"), as in the SQLite store: the
    // column, its unique index and the queue that `rekey_pending_usernames` works off in Rust.
    r#"
    ALTER TABLE users ADD COLUMN username_skeleton TEXT;
    CREATE UNIQUE INDEX users_by_skeleton ON users (username_skeleton);
    CREATE TABLE username_rekey_pending (id TEXT PRIMARY KEY);
    INSERT INTO username_rekey_pending SELECT id FROM users;
"#,
    // Two-factor sign-in (TOTP, recovery codes, the pending sign-in challenge) as one JSON column
    // of the user, so it changes in the user's own transaction; empty for users without it.
    r#"
    ALTER TABLE users ADD COLUMN mfa TEXT NOT NULL DEFAULT '';
"#,
    // SSO users: the provider that signed them in and the identity that finds them again. The
    // unique index holds across hosts, so two hosts provisioning one new identity at the same
    // moment make one account.
    r#"
    ALTER TABLE users ADD COLUMN auth_provider TEXT NOT NULL DEFAULT 'builtin';
    ALTER TABLE users ADD COLUMN sso_issuer TEXT;
    ALTER TABLE users ADD COLUMN sso_subject TEXT;
    CREATE UNIQUE INDEX users_by_sso_identity ON users (auth_provider, sso_issuer, sso_subject)
        WHERE sso_subject IS NOT NULL;
"#,
    // The audit trail's hourly counts (`store/audit_counts.rs`), kept with every insert and prune,
    // so a total by category, action or the other few-valued fields is a sum of a few rows per
    // hour. Category and action lose their indexes: their totals come from the counts, their
    // pages from the time index.
    r#"
    CREATE TABLE audit_counts (
        hour            BIGINT NOT NULL,
        category        TEXT NOT NULL,
        action          TEXT NOT NULL,
        result          TEXT NOT NULL,
        source          TEXT NOT NULL,
        surface         TEXT NOT NULL,
        credential_type TEXT NOT NULL,
        resource_type   TEXT NOT NULL,
        mcp_tool        TEXT NOT NULL,
        n               BIGINT NOT NULL,
        PRIMARY KEY (hour, category, action, result, source, surface, credential_type,
                     resource_type, mcp_tool)
    );
    INSERT INTO audit_counts (hour, category, action, result, source, surface, credential_type,
                              resource_type, mcp_tool, n)
        SELECT floor(at / 3600000.0)::bigint, category, action, result, source, surface,
               credential_type, resource_type, mcp_tool, COUNT(*)
        FROM audit_entries
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
    DROP INDEX audit_by_category;
    DROP INDEX audit_by_action;
"#,
    // The client address gets an index, as on SQLite (whose schema step of the same number also
    // adds the table recent entries land in; PostgreSQL writes each entry where it stays).
    r#"
    CREATE INDEX audit_by_ip ON audit_entries (ip_address, at, seq) WHERE ip_address <> '';
"#,
];

pub const CURRENT_VERSION: i32 = MIGRATIONS.len() as i32;

pub fn migrate(pool: &Pool) -> Result<()> {
    let mut conn = pool.get()?;
    migrate_on(conn.client()).map_err(|error| match error {
        PgError::Driver(e) => pool.error(&e),
        PgError::Settled(e) => e,
    })
}

fn migrate_on(client: &mut Client) -> PgResult<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock::MIGRATE])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS dagu_auth_schema (
             id      INTEGER PRIMARY KEY CHECK (id = 1),
             version INTEGER NOT NULL
         );
         INSERT INTO dagu_auth_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;",
    )?;
    let found: i32 = tx
        .query_one("SELECT version FROM dagu_auth_schema WHERE id = 1", &[])?
        .try_get(0)?;
    if found > CURRENT_VERSION {
        return Err(PgError::Settled(Error::Storage(format!(
            "the database has schema version {found}, newer than this dagu-auth supports \
             ({CURRENT_VERSION}); upgrade dagu-auth on every host or restore an older backup"
        ))));
    }
    for step in MIGRATIONS.iter().skip(found.max(0) as usize) {
        tx.batch_execute(step)?;
    }
    rekey_pending_usernames(&mut tx)?;
    tx.execute(
        "UPDATE dagu_auth_schema SET version = $1 WHERE id = 1",
        &[&CURRENT_VERSION],
    )?;
    tx.commit()?;
    Ok(())
}

/// Recomputes every user's account key and skeleton when the schema step above queued them, in
/// the migration's transaction.
fn rekey_pending_usernames(tx: &mut postgres::Transaction<'_>) -> PgResult<()> {
    let pending: Option<String> = tx
        .query_one("SELECT to_regclass('username_rekey_pending')::text", &[])?
        .try_get(0)?;
    if pending.is_none() {
        return Ok(());
    }
    let rows = tx
        .query(
            "SELECT id, username, username_folded FROM users \
             ORDER BY created_at, id COLLATE \"C\"",
            &[],
        )?
        .iter()
        .map(|row| {
            Ok(StoredName {
                id: row.try_get(0)?,
                username: row.try_get(1)?,
                old_key: row.try_get(2)?,
            })
        })
        .collect::<std::result::Result<Vec<_>, postgres::Error>>()?;
    // Every key is moved out of the way first, so no update clashes with a key about to move.
    tx.batch_execute("UPDATE users SET username_folded = chr(1) || id, username_skeleton = NULL;")?;
    for row in rekey(&rows) {
        tx.execute(
            "UPDATE users SET username_folded = $2, username_skeleton = $3 WHERE id = $1",
            &[&row.id, &row.key, &row.skeleton],
        )?;
    }
    tx.batch_execute("DROP TABLE username_rekey_pending;")?;
    Ok(())
}
