//! Session rows of the SQLite store.

use rusqlite::{Connection, Transaction, params};

use super::{select_one, sql_error};
use crate::error::Result;
use crate::store::Session;
use crate::store::layout::{self, SESSION_COLUMNS};

pub fn insert(tx: &Transaction<'_>, session: &Session) -> Result<()> {
    tx.execute(
        &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4)"),
        params![
            session.jti,
            session.user_id,
            session.created_at_ms,
            session.expires_at_ms
        ],
    )
    .map_err(sql_error)?;
    Ok(())
}

pub fn select(conn: &Connection, jti: &str) -> rusqlite::Result<Option<Result<Session>>> {
    select_one(
        conn,
        &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE jti = ?1"),
        jti,
        |row| layout::session(row),
    )
}

pub fn delete(tx: &Transaction<'_>, jti: &str) -> Result<bool> {
    Ok(tx
        .execute("DELETE FROM sessions WHERE jti = ?1", [jti])
        .map_err(sql_error)?
        > 0)
}

pub fn delete_expired(tx: &Transaction<'_>, now_ms: i64) -> Result<u64> {
    let removed = tx
        .execute("DELETE FROM sessions WHERE expires_at <= ?1", [now_ms])
        .map_err(sql_error)?;
    Ok(removed as u64)
}
