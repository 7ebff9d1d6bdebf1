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
    let total = total(&tx, query, &matching)?;
    let mut page = matching.before_cursor(query, &SQLITE);
    let (limit, offset) = (
        query.limit.min(i64::MAX as u64),
        query.offset.min(i64::MAX as u64),
    );
    page.binds
        .extend([Bind::Int(limit as i64), Bind::Int(offset as i64)]);
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_entries {} {NEWEST_FIRST} LIMIT ?{} OFFSET ?{}",
        page.where_clause(),
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

fn count(tx: &Transaction<'_>, where_clause: &str, binds: &[Bind<'_>]) -> rusqlite::Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM audit_entries {where_clause}");
    tx.prepare_cached(&sql)?
        .query_row(params_from_iter(binds), |row| row.get(0))
}

/// How many entries match. SQLite counts a whole table from its pages' cell counts rather than
/// entry by entry (at 1,000,000 entries, about a third of the time), so a time window without
/// filters that holds most of the trail is counted as the whole trail less what lies outside it.
/// Which way is cheaper is judged from `seq`, which follows time closely; both ways are exact.
fn total(
    tx: &Transaction<'_>,
    query: &AuditQuery,
    matching: &Matching<'_>,
) -> rusqlite::Result<i64> {
    if !query.filters.is_empty() || matching.is_everything() {
        return count(tx, &matching.where_clause(), &matching.binds);
    }
    let (start, end) = (
        query.start_ms.unwrap_or(i64::MIN),
        query.end_ms.unwrap_or(i64::MAX),
    );
    let (first, last, from, to): (Option<i64>, Option<i64>, Option<i64>, Option<i64>) = tx
        .prepare_cached(
            "SELECT (SELECT min(seq) FROM audit_entries), (SELECT max(seq) FROM audit_entries), \
             (SELECT seq FROM audit_entries WHERE at >= ?1 ORDER BY at LIMIT 1), \
             (SELECT seq FROM audit_entries WHERE at > ?2 ORDER BY at LIMIT 1)",
        )?
        .query_row([start, end], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(0);
    };
    let (from, to) = (from.unwrap_or(last + 1), to.unwrap_or(last + 1));
    let inside = to.saturating_sub(from).max(0);
    if inside.saturating_mul(2) <= last - first + 1 {
        return count(tx, &matching.where_clause(), &matching.binds);
    }
    let before = count(tx, "WHERE at < ?1", &[Bind::Int(start)])?;
    let after = count(tx, "WHERE at > ?1", &[Bind::Int(end)])?;
    Ok(count(tx, "", &[])? - before - after)
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
