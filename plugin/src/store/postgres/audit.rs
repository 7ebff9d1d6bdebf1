//! Audit rows of the PostgreSQL store.

use std::sync::LazyLock;

use postgres::types::ToSql;
use postgres::{Client, IsolationLevel};

use super::PgResult;
use crate::error::Result;
use crate::model::{AuditEntry, AuditListing, AuditQuery};
use crate::store::audit_sql::{Bind, Dialect, Matching, NEWEST_FIRST};
use crate::store::layout::{self, AUDIT_COLUMNS, AUDIT_INSERT_COLUMNS};

/// PostgreSQL's planner has statistics of its own, so every filter is written plainly.
const POSTGRES: Dialect = Dialect {
    placeholder: |n| format!("${n}"),
    not_indexed: "",
};

static INSERT: LazyLock<String> = LazyLock::new(|| {
    let placeholders: Vec<String> = (1..=18).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO audit_entries ({AUDIT_INSERT_COLUMNS}) VALUES ({})",
        placeholders.join(", ")
    )
});

pub fn append(tx: &mut Client, entry: &AuditEntry) -> PgResult<()> {
    let texts = entry.texts();
    let values: Vec<&(dyn ToSql + Sync)> = std::iter::once(&entry.at_ms as &(dyn ToSql + Sync))
        .chain(texts.iter().map(|text| text as &(dyn ToSql + Sync)))
        .collect();
    tx.execute(INSERT.as_str(), &values)?;
    Ok(())
}

fn bound<'a>(binds: &'a [Bind<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    binds
        .iter()
        .map(|bind| match bind {
            Bind::Int(n) => n as &(dyn ToSql + Sync),
            Bind::Text(text) => text as &(dyn ToSql + Sync),
        })
        .collect()
}

/// The total and the page, read in one repeatable-read transaction so both see the same entries.
///
/// `seq` comes from an identity column, handed out at insert and committed in any order across
/// hosts, so a page read while another host's insert is in flight can miss that one entry on first
/// view.
pub fn list(client: &mut Client, query: &AuditQuery) -> PgResult<AuditListing> {
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let matching = Matching::of(query, &POSTGRES);
    let count = format!(
        "SELECT COUNT(*) FROM audit_entries {}",
        matching.where_clause()
    );
    let total: i64 = tx.query_one(&count, &bound(&matching.binds))?.try_get(0)?;
    let mut page = matching.before_cursor(query, &POSTGRES);
    let (limit, offset) = (
        query.limit.min(i64::MAX as u64),
        query.offset.min(i64::MAX as u64),
    );
    page.binds
        .extend([Bind::Int(limit as i64), Bind::Int(offset as i64)]);
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_entries {} {NEWEST_FIRST} LIMIT ${} OFFSET ${}",
        page.where_clause(),
        page.binds.len() - 1,
        page.binds.len()
    );
    let rows = tx.query(&sql, &bound(&page.binds))?;
    tx.commit()?;
    let entries = rows
        .iter()
        .map(layout::audit_entry)
        .collect::<Result<_>>()?;
    Ok(AuditListing {
        entries,
        total: total.max(0) as u64,
    })
}

pub fn prune(tx: &mut Client, before_ms: i64, batch: usize) -> PgResult<u64> {
    Ok(tx.execute(
        "DELETE FROM audit_entries WHERE seq IN \
         (SELECT seq FROM audit_entries WHERE at < $1 ORDER BY at LIMIT $2)",
        &[&before_ms, &(batch as i64)],
    )?)
}
