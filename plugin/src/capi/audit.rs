//! The audit trail: reading it (since ABI 1.1) and the host's own events in it (since ABI 1.4).

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;

use super::args::{optional_str, required_str};
use super::call::{c_call_json, c_call_status};
use crate::ffi::{DaguAuth, query_from_json};

/// Lists audit entries, newest first, as an admin or manager (needs the `audit` licence feature):
/// Dagu's `{"entries": [AuditEntry], "total": n}`, plus `"nextCursor"` when more entries follow.
/// `query_json` takes the names of `GET /audit`: the exact-match filters `category`, `action`,
/// `source`, `surface`, `result`, `correlationId`, `resourceType`, `resourceId`, `workspace`,
/// `credentialId`, `credentialType`, `mcpTool`, `ipAddress`, `userId` (strings); `startTime` and
/// `endTime` (RFC 3339 or `YYYY-MM-DD`, inclusive; BAD_REQUEST otherwise); `limit` (default 50,
/// at most 500) and `offset` (integers); `cursor`. Other names are ignored; a value of the wrong
/// type is INVALID_JSON. Since ABI 1.4 this is Dagu's shape; 1.1-1.3 answered
/// `{"events", "nextCursor"}`.
///
/// # Safety
/// Required: `instance`, `token`, `entries_json_out`. `query_json` may be NULL or "" (the newest
/// page). The caller frees `*entries_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_audit_list(
    instance: *const DaguAuth,
    token: *const c_char,
    query_json: *const c_char,
    entries_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `query_json`, `entries_json_out`).
    unsafe {
        c_call_json(instance, entries_json_out, error_out, |engine| {
            let (token, query) = (
                required_str(token, "token")?,
                query_from_json(optional_str(query_json, "query_json")?)?,
            );
            Ok(engine.list_audit(token, query)?)
        })
    }
}

/// Appends an event of the host (a DAG started, a definition changed) to the audit trail, so an
/// admin reads one trail (since ABI 1.4). `token` is the credential that caused the event, a
/// session token or an API key: the entry names its user and credential. NULL or "" means the
/// host itself, recorded as the user `system`.
///
/// `entry_json` is `{"category", "action", "resourceType"?, "resourceId"?, "workspace"?,
/// "details"? (a JSON object), "ipAddress"?, "surface"? ("rest_api", the default, or "mcp"),
/// "result"? ("succeeded", the default, "failed", "denied", "received" or "started"),
/// "correlationId"?, "mcpTool"?}`; other fields are ignored. The plugin adds the id, the time, the
/// user, the credential and the source. Category and action are 1-64 characters of `a-z`, `0-9`,
/// `_` and `.`; the categories `user` and `api_key` are the plugin's own. Never put a password or
/// token in `details`: admins and managers read them.
///
/// UNAUTHENTICATED for a token that is not a valid one; INVALID_JSON for text that is not a JSON
/// object of this shape (a missing category or action included); BAD_REQUEST for an empty or
/// malformed category or action, a reserved category, an unknown surface or result, details that
/// are not an object, or an entry over 64 KiB; STORAGE when it could not be written.
///
/// # Safety
/// Required: `instance`, `entry_json`. `token` may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_audit_append(
    instance: *const DaguAuth,
    token: *const c_char,
    entry_json: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `entry_json`).
    unsafe {
        c_call_status(instance, error_out, |engine| {
            let (token, entry) = (
                optional_str(token, "token")?,
                required_str(entry_json, "entry_json")?,
            );
            Ok(engine.append_audit(token, entry)?)
        })
    }
}
