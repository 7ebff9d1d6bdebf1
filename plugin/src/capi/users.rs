//! User management as the admin holding `token`, with the rules and JSON shapes of the HTTP API.

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;

use super::args::required_str;
use super::call::{c_call_json, c_call_out, c_call_status};
use super::strings::c_string;
use crate::ffi::{DaguAuth, from_json};

/// Lists users as the admin holding `token`, sorted by username: the `UsersListResponse` of
/// `GET /users`, `{"users": [User], "oidcWorkspaceAccessSyncEnabled": false,
/// "managedRoleProviders": [], "managedWorkspaceAccessProviders": []}`.
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
    // The Engine writes this JSON itself: at 100,000 users it is too large to build twice.
    // SAFETY: the contract above (`token`, `users_json_out`).
    unsafe {
        c_call_out(instance, users_json_out, error_out, |engine| {
            let token = required_str(token, "token")?;
            Ok(c_string(engine.list_users_json(token)?))
        })
    }
}

/// One user by id: `{"user": User}`. NOT_FOUND when there is none.
///
/// # Safety
/// Required: `instance`, `token`, `user_id`, `user_json_out`. The caller frees `*user_json_out` with
/// `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_get(
    instance: *const DaguAuth,
    token: *const c_char,
    user_id: *const c_char,
    user_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `user_id`, `user_json_out`).
    unsafe {
        c_call_json(instance, user_json_out, error_out, |engine| {
            let (token, user_id) = (
                required_str(token, "token")?,
                required_str(user_id, "user_id")?,
            );
            Ok(engine.get_user(token, user_id)?)
        })
    }
}

/// Creates a user: `new_user_json` is `{"username","password","role","workspaceAccess"?}`,
/// `*user_json_out` `{"user": User}`.
/// INVALID_JSON, BAD_REQUEST, ALREADY_EXISTS, FORBIDDEN (not admin, or no `rbac` licence).
///
/// # Safety
/// Required: `instance`, `token`, `new_user_json`, `user_json_out`. The caller frees
/// `*user_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_create(
    instance: *const DaguAuth,
    token: *const c_char,
    new_user_json: *const c_char,
    user_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `new_user_json`, `user_json_out`).
    unsafe {
        c_call_json(instance, user_json_out, error_out, |engine| {
            let (token, new_user) = (
                required_str(token, "token")?,
                from_json(required_str(new_user_json, "new_user_json")?)?,
            );
            Ok(engine.create_user(token, new_user)?)
        })
    }
}

/// Updates a user: `changes_json` is `{"username"?,"role"?,"workspaceAccess"?,"isDisabled"?}`,
/// `*user_json_out` `{"user": User}`.
/// CONFLICT when no enabled admin would remain; FORBIDDEN without the `rbac` licence.
///
/// # Safety
/// Required: `instance`, `token`, `user_id`, `changes_json`, `user_json_out`. The caller frees
/// `*user_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_update(
    instance: *const DaguAuth,
    token: *const c_char,
    user_id: *const c_char,
    changes_json: *const c_char,
    user_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `user_id`, `changes_json`, `user_json_out`).
    unsafe {
        c_call_json(instance, user_json_out, error_out, |engine| {
            let (token, user_id, changes) = (
                required_str(token, "token")?,
                required_str(user_id, "user_id")?,
                from_json(required_str(changes_json, "changes_json")?)?,
            );
            Ok(engine.update_user(token, user_id, changes)?)
        })
    }
}

/// Deletes a user and ends their sessions. CONFLICT for the last enabled admin; FORBIDDEN without
/// the `rbac` licence.
///
/// # Safety
/// Required: `instance`, `token`, `user_id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_delete(
    instance: *const DaguAuth,
    token: *const c_char,
    user_id: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `user_id`).
    unsafe {
        c_call_status(instance, error_out, |engine| {
            let (token, user_id) = (
                required_str(token, "token")?,
                required_str(user_id, "user_id")?,
            );
            Ok(engine.delete_user(token, user_id)?)
        })
    }
}

/// Sets a user's password as an admin; the user's sessions end.
///
/// # Safety
/// Required: `instance`, `token`, `user_id`, `new_password`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_reset_password(
    instance: *const DaguAuth,
    token: *const c_char,
    user_id: *const c_char,
    new_password: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `user_id`, `new_password`).
    unsafe {
        c_call_status(instance, error_out, |engine| {
            let (token, user_id, new_password) = (
                required_str(token, "token")?,
                required_str(user_id, "user_id")?,
                required_str(new_password, "new_password")?,
            );
            Ok(engine.reset_password(token, user_id, new_password)?)
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
    // SAFETY: the contract above (`token`, `current_password`, `new_password`).
    unsafe {
        c_call_status(instance, error_out, |engine| {
            let (token, current_password, new_password) = (
                required_str(token, "token")?,
                required_str(current_password, "current_password")?,
                required_str(new_password, "new_password")?,
            );
            Ok(engine.change_password(token, current_password, new_password)?)
        })
    }
}
