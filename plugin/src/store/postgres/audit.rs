//! Audit rows of the PostgreSQL store.

use std::sync::LazyLock;

use postgres::types::ToSql;
use postgres::{Client, IsolationLevel};

use super::PgResult;
use crate::error::Result;
use crate::model::{AuditEntry, AuditListing, AuditQuery};
use crate::store::audit_counts::{COUNTED_COLUMNS, hour_of, total_statements};
use crate::store::audit_sql::{Bind, Dialect, Matching, NEWEST_FIRST};
use crate::store::layout::{self, AUDIT_COLUMNS, AUDIT_INSERT_COLUMNS};

/// PostgreSQL's planner has statistics of its own, so every filter is written plainly.
const POSTGRES: Dialect = Dialect {
    placeholder: |n| format!("${n}"),
    not_indexed: "",
};

/// The entry and its hour's count in one statement (one round trip). The count row is locked
/// until the transaction ends, so hosts recording the same kind of entry in the same hour commit
/// one after the other.
static INSERT: LazyLock<String> = LazyLock::new(|| {
    let placeholders: Vec<String> = (1..=18).map(|n| format!("${n}")).collect();
    format!(
        "WITH entry AS (INSERT INTO audit_entries ({AUDIT_INSERT_COLUMNS}) VALUES ({}) \
         RETURNING at, {COUNTED_COLUMNS}) \
         INSERT INTO audit_counts (hour, {COUNTED_COLUMNS}, n) \
         SELECT {HOUR}, {COUNTED_COLUMNS}, 1 FROM entry \
         ON CONFLICT (hour, {COUNTED_COLUMNS}) DO UPDATE SET n = audit_counts.n + 1",
        placeholders.join(", ")
    )
});

/// The hour of `at`, rounded down as `audit_counts::hour_of` does.
const HOUR: &str = "floor(at / 3600000.0)::bigint";

/// Inserts the entry and counts it, in the caller's transaction.
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
    let mut total = 0i64;
    for statement in total_statements(query, &POSTGRES) {
        let part: i64 = tx
            .query_one(&statement.sql, &bound(&statement.binds))?
            .try_get(0)?;
        total = total.saturating_add(part);
    }
    let mut page = Matching::of(query, &POSTGRES).before_cursor(query, &POSTGRES);
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

/// Deletes at most `batch` entries older than `before_ms` and takes exactly the rows it deleted
/// off their hours' counts, in one statement: a second host pruning at the same time deletes
/// other rows (or none) and uncounts only those.
pub fn prune(tx: &mut Client, before_ms: i64, batch: usize) -> PgResult<u64> {
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    let sql = format!(
        "WITH gone AS (DELETE FROM audit_entries WHERE seq IN \
           (SELECT seq FROM audit_entries WHERE at < $1 ORDER BY at, seq LIMIT $2) \
           RETURNING {HOUR} AS hour, {COUNTED_COLUMNS}), \
         groups AS (SELECT hour, {COUNTED_COLUMNS}, COUNT(*) AS n FROM gone \
           GROUP BY hour, {COUNTED_COLUMNS}), \
         uncounted AS (UPDATE audit_counts SET n = audit_counts.n - groups.n FROM groups \
           WHERE {MATCHING_GROUP} RETURNING 1) \
         SELECT COALESCE(SUM(n), 0)::bigint FROM groups"
    );
    let removed: i64 = tx.query_one(&sql, &[&before_ms, &batch])?.try_get(0)?;
    tx.execute(
        "DELETE FROM audit_counts WHERE hour <= $1 AND n <= 0",
        &[&hour_of(before_ms)],
    )?;
    Ok(removed.max(0) as u64)
}

/// A count row and the group of the same hour and values.
const MATCHING_GROUP: &str = "audit_counts.hour = groups.hour \
     AND audit_counts.category = groups.category AND audit_counts.action = groups.action \
     AND audit_counts.result = groups.result AND audit_counts.source = groups.source \
     AND audit_counts.surface = groups.surface \
     AND audit_counts.credential_type = groups.credential_type \
     AND audit_counts.resource_type = groups.resource_type \
     AND audit_counts.mcp_tool = groups.mcp_tool";
