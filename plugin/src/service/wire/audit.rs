//! The audit trail in Dagu's shapes: the filters callers send, the pages they get back (as JSON or
//! CSV), and the entries a host appends.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::audit::shortened;
use crate::model::{AuditEntry, AuditField};

/// What a listing asks for: Dagu's query parameters over HTTP, the same names as a JSON object
/// through the ABIs. Unknown names are ignored, as Dagu ignores them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RequestFields")]
pub struct AuditRequest {
    /// Exact matches; an empty value filters nothing.
    pub filters: Vec<(AuditField, String)>,
    /// RFC 3339, or a date (midnight UTC), as Dagu reads them.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// `nextCursor` of an earlier page (ours; Dagu pages by offset only).
    pub cursor: Option<String>,
    /// Why a parameter could not be read (a `limit` that is no integer), for the Engine to answer
    /// once the caller is known: a bad parameter must not answer before a missing credential.
    pub unreadable: Option<String>,
}

impl AuditRequest {
    /// Sets a filter, replacing an earlier value for the same field.
    pub fn set_filter(&mut self, field: AuditField, value: String) {
        self.filters.retain(|(set, _)| *set != field);
        self.filters.push((field, value));
    }

    /// Reads one query parameter of `GET /audit`; `false` for a name that is not one of Dagu's.
    /// A later value of a parameter replaces an earlier one.
    pub fn set_param(&mut self, name: &str, value: String) -> bool {
        if let Some(field) = AuditField::from_param(name) {
            self.set_filter(field, value);
            return true;
        }
        match name {
            "startTime" => self.start_time = Some(value),
            "endTime" => self.end_time = Some(value),
            "cursor" => self.cursor = Some(value),
            "limit" | "offset" => {
                let number = match value.parse() {
                    Ok(number) => Some(number),
                    Err(_) => {
                        self.unreadable
                            .get_or_insert_with(|| bad_integer_param(name, &value));
                        None
                    }
                };
                match name {
                    "limit" => self.limit = number,
                    _ => self.offset = number,
                }
            }
            _ => return false,
        }
        true
    }
}

/// The message Dagu's parameter binder gives for an integer parameter that is not one.
fn bad_integer_param(name: &str, text: &str) -> String {
    let reason = match text.parse::<i128>() {
        Ok(_) => "value out of range",
        Err(_) => "invalid syntax",
    };
    format!(
        "Invalid format for parameter {name}: error binding string parameter: strconv.ParseInt: \
         parsing \"{}\": {reason}",
        shortened(text)
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestFields {
    start_time: Option<String>,
    end_time: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
    cursor: Option<String>,
    #[serde(flatten)]
    others: BTreeMap<String, Value>,
}

impl TryFrom<RequestFields> for AuditRequest {
    type Error = String;

    fn try_from(fields: RequestFields) -> Result<Self, String> {
        let mut request = Self {
            filters: Vec::new(),
            start_time: fields.start_time,
            end_time: fields.end_time,
            limit: fields.limit,
            offset: fields.offset,
            cursor: fields.cursor,
            unreadable: None,
        };
        for (name, value) in fields.others {
            let Some(field) = AuditField::from_param(&name) else {
                continue;
            };
            match value {
                Value::String(text) => request.set_filter(field, text),
                Value::Null => {}
                other => return Err(format!("{name} must be a string, not {other}")),
            }
        }
        Ok(request)
    }
}

/// One entry as Dagu's `AuditEntry`: empty optional fields are left out, `details` is a string
/// holding JSON, the timestamp RFC 3339 in UTC with as many fractional digits as it has.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditEntryView<'a> {
    id: &'a str,
    timestamp: String,
    category: &'a str,
    action: &'a str,
    user_id: &'a str,
    username: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    source: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    surface: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    result: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    correlation_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    resource_type: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    resource_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    workspace: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    credential_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    credential_type: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    mcp_tool: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    details: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    ip_address: &'a str,
}

serialize_as!(AuditEntry, |entry| AuditEntryView {
    id: &entry.id,
    timestamp: timestamp(entry.at_ms),
    category: &entry.category,
    action: &entry.action,
    user_id: &entry.user_id,
    username: &entry.username,
    source: &entry.source,
    surface: &entry.surface,
    result: &entry.result,
    correlation_id: &entry.correlation_id,
    resource_type: &entry.resource_type,
    resource_id: &entry.resource_id,
    workspace: &entry.workspace,
    credential_id: &entry.credential_id,
    credential_type: &entry.credential_type,
    mcp_tool: &entry.mcp_tool,
    details: &entry.details,
    ip_address: &entry.ip_address,
});

/// As Dagu writes it (Go's RFC3339Nano): UTC, the fraction without trailing zeros. Entries keep
/// milliseconds, so two in one second still read in order.
fn timestamp(ms: i64) -> String {
    let text = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (time, fraction) = text.split_once('.').unwrap_or((&text, "Z"));
    match fraction.trim_end_matches(['0', 'Z']) {
        "" => format!("{time}Z"),
        digits => format!("{time}.{digits}Z"),
    }
}

/// `{"entries": [...], "total": n, "nextCursor"?: "..."}`, newest first: Dagu's
/// `AuditLogsResponse` and our cursor.
#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Every match, before offset and limit.
    pub total: u64,
    pub next_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditPageBody<'a> {
    entries: &'a [AuditEntry],
    total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<&'a str>,
}

