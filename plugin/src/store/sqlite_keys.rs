//! API key rows of the SQLite store.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

use super::sqlite::{count, sql_error};
use crate::error::{Error, Result};
use crate::model::ApiKeyRecord;

const COLUMNS: &str = "id, name, description, role, workspace_access, key_prefix, digest, created_at, \
     updated_at, created_by, last_used_at, expires_at, owner_user_id, extra";

/// Dagu's optional fields, stored together since nothing queries them.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extra {
    allowed_surfaces: Vec<String>,
    attribution_class: String,
    service_account_name: Option<String>,
}

pub fn insert(tx: &Transaction<'_>, key: &ApiKeyRecord, max_keys: Option<u64>) -> Result<()> {
    if let Some(max) = max_keys {
        let existing = tx
            .query_row("SELECT COUNT(*) FROM api_keys", [], count)
            .map_err(sql_error)?;
        if existing >= max {
            return Err(Error::Forbidden(format!(
                "Community edition supports up to {max} API keys. Upgrade to Dagu Pro for unlimited API keys."
            )));
        }
    }
    tx.execute(
        &format!("INSERT INTO api_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
        params![
            key.id,
            key.name,
            key.description,
            key.role.as_str(),
            json(&key.workspace_access)?,
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
            json(&key.workspace_access)?,
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
    let id: String = row.get(0)?;
    let role: String = row.get(3)?;
    let access: String = row.get(4)?;
    let extra: String = row.get(13)?;
    let parsed = (|| -> std::result::Result<_, String> {
        let role = role.parse()?;
        let access = serde_json::from_str(&access).map_err(|e| format!("workspace access: {e}"))?;
        let extra: Extra =
            serde_json::from_str(&extra).map_err(|e| format!("extra fields: {e}"))?;
        Ok((role, access, extra))
    })();
    let (role, workspace_access, extra) = match parsed {
        Ok(parts) => parts,
        Err(problem) => {
            return Ok(Err(Error::Storage(format!(
                "API key {id} is unreadable: {problem}"
            ))));
        }
    };
    Ok(Ok(ApiKeyRecord {
        id,
        name: row.get(1)?,
        description: row.get(2)?,
        role,
        workspace_access,
        key_prefix: row.get(5)?,
        digest: row.get(6)?,
        created_at_ms: row.get(7)?,
        updated_at_ms: row.get(8)?,
        created_by: row.get(9)?,
        last_used_at_ms: row.get(10)?,
        expires_at_ms: row.get(11)?,
        owner_user_id: row.get(12)?,
        allowed_surfaces: extra.allowed_surfaces,
        attribution_class: extra.attribution_class,
        service_account_name: extra.service_account_name,
    }))
}

fn extra_json(key: &ApiKeyRecord) -> Result<String> {
    json(&Extra {
        allowed_surfaces: key.allowed_surfaces.clone(),
        attribution_class: key.attribution_class.clone(),
        service_account_name: key.service_account_name.clone(),
    })
}

fn json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

fn unique_name(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            match e.to_string().contains("owner_user_id") {
                true => Error::bad_request("ownerUserId does not name an existing user"),
                false => Error::AlreadyExists("API key name already exists".into()),
            }
        }
        _ => sql_error(e),
    }
}
