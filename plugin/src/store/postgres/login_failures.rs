//! Failed sign-ins of the PostgreSQL store, kept where every host counts them.

use postgres::Client;

use super::PgResult;
use crate::store::LimitScope;

pub fn record(
    tx: &mut Client,
    keys: &[(LimitScope, &str)],
    at_ms: i64,
    forget_before_ms: i64,
) -> PgResult<()> {
    for (scope, key) in keys {
        tx.execute(
            "INSERT INTO login_failures (scope, key, at) VALUES ($1, $2, $3)",
            &[&scope_name(*scope), key, &at_ms],
        )?;
    }
    // Keeps the table as small as the longest window, whichever host does the work.
    tx.execute(
        "DELETE FROM login_failures WHERE at < $1",
        &[&forget_before_ms],
    )?;
    Ok(())
}

pub fn recent(
    client: &mut Client,
    scope: LimitScope,
    key: &str,
    after_ms: i64,
    max: usize,
) -> PgResult<Vec<i64>> {
    let rows = client.query(
        "SELECT at FROM login_failures WHERE scope = $1 AND key = $2 AND at > $3 \
         ORDER BY at DESC LIMIT $4",
        &[&scope_name(scope), &key, &after_ms, &(max as i64)],
    )?;
    Ok(rows
        .iter()
        .rev()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?)
}

pub fn clear(tx: &mut Client, scope: LimitScope, key: &str) -> PgResult<()> {
    tx.execute(
        "DELETE FROM login_failures WHERE scope = $1 AND key = $2",
        &[&scope_name(scope), &key],
    )?;
    Ok(())
}

fn scope_name(scope: LimitScope) -> &'static str {
    match scope {
        LimitScope::Ip => "ip",
        LimitScope::Account => "account",
    }
}
