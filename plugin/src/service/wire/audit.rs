//! The audit trail: the filters callers send and the pages they get back, as JSON or CSV.

use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::model::AuditEvent;

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

/// One entry: its time in RFC 3339 as `timestamp`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditEventView<'a> {
    id: i64,
    timestamp: String,
    action: &'a str,
    actor: &'a str,
    target: &'a str,
    client_ip: &'a str,
    detail: &'a serde_json::Value,
}

serialize_as!(AuditEvent, |event| AuditEventView {
    id: event.id,
    timestamp: rfc3339(event.at_ms),
    action: &event.action,
    actor: &event.actor,
    target: &event.target,
    client_ip: &event.client_ip,
    detail: &event.detail,
});

/// `{"events": [...], "nextCursor"?: "..."}`, newest first.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditPageBody<'a> {
    events: &'a [AuditEvent],
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<&'a str>,
}

serialize_as!(AuditPage, |page| AuditPageBody {
    events: &page.events,
    next_cursor: page.next_cursor.as_deref(),
});

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
