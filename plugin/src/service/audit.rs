//! The audit trail: recording events in Dagu's shape and reading them back (admins and managers,
//! with the `audit` licence feature).

use dagu_auth_vocab::DaguAuthAction as Action;
use serde_json::Value;

use super::wire::{AuditPage, AuditRequest};
use super::{Credentials, Engine};
use crate::error::{Error, Result};
use crate::model::{AuditEntry, AuditQuery, Principal, UserRecord};

pub const AUDIT_FEATURE: &str = "audit";
/// The username recorded for every operator command (the command line has no account).
pub const OPERATOR: &str = "operator";
/// Dagu's page size when none (or one below 1) is asked for.
const DEFAULT_PAGE: u64 = 50;
/// Dagu's cap: a larger limit is lowered to it, not refused.
const MAX_PAGE: u64 = 500;

/// Who an entry names as having acted, the credential they came through, and from where.
#[derive(Debug, Clone)]
pub(super) struct Actor<'a> {
    pub user_id: String,
    pub username: String,
    /// `jwt`, `api_key` or `none` (Dagu's names).
    credential_type: &'static str,
    /// The API key's id, when the actor came through one.
    credential_id: String,
    source: &'static str,
    surface: &'static str,
    pub client_ip: &'a str,
}

impl<'a> Actor<'a> {
    /// The principal behind a bearer credential, over the REST surface.
    pub fn caller(principal: &Principal, client_ip: &'a str) -> Self {
        match principal {
            Principal::User(user) => Self::session(user, client_ip),
            Principal::ApiKey(key) => {
                let (user_id, username) = key.attributed_to();
                Self {
                    user_id: user_id.into_owned(),
                    username: username.to_string(),
                    credential_type: "api_key",
                    credential_id: key.id.clone(),
                    ..Self::nobody(client_ip)
                }
            }
        }
    }

    /// A user signed in with a session token.
    pub fn session(user: &UserRecord, client_ip: &'a str) -> Self {
        Self {
            credential_type: "jwt",
            ..Self::account(user, client_ip)
        }
    }

    /// A user who has no token yet: the one being set up or signing in.
    pub fn account(user: &UserRecord, client_ip: &'a str) -> Self {
        Self {
            user_id: user.id.clone(),
            username: user.username.clone(),
            ..Self::nobody(client_ip)
        }
    }

    /// No credential and no account: a sign-in that named none. Its username is left empty, so a
    /// password typed into the username box never lands in the trail.
    pub fn nobody(client_ip: &'a str) -> Self {
        Self {
            user_id: String::new(),
            username: String::new(),
            credential_type: "none",
            credential_id: String::new(),
            source: "rest",
            surface: "rest_api",
            client_ip,
        }
    }

    /// Whoever runs operator commands at a host's command line: `operator`, with no address.
    pub fn operator() -> Self {
        Self {
            username: OPERATOR.into(),
            source: "cli",
            surface: "",
            ..Self::nobody("")
        }
    }

    /// The host itself, for an event no credential caused.
    pub fn system(client_ip: &'a str) -> Self {
        Self {
            username: "system".into(),
            ..Self::nobody(client_ip)
        }
    }

    /// The same actor over another surface (`rest_api` or `mcp`); the source follows it.
    pub fn on_surface(self, surface: &'static str) -> Self {
        let source = match surface {
            "mcp" => "mcp",
            _ => self.source,
        };
        Self {
            surface,
            source,
            ..self
        }
    }
}

/// What happened, to what, and how it went; who did it is the [`Actor`].
#[derive(Debug, Clone)]
pub(super) struct Event<'a> {
    category: &'a str,
    action: &'a str,
    result: &'a str,
    resource_type: &'a str,
    resource_id: &'a str,
    workspace: &'a str,
    correlation_id: &'a str,
    mcp_tool: &'a str,
    /// A JSON object, or null for none.
    details: Value,
}

impl<'a> Event<'a> {
    pub fn new(category: &'a str, action: &'a str) -> Self {
        Self {
            category,
            action,
            result: "succeeded",
            resource_type: "",
            resource_id: "",
            workspace: "",
            correlation_id: "",
            mcp_tool: "",
            details: Value::Null,
        }
    }

