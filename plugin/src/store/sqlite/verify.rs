//! Verification of a whole database: SQLite's own `integrity_check` plus the invariants the Engine
//! relies on. The store's tests end with it, and an operator command can run the same function.
//!
//! It opens its own connection (read-only by pragma) so it can check a file no store has open, and
//! it reports every problem it finds rather than stopping at the first.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::SqliteStore;
use crate::error::{Error, Result};
use crate::store::VerifyReport;
use crate::store::layout::role_and_access;
use crate::store::rules::COUNT_ENABLED_ADMINS;
use crate::store::username_keys;

impl SqliteStore {
    /// Verifies this store's file (see [`verify_database`]).
    pub fn verify(&self) -> Result<VerifyReport> {
        verify_database(self.path())
    }
}

/// Checks the database file at `path`. `Err` only when the file cannot be opened or read at all;
/// damage and broken invariants are listed in the report.
pub fn verify_database(path: &Path) -> Result<VerifyReport> {
    // No CREATE flag: verifying a missing file must not leave an empty database behind.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::Storage(format!("cannot open {}: {e}", path.display())))?;
    let unreadable =
        |e: rusqlite::Error| Error::Storage(format!("cannot read {}: {e}", path.display()));
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(unreadable)?;
    conn.pragma_update(None, "query_only", "ON")
        .map_err(unreadable)?;

    let mut report = VerifyReport::default();
    let integrity = strings(&conn, "PRAGMA integrity_check").map_err(unreadable)?;
    if integrity != ["ok"] {
        report.problems.extend(
            integrity
                .into_iter()
                .map(|line| format!("integrity: {line}")),
        );
        // The invariant queries below would only repeat the damage in other words.
        return Ok(report);
    }
    check_invariants(&conn, &mut report).map_err(unreadable)?;
    Ok(report)
}

fn check_invariants(conn: &Connection, report: &mut VerifyReport) -> rusqlite::Result<()> {
    let users: i64 = conn.query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))?;
    let admins: i64 = conn.query_row(COUNT_ENABLED_ADMINS, [], |row| row.get(0))?;
    if users > 0 && admins == 0 {
        report
            .problems
            .push(format!("{users} users but no enabled admin"));
    }
    for (table, label) in [("users", "user"), ("api_keys", "API key")] {
        let rows = rows3(
            conn,
            &format!("SELECT id, role, workspace_access FROM {table} ORDER BY id"),
        )?;
        for (id, role, access) in rows {
            if let Err(problem) = check_access(&role, &access) {
                report.problems.push(format!("{label} {id}: {problem}"));
            }
        }
    }
    for jti in strings(
        conn,
        "SELECT jti FROM sessions WHERE user_id NOT IN (SELECT id FROM users) ORDER BY jti",
    )? {
        report
            .problems
            .push(format!("session {jti} belongs to a missing user"));
    }
    check_usernames(conn, report)
}

/// Names that break the username rules or clash with an older user's, as the migration to them
/// left them (it never merges accounts): each is reported until an admin renames it. A file from
/// before that migration has no skeletons yet and is not judged on them.
fn check_usernames(conn: &Connection, report: &mut VerifyReport) -> rusqlite::Result<()> {
    let has_skeletons: i64 = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('users') WHERE name = 'username_skeleton'",
        [],
        |row| row.get(0),
    )?;
    if has_skeletons == 0 {
        return Ok(());
    }
    let mut stmt = conn.prepare(
        "SELECT id, username, username_folded, username_skeleton FROM users \
         ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<String>>(3)?,
        ))
    })?;
    for row in rows {
        let (id, username, key, skeleton) = row?;
        report.problems.extend(username_keys::problems(
            &id,
            &username,
            &key,
            skeleton.as_deref(),
        ));
    }
    Ok(())
}

/// A stored role and access must still pass the rules a create or update enforces.
fn check_access(role: &str, access: &str) -> std::result::Result<(), String> {
    let (role, access) = role_and_access(role, access)?;
    access
        .validate(role)
        .map_err(|e| format!("invalid workspace access: {e}"))
}

fn strings(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |row| row.get(0))?;
    rows.collect()
}

fn rows3(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    rows.collect()
}
