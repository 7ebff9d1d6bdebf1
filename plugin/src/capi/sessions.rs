//! First setup, sign-in, who a token is, what it may do (on which surface), sign-out, and the
//! session controls (list, end one, end the others; an admin ends all of a user's).

use std::ffi::c_char;

use dagu_auth_vocab::{DaguAuthStatus, DaguAuthSurface};

use super::args::{optional_str, required_str, str_with_len};
use super::call::{c_call_json, c_call_out, c_call_status};
use crate::ffi::{CallError, CallResult, DaguAuth, authorize};
use crate::service::SignInOrigin;

/// What the calls from before surfaces (ABI 1.0 to 1.3) mean.
const REST: u32 = DaguAuthSurface::RestApi as u32;

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
/// password or a disabled account alike; RATE_LIMITED after repeated failures. A user with
/// two-factor sign-in is UNAUTHENTICATED with the message "Two-factor authentication required:
/// ..." even with the right password: `dagu_auth_sign_in` (1.5) reports that second step.
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
            Ok(authorize(engine, token, action, workspace, REST)?)
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
            Ok(authorize(engine, token, action, workspace, REST)?)
        })
    }
}

/// What `dagu_auth_authorize_request` decides on. Set `struct_size` to
/// `sizeof(DaguAuthAuthorizeRequest)`: later versions append fields, a size smaller than this
/// library knows is UNSUPPORTED_VERSION, and a larger one is accepted (the fields this library
/// does not know are not read). A zeroed struct with a size means REST. Since ABI 1.4.
#[repr(C)]
pub struct DaguAuthAuthorizeRequest {
    /// `sizeof(DaguAuthAuthorizeRequest)` in the caller's header.
    pub struct_size: usize,
    /// A session token or an API key: `token_len` bytes, not NUL-terminated; NULL with a length
    /// of 0 reads as "" (UNAUTHENTICATED).
    pub token: *const c_char,
    pub token_len: usize,
    /// A `DaguAuthAction` value.
    pub action: u32,
    /// `workspace_len` bytes, not NUL-terminated; NULL with a length of 0, or "", is the default
    /// workspace.
    pub workspace: *const c_char,
    pub workspace_len: usize,
    /// A `DaguAuthSurface` value: where the credential arrived (REST_API for the REST API, MCP for
    /// the MCP endpoint).
    pub surface: u32,
}

/// The fields of `request` this library knows, after checking its `struct_size`.
///
/// # Safety
/// `request` is NULL or points to at least `struct_size` readable bytes starting with a `size_t`.
unsafe fn read_request<'a>(
    request: *const DaguAuthAuthorizeRequest,
) -> CallResult<&'a DaguAuthAuthorizeRequest> {
    if request.is_null() {
        return Err(CallError::new(
            DaguAuthStatus::NullArgument,
            "request must not be NULL",
        ));
    }
    // Only the size is read until it says the whole struct is there: an older caller's struct
    // may end before the fields this library added.
    // SAFETY: non-NULL, and every version of the struct starts with its size.
    let size = unsafe { request.cast::<usize>().read() };
    if size < size_of::<DaguAuthAuthorizeRequest>() {
        return Err(CallError::new(
            DaguAuthStatus::UnsupportedVersion,
            format!(
                "struct_size {size} is smaller than this library's DaguAuthAuthorizeRequest ({})",
                size_of::<DaguAuthAuthorizeRequest>()
            ),
        ));
    }
    // SAFETY: at least the whole struct is readable, per its size.
    Ok(unsafe { &*request })
}

