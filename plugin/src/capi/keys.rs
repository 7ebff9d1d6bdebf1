//! API keys and the audit trail through the C ABI (ABI 1.1). Same conventions as functions.rs.

use std::ffi::c_char;

use dagu_auth_abi::DaguAuthStatus;

use super::boundary::{
    DaguAuth, engine_of, guard, optional_str, out_param, required_str, write_json,
};
use crate::error::Error;
use crate::service::AuditRequest;

/// Lists API keys as the admin holding `token`: `{"apiKeys": [APIKey]}`. Keys themselves are never
/// returned, only their `keyPrefix`.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_list(
    instance: *const DaguAuth,
    token: *const c_char,
    keys_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(keys_json_out, "keys_json_out")?;
        // SAFETY: caller contract.
        let (engine, token) = unsafe { (engine_of(instance)?, required_str(token, "token")?) };
        write_json(out, &engine.list_api_keys(token)?)
    })
}

/// One API key: `{"apiKey": APIKey}`. NOT_FOUND when there is none.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_get(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    key_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(key_json_out, "key_json_out")?;
        // SAFETY: caller contract.
        let (engine, token, id) = unsafe {
            (
                engine_of(instance)?,
                required_str(token, "token")?,
                required_str(id, "id")?,
            )
        };
        write_json(out, &engine.get_api_key(token, id)?)
    })
}

/// Creates a key from `{"name","role","description"?,"workspaceAccess"?,"expiresAt"?,
/// "ownerUserId"?,...}`: `{"apiKey": APIKey, "key": "dagu_..."}`, the only time the key is shown.
/// ALREADY_EXISTS for a taken name; FORBIDDEN past the unlicensed limit of 2 keys.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_create(
    instance: *const DaguAuth,
    token: *const c_char,
    request_json: *const c_char,
    created_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(created_json_out, "created_json_out")?;
        // SAFETY: caller contract.
        let (engine, token, json) = unsafe {
            (
                engine_of(instance)?,
                required_str(token, "token")?,
                required_str(request_json, "request_json")?,
            )
        };
        write_json(
            out,
            &engine.create_api_key(token, Error::parse_json(json.as_bytes())?)?,
        )
    })
}

/// Updates a key from `{"name"?,"description"?,"role"?,"workspaceAccess"?,"expiresAt"?,...}`:
/// `{"apiKey": APIKey}`.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_update(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    request_json: *const c_char,
    key_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(key_json_out, "key_json_out")?;
        // SAFETY: caller contract.
        let (engine, token, id, json) = unsafe {
            (
                engine_of(instance)?,
                required_str(token, "token")?,
                required_str(id, "id")?,
                required_str(request_json, "request_json")?,
            )
        };
        write_json(
            out,
            &engine.update_api_key(token, id, Error::parse_json(json.as_bytes())?)?,
        )
    })
}

/// Deletes a key; it stops working at once.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_delete(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        // SAFETY: caller contract.
        let (engine, token, id) = unsafe {
            (
                engine_of(instance)?,
                required_str(token, "token")?,
                required_str(id, "id")?,
            )
        };
        Ok(engine.delete_api_key(token, id)?)
    })
}

/// Lists audit events, newest first, as an admin or manager (needs the `audit` licence feature):
/// `{"events": [...], "nextCursor"?: "..."}`. `query_json` may be NULL or
/// `{"from"?,"to"?,"actor"?,"action"?,"target"?,"cursor"?,"limit"?}` (times in RFC 3339).
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_audit_list(
    instance: *const DaguAuth,
    token: *const c_char,
    query_json: *const c_char,
    events_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(events_json_out, "events_json_out")?;
        // SAFETY: caller contract.
        let (engine, token, query) = unsafe {
            (
                engine_of(instance)?,
                required_str(token, "token")?,
                optional_str(query_json, "query_json")?,
            )
        };
        let request: AuditRequest = match query {
            "" => AuditRequest::default(),
            json => Error::parse_json(json.as_bytes())?,
        };
        write_json(out, &engine.list_audit(token, request)?)
    })
}
