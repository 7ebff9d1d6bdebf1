//! The audit trail: recording security events and reading them back (admins and managers, with the
//! `audit` licence feature).

use dagu_auth_vocab::DaguAuthAction as Action;
use serde_json::Value;

use super::wire::{AuditPage, AuditRequest};
use super::{Credentials, Engine};
use crate::clock::parse_rfc3339;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, AuditQuery};

pub const AUDIT_FEATURE: &str = "audit";
/// The actor recorded in the audit trail for every operator command.
pub const OPERATOR: &str = "operator";
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;

/// Who an audit entry names as having acted, and the address they called from. The id is a user
/// id, `apikey:<id>`, `operator` for the command line, or the account name of a sign-in attempt.
#[derive(Debug, Clone)]
pub(super) struct Actor<'a> {
    pub id: String,
    pub client_ip: &'a str,
}

impl<'a> Actor<'a> {
    pub fn new(id: impl Into<String>, client_ip: &'a str) -> Self {
        Self {
            id: id.into(),
            client_ip,
        }
    }

    /// Whoever runs operator commands at a host's command line: `operator`, with no address.
    pub fn operator() -> Self {
        Self::new(OPERATOR, "")
    }
}

impl Engine {
    /// Appends one entry. The change it describes has already happened, so a failed write is
    /// reported on stderr rather than failing the caller's request.
    pub(super) fn audit(&self, action: &str, actor: &Actor<'_>, target: &str, detail: Value) {
        let event = self.audit_event(action, actor, target, detail);
        if let Err(error) = self.store.append_audit(&event) {
            let line = serde_json::json!({"log": "dagu-auth.audit-lost", "event": event, "error": error.to_string()});
            eprintln!("{line}");
        }
    }

    /// An entry for the store to write together with the change it describes.
    pub(super) fn audit_event(
        &self,
        action: &str,
        actor: &Actor<'_>,
        target: &str,
        detail: Value,
    ) -> AuditEvent {
        AuditEvent {
            id: 0,
            at_ms: self.now_ms(),
            action: action.into(),
            actor: actor.id.clone(),
            target: target.into(),
            client_ip: actor.client_ip.into(),
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
            from_ms: filter_time(request.from.as_deref(), "from")?,
            to_ms: filter_time(request.to.as_deref(), "to")?,
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

/// The filter `name` in milliseconds, if given.
fn filter_time(text: Option<&str>, name: &str) -> Result<Option<i64>> {
    text.map(|text| {
        parse_rfc3339(text).ok_or_else(|| {
            Error::bad_request(format!(
                "{name} must be an RFC 3339 time such as 2026-01-31T00:00:00Z"
            ))
        })
    })
    .transpose()
}
