//! Audit rows of the SQLite store.

use std::sync::LazyLock;

use rusqlite::types::{ToSql, ToSqlOutput};
use rusqlite::{Connection, Transaction, params_from_iter};

use super::sql_error;
use crate::error::Result;
use crate::model::{AuditEntry, AuditListing, AuditQuery};
use crate::store::audit_sql::{Bind, Dialect, Matching, NEWEST_FIRST};
use crate::store::layout::{self, AUDIT_COLUMNS, AUDIT_INSERT_COLUMNS};

/// SQLite keeps no statistics on these tables (nothing runs ANALYZE), so the query names the
/// index to use: a unary `+` keeps the planner off a column's index.
const SQLITE: Dialect = Dialect {
    placeholder: |n| format!("?{n}"),
    not_indexed: "+",
};

static INSERT: LazyLock<String> = LazyLock::new(|| {
    let placeholders: Vec<String> = (1..=18).map(|n| format!("?{n}")).collect();
    format!(
        "INSERT INTO audit_entries ({AUDIT_INSERT_COLUMNS}) VALUES ({})",
        placeholders.join(", ")
    )
});

pub fn append(tx: &Transaction<'_>, entry: &AuditEntry) -> Result<()> {
    let texts = entry.texts();
    let values = std::iter::once(&entry.at_ms as &dyn ToSql)
        .chain(texts.iter().map(|text| text as &dyn ToSql));
    tx.prepare_cached(&INSERT)
        .and_then(|mut stmt| stmt.execute(params_from_iter(values)))
        .map_err(sql_error)?;
    Ok(())
}

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Bind::Int(n) => n.to_sql(),
            Bind::Text(text) => text.to_sql(),
        }
    }
}

/// The total and the page, read in one transaction so both see the same entries.
pub fn list(conn: &Connection, query: &AuditQuery) -> rusqlite::Result<Result<AuditListing>> {
    let tx = conn.unchecked_transaction()?;
    let matching = Matching::of(query, &SQLITE);
    let count = format!(
        "SELECT COUNT(*) FROM audit_entries WHERE {}",
        matching.terms
    );
    let total: i64 = tx
        .prepare_cached(&count)?
        .query_row(params_from_iter(&matching.binds), |row| row.get(0))?;
    let mut page = matching.before_cursor(query, &SQLITE);
    let (limit, offset) = (
        query.limit.min(i64::MAX as u64),
        query.offset.min(i64::MAX as u64),
    );
    page.binds
        .extend([Bind::Int(limit as i64), Bind::Int(offset as i64)]);
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_entries WHERE {} {NEWEST_FIRST} LIMIT ?{} OFFSET ?{}",
        page.terms,
        page.binds.len() - 1,
        page.binds.len()
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(&page.binds), |row| {
        Ok(layout::audit_entry(row))
    })?;
    let entries = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(entries
        .into_iter()
        .collect::<Result<Vec<_>>>()
        .map(|entries| AuditListing {
            entries,
            total: total.max(0) as u64,
        }))
}

pub fn prune(tx: &Transaction<'_>, before_ms: i64, batch: usize) -> Result<u64> {
    let removed = tx
        .execute(
            "DELETE FROM audit_entries WHERE seq IN \
             (SELECT seq FROM audit_entries WHERE at < ?1 ORDER BY at LIMIT ?2)",
            rusqlite::params![before_ms, batch as i64],
        )
        .map_err(sql_error)?;
    Ok(removed as u64)
}
