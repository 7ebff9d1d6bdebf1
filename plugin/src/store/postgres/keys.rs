//! API key rows of the PostgreSQL store.

use postgres::Client;
use postgres::error::SqlState;

use super::{PgError, PgResult, bump_change_counter, count, lock, select_one};
use crate::error::{Error, Result, msg};
use crate::model::ApiKeyRecord;
use crate::store::layout::{self, KEY_COLUMNS};
use crate::store::rules;

pub fn insert(tx: &mut Client, key: &ApiKeyRecord, max_keys: Option<u64>) -> PgResult<()> {
    rules::room_for_a_key(max_keys, || {
        // Two hosts creating keys at once must not both see room for one more.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock::API_KEYS])?;
        count(tx, "SELECT COUNT(*) FROM api_keys")
    })?;
    tx.execute(
        &format!(
            "INSERT INTO api_keys ({KEY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ),
        &[
            &key.id,
            &key.name,
            &key.description,
            &key.role.as_str(),
            &layout::access_json(&key.workspace_access)?,
            &key.key_prefix,
            &key.digest,
            &key.created_at_ms,
            &key.updated_at_ms,
            &key.created_by,
            &key.last_used_at_ms,
            &key.expires_at_ms,
            &layout::owner_column(key),
            &layout::extra_json(key)?,
        ],
    )
    .map_err(constraint)?;
    Ok(())
}

/// Read-modify-write of one key, which stays locked until the transaction ends, so concurrent
/// edits apply one after the other.
pub fn update(
    tx: &mut Client,
    id: &str,
    change: &mut dyn FnMut(&mut ApiKeyRecord) -> Result<()>,
) -> PgResult<ApiKeyRecord> {
    let mut key = select_one(
        tx,
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1 FOR UPDATE"),
        id,
        layout::api_key,
    )?
    .ok_or_else(|| Error::NotFound(msg::API_KEY_NOT_FOUND.into()))?;
    change(&mut key)?;
    // Only what a change may move: PostgreSQL infers each parameter's type from its use, so an
    // update cannot share the insert's full list the way SQLite's numbered parameters can.
    tx.execute(
        "UPDATE api_keys SET name = $2, description = $3, role = $4, workspace_access = $5, \
         updated_at = $6, expires_at = $7, owner_user_id = $8, extra = $9 WHERE id = $1",
        &[
            &key.id,
            &key.name,
            &key.description,
            &key.role.as_str(),
            &layout::access_json(&key.workspace_access)?,
            &key.updated_at_ms,
            &key.expires_at_ms,
            &layout::owner_column(&key),
            &layout::extra_json(&key)?,
        ],
    )
    .map_err(constraint)?;
    bump_change_counter(tx)?;
    Ok(key)
}

pub fn delete(tx: &mut Client, id: &str) -> PgResult<()> {
    match tx.execute("DELETE FROM api_keys WHERE id = $1", &[&id])? {
        0 => Err(Error::NotFound(msg::API_KEY_NOT_FOUND.into()).into()),
        _ => bump_change_counter(tx),
    }
}

pub fn select(client: &mut Client, column: &str, value: &str) -> PgResult<Option<ApiKeyRecord>> {
    select_one(
        client,
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE {column} = $1"),
        value,
        layout::api_key,
    )
}

pub fn list(client: &mut Client) -> PgResult<Vec<ApiKeyRecord>> {
    let rows = client.query(
        &format!(
            "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY name COLLATE \"C\", id COLLATE \"C\""
        ),
        &[],
    )?;
    Ok(rows.iter().map(layout::api_key).collect::<Result<_>>()?)
}

pub fn touch(tx: &mut Client, uses: &[(String, i64)]) -> PgResult<()> {
    let statement = tx.prepare(
        "UPDATE api_keys SET last_used_at = GREATEST(COALESCE(last_used_at, 0), $2) WHERE id = $1",
    )?;
    for (id, at) in uses {
        tx.execute(&statement, &[id, at])?;
    }
    Ok(())
}

/// The same answer as the SQLite store: a uniqueness clash is a taken name.
fn constraint(e: postgres::Error) -> PgError {
    match e.code() {
        Some(&SqlState::UNIQUE_VIOLATION) => rules::key_name_taken().into(),
        _ => PgError::Driver(e),
    }
}
