//! Session rows of the PostgreSQL store.

use postgres::Client;

use super::{PgResult, bump_change_counter, select_one};
use crate::store::Session;
use crate::store::layout::{self, SESSION_COLUMNS};

pub fn insert(tx: &mut Client, session: &Session) -> PgResult<()> {
    tx.execute(
        &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4)"),
        &[
            &session.jti,
            &session.user_id,
            &session.created_at_ms,
            &session.expires_at_ms,
        ],
    )?;
    Ok(())
}

pub fn select(client: &mut Client, jti: &str) -> PgResult<Option<Session>> {
    select_one(
        client,
        &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE jti = $1"),
        jti,
        layout::session,
    )
}

pub fn delete(tx: &mut Client, jti: &str) -> PgResult<bool> {
    let removed = tx.execute("DELETE FROM sessions WHERE jti = $1", &[&jti])? > 0;
    if removed {
        bump_change_counter(tx)?;
    }
    Ok(removed)
}

/// No bump: every host already refuses an expired session by its expiry time.
pub fn delete_expired(tx: &mut Client, now_ms: i64) -> PgResult<u64> {
    Ok(tx.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now_ms])?)
}