serialize_as!(AuditPage, |page| AuditPageBody {
    entries: &page.entries,
    total: page.total,
    next_cursor: page.next_cursor.as_deref(),
});

/// The CSV columns: every field of an entry, under its JSON name.
const CSV_HEADER: &str = "id,timestamp,category,action,userId,username,source,surface,result,\
                          correlationId,resourceType,resourceId,workspace,credentialId,\
                          credentialType,mcpTool,details,ipAddress\n";

impl AuditPage {
    /// The same page as CSV, for spreadsheets; the total and the cursor travel in headers instead.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        for entry in &self.entries {
            // CSV_HEADER's order: the id, the time, then the entry's other texts.
            let texts = entry.texts();
            let time = timestamp(entry.at_ms);
            let fields = std::iter::once(texts[0])
                .chain(std::iter::once(time.as_str()))
                .chain(texts[1..].iter().copied());
            let line: Vec<String> = fields.map(csv_field).collect();
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

/// An entry a host appends for its own event (`dagu_auth_audit_append`). The plugin adds the id,
/// the time, who acted and through which credential, and the source.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditAppendRequest {
    pub category: String,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub workspace: Option<String>,
    /// A JSON object, or absent.
    pub details: Option<Value>,
    pub ip_address: Option<String>,
    /// `rest_api` (the default) or `mcp`.
    pub surface: Option<String>,
    /// `succeeded` (the default), `failed`, `denied`, `received` or `started`.
    pub result: Option<String>,
    pub correlation_id: Option<String>,
    pub mcp_tool: Option<String>,
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

    #[test]
    fn timestamps_are_utc_with_the_fraction_as_go_trims_it() {
        assert_eq!(timestamp(1_790_000_000_000), "2026-09-21T14:13:20Z");
        assert_eq!(timestamp(1_790_000_000_120), "2026-09-21T14:13:20.12Z");
        assert_eq!(timestamp(1_790_000_000_007), "2026-09-21T14:13:20.007Z");
    }

    #[test]
    fn query_parameters_set_filters_and_a_bad_integer_waits_with_dagus_binder_message() {
        let mut request = AuditRequest::default();
        for (name, value) in [
            ("category", "user"),
            ("category", "dag"),
            ("limit", "abc"),
            ("offset", "99999999999999999999"),
            ("startTime", "2026-01-01"),
        ] {
            assert!(request.set_param(name, value.into()), "{name}");
        }
        assert!(!request.set_param("format", "csv".into()));
        assert_eq!(request.filters, [(AuditField::Category, "dag".to_string())]);
        assert_eq!((request.limit, request.offset), (None, None));
        assert_eq!(
            request.unreadable.as_deref(),
            Some(
                "Invalid format for parameter limit: error binding string parameter: \
                 strconv.ParseInt: parsing \"abc\": invalid syntax"
            )
        );
        assert_eq!(
            bad_integer_param("offset", "99999999999999999999"),
            "Invalid format for parameter offset: error binding string parameter: \
             strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
        );
    }

    #[test]
    fn a_request_takes_dagus_names_ignores_unknown_ones_and_refuses_a_filter_that_is_no_string() {
        let request: AuditRequest = serde_json::from_str(
            r#"{"userId":"u1","category":"user","startTime":"2026-01-01","limit":-3,"remoteNode":"local","actor":"x"}"#,
        )
        .expect("request");
        assert_eq!(
            request.filters,
            [
                (AuditField::Category, "user".to_string()),
                (AuditField::UserId, "u1".to_string())
            ]
        );
        assert_eq!(
            (request.start_time.as_deref(), request.limit),
            (Some("2026-01-01"), Some(-3))
        );
        let error = serde_json::from_str::<AuditRequest>(r#"{"userId":5}"#).expect_err("a number");
        assert!(
            error.to_string().contains("userId must be a string"),
            "{error}"
        );
    }
}
