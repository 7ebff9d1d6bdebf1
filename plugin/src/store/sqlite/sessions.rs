//! Session rows of the SQLite store.

use rusqlite::{Connection, ToSql, Transaction, params};

use super::{select_one, sql_error};
use crate::error::Result;
use crate::store::Session;
use crate::store::layout::{self, SESSION_COLUMNS};

pub fn insert(tx: &Transaction<'_>, session: &Session) -> Result<()> {
    tx.execute(
        &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        &values(session)[..],
    )
    .map_err(sql_error)?;
    Ok(())
}

/// [`insert`], only while the user is enabled and has `password_hash`; whether it was inserted.
pub fn insert_while_current(
    tx: &Transaction<'_>,
    session: &Session,
    password_hash: &str,
) -> Result<bool> {
    let mut params = values(session).to_vec();
    params.push(&password_hash);
    let inserted = tx
        .execute(
            &format!(
                "INSERT INTO sessions ({SESSION_COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 \
                 WHERE EXISTS (SELECT 1 FROM users \
                               WHERE id = ?2 AND disabled = 0 AND password_hash = ?8)"
            ),
            params.as_slice(),
        )
        .map_err(sql_error)?;
    Ok(inserted == 1)
}

/// A session's values in `SESSION_COLUMNS` order.
fn values(session: &Session) -> [&dyn ToSql; 7] {
    [
        &session.jti,
        &session.user_id,
        &session.created_at_ms,
        &session.expires_at_ms,
        &session.last_used_at_ms,
        &session.client_ip,
        &session.user_agent,
    ]
}

pub fn select(conn: &Connection, jti: &str) -> rusqlite::Result<Option<Result<Session>>> {
    select_one(
        conn,
        &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE jti = ?1"),
        jti,
        |row| layout::session(row),
    )
}

pub fn of_user(conn: &Connection, user_id: &str) -> rusqlite::Result<Vec<Result<Session>>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ?1 ORDER BY created_at, jti"
    ))?;
    let rows = stmt.query_map([user_id], |row| Ok(layout::session(row)))?;
    rows.collect()
}

pub fn delete(tx: &Transaction<'_>, jti: &str) -> Result<bool> {
    Ok(tx
        .execute("DELETE FROM sessions WHERE jti = ?1", [jti])
        .map_err(sql_error)?
        > 0)
}

/// `keep` is compared as text: NULL (no session kept) matches no row.
pub fn delete_of_user(tx: &Transaction<'_>, user_id: &str, keep: Option<&str>) -> Result<u64> {
    let removed = tx
        .execute(
            "DELETE FROM sessions WHERE user_id = ?1 AND jti IS NOT ?2",
            params![user_id, keep],
        )
        .map_err(sql_error)?;
    Ok(removed as u64)
}

pub fn delete_expired(tx: &Transaction<'_>, now_ms: i64) -> Result<u64> {
    let removed = tx
        .execute("DELETE FROM sessions WHERE expires_at <= ?1", [now_ms])
        .map_err(sql_error)?;
    Ok(removed as u64)
}

pub fn delete_idle(tx: &Transaction<'_>, before_ms: i64) -> Result<u64> {
    let removed = tx
        .execute("DELETE FROM sessions WHERE last_used_at < ?1", [before_ms])
        .map_err(sql_error)?;
    Ok(removed as u64)
}

/// A use never moves the time back: batches from several hosts arrive in any order.
pub fn touch(tx: &Transaction<'_>, uses: &[(String, i64)]) -> Result<()> {
    let mut stmt = tx
        .prepare_cached("UPDATE sessions SET last_used_at = MAX(last_used_at, ?2) WHERE jti = ?1")
        .map_err(sql_error)?;
    for (jti, at) in uses {
        stmt.execute(params![jti, at]).map_err(sql_error)?;
    }
    Ok(())
}
