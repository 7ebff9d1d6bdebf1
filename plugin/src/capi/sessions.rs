//! First setup, sign-in, who a token is, what it may do, and sign-out.

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;

use super::args::{optional_str, required_str, str_with_len};
use super::call::{c_call_json, c_call_out, c_call_status};
use crate::ffi::{DaguAuth, authorize};

/// Whether no user exists yet: then the first admin is created with `dagu_auth_setup`.
///
/// # Safety
/// Required: `instance`, `required_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_setup_required(
    instance: *const DaguAuth,
    required_out: *mut bool,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`required_out`).
    unsafe {
        c_call_out(instance, required_out, error_out, |engine| {
            Ok(engine.setup_required()?)
        })
    }
}

/// Creates the first admin and signs them in; `*login_json_out` is a LoginResponse
/// (`{"token","expiresAt","user"}`). FORBIDDEN once any user exists; BAD_REQUEST for a rejected
/// username or password. Needs no licence.
///
/// # Safety
/// Required: `instance`, `username`, `password`, `login_json_out`. The caller frees
/// `*login_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_setup(
    instance: *const DaguAuth,
    username: *const c_char,
    password: *const c_char,
    login_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`username`, `password`, `login_json_out`).
    unsafe {
        c_call_json(instance, login_json_out, error_out, |engine| {
            let (username, password) = (
                required_str(username, "username")?,
                required_str(password, "password")?,
            );
            Ok(engine.setup(username, password, "")?)
        })
    }
}

/// Signs in; `*login_json_out` is a LoginResponse. UNAUTHENTICATED for an unknown user, a wrong
/// password or a disabled account alike; RATE_LIMITED after repeated failures.
///
/// # Safety
/// Required: `instance`, `username`, `password`, `login_json_out`. `client_ip` may be NULL (no
/// address). The caller frees `*login_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_authenticate(
    instance: *const DaguAuth,
    username: *const c_char,
    password: *const c_char,
    client_ip: *const c_char,
    login_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`username`, `password`, `client_ip`, `login_json_out`).
    unsafe {
        c_call_json(instance, login_json_out, error_out, |engine| {
            let (username, password, client_ip) = (
                required_str(username, "username")?,
                required_str(password, "password")?,
                optional_str(client_ip, "client_ip")?,
            );
            Ok(engine.login(username, password, client_ip)?)
        })
    }
}

/// Who a bearer token (a session token or an API key) belongs to: `*principal_json_out` is
/// `{"user": User}`. UNAUTHENTICATED for a missing, malformed, expired or revoked token.
///
/// # Safety
/// Required: `instance`, `token`, `principal_json_out`. The caller frees `*principal_json_out`
/// with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_verify(
    instance: *const DaguAuth,
    token: *const c_char,
    principal_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `principal_json_out`).
    unsafe {
        c_call_json(instance, principal_json_out, error_out, |engine| {
            let token = required_str(token, "token")?;
            Ok(engine.principal(token)?)
        })
    }
}

/// Decides whether the holder of `token` may do `action` (a `DaguAuthAction` value) in `workspace`
/// (NULL or "" = the default workspace). `*decision_out` receives a `DaguAuthDecision` value.
/// UNAUTHENTICATED for a bad token; BAD_REQUEST for an unknown action. The hot path: no database
/// access for known principals.
///
/// How it decides:
/// - VIEW, EXECUTE and WRITE use the role in that workspace: the top-level role in the default
///   workspace and, for a principal with access to all workspaces, in every workspace; otherwise
///   the role its grant for that workspace names, and NOT_VISIBLE without one.
/// - AUDIT and ADMIN use the top-level role whatever the workspace: FORBIDDEN (never NOT_VISIBLE)
///   below manager or admin, even in a workspace the principal was not granted.
/// - A principal with access to all workspaces is allowed on any workspace name, even one that
///   no grant could hold (workspace names have rules; `all` means every workspace the host has,
///   and the host owns its naming).
/// - Grants match the workspace name exactly: "ops" grants nothing in "Ops".
///
/// # Safety
/// Required: `instance`, `token`, `decision_out`. `workspace` may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_authorize(
    instance: *const DaguAuth,
    token: *const c_char,
    action: u32,
    workspace: *const c_char,
    decision_out: *mut u32,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `workspace`, `decision_out`).
    unsafe {
        c_call_out(instance, decision_out, error_out, |engine| {
            let (token, workspace) = (
                required_str(token, "token")?,
                optional_str(workspace, "workspace")?,
            );
            Ok(authorize(engine, token, action, workspace)?)
        })
    }
}

/// `dagu_auth_authorize` with lengths instead of NUL terminators, for hosts whose strings are not
/// NUL-terminated (Go, Rust, a slice of a request buffer), which can then call it without copying.
/// It decides as `dagu_auth_authorize` does. The bytes are taken exactly: a NUL inside `workspace`
/// is part of the name, so it matches no grant. Bytes that are not UTF-8 give INVALID_UTF8. Since
/// ABI 1.3.
///
/// # Safety
/// Required: `instance`, `decision_out`. `token` and `workspace` are NULL or point to `token_len`
/// and `workspace_len` readable bytes; NULL with a length of 0 reads as "" (an empty token is
/// UNAUTHENTICATED; an empty workspace is the default one), NULL with any other length is
/// NULL_ARGUMENT.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // the C signature: two (pointer, length) pairs
pub unsafe extern "C" fn dagu_auth_authorize_n(
    instance: *const DaguAuth,
    token: *const c_char,
    token_len: usize,
    action: u32,
    workspace: *const c_char,
    workspace_len: usize,
    decision_out: *mut u32,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `workspace`, `decision_out`).
    unsafe {
        c_call_out(instance, decision_out, error_out, |engine| {
            let token = str_with_len(token, token_len, "token")?;
            let workspace = str_with_len(workspace, workspace_len, "workspace")?;
            Ok(authorize(engine, token, action, workspace)?)
        })
    }
}

/// Ends the session of `token` at once. BAD_REQUEST for an API key (delete the key instead).
///
/// # Safety
/// Required: `instance`, `token`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_logout(
    instance: *const DaguAuth,
    token: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`).
    unsafe {
        c_call_status(instance, error_out, |engine| {
            let token = required_str(token, "token")?;
            Ok(engine.logout(token)?)
        })
    }
}
