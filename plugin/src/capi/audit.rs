//! The audit trail (since ABI 1.1).

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;

use super::args::{optional_str, required_str};
use super::call::c_call_json;
use crate::ffi::{DaguAuth, query_from_json};

/// Lists audit events, newest first, as an admin or manager (needs the `audit` licence feature):
/// `{"events": [...], "nextCursor"?: "..."}`. `query_json` is
/// `{"from"?,"to"?,"actor"?,"action"?,"target"?,"cursor"?,"limit"?}` (times in RFC 3339).
///
/// # Safety
/// Required: `instance`, `token`, `events_json_out`. `query_json` may be NULL or "" (the newest
/// page). The caller frees `*events_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_audit_list(
    instance: *const DaguAuth,
    token: *const c_char,
    query_json: *const c_char,
    events_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `query_json`, `events_json_out`).
    unsafe {
        c_call_json(instance, events_json_out, error_out, |engine| {
            let (token, query) = (
                required_str(token, "token")?,
                query_from_json(optional_str(query_json, "query_json")?)?,
            );
            Ok(engine.list_audit(token, query)?)
        })
    }
}
