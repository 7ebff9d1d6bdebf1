//! The audit trail's hourly counts (`audit_counts`), written once for both stores: how many
//! entries of `audit_entries` each hour holds per combination of the few-valued fields. They are
//! kept in the same transaction as the entries they count (PostgreSQL: every insert; SQLite: the
//! move that brings entries over from `audit_recent`, whose entries are counted by the SQLite
//! store itself) and every prune, so a total over those fields is a sum of at most a few rows per
//! hour, not a count over the entries, and it is exact.
//!
//! A total whose filters are all counted fields sums the hours its window covers whole, and counts
//! the entries of the part-hours at its two ends (at most an hour's entries each, read from the
//! time index). Any other filter (a user, a resource, an address) is counted over the entries, on
//! its own index where it has one.

use super::audit_sql::{Bind, Dialect, Matching};
use super::layout::audit_column;
use crate::model::{AuditField, AuditQuery};

pub const HOUR_MS: i64 = 3_600_000;

/// The fields with few values (names chosen by the plugin or the host, not by callers), which
/// the counts are kept by. Adding one is a migration: the counts' key changes.
pub const COUNTED: [AuditField; 8] = [
    AuditField::Category,
    AuditField::Action,
    AuditField::Result,
    AuditField::Source,
    AuditField::Surface,
    AuditField::CredentialType,
    AuditField::ResourceType,
    AuditField::McpTool,
];

/// The counts' key after the hour, in [`COUNTED`]'s order.
pub const COUNTED_COLUMNS: &str =
    "category, action, result, source, surface, credential_type, resource_type, mcp_tool";

/// The hour an entry counts in: whole hours since the epoch, rounded down (also before 1970).
pub fn hour_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(HOUR_MS)
}

/// One `SELECT` answering one integer; a total is the sum of its statements' answers.
pub struct CountStatement<'a> {
    pub sql: String,
    pub binds: Vec<Bind<'a>>,
}

/// The statements whose answers add up to the number of entries `query` matches (the cursor,
/// offset and limit aside).
pub fn total_statements<'a>(query: &'a AuditQuery, dialect: &Dialect) -> Vec<CountStatement<'a>> {
    let counted = query
        .filters
        .iter()
        .all(|(field, _)| COUNTED.contains(field));
    let split = match counted {
        true => Split::of(query.start_ms, query.end_ms),
        false => None,
    };
    let Some(split) = split else {
        return vec![count_entries(query, dialect)];
    };
    let mut statements = vec![sum_counts(query, split.hours, dialect)];
    for (start, end) in [split.head, split.tail].into_iter().flatten() {
        let matching = Matching::within(query, Some(start), Some(end), dialect);
        statements.push(CountStatement {
            sql: format!(
                "SELECT COUNT(*) FROM audit_entries {}",
                matching.where_clause()
            ),
            binds: matching.binds,
        });
    }
    statements
}

fn count_entries<'a>(query: &'a AuditQuery, dialect: &Dialect) -> CountStatement<'a> {
    let matching = Matching::of(query, dialect);
    CountStatement {
        sql: format!(
            "SELECT COUNT(*) FROM audit_entries {}",
            matching.where_clause()
        ),
        binds: matching.binds,
    }
}

fn sum_counts<'a>(
    query: &'a AuditQuery,
    (first, last): (Option<i64>, Option<i64>),
    dialect: &Dialect,
) -> CountStatement<'a> {
    let mut terms = Vec::new();
    let mut binds = Vec::new();
    let mut term = |left: String, value: Bind<'a>| {
        binds.push(value);
        terms.push(format!("{left} {}", (dialect.placeholder)(binds.len())));
    };
    for (field, value) in &query.filters {
        term(format!("{} =", audit_column(*field)), Bind::Text(value));
    }
    if let Some(first) = first {
        term("hour >=".into(), Bind::Int(first));
    }
    if let Some(last) = last {
        term("hour <=".into(), Bind::Int(last));
    }
    let where_clause = match terms.is_empty() {
        true => String::new(),
        false => format!("WHERE {}", terms.join(" AND ")),
    };
    CountStatement {
        sql: format!("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM audit_counts {where_clause}"),
        binds,
    }
}

/// A time window cut into the hours it covers whole (counted from `audit_counts`) and the
/// part-hours at its ends (counted over the entries). All bounds are inclusive.
#[derive(Debug, PartialEq, Eq)]
struct Split {
    /// First and last whole hour; `None` is unbounded.
    hours: (Option<i64>, Option<i64>),
    head: Option<(i64, i64)>,
    tail: Option<(i64, i64)>,
}

