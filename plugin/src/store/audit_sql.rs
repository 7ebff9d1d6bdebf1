//! The SQL of an audit listing, written once for both stores: which entries match a query (for
//! the page and for its total) and in which order. Every value is a bound parameter, never SQL
//! text; only the column names and the placeholders' spelling come from here.

use super::layout::audit_column;
use crate::model::{AuditField, AuditQuery};

/// A value to bind, in the order the placeholders are numbered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind<'a> {
    Int(i64),
    Text(&'a str),
}

/// How a store spells its SQL.
pub struct Dialect {
    /// The placeholder for the n-th value, counting from 1.
    pub placeholder: fn(usize) -> String,
    /// Put before a filtered column to keep the planner off that column's index; see
    /// [`LEADING`]. Empty where the planner has statistics of its own.
    pub not_indexed: &'static str,
}

/// The filters that have an index, the likeliest to narrow a listing first. A partial index
/// covers the rows of its condition, which leave out one value. Of several filters, the first
/// one in this list whose value its index covers leads: its index serves the page in order and
/// counts the total, and the others are checked on the rows it finds. Without that, SQLite, which
/// keeps no statistics here, could as well walk a large share of the trail to find one user's
/// dozen. Category and action have no index: their totals are summed from `audit_counts`
/// (`store/audit_counts.rs`), and their pages read the time index newest first, where most
/// entries of a broad filter are found within the first few hundred.
const LEADING: [(AuditField, Option<Partial>); 7] = [
    (AuditField::CorrelationId, Some(Partial::SET)),
    (AuditField::CredentialId, Some(Partial::SET)),
    (AuditField::UserId, None),
    (AuditField::ResourceId, Some(Partial::SET)),
    (AuditField::IpAddress, Some(Partial::SET)),
    (AuditField::Workspace, Some(Partial::SET)),
    (AuditField::Result, Some(Partial::UNSUCCEEDED)),
];

/// A partial index: `<column> <> '<excluded>'`.
#[derive(Clone, Copy)]
struct Partial {
    excluded: &'static str,
}

impl Partial {
    /// Rows where the column is set.
    const SET: Self = Self { excluded: "" };
    /// Rows that did not succeed, the few among many.
    const UNSUCCEEDED: Self = Self {
        excluded: "succeeded",
    };

    /// The condition, repeated in a query so the planner sees that the partial index applies.
    fn condition(self, column: &str) -> String {
        format!("{column} <> '{}'", self.excluded)
    }
}

/// `WHERE` terms (joined with AND) and their values.
pub struct Matching<'a> {
    terms: Vec<String>,
    pub binds: Vec<Bind<'a>>,
}

impl<'a> Matching<'a> {
    /// What every entry of the listing matches, the cursor aside: the total counts these.
    pub fn of(query: &'a AuditQuery, dialect: &Dialect) -> Self {
        Self::within(query, query.start_ms, query.end_ms, dialect)
    }

    /// The same filters over another time window (inclusive bounds).
    pub fn within(
        query: &'a AuditQuery,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        dialect: &Dialect,
    ) -> Self {
        let leading = LEADING.into_iter().find_map(|(field, partial)| {
            let (_, value) = query
                .filters
                .iter()
                .find(|(filtered, _)| *filtered == field)?;
            let covered = partial.is_none_or(|partial| *value != partial.excluded);
            covered.then_some((field, partial))
        });
        let mut matching = Self {
            terms: Vec::new(),
            binds: Vec::new(),
        };
        for (field, value) in &query.filters {
            let column = audit_column(*field);
            match leading.filter(|(lead, _)| lead == field) {
                Some((_, partial)) => {
                    matching.term(dialect, &format!("{column} ="), Bind::Text(value));
                    if let Some(partial) = partial {
                        matching.terms.push(partial.condition(column));
                    }
                }
                None => {
                    let left = format!("{}{column} =", dialect.not_indexed);
                    matching.term(dialect, &left, Bind::Text(value));
                }
            }
        }
        if let Some(start) = start_ms {
            matching.term(dialect, "at >=", Bind::Int(start));
        }
        if let Some(end) = end_ms {
            matching.term(dialect, "at <=", Bind::Int(end));
        }
        matching
    }