    /// Category `user`, about the user `id` (about no one when it is empty).
    pub fn user(action: &'a str, id: &'a str) -> Self {
        let kind = if id.is_empty() { "" } else { "user" };
        Self::new("user", action).resource(kind, id)
    }

    /// Category `api_key`, about the key `id`.
    pub fn api_key(action: &'a str, id: &'a str) -> Self {
        Self::new("api_key", action).resource("api_key", id)
    }

    pub fn resource(self, resource_type: &'a str, resource_id: &'a str) -> Self {
        Self {
            resource_type,
            resource_id,
            ..self
        }
    }

    pub fn details(self, details: Value) -> Self {
        Self { details, ..self }
    }

    pub fn failed(self) -> Self {
        self.result("failed")
    }

    pub fn result(self, result: &'a str) -> Self {
        Self { result, ..self }
    }

    pub fn workspace(self, workspace: &'a str) -> Self {
        Self { workspace, ..self }
    }

    pub fn correlation_id(self, correlation_id: &'a str) -> Self {
        Self {
            correlation_id,
            ..self
        }
    }

    pub fn mcp_tool(self, mcp_tool: &'a str) -> Self {
        Self { mcp_tool, ..self }
    }
}

/// Details as stored: JSON text, or empty for none.
fn details_text(details: &Value) -> String {
    match details {
        Value::Null => String::new(),
        Value::Object(map) if map.is_empty() => String::new(),
        other => other.to_string(),
    }
}

impl Engine {
    /// Appends one entry. The change it describes has already happened, so a failed write is
    /// reported on stderr rather than failing the caller's request.
    pub(super) fn audit(&self, actor: &Actor<'_>, event: Event<'_>) {
        let entry = self.audit_entry(actor, event);
        if let Err(error) = self.store.append_audit(&entry) {
            let line = serde_json::json!({"log": "dagu-auth.audit-lost", "entry": entry, "error": error.to_string()});
            crate::log::line(&line);
        }
    }

    /// An entry for the store to write, on its own or together with the change it describes.
    pub(super) fn audit_entry(&self, actor: &Actor<'_>, event: Event<'_>) -> AuditEntry {
        AuditEntry {
            seq: 0,
            id: uuid::Uuid::new_v4().to_string(),
            at_ms: self.now_ms(),
            category: event.category.into(),
            action: event.action.into(),
            user_id: actor.user_id.clone(),
            username: actor.username.clone(),
            source: actor.source.into(),
            surface: actor.surface.into(),
            result: event.result.into(),
            correlation_id: event.correlation_id.into(),
            resource_type: event.resource_type.into(),
            resource_id: event.resource_id.into(),
            workspace: event.workspace.into(),
            credential_id: actor.credential_id.clone(),
            credential_type: actor.credential_type.into(),
            mcp_tool: event.mcp_tool.into(),
            details: details_text(&event.details),
            ip_address: actor.client_ip.into(),
        }
    }

    /// A page of the trail, newest first, with the number of every match.
    pub fn list_audit<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        request: AuditRequest,
    ) -> Result<AuditPage> {
        self.caller_allowed(caller, Action::Audit)?;
        if !self.config.has_feature(AUDIT_FEATURE) {
            return Err(Error::Forbidden(
                "Audit logs require a Dagu Pro license".into(),
            ));
        }
        let (query, limit) = audit_query(request)?;
        let mut listing = self.store.list_audit(&query)?;
        let next_cursor = match listing.entries.len() as u64 > limit {
            true => {
                listing.entries.truncate(limit as usize);
                listing.entries.last().map(cursor::encode)
            }
            false => None,
        };
        Ok(AuditPage {
            entries: listing.entries,
            total: listing.total,
            next_cursor,
        })
    }
}

