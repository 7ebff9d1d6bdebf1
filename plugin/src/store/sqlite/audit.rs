//! Audit rows of the SQLite store.

use std::sync::LazyLock;

use rusqlite::types::{ToSql, ToSqlOutput};
use rusqlite::{Connection, Transaction, params_from_iter};

use super::sql_error;
use crate::error::Result;
use crate::model::{AuditEntry, AuditListing, AuditQuery};
use crate::store::audit_counts::{COUNTED_COLUMNS, CountStatement, hour_of, total_statements};
use crate::store::audit_sql::{Bind, Dialect, Matching, NEWEST_FIRST};
use crate::store::layout::{self, AUDIT_COLUMNS, AUDIT_INSERT_COLUMNS};

/// SQLite keeps no statistics on these tables (nothing runs ANALYZE), so the query names the
/// index to use: a unary `+` keeps the planner off a column's index.
const SQLITE: Dialect = Dialect {
    placeholder: |n| format!("?{n}"),
    not_indexed: "+",
};

/// How many entries wait in `audit_recent` before the append that reaches it moves them all into
/// `audit_entries`, in the same transaction. Large enough that the batch's index and count writes
/// share most of their pages; small enough that reading the unindexed table in every listing
/// stays cheap.
pub const MOVE_AT: usize = 128;

/// Records an entry in `audit_recent`, after every entry there and in `audit_entries` (the
/// invariant that lets a move keep each entry's `seq`).
static INSERT: LazyLock<String> = LazyLock::new(|| {
    let placeholders: Vec<String> = (1..=18).map(|n| format!("?{n}")).collect();
    format!(
        "INSERT INTO audit_recent (seq, {AUDIT_INSERT_COLUMNS}) VALUES \
         (COALESCE((SELECT MAX(seq) FROM audit_recent), (SELECT MAX(seq) FROM audit_entries), 0) \
          + 1, {})",
        placeholders.join(", ")
    )
});

/// Records the entry in the caller's transaction, in `audit_recent`: one b-tree written.
pub fn append(tx: &Transaction<'_>, entry: &AuditEntry) -> Result<()> {
    let texts = entry.texts();
    let values = std::iter::once(&entry.at_ms as &dyn ToSql)
        .chain(texts.iter().map(|text| text as &dyn ToSql));
    tx.prepare_cached(&INSERT)
        .and_then(|mut stmt| stmt.execute(params_from_iter(values)))
        .map_err(sql_error)?;
    Ok(())
}

/// Moves every entry of `audit_recent` into `audit_entries` and counts them, in the caller's
/// transaction: readers see them in one table or the other, never both or neither. Inside a
/// savepoint, so a move that fails leaves the transaction as it found it.
pub fn move_recent(tx: &Transaction<'_>) -> Result<()> {
    static MOVE: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO audit_entries ({AUDIT_COLUMNS}) \
                 SELECT {AUDIT_COLUMNS} FROM audit_recent ORDER BY seq; \
             INSERT INTO audit_counts (hour, {COUNTED_COLUMNS}, n) \
                 SELECT {HOUR}, {COUNTED_COLUMNS}, COUNT(*) FROM audit_recent WHERE true \
                 GROUP BY 1, {COUNTED_COLUMNS} \
                 ON CONFLICT (hour, {COUNTED_COLUMNS}) DO UPDATE SET n = n + excluded.n; \
             DELETE FROM audit_recent;"
        )
    });
    tx.execute_batch("SAVEPOINT audit_move")
        .map_err(sql_error)?;
    match tx.execute_batch(&MOVE) {
        Ok(()) => tx.execute_batch("RELEASE audit_move").map_err(sql_error),
        Err(e) => {
            // Undoes the move's part only; the caller's own writes before it stand.
            tx.execute_batch("ROLLBACK TO audit_move; RELEASE audit_move")
                .map_err(sql_error)?;
            Err(sql_error(e))
        }
    }
}

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Bind::Int(n) => n.to_sql(),
            Bind::Text(text) => text.to_sql(),
        }
    }
}

