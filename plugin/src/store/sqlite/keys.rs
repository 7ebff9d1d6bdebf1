//! API key rows of the SQLite store.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::{count, sql_error};
use crate::error::{Error, Result};
use crate::model::ApiKeyRecord;
use crate::store::key_rows::{
    COLUMNS, KeyRow, access_json, community_limit, extra_json, name_taken, unknown_owner,
};

pub fn insert(tx: &Transaction<'_>, key: &ApiKeyRecord, max_keys: Option<u64>) -> Result<()> {
    if let Some(max) = max_keys {
        let existing = tx
            .query_row("SELECT COUNT(*) FROM api_keys", [], count)
            .map_err(sql_error)?;
        if existing >= max {
            return Err(community_limit(max));
        }
    }
    tx.execute(
        &format!("INSERT INTO api_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
        params![
            key.id,
            key.name,
            key.description,
            key.role.as_str(),
            access_json(key)?,
            key.key_prefix,
            key.digest,
            key.created_at_ms,
            key.updated_at_ms,
            key.created_by,
            key.last_used_at_ms,
            key.expires_at_ms,
            key.owner_user_id,
            extra_json(key)?,
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
            access_json(key)?,
            key.updated_at_ms,
            key.expires_at_ms,
            key.owner_user_id,
            extra_json(key)?,
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
        "SELECT {COLUMNS} FROM api_keys WHERE {column} = ?1"
    ))?
    .query_row([value], from_row)
    .optional()
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Result<ApiKeyRecord>>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY name, id"))?;
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
    Ok(KeyRow {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        role: row.get(3)?,
        workspace_access: row.get(4)?,
        key_prefix: row.get(5)?,
        digest: row.get(6)?,
        created_at_ms: row.get(7)?,
        updated_at_ms: row.get(8)?,
        created_by: row.get(9)?,
        last_used_at_ms: row.get(10)?,
        expires_at_ms: row.get(11)?,
        owner_user_id: row.get(12)?,
        extra: row.get(13)?,
    }
    .into_record())
}

fn unique_name(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            // SQLite's message for a foreign key names no column; its extended code does.
            let foreign_key = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY);
            match foreign_key {
                true => unknown_owner(),
                false => name_taken(),
            }
        }
        _ => sql_error(e),
    }
}
