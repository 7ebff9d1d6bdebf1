//! Session rows of the PostgreSQL store.

use postgres::Client;
use postgres::types::ToSql;

use super::{PgResult, bump_change_counter, select_one};
use crate::error::Result;
use crate::store::Session;
use crate::store::layout::{self, SESSION_COLUMNS};

pub fn insert(tx: &mut Client, session: &Session) -> PgResult<()> {
    tx.execute(
        &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        &values(session),
    )?;
    Ok(())
}

/// [`insert`], only while the user is enabled and has `password_hash`; whether it was inserted.
/// `FOR SHARE` makes the check wait for a change of the user still being committed: under READ
/// COMMITTED the plain subquery would read the old row and insert beside a reset whose deletion
/// of the user's sessions could not see this one. A reset that comes later waits for this
/// insert instead, and its deletion then takes the session with it.
pub fn insert_while_current(
    tx: &mut Client,
    session: &Session,
    password_hash: &str,
) -> PgResult<bool> {
    let mut params = values(session).to_vec();
    params.push(&password_hash);
    let inserted = tx.execute(
        &format!(
            "INSERT INTO sessions ({SESSION_COLUMNS}) \
             SELECT $1::TEXT, $2::TEXT, $3::BIGINT, $4::BIGINT, $5::BIGINT, $6::TEXT, $7::TEXT \
             WHERE EXISTS (SELECT 1 FROM users \
                           WHERE id = $2 AND NOT disabled AND password_hash = $8 FOR SHARE)"
        ),
        &params,
    )?;
    Ok(inserted == 1)
}

/// A session's values in `SESSION_COLUMNS` order.
fn values(session: &Session) -> [&(dyn ToSql + Sync); 7] {
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

pub fn select(client: &mut Client, jti: &str) -> PgResult<Option<Session>> {
    select_one(
        client,
        &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE jti = $1"),
        jti,
        layout::session,
    )
}

pub fn of_user(client: &mut Client, user_id: &str) -> PgResult<Vec<Session>> {
    let rows = client.query(
        &format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 \
             ORDER BY created_at, jti COLLATE \"C\""
        ),
        &[&user_id],
    )?;
    Ok(rows.iter().map(layout::session).collect::<Result<_>>()?)
}

pub fn delete(tx: &mut Client, jti: &str) -> PgResult<bool> {
    let removed = tx.execute("DELETE FROM sessions WHERE jti = $1", &[&jti])? > 0;
    if removed {
        bump_change_counter(tx)?;
    }
    Ok(removed)
}

/// Other hosts may hold these sessions in their caches: announced like any revocation.
pub fn delete_of_user(tx: &mut Client, user_id: &str, keep: Option<&str>) -> PgResult<u64> {
    let removed = tx.execute(
        "DELETE FROM sessions WHERE user_id = $1 AND jti IS DISTINCT FROM $2",
        &[&user_id, &keep],
    )?;
    if removed > 0 {
        bump_change_counter(tx)?;
    }
    Ok(removed)
}

/// No bump: every host already refuses an expired session by its expiry time.
pub fn delete_expired(tx: &mut Client, now_ms: i64) -> PgResult<u64> {
    Ok(tx.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now_ms])?)
}

/// Announced: a host whose cache saw a use the store has not (a touch still in flight) would
/// otherwise keep a session the sweep just ended.
pub fn delete_idle(tx: &mut Client, before_ms: i64) -> PgResult<u64> {
    let removed = tx.execute(
        "DELETE FROM sessions WHERE last_used_at < $1",
        &[&before_ms],
    )?;
    if removed > 0 {
        bump_change_counter(tx)?;
    }
    Ok(removed)
}

/// A use never moves the time back: batches from several hosts arrive in any order.
pub fn touch(tx: &mut Client, uses: &[(String, i64)]) -> PgResult<()> {
    let statement =
        tx.prepare("UPDATE sessions SET last_used_at = GREATEST(last_used_at, $2) WHERE jti = $1")?;
    for (jti, at) in uses {
        tx.execute(&statement, &[jti, at])?;
    }
    Ok(())
}
