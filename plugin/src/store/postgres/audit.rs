//! Audit rows of the PostgreSQL store.

use postgres::Client;
use postgres::types::ToSql;

use super::PgResult;
use crate::error::Result;
use crate::model::{AuditEvent, AuditQuery};
use crate::store::layout::{self, AUDIT_COLUMNS};

pub fn append(tx: &mut Client, event: &AuditEvent) -> PgResult<()> {
    tx.execute(
        "INSERT INTO audit_events (at, action, actor, target, client_ip, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &event.at_ms,
            &event.action,
            &event.actor,
            &event.target,
            &event.client_ip,
            &event.detail.to_string(),
        ],
    )?;
    Ok(())
}

/// Newest first, keyset-paginated by id; the filters and the cursor become bound parameters,
/// never SQL text.
///
/// Ids come from an identity column, handed out at insert and committed in any order across hosts,
/// so a page read while another host's insert is in flight can miss that one entry on first view.
pub fn list(client: &mut Client, query: &AuditQuery) -> PgResult<Vec<AuditEvent>> {
    let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE TRUE");
    let limit = query.limit as i64;
    let mut values: Vec<&(dyn ToSql + Sync)> = Vec::new();
    let mut filter = |clause: &str, value| {
        values.push(value);
        sql.push_str(&format!(" AND {clause} ${}", values.len()));
    };
    if let Some(from) = &query.from_ms {
        filter("at >=", from);
    }
    if let Some(to) = &query.to_ms {
        filter("at <", to);
    }
    for (column, wanted) in [
        ("actor", &query.actor),
        ("action", &query.action),
        ("target", &query.target),
    ] {
        if let Some(wanted) = wanted {
            filter(&format!("{column} ="), wanted);
        }
    }
    if let Some(before) = &query.before_id {
        filter("id <", before);
    }
    values.push(&limit);
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", values.len()));
    let rows = client.query(&sql, &values)?;
    Ok(rows
        .iter()
        .map(layout::audit_event)
        .collect::<Result<_>>()?)
}

pub fn prune(tx: &mut Client, before_ms: i64, batch: usize) -> PgResult<u64> {
    Ok(tx.execute(
        "DELETE FROM audit_events WHERE id IN \
         (SELECT id FROM audit_events WHERE at < $1 ORDER BY id LIMIT $2)",
        &[&before_ms, &(batch as i64)],
    )?)
}
