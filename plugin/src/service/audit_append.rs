//! The host's own events (a DAG started, a definition changed) in the plugin's audit trail, so an
//! admin reads one trail: `dagu_auth_audit_append` and its Rust twin.

use serde_json::Value;

use super::Engine;
use super::audit::{Actor, Event, shortened};
use super::wire::AuditAppendRequest;
use crate::error::{Error, Result};

/// Larger entries are refused whole: the trail is read a page at a time, and one entry must not
/// make a page megabytes long.
const MAX_ENTRY_BYTES: usize = 64 * 1024;
/// The plugin's own categories: a host writing into them could forge a sign-in or a user change.
const RESERVED_CATEGORIES: [&str; 2] = ["user", "api_key"];
const SURFACES: [&str; 2] = ["rest_api", "mcp"];
/// Dagu's results.
const RESULTS: [&str; 5] = ["succeeded", "failed", "denied", "received", "started"];

impl Engine {
    /// Records an event of the host, attributed to the credential that caused it: `token` is a
    /// session token or an API key, or empty for the host itself (recorded as the user `system`).
    /// The plugin adds the id, the time, the user, the credential and the source.
    pub fn append_audit(&self, token: &str, entry_json: &str) -> Result<()> {
        let principal = match token {
            "" => None,
            token => Some(self.principal(token)?),
        };
        if entry_json.len() > MAX_ENTRY_BYTES {
            return Err(Error::bad_request(format!(
                "the audit entry is {} bytes; at most {MAX_ENTRY_BYTES} are accepted",
                entry_json.len()
            )));
        }
        let request: AuditAppendRequest =
            serde_json::from_str(entry_json).map_err(|e| Error::InvalidJson(e.to_string()))?;
        name("category", &request.category)?;
        name("action", &request.action)?;
        if RESERVED_CATEGORIES.contains(&request.category.as_str()) {
            return Err(Error::bad_request(format!(
                "the category {} is reserved for the plugin's own events",
                request.category
            )));
        }
        let surface = one_of("surface", request.surface.as_deref(), &SURFACES)?;
        let result = one_of("result", request.result.as_deref(), &RESULTS)?;
        let details = match request.details {
            None | Some(Value::Null) => Value::Null,
            Some(object @ Value::Object(_)) => object,
            Some(_) => return Err(Error::bad_request("details must be a JSON object")),
        };
        let ip = request.ip_address.unwrap_or_default();
        let actor = match &principal {
            Some(principal) => Actor::caller(principal, &ip),
            None => Actor::system(&ip),
        }
        .on_surface(surface);
        let text = |field: &Option<String>| field.clone().unwrap_or_default();
        let (resource_type, resource_id, workspace, correlation_id, mcp_tool) = (
            text(&request.resource_type),
            text(&request.resource_id),
            text(&request.workspace),
            text(&request.correlation_id),
            text(&request.mcp_tool),
        );
        let event = Event::new(&request.category, &request.action)
            .result(result)
            .resource(&resource_type, &resource_id)
            .workspace(&workspace)
            .correlation_id(&correlation_id)
            .mcp_tool(&mcp_tool)
            .details(details);
        self.store.append_audit(&self.audit_entry(&actor, event))
    }
}

/// A category or action: 1-64 characters of `a-z`, `0-9`, `_` and `.` (Dagu's own names, such
/// as `dag_execute` or `mcp.tool_call.failed`, all fit).
fn name(field: &str, value: &str) -> Result<()> {
    let fits = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.';
    match value {
        "" => Err(Error::bad_request(format!("{field} is required"))),
        _ if value.len() <= 64 && value.chars().all(fits) => Ok(()),
        _ => Err(Error::bad_request(format!(
            "{field} must be 1-64 characters of a-z, 0-9, '_' and '.', not '{}'",
            shortened(value)
        ))),
    }
}

/// `value`, one of `allowed`; absent or empty is the first.
fn one_of(field: &str, value: Option<&str>, allowed: &[&'static str]) -> Result<&'static str> {
    match value.filter(|value| !value.is_empty()) {
        None => Ok(allowed[0]),
        Some(value) => allowed
            .iter()
            .find(|known| **known == value)
            .copied()
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "{field} must be one of {}, not '{}'",
                    allowed.join(", "),
                    shortened(value)
                ))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_words_with_dots_and_underscores() {
        for good in ["dag", "dag_execute", "mcp.tool_call.failed", "v2"] {
            assert_eq!(name("action", good), Ok(()), "{good}");
        }
        for bad in ["", "Dag", "dag execute", "dag-run", "é", &"a".repeat(65)] {
            assert!(name("action", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn surface_and_result_default_to_the_first_and_refuse_others() {
        assert_eq!(one_of("surface", None, &SURFACES), Ok("rest_api"));
        assert_eq!(one_of("surface", Some(""), &SURFACES), Ok("rest_api"));
        assert_eq!(one_of("surface", Some("mcp"), &SURFACES), Ok("mcp"));
        assert_eq!(
            one_of("surface", Some("ftp"), &SURFACES),
            Err(Error::bad_request(
                "surface must be one of rest_api, mcp, not 'ftp'"
            ))
        );
        assert_eq!(one_of("result", Some("denied"), &RESULTS), Ok("denied"));
    }
}