/// The store's query for a request, and the page size asked for (the query asks one more, to
/// learn whether another page follows).
fn audit_query(request: AuditRequest) -> Result<(AuditQuery, u64)> {
    if let Some(message) = request.unreadable {
        return Err(Error::BadRequest(message));
    }
    let limit = match request.limit {
        Some(limit) if limit > 0 => (limit as u64).min(MAX_PAGE),
        _ => DEFAULT_PAGE,
    };
    let before = match request.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(text) => Some(
            cursor::decode(text)
                .ok_or_else(|| Error::bad_request("cursor is not one this server issued"))?,
        ),
        None => None,
    };
    let query = AuditQuery {
        filters: request
            .filters
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .collect(),
        start_ms: time_param("startTime", request.start_time.as_deref())?,
        end_ms: time_param("endTime", request.end_time.as_deref())?,
        before,
        offset: request.offset.unwrap_or(0).max(0) as u64,
        limit: limit + 1,
    };
    Ok((query, limit))
}

/// A time parameter in milliseconds: RFC 3339, or a date meaning its midnight in UTC, as Dagu
/// reads them; empty means none.
fn time_param(name: &str, text: Option<&str>) -> Result<Option<i64>> {
    let Some(text) = text.filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    let parsed = chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_millis())
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|date| {
                date.and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .timestamp_millis()
            })
        });
    parsed.map(Some).map_err(|_| {
        Error::BadRequest(format!(
            "Invalid format for parameter {name}: error parsing '{}' as RFC3339 or 2006-01-02 time",
            shortened(text)
        ))
    })
}

/// A caller's text quoted back in a message, cut short so the message stays readable.
pub(super) fn shortened(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

/// `nextCursor`: the (time, seq) position of a page's last entry, opaque to callers.
mod cursor {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use crate::model::AuditEntry;

    pub fn encode(entry: &AuditEntry) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", entry.at_ms, entry.seq))
    }

    pub fn decode(text: &str) -> Option<(i64, i64)> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let (at, seq) = std::str::from_utf8(&bytes).ok()?.split_once(':')?;
        Some((at.parse().ok()?, seq.parse().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_parameters_read_rfc_3339_and_bare_dates_as_dagu_does() {
        let ms = |text| time_param("startTime", Some(text));
        assert_eq!(ms("2026-01-31T00:00:00Z"), Ok(Some(1_769_817_600_000)));
        assert_eq!(
            ms("2026-01-31T09:00:00.250+09:00"),
            Ok(Some(1_769_817_600_250))
        );
        assert_eq!(ms("2026-01-31"), Ok(Some(1_769_817_600_000)));
        assert_eq!(ms(""), Ok(None));
        assert_eq!(
            ms("yesterday"),
            Err(Error::BadRequest(
                "Invalid format for parameter startTime: error parsing 'yesterday' as RFC3339 or \
                 2006-01-02 time"
                    .into()
            ))
        );
    }

    #[test]
    fn limits_fall_back_to_50_and_stop_at_500_and_offsets_below_zero_are_zero() {
        let page = |limit: Option<i64>, offset: Option<i64>| {
            let (query, limit) = audit_query(AuditRequest {
                limit,
                offset,
                ..AuditRequest::default()
            })
            .expect("query");
            (limit, query.limit, query.offset)
        };
        assert_eq!(page(None, None), (50, 51, 0));
        assert_eq!(page(Some(0), Some(-5)), (50, 51, 0));
        assert_eq!(page(Some(-1), Some(7)), (50, 51, 7));
        assert_eq!(page(Some(100_000), None), (500, 501, 0));
        assert_eq!(page(Some(3), None), (3, 4, 0));
    }

    #[test]
    fn a_cursor_round_trips_and_a_foreign_one_is_refused() {
        let entry = AuditEntry {
            at_ms: 1_790_000_000_000,
            seq: 42,
            ..AuditEntry::default()
        };
        assert_eq!(
            cursor::decode(&cursor::encode(&entry)),
            Some((1_790_000_000_000, 42))
        );
        for foreign in ["42", "not a cursor", "YTpi"] {
            assert_eq!(cursor::decode(foreign), None, "{foreign}");
        }
    }
}