    /// Adds `<left> <next placeholder>`.
    fn term(&mut self, dialect: &Dialect, left: &str, value: Bind<'a>) {
        self.binds.push(value);
        let placeholder = (dialect.placeholder)(self.binds.len());
        self.terms.push(format!("{left} {placeholder}"));
    }

    /// `WHERE` and the terms, or nothing when nothing narrows the listing.
    pub fn where_clause(&self) -> String {
        match self.terms.is_empty() {
            true => String::new(),
            false => format!("WHERE {}", self.terms.join(" AND ")),
        }
    }

    /// The same, and older than the cursor's (time, seq) position when there is one: the terms
    /// of a page.
    pub fn before_cursor(mut self, query: &AuditQuery, dialect: &Dialect) -> Self {
        if let Some((at, seq)) = query.before {
            self.binds.extend([Bind::Int(at), Bind::Int(seq)]);
            let (at, seq) = (
                (dialect.placeholder)(self.binds.len() - 1),
                (dialect.placeholder)(self.binds.len()),
            );
            // `at <=` on its own lets an index range start at the cursor.
            self.terms.push(format!("at <= {at}"));
            self.terms.push(format!("(at < {at} OR seq < {seq})"));
        }
        self
    }
}

/// The order of every listing, newest first.
pub const NEWEST_FIRST: &str = "ORDER BY at DESC, seq DESC";

#[cfg(test)]
mod tests {
    use super::*;

    const NUMBERED: Dialect = Dialect {
        placeholder: |n| format!("?{n}"),
        not_indexed: "+",
    };

    fn query(filters: &[(AuditField, &str)]) -> AuditQuery {
        AuditQuery {
            filters: filters
                .iter()
                .map(|(field, value)| (*field, value.to_string()))
                .collect(),
            ..AuditQuery::default()
        }
    }

    #[test]
    fn the_most_selective_indexed_filter_leads_and_the_others_stay_off_their_indexes() {
        let query = query(&[
            (AuditField::Category, "user"),
            (AuditField::UserId, "u1"),
            (AuditField::Source, "rest"),
        ]);
        let matching = Matching::of(&query, &NUMBERED);
        assert_eq!(
            matching.where_clause(),
            "WHERE +category = ?1 AND user_id = ?2 AND +source = ?3"
        );
        assert_eq!(
            matching.binds,
            [Bind::Text("user"), Bind::Text("u1"), Bind::Text("rest")]
        );
    }

    #[test]
    fn a_leading_partial_index_gets_its_condition_and_succeeded_never_leads() {
        let failed = query(&[
            (AuditField::Category, "user"),
            (AuditField::Result, "failed"),
        ]);
        assert_eq!(
            Matching::of(&failed, &NUMBERED).where_clause(),
            "WHERE +category = ?1 AND result = ?2 AND result <> 'succeeded'"
        );
        let succeeded = query(&[
            (AuditField::Result, "succeeded"),
            (AuditField::UserId, "u1"),
        ]);
        assert_eq!(
            Matching::of(&succeeded, &NUMBERED).where_clause(),
            "WHERE +result = ?1 AND user_id = ?2"
        );
    }

    #[test]
    fn a_listing_of_everything_has_no_where_clause() {
        let everything = query(&[]);
        let matching = Matching::of(&everything, &NUMBERED);
        assert!(matching.binds.is_empty());
        assert_eq!(matching.where_clause(), "");
    }

    #[test]
    fn time_bounds_are_inclusive_and_the_cursor_only_narrows_the_page() {
        let mut query = query(&[]);
        (query.start_ms, query.end_ms, query.before) = (Some(10), Some(20), Some((15, 7)));
        let matching = Matching::of(&query, &NUMBERED);
        assert_eq!(matching.where_clause(), "WHERE at >= ?1 AND at <= ?2");
        let page = matching.before_cursor(&query, &NUMBERED);
        assert_eq!(
            page.where_clause(),
            "WHERE at >= ?1 AND at <= ?2 AND at <= ?3 AND (at < ?3 OR seq < ?4)"
        );
        assert_eq!(
            page.binds,
            [Bind::Int(10), Bind::Int(20), Bind::Int(15), Bind::Int(7)]
        );
    }
}
