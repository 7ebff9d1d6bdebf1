//! API key rows of the SQLite store.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::{count, sql_error};
use crate::error::{Error, Result};
use crate::model::ApiKeyRecord;
use crate::store::layout::{self, KEY_COLUMNS};
use crate::store::rules;

pub fn insert(tx: &Transaction<'_>, key: &ApiKeyRecord, max_keys: Option<u64>) -> Result<()> {
    rules::room_for_a_key(max_keys, || {
        tx.query_row("SELECT COUNT(*) FROM api_keys", [], count)
            .map_err(sql_error)
    })?;
    tx.execute(
        &format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
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
            key.owner_user_id,
            layout::extra_json(key)?,
        ],
    )
    .map_err(unique_name)?;
    Ok(())
}

pub fn update(tx: &Transaction<'_>, key: &ApiKeyRecord) -> Result<()> {
    tx.execute(
        "UPDATE api_keys SET name = ?2, description = ?3, role = ?4, workspace_access = ?5, updated_at = ?6,
         expires_at = ?7, owner_user_id = ?8, extra = ?9 WHERE id = ?1",
        params![
            key.id,
            key.name,
            key.description,
            key.role.as_str(),
            layout::access_json(&key.workspace_access)?,
            key.updated_at_ms,
            key.expires_at_ms,
            key.owner_user_id,
            layout::extra_json(key)?,
        ],
    )
    .map_err(unique_name)?;
    Ok(())
}

pub fn select(
    conn: &Connection,
    column: &str,
    value: &str,
) -> rusqlite::Result<Option<Result<ApiKeyRecord>>> {
    conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE {column} = ?1"
    ))?
    .query_row([value], from_row)
    .optional()
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Result<ApiKeyRecord>>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY name, id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
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

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<ApiKeyRecord>> {
    Ok(layout::api_key(row))
}

fn unique_name(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            // SQLite's message for a foreign key names no column; its extended code does.
            let foreign_key = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY);
            match foreign_key {
                true => rules::unknown_key_owner(),
                false => rules::key_name_taken(),
            }
        }
        _ => sql_error(e),
    }
}