impl Split {
    /// `None` when the window covers no whole hour (it is then at most two hours of entries,
    /// counted directly) or its bounds lie too far out to compute with.
    fn of(start_ms: Option<i64>, end_ms: Option<i64>) -> Option<Self> {
        let first =
            start_ms.map(|start| hour_of(start) + i64::from(start.rem_euclid(HOUR_MS) != 0));
        let last = match end_ms {
            Some(end) => Some(hour_of(end.checked_add(1)?) - 1),
            None => None,
        };
        if let (Some(first), Some(last)) = (first, last)
            && first > last
        {
            return None;
        }
        let head = match (start_ms, first) {
            (Some(start), Some(first)) => {
                let boundary = first.checked_mul(HOUR_MS)?;
                (start < boundary).then_some((start, boundary - 1))
            }
            _ => None,
        };
        let tail = match (end_ms, last) {
            (Some(end), Some(last)) => {
                let boundary = last.checked_add(1)?.checked_mul(HOUR_MS)?;
                (boundary <= end).then_some((boundary, end))
            }
            _ => None,
        };
        Some(Self {
            hours: (first, last),
            head,
            tail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = HOUR_MS;

    #[test]
    fn hours_round_down_on_both_sides_of_the_epoch() {
        assert_eq!(hour_of(0), 0);
        assert_eq!(hour_of(H - 1), 0);
        assert_eq!(hour_of(H), 1);
        assert_eq!(hour_of(-1), -1);
        assert_eq!(hour_of(-H), -1);
        assert_eq!(hour_of(-H - 1), -2);
    }

    #[test]
    fn a_window_splits_into_whole_hours_and_the_part_hours_at_its_ends() {
        assert_eq!(
            Split::of(Some(H + 5), Some(4 * H + 7)),
            Some(Split {
                hours: (Some(2), Some(3)),
                head: Some((H + 5, 2 * H - 1)),
                tail: Some((4 * H, 4 * H + 7)),
            })
        );
        assert_eq!(
            Split::of(Some(2 * H), Some(4 * H - 1)),
            Some(Split {
                hours: (Some(2), Some(3)),
                head: None,
                tail: None,
            })
        );
        assert_eq!(
            Split::of(None, None),
            Some(Split {
                hours: (None, None),
                head: None,
                tail: None,
            })
        );
        assert_eq!(
            Split::of(Some(H + 1), None),
            Some(Split {
                hours: (Some(2), None),
                head: Some((H + 1, 2 * H - 1)),
                tail: None,
            })
        );
    }

    #[test]
    fn a_window_without_a_whole_hour_or_out_of_range_is_counted_over_the_entries() {
        assert_eq!(Split::of(Some(H + 1), Some(2 * H + 5)), None);
        assert_eq!(Split::of(Some(5 * H), Some(H)), None);
        assert_eq!(Split::of(Some(i64::MAX), None), None);
        assert_eq!(Split::of(None, Some(i64::MAX)), None);
    }

    #[test]
    fn only_counted_filters_are_summed_from_the_counts() {
        const NUMBERED: Dialect = Dialect {
            placeholder: |n| format!("?{n}"),
            not_indexed: "+",
        };
        let mut query = AuditQuery {
            filters: vec![(AuditField::Category, "user".into())],
            start_ms: Some(H + 5),
            ..AuditQuery::default()
        };
        let sqls: Vec<String> = total_statements(&query, &NUMBERED)
            .into_iter()
            .map(|s| s.sql)
            .collect();
        assert_eq!(
            sqls,
            [
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM audit_counts WHERE category = ?1 \
                 AND hour >= ?2",
                "SELECT COUNT(*) FROM audit_entries WHERE +category = ?1 AND at >= ?2 AND at <= ?3",
            ]
        );
        query
            .filters
            .push((AuditField::IpAddress, "10.0.0.1".into()));
        let sqls: Vec<String> = total_statements(&query, &NUMBERED)
            .into_iter()
            .map(|s| s.sql)
            .collect();
        assert_eq!(
            sqls,
            [
                "SELECT COUNT(*) FROM audit_entries WHERE +category = ?1 AND ip_address = ?2 \
                 AND ip_address <> '' AND at >= ?3"
            ]
        );
    }
}
