//! API key rows of the SQLite store.

use rusqlite::{Connection, Transaction, params};

use super::{count, select_one, sql_error};
use crate::error::{Error, Result, msg};
use crate::model::ApiKeyRecord;
use crate::store::layout::{self, KEY_COLUMNS};
use crate::store::rules;

pub fn insert(tx: &Transaction<'_>, key: &ApiKeyRecord, max_keys: Option<u64>) -> Result<()> {
    rules::room_for_a_key(max_keys, || {
        tx.query_row("SELECT COUNT(*) FROM api_keys", [], count)
            .map_err(sql_error)
    })?;
    write(
        tx,
        &format!(
            "INSERT INTO api_keys ({KEY_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        key,
    )
}

/// The columns a change may move; the parameter numbers are positions in `KEY_COLUMNS`.
const UPDATE: &str = "UPDATE api_keys SET name = ?2, description = ?3, role = ?4, \
     workspace_access = ?5, updated_at = ?9, expires_at = ?12, owner_user_id = ?13, extra = ?14 \
     WHERE id = ?1";

pub fn update(
    tx: &Transaction<'_>,
    id: &str,
    change: &mut dyn FnMut(&mut ApiKeyRecord) -> Result<()>,
) -> Result<ApiKeyRecord> {
    let mut key = select(tx, "id", id)
        .map_err(sql_error)?
        .transpose()?
        .ok_or_else(|| Error::NotFound(msg::API_KEY_NOT_FOUND.into()))?;
    change(&mut key)?;
    write(tx, UPDATE, &key)?;
    Ok(key)
}

pub fn delete(tx: &Transaction<'_>, id: &str) -> Result<()> {
    match tx
        .execute("DELETE FROM api_keys WHERE id = ?1", [id])
        .map_err(sql_error)?
    {
        0 => Err(Error::NotFound(msg::API_KEY_NOT_FOUND.into())),
        _ => Ok(()),
    }
}

pub fn select(
    conn: &Connection,
    column: &str,
    value: &str,
) -> rusqlite::Result<Option<Result<ApiKeyRecord>>> {
    select_one(
        conn,
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE {column} = ?1"),
        value,
        |row| layout::api_key(row),
    )
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Result<ApiKeyRecord>>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY name, id"
    ))?;
    let rows = stmt.query_map([], |row| Ok(layout::api_key(row)))?;
    rows.collect()
}

pub fn touch(tx: &Transaction<'_>, uses: &[(String, i64)]) -> Result<()> {
    let mut stmt = tx
        .prepare_cached(
            "UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?2) WHERE id = ?1",
        )
        .map_err(sql_error)?;
    for (id, at) in uses {
        stmt.execute(params![id, at]).map_err(sql_error)?;
    }
    Ok(())
}

/// Runs `sql` with every column of `key` bound as ?1 to ?14 in `KEY_COLUMNS` order; SQLite lets a
/// statement leave numbered parameters unused, so the insert and the update share one list.
fn write(tx: &Transaction<'_>, sql: &str, key: &ApiKeyRecord) -> Result<()> {
    tx.execute(
        sql,
        params![
            key.id,
            key.name,
            key.description,
            key.role.as_str(),
            layout::access_json(&key.workspace_access)?,
            key.key_prefix,
            key.digest,
            key.created_at_ms,
            key.updated_at_ms,
            key.created_by,
            key.last_used_at_ms,
            key.expires_at_ms,
            layout::owner_column(key),
            layout::extra_json(key)?,
        ],
    )
    .map_err(unique_name)?;
    Ok(())
}

/// A key's only unique columns are its name and digest, and a digest clash is too unlikely to
/// answer apart.
fn unique_name(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => rules::key_name_taken(),
        _ => sql_error(e),
    }
}
