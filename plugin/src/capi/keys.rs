//! API keys, as the admin holding `token` (since ABI 1.1).

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;

use super::args::required_str;
use super::call::{c_call_json, c_call_status};
use crate::ffi::{DaguAuth, from_json};

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
    // SAFETY: the contract above (`token`, `keys_json_out`).
    unsafe {
        c_call_json(instance, keys_json_out, error_out, |engine| {
            let token = required_str(token, "token")?;
            Ok(engine.list_api_keys(token)?)
        })
    }
}

/// One API key: `{"apiKey": APIKey}`. NOT_FOUND when there is none.
///
/// # Safety
/// Required: `instance`, `token`, `key_id`, `key_json_out`. The caller frees `*key_json_out` with
/// `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_get(
    instance: *const DaguAuth,
    token: *const c_char,
    key_id: *const c_char,
    key_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `key_id`, `key_json_out`).
    unsafe {
        c_call_json(instance, key_json_out, error_out, |engine| {
            let (token, key_id) = (
                required_str(token, "token")?,
                required_str(key_id, "key_id")?,
            );
            Ok(engine.get_api_key(token, key_id)?)
        })
    }
}

/// Creates a key: `new_key_json` is `{"name","role","description"?,"workspaceAccess"?,
/// "expiresAt"?,"ownerUserId"?,...}`, `*created_json_out` `{"apiKey": APIKey, "key": "dagu_..."}`,
/// the only time the key is shown.
/// ALREADY_EXISTS for a taken name; FORBIDDEN past 2 keys when no licence feature is configured.
///
/// # Safety
/// Required: `instance`, `token`, `new_key_json`, `created_json_out`. The caller frees
/// `*created_json_out` with `dagu_auth_string_free`, and should wipe it first: it holds the key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_create(
    instance: *const DaguAuth,
    token: *const c_char,
    new_key_json: *const c_char,
    created_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `new_key_json`, `created_json_out`).
    unsafe {
        c_call_json(instance, created_json_out, error_out, |engine| {
            let (token, new_key) = (
                required_str(token, "token")?,
                from_json(required_str(new_key_json, "new_key_json")?)?,
            );
            Ok(engine.create_api_key(token, new_key)?)
        })
    }
}

/// Updates a key: `changes_json` is `{"name"?,"description"?,"role"?,"workspaceAccess"?,
/// "expiresAt"?,...}`, `*key_json_out` `{"apiKey": APIKey}`.
///
/// # Safety
/// Required: `instance`, `token`, `key_id`, `changes_json`, `key_json_out`. The caller frees
/// `*key_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_update(
    instance: *const DaguAuth,
    token: *const c_char,
    key_id: *const c_char,
    changes_json: *const c_char,
    key_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `key_id`, `changes_json`, `key_json_out`).
    unsafe {
        c_call_json(instance, key_json_out, error_out, |engine| {
            let (token, key_id, changes) = (
                required_str(token, "token")?,
                required_str(key_id, "key_id")?,
                from_json(required_str(changes_json, "changes_json")?)?,
            );
            Ok(engine.update_api_key(token, key_id, changes)?)
        })
    }
}

/// Deletes a key; it stops working at once.
///
/// # Safety
/// Required: `instance`, `token`, `key_id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_api_key_delete(
    instance: *const DaguAuth,
    token: *const c_char,
    key_id: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `key_id`).
    unsafe {
        c_call_status(instance, error_out, |engine| {
            let (token, key_id) = (
                required_str(token, "token")?,
                required_str(key_id, "key_id")?,
            );
            Ok(engine.delete_api_key(token, key_id)?)
        })
    }
}
