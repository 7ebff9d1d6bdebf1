//! The audit trail: recording security events and reading them back (admins and managers, with the
//! `audit` licence feature).

use dagu_auth_vocab::DaguAuthAction as Action;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Credentials, Engine};
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, AuditQuery};

pub const AUDIT_FEATURE: &str = "audit";
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;

/// Filters as callers send them: times in RFC 3339, the cursor from a previous page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditRequest {
    pub from: Option<String>,
    pub to: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// `{"events": [...], "nextCursor": "..."}`, newest first.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl AuditPage {
    /// The same page as CSV, for spreadsheets; the cursor travels in a header instead.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("id,timestamp,action,actor,target,clientIp,detail\n");
        for event in &self.events {
            let fields = [
                event.id.to_string(),
                rfc3339(event.at_ms),
                event.action.clone(),
                event.actor.clone(),
                event.target.clone(),
                event.client_ip.clone(),
                event.detail.to_string(),
            ];
            let line: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }
}

/// Quotes a field and defuses spreadsheet formulas (a cell starting `=`, `+`, `-` or `@`).
fn csv_field(value: &str) -> String {
    let defused = match value.starts_with(['=', '+', '-', '@']) {
        true => format!("'{value}"),
        false => value.to_string(),
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

fn parse_time(text: &str, name: &str) -> Result<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            Error::bad_request(format!(
                "{name} must be an RFC 3339 time such as 2026-01-31T00:00:00Z"
            ))
        })
}

impl Engine {
    /// Appends one entry. The change it describes has already happened, so a failed write is
    /// reported on stderr rather than failing the caller's request.
    pub(super) fn audit(
        &self,
        action: &str,
        actor: &str,
        target: &str,
        client_ip: &str,
        detail: Value,
    ) {
        let event = self.audit_event(action, actor, target, client_ip, detail);
        if let Err(error) = self.store.append_audit(&event) {
            let line = serde_json::json!({"log": "dagu-auth.audit-lost", "event": event, "error": error.to_string()});
            eprintln!("{line}");
        }
    }

    pub(super) fn audit_event(
        &self,
        action: &str,
        actor: &str,
        target: &str,
        client_ip: &str,
        detail: Value,
    ) -> AuditEvent {
        AuditEvent {
            id: 0,
            at_ms: self.now_ms(),
            action: action.into(),
            actor: actor.into(),
            target: target.into(),
            client_ip: client_ip.into(),
            detail,
        }
    }

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
        let limit = request.limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Error::bad_request(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        let before_id = match request.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(cursor) => Some(
                cursor
                    .parse::<i64>()
                    .map_err(|_| Error::bad_request("cursor is not one this server issued"))?,
            ),
            None => None,
        };
        let query = AuditQuery {
            from_ms: request
                .from
                .as_deref()
                .map(|t| parse_time(t, "from"))
                .transpose()?,
            to_ms: request
                .to
                .as_deref()
                .map(|t| parse_time(t, "to"))
                .transpose()?,
            actor: request.actor,
            action: request.action,
            target: request.target,
            before_id,
            limit: limit + 1,
        };
        let mut events = self.store.list_audit(&query)?;
        let next_cursor = match events.len() > limit {
            true => {
                events.truncate(limit);
                events.last().map(|event| event.id.to_string())
            }
            false => None,
        };
        Ok(AuditPage {
            events,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_fields_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "\"plain\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
    }
}
