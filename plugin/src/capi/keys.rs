//! API keys, as the admin holding `token` (since ABI 1.1).

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;

use super::args::required_str;
use super::call::{c_call_json, c_call_status};
use crate::ffi::{DaguAuth, from_json, to_json};

/// Lists API keys: `{"apiKeys": [APIKey]}`. Keys themselves are never returned, only their
/// `keyPrefix`.
///
/// # Safety
/// Required: `instance`, `token`, `keys_json_out`. The caller frees `*keys_json_out` with
/// `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_list(
    instance: *const DaguAuth,
    token: *const c_char,
    keys_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_json(instance, keys_json_out, error_out, |engine| {
            to_json(&engine.list_api_keys(required_str(token, "token")?)?)
        })
    }
}

/// One API key: `{"apiKey": APIKey}`. NOT_FOUND when there is none.
///
/// # Safety
/// Required: `instance`, `token`, `id`, `key_json_out`. The caller frees `*key_json_out` with
/// `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_get(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    key_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_json(instance, key_json_out, error_out, |engine| {
            to_json(&engine.get_api_key(required_str(token, "token")?, required_str(id, "id")?)?)
        })
    }
}

/// Creates a key from `{"name","role","description"?,"workspaceAccess"?,"expiresAt"?,
/// "ownerUserId"?,...}`: `{"apiKey": APIKey, "key": "dagu_..."}`, the only time the key is shown.
/// ALREADY_EXISTS for a taken name; FORBIDDEN past 2 keys when no licence feature is configured.
///
/// # Safety
/// Required: `instance`, `token`, `request_json`, `created_json_out`. The caller frees
/// `*created_json_out` with `dagu_auth_string_free`, and should wipe it first: it holds the key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_create(
    instance: *const DaguAuth,
    token: *const c_char,
    request_json: *const c_char,
    created_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_json(instance, created_json_out, error_out, |engine| {
            let token = required_str(token, "token")?;
            let request = from_json(required_str(request_json, "request_json")?)?;
            to_json(&engine.create_api_key(token, request)?)
        })
    }
}

/// Updates a key from `{"name"?,"description"?,"role"?,"workspaceAccess"?,"expiresAt"?,...}`:
/// `{"apiKey": APIKey}`.
///
/// # Safety
/// Required: `instance`, `token`, `id`, `request_json`, `key_json_out`. The caller frees
/// `*key_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_update(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    request_json: *const c_char,
    key_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_json(instance, key_json_out, error_out, |engine| {
            let (token, id) = (required_str(token, "token")?, required_str(id, "id")?);
            let changes = from_json(required_str(request_json, "request_json")?)?;
            to_json(&engine.update_api_key(token, id, changes)?)
        })
    }
}

/// Deletes a key; it stops working at once.
///
/// # Safety
/// Required: `instance`, `token`, `id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_delete(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_status(instance, error_out, |engine| {
            Ok(engine.delete_api_key(required_str(token, "token")?, required_str(id, "id")?)?)
        })
    }
}