/// Decides whether the holder of `request->token` may do `request->action` in
/// `request->workspace`, for a credential that arrived on `request->surface`. It decides as
/// `dagu_auth_authorize` does, which (like every call before ABI 1.4) means the REST API, with
/// one more rule: an API key that does not allow the surface gives FORBIDDEN with the message
/// "API key is not allowed for this surface" (HTTP 403), after the key itself was found good (a
/// bad key is UNAUTHENTICATED on every surface). A session token is good on every surface.
/// BAD_REQUEST for an unknown action or surface; UNSUPPORTED_VERSION for a `struct_size` that is
/// too small. Since ABI 1.4.
///
/// # Safety
/// Required: `instance`, `request`, `decision_out`. `request` points to a
/// `DaguAuthAuthorizeRequest` of `struct_size` readable bytes whose `token` and `workspace` are
/// NULL or valid for their lengths (NULL with a non-zero length is NULL_ARGUMENT).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_authorize_request(
    instance: *const DaguAuth,
    request: *const DaguAuthAuthorizeRequest,
    decision_out: *mut u32,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`request`, `decision_out`).
    unsafe {
        c_call_out(instance, decision_out, error_out, |engine| {
            let request = read_request(request)?;
            let token = str_with_len(request.token, request.token_len, "token")?;
            let workspace = str_with_len(request.workspace, request.workspace_len, "workspace")?;
            let decision = authorize(engine, token, request.action, workspace, request.surface)?;
            Ok(decision)
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

/// Signs in like `dagu_auth_authenticate`, recording the client's `User-Agent` on the session so
/// its owner can tell their sessions apart (ABI 1.5).
///
/// # Safety
/// Required: `instance`, `username`, `password`, `login_json_out`. `client_ip` and `user_agent`
/// may be NULL (not known). The caller frees `*login_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_authenticate_from(
    instance: *const DaguAuth,
    username: *const c_char,
    password: *const c_char,
    client_ip: *const c_char,
    user_agent: *const c_char,
    login_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`username`, `password`, `client_ip`, `user_agent`,
    // `login_json_out`).
    unsafe {
        c_call_json(instance, login_json_out, error_out, |engine| {
            let (username, password) = (
                required_str(username, "username")?,
                required_str(password, "password")?,
            );
            let origin = SignInOrigin::new(
                optional_str(client_ip, "client_ip")?,
                optional_str(user_agent, "user_agent")?,
            );
            Ok(engine.login_from(username, password, origin)?)
        })
    }
}

/// The caller's own sessions that are still good: `*sessions_json_out` is `{"sessions":
/// [Session]}`, each `{id, createdAt, lastUsedAt, expiresAt, clientIp, userAgent, current}`, the
/// current one first (ABI 1.5). BAD_REQUEST for an API key, which has no sessions.
///
/// # Safety
/// Required: `instance`, `token`, `sessions_json_out`. The caller frees `*sessions_json_out` with
/// `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_session_list(
    instance: *const DaguAuth,
    token: *const c_char,
    sessions_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `sessions_json_out`).
    unsafe {
        c_call_json(instance, sessions_json_out, error_out, |engine| {
            let token = required_str(token, "token")?;
            Ok(engine.list_sessions(token)?)
        })
    }
}

/// Ends one of the caller's own sessions by the `id` `dagu_auth_session_list` gives (ABI 1.5).
/// NOT_FOUND for an id that is not one of the caller's sessions.
///
/// # Safety
/// Required: `instance`, `token`, `session_id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_session_end(
    instance: *const DaguAuth,
    token: *const c_char,
    session_id: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `session_id`).
    unsafe {
        c_call_status(instance, error_out, |engine| {
            let (token, session_id) = (
                required_str(token, "token")?,
                required_str(session_id, "session_id")?,
            );
            Ok(engine.end_session(token, session_id)?)
        })
    }
}

/// Ends every session of the caller but the one of `token`: `*ended_json_out` is `{"ended": n}`
/// (ABI 1.5).
///
/// # Safety
/// Required: `instance`, `token`, `ended_json_out`. The caller frees `*ended_json_out` with
/// `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_session_end_others(
    instance: *const DaguAuth,
    token: *const c_char,
    ended_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `ended_json_out`).
    unsafe {
        c_call_json(instance, ended_json_out, error_out, |engine| {
            let token = required_str(token, "token")?;
            Ok(engine.end_other_sessions(token)?)
        })
    }
}

/// Ends every session of user `user_id`, as an admin: `*ended_json_out` is `{"ended": n}` (ABI
/// 1.5). The password and the user's API keys stay. NOT_FOUND for an unknown user.
///
/// # Safety
/// Required: `instance`, `token`, `user_id`, `ended_json_out`. The caller frees `*ended_json_out`
/// with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_end_sessions(
    instance: *const DaguAuth,
    token: *const c_char,
    user_id: *const c_char,
    ended_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `user_id`, `ended_json_out`).
    unsafe {
        c_call_json(instance, ended_json_out, error_out, |engine| {
            let (token, user_id) = (
                required_str(token, "token")?,
                required_str(user_id, "user_id")?,
            );
            Ok(engine.end_user_sessions(token, user_id)?)
        })
    }
}