/// The total and the page, read in one transaction so both see the same entries. The page
/// merges the two tables in the listing's order (SQLite merges a compound `SELECT`'s sorted
/// halves, so `audit_entries` is still read along its index and stops at the page's end).
pub fn list(conn: &Connection, query: &AuditQuery) -> rusqlite::Result<Result<AuditListing>> {
    let tx = conn.unchecked_transaction()?;
    let total = total(&tx, query)?;
    let mut page = Matching::of(query, &SQLITE).before_cursor(query, &SQLITE);
    let (limit, offset) = (
        query.limit.min(i64::MAX as u64),
        query.offset.min(i64::MAX as u64),
    );
    page.binds
        .extend([Bind::Int(limit as i64), Bind::Int(offset as i64)]);
    let terms = page.where_clause();
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_entries {terms} \
         UNION ALL SELECT {AUDIT_COLUMNS} FROM audit_recent {terms} \
         {NEWEST_FIRST} LIMIT ?{} OFFSET ?{}",
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

/// How many entries match: the sum of the statements `audit_counts.rs` plans over the moved
/// entries, and the count of the matching entries not moved yet.
fn total(tx: &Transaction<'_>, query: &AuditQuery) -> rusqlite::Result<i64> {
    let recent = Matching::of(query, &SQLITE);
    let recent = CountStatement {
        sql: format!(
            "SELECT COUNT(*) FROM audit_recent {}",
            recent.where_clause()
        ),
        binds: recent.binds,
    };
    let mut total = 0i64;
    for statement in total_statements(query, &SQLITE).into_iter().chain([recent]) {
        let part: i64 = tx
            .prepare_cached(&statement.sql)?
            .query_row(params_from_iter(&statement.binds), |row| row.get(0))?;
        total = total.saturating_add(part);
    }
    Ok(total)
}

/// The oldest `?2` entries before `?1`, in the order they are pruned: read twice in one write
/// transaction (to uncount them, then to delete them), which sees the same rows both times.
const PRUNED_BATCH: &str = "SELECT seq FROM audit_entries WHERE at < ?1 ORDER BY at, seq LIMIT ?2";

/// Deletes at most `batch` entries older than `before_ms` and takes them off their hours' counts,
/// in the caller's transaction.
pub fn prune(tx: &Transaction<'_>, before_ms: i64, batch: usize) -> Result<u64> {
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    let uncount = format!(
        "UPDATE audit_counts SET n = audit_counts.n - gone.n FROM \
         (SELECT {HOUR} AS hour, {COUNTED_COLUMNS}, COUNT(*) AS n FROM audit_entries \
          WHERE seq IN ({PRUNED_BATCH}) GROUP BY 1, {COUNTED_COLUMNS}) AS gone \
         WHERE {MATCHING_COUNT}"
    );
    tx.execute(&uncount, rusqlite::params![before_ms, batch])
        .map_err(sql_error)?;
    tx.execute(
        "DELETE FROM audit_counts WHERE hour <= ?1 AND n <= 0",
        [hour_of(before_ms)],
    )
    .map_err(sql_error)?;
    let removed = tx
        .execute(
            &format!("DELETE FROM audit_entries WHERE seq IN ({PRUNED_BATCH})"),
            rusqlite::params![before_ms, batch],
        )
        .map_err(sql_error)?;
    // Entries not moved yet are uncounted; a retention shorter than their wait reaches them too.
    let removed_recent = tx
        .execute(
            "DELETE FROM audit_recent WHERE seq IN \
             (SELECT seq FROM audit_recent WHERE at < ?1 ORDER BY at, seq LIMIT ?2)",
            rusqlite::params![before_ms, batch.saturating_sub(removed as i64)],
        )
        .map_err(sql_error)?;
    Ok((removed + removed_recent) as u64)
}

/// The hour of `at` rounded down as [`hour_of`] does: SQLite's `/` rounds towards zero.
const HOUR: &str = "(at / 3600000 - (at < 0 AND at % 3600000 <> 0))";

/// A count row and the group `gone` of the same hour and values.
const MATCHING_COUNT: &str = "audit_counts.hour = gone.hour \
     AND audit_counts.category = gone.category AND audit_counts.action = gone.action \
     AND audit_counts.result = gone.result AND audit_counts.source = gone.source \
     AND audit_counts.surface = gone.surface \
     AND audit_counts.credential_type = gone.credential_type \
     AND audit_counts.resource_type = gone.resource_type \
     AND audit_counts.mcp_tool = gone.mcp_tool";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_rounds_hours_down_as_the_counts_do() {
        let conn = Connection::open_in_memory().expect("memory");
        let sql = format!("SELECT {HOUR} FROM (SELECT ?1 AS at)");
        for at in [
            0,
            1,
            3_599_999,
            3_600_000,
            -1,
            -3_600_000,
            -3_600_001,
            1_793_491_199_999,
        ] {
            let hour: i64 = conn.query_row(&sql, [at], |row| row.get(0)).expect("hour");
            assert_eq!(hour, hour_of(at), "{at}");
        }
    }
}
