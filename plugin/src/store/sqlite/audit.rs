//! Audit rows of the SQLite store.

use rusqlite::types::Value;
use rusqlite::{Connection, Transaction, params, params_from_iter};

use super::sql_error;
use crate::error::Result;
use crate::model::{AuditEvent, AuditQuery};
use crate::store::layout::{self, AUDIT_COLUMNS};

pub fn append(tx: &Transaction<'_>, event: &AuditEvent) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit_events (at, action, actor, target, client_ip, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            event.at_ms,
            event.action,
            event.actor,
            event.target,
            event.client_ip,
            event.detail.to_string()
        ])
    })
    .map_err(sql_error)?;
    Ok(())
}

/// Newest first; the filters and the cursor become bound parameters, never SQL text.
pub fn list(conn: &Connection, query: &AuditQuery) -> rusqlite::Result<Vec<Result<AuditEvent>>> {
    let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::new();
    let mut filter = |clause: &str, value: Value| {
        values.push(value);
        sql.push_str(&format!(" AND {clause} ?{}", values.len()));
    };
    if let Some(from) = query.from_ms {
        filter("at >=", Value::Integer(from));
    }
    if let Some(to) = query.to_ms {
        filter("at <", Value::Integer(to));
    }
    for (column, wanted) in [
        ("actor", &query.actor),
        ("action", &query.action),
        ("target", &query.target),
    ] {
        if let Some(wanted) = wanted {
            filter(&format!("{column} ="), Value::Text(wanted.clone()));
        }
    }
    if let Some(before) = query.before_id {
        filter("id <", Value::Integer(before));
    }
    values.push(Value::Integer(query.limit as i64));
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", values.len()));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(values), |row| Ok(layout::audit_event(row)))?;
    rows.collect()
}

pub fn prune(tx: &Transaction<'_>, before_ms: i64, batch: usize) -> Result<u64> {
    let removed = tx
        .execute(
            "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < ?1 ORDER BY id LIMIT ?2)",
            params![before_ms, batch as i64],
        )
        .map_err(sql_error)?;
    Ok(removed as u64)
}
