//! User management as the admin holding `token`, with the rules and JSON shapes of the HTTP API.

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;

use super::args::required_str;
use super::call::{c_call_json, c_call_status};
use crate::ffi::{DaguAuth, from_json, to_json};

/// Lists users as the admin holding `token`: `{"users": [User]}`, sorted by username.
///
/// # Safety
/// Required: `instance`, `token`, `users_json_out`. The caller frees `*users_json_out` with
/// `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_list(
    instance: *const DaguAuth,
    token: *const c_char,
    users_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_json(instance, users_json_out, error_out, |engine| {
            Ok(engine.list_users_json(required_str(token, "token")?)?)
        })
    }
}

/// One user by id: `{"user": User}`. NOT_FOUND when there is none.
///
/// # Safety
/// Required: `instance`, `token`, `id`, `user_json_out`. The caller frees `*user_json_out` with
/// `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_get(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    user_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_json(instance, user_json_out, error_out, |engine| {
            to_json(&engine.get_user(required_str(token, "token")?, required_str(id, "id")?)?)
        })
    }
}

/// Creates a user from `{"username","password","role","workspaceAccess"?}`: `{"user": User}`.
/// INVALID_JSON, BAD_REQUEST, ALREADY_EXISTS, FORBIDDEN (not admin, or no `rbac` licence).
///
/// # Safety
/// Required: `instance`, `token`, `request_json`, `user_json_out`. The caller frees
/// `*user_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_create(
    instance: *const DaguAuth,
    token: *const c_char,
    request_json: *const c_char,
    user_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_json(instance, user_json_out, error_out, |engine| {
            let token = required_str(token, "token")?;
            let request = from_json(required_str(request_json, "request_json")?)?;
            to_json(&engine.create_user(token, request)?)
        })
    }
}

/// Updates a user from `{"username"?,"role"?,"workspaceAccess"?,"isDisabled"?}`: `{"user": User}`.
/// CONFLICT when no enabled admin would remain; FORBIDDEN without the `rbac` licence.
///
/// # Safety
/// Required: `instance`, `token`, `id`, `request_json`, `user_json_out`. The caller frees
/// `*user_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_update(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    request_json: *const c_char,
    user_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_json(instance, user_json_out, error_out, |engine| {
            let (token, id) = (required_str(token, "token")?, required_str(id, "id")?);
            let request = from_json(required_str(request_json, "request_json")?)?;
            to_json(&engine.update_user(token, id, request)?)
        })
    }
}

/// Deletes a user and ends their sessions. CONFLICT for the last enabled admin; FORBIDDEN without
/// the `rbac` licence.
///
/// # Safety
/// Required: `instance`, `token`, `id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_delete(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_status(instance, error_out, |engine| {
            Ok(engine.delete_user(required_str(token, "token")?, required_str(id, "id")?)?)
        })
    }
}

/// Sets a user's password as an admin; the user's sessions end.
///
/// # Safety
/// Required: `instance`, `token`, `id`, `new_password`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_reset_password(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    new_password: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_status(instance, error_out, |engine| {
            let (token, id) = (required_str(token, "token")?, required_str(id, "id")?);
            Ok(engine.reset_password(token, id, required_str(new_password, "new_password")?)?)
        })
    }
}

/// Changes the caller's own password; all of the caller's sessions end. UNAUTHENTICATED when
/// `current_password` is wrong.
///
/// # Safety
/// Required: `instance`, `token`, `current_password`, `new_password`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_change_password(
    instance: *const DaguAuth,
    token: *const c_char,
    current_password: *const c_char,
    new_password: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the header's conventions.
    unsafe {
        c_call_status(instance, error_out, |engine| {
            let token = required_str(token, "token")?;
            let current = required_str(current_password, "current_password")?;
            Ok(engine.change_password(
                token,
                current,
                required_str(new_password, "new_password")?,
            )?)
        })
    }
}
