//! The exported C functions. Conventions for all of them (also in the header's preamble):
//! strings are NUL-terminated UTF-8; `instance` is from `dagu_auth_open`; `error_out` may be NULL,
//! and on failure receives a message to free with `dagu_auth_string_free`; every `*_out` is written
//! only when the status is `DAGU_AUTH_STATUS_OK`, and strings written there are freed with
//! `dagu_auth_string_free`. All functions but `dagu_auth_close` may be called from any thread.

use std::ffi::{CString, c_char};

use dagu_auth_abi::{ALL_STATUSES, DaguAuthAction, DaguAuthStatus};

use super::boundary::{
    DaguAuth, Failure, Outcome, engine_of, guard, optional_str, out_param, required_str,
    str_with_len, write_json, write_json_bytes,
};
use crate::config::Config;
use crate::error::Error;
use crate::service::Engine;

/// The ABI major version this header describes; a library with another major is incompatible.
pub const DAGU_AUTH_ABI_VERSION_MAJOR: u32 = 1;
/// The ABI minor version this header describes; libraries with a higher minor only add things.
pub const DAGU_AUTH_ABI_VERSION_MINOR: u32 = 3;

/// The ABI version of this library: `(major << 16) | minor`. Compare the major with
/// `DAGU_AUTH_ABI_VERSION_MAJOR` before calling anything else.
#[unsafe(no_mangle)]
pub extern "C" fn dagu_auth_abi_version() -> u32 {
    dagu_auth_abi::abi_version()
}

/// The plugin's release version, e.g. "0.1.0". Static: never freed.
#[unsafe(no_mangle)]
pub extern "C" fn dagu_auth_version() -> *const c_char {
    crate::VERSION.as_ptr().cast()
}

/// A static name for a status, e.g. "NOT_FOUND"; "UNKNOWN_STATUS" for values this library does not
/// know. Never NULL, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn dagu_auth_status_name(status: u32) -> *const c_char {
    const NAMES: [&str; ALL_STATUSES.len()] = {
        let mut names = [""; ALL_STATUSES.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = ALL_STATUSES[i].name();
            i += 1;
        }
        names
    };
    static C_NAMES: std::sync::OnceLock<Vec<CString>> = std::sync::OnceLock::new();
    let names = C_NAMES.get_or_init(|| {
        NAMES
            .iter()
            .map(|n| CString::new(*n).unwrap_or_default())
            .collect()
    });
    match names.get(status as usize) {
        Some(name) => name.as_ptr(),
        None => c"UNKNOWN_STATUS".as_ptr(),
    }
}

/// Opens an instance from a JSON configuration (see the README, "Plugin configuration").
/// `config_json`, `instance_out`: not NULL. On success `*instance_out` holds an instance to pass to
/// `dagu_auth_close`. Statuses: INVALID_UTF8, INVALID_CONFIG (bad JSON or values, or a rejected
/// initial admin), STORAGE (data folder or database unusable).
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_open(
    config_json: *const c_char,
    instance_out: *mut *mut DaguAuth,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(instance_out, "instance_out")?;
        // SAFETY: caller contract.
        let json = unsafe { required_str(config_json, "config_json") }?;
        let engine = Engine::open(Config::from_json(json)?)?;
        *out = Box::into_raw(Box::new(DaguAuth { engine }));
        Ok(())
    })
}

/// Closes an instance and frees it. NULL is ignored. No other call may use the instance at the same
/// time or afterwards.
///
/// # Safety
/// `instance` is NULL or from `dagu_auth_open`, closed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_close(instance: *mut DaguAuth) {
    if instance.is_null() {
        return;
    }
    let _ = guard(std::ptr::null_mut(), || {
        // SAFETY: from `Box::into_raw` in `dagu_auth_open`, and closed once per the contract.
        drop(unsafe { Box::from_raw(instance) });
        Ok(())
    });
}

/// Whether no user exists yet (the first admin must be created with `dagu_auth_setup`).
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_setup_required(
    instance: *const DaguAuth,
    required_out: *mut bool,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(required_out, "required_out")?;
        // SAFETY: caller contract.
        let engine = unsafe { engine_of(instance) }?;
        *out = engine.setup_required()?;
        Ok(())
    })
}

/// Creates the first admin and signs them in; `*login_json_out` is a LoginResponse
/// (`{"token","expiresAt","user"}`). FORBIDDEN once any user exists; BAD_REQUEST for a rejected
/// username or password.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_setup(
    instance: *const DaguAuth,
    username: *const c_char,
    password: *const c_char,
    login_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(login_json_out, "login_json_out")?;
        // SAFETY: caller contract.
        let (engine, username, password) = unsafe {
            (
                engine_of(instance)?,
                required_str(username, "username")?,
                required_str(password, "password")?,
            )
        };
        write_json(out, &engine.setup(username, password, "")?)
    })
}

/// Signs in; `*login_json_out` is a LoginResponse. UNAUTHENTICATED for an unknown user, a wrong
/// password or a disabled account alike. `client_ip` may be NULL.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_authenticate(
    instance: *const DaguAuth,
    username: *const c_char,
    password: *const c_char,
    client_ip: *const c_char,
    login_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(login_json_out, "login_json_out")?;
        // SAFETY: caller contract.
        let (engine, username, password, client_ip) = unsafe {
            (
                engine_of(instance)?,
                required_str(username, "username")?,
                required_str(password, "password")?,
                optional_str(client_ip, "client_ip")?,
            )
        };
        write_json(out, &engine.login(username, password, client_ip)?)
    })
}

/// Who a bearer token belongs to: `*principal_json_out` is `{"user": User}`. UNAUTHENTICATED for
/// a missing, malformed, expired or revoked token.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_verify(
    instance: *const DaguAuth,
    token: *const c_char,
    principal_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(principal_json_out, "principal_json_out")?;
        // SAFETY: caller contract.
        let (engine, token) = unsafe { (engine_of(instance)?, required_str(token, "token")?) };
        write_json(out, &engine.principal(token)?)
    })
}

/// Decides whether the holder of `token` may do `action` (a `DaguAuthAction` value) in `workspace`
/// (NULL or "" = the default workspace). `*decision_out` receives a `DaguAuthDecision` value.
/// UNAUTHENTICATED for a bad token; BAD_REQUEST for an unknown action. The hot path: no database
/// access for known principals.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_authorize(
    instance: *const DaguAuth,
    token: *const c_char,
    action: u32,
    workspace: *const c_char,
    decision_out: *mut u32,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(decision_out, "decision_out")?;
        // SAFETY: caller contract.
        let (engine, token, workspace) = unsafe {
            (
                engine_of(instance)?,
                required_str(token, "token")?,
                optional_str(workspace, "workspace")?,
            )
        };
        authorize_into(engine, token, action, workspace, out)
    })
}

/// `dagu_auth_authorize` with lengths instead of NUL terminators, for hosts whose strings are not
/// NUL-terminated (Go, Rust, a slice of a request buffer), which can then call it without copying.
/// The bytes are taken exactly: a NUL inside `workspace` is part of the name, so it matches no
/// grant. A pointer may be NULL when its length is 0 (an empty token is UNAUTHENTICATED; an empty
/// workspace is the default one). Since ABI 1.3.
///
/// # Safety
/// `token` and `workspace` are NULL or point to `token_len` and `workspace_len` readable bytes;
/// the other pointers follow the conventions at the top of this header.
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
    guard(error_out, || {
        let out = out_param(decision_out, "decision_out")?;
        // SAFETY: caller contract.
        let (engine, token, workspace) = unsafe {
            (
                engine_of(instance)?,
                str_with_len(token, token_len, "token")?,
                str_with_len(workspace, workspace_len, "workspace")?,
            )
        };
        authorize_into(engine, token, action, workspace, out)
    })
}

fn authorize_into(
    engine: &Engine,
    token: &str,
    action: u32,
    workspace: &str,
    out: &mut u32,
) -> Outcome {
    let action = DaguAuthAction::from_u32(action).ok_or_else(|| {
        Failure::new(
            DaguAuthStatus::BadRequest,
            format!("unknown action {action}"),
        )
    })?;
    *out = engine.authorize(token, action, workspace)? as u32;
    Ok(())
}

/// Ends the session of `token` at once.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_logout(
    instance: *const DaguAuth,
    token: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        // SAFETY: caller contract.
        let (engine, token) = unsafe { (engine_of(instance)?, required_str(token, "token")?) };
        Ok(engine.logout(token)?)
    })
}

/// Lists users as the admin holding `token`: `{"users": [User]}`, sorted by username.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_list(
    instance: *const DaguAuth,
    token: *const c_char,
    users_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(users_json_out, "users_json_out")?;
        // SAFETY: caller contract.
        let (engine, token) = unsafe { (engine_of(instance)?, required_str(token, "token")?) };
        write_json_bytes(out, engine.list_users_json(token)?)
    })
}

/// One user by id: `{"user": User}`. NOT_FOUND when there is none.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_get(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    user_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(user_json_out, "user_json_out")?;
        // SAFETY: caller contract.
        let (engine, token, id) = unsafe {
            (
                engine_of(instance)?,
                required_str(token, "token")?,
                required_str(id, "id")?,
            )
        };
        write_json(out, &engine.get_user(token, id)?)
    })
}

/// Creates a user from `{"username","password","role","workspaceAccess"?}`: `{"user": User}`.
/// INVALID_JSON, BAD_REQUEST, ALREADY_EXISTS, FORBIDDEN (not admin, or unlicensed).
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_create(
    instance: *const DaguAuth,
    token: *const c_char,
    request_json: *const c_char,
    user_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(user_json_out, "user_json_out")?;
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
            &engine.create_user(token, Error::parse_json(json.as_bytes())?)?,
        )
    })
}

/// Updates a user from `{"username"?,"role"?,"workspaceAccess"?,"isDisabled"?}`: `{"user": User}`.
/// CONFLICT when no enabled admin would remain.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_update(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    request_json: *const c_char,
    user_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(user_json_out, "user_json_out")?;
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
            &engine.update_user(token, id, Error::parse_json(json.as_bytes())?)?,
        )
    })
}

/// Deletes a user and ends their sessions.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_delete(
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
        Ok(engine.delete_user(token, id)?)
    })
}

/// Sets a user's password as an admin; the user's sessions end.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_reset_password(
    instance: *const DaguAuth,
    token: *const c_char,
    id: *const c_char,
    new_password: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        // SAFETY: caller contract.
        let (engine, token, id, new_password) = unsafe {
            (
                engine_of(instance)?,
                required_str(token, "token")?,
                required_str(id, "id")?,
                required_str(new_password, "new_password")?,
            )
        };
        engine.reset_password(token, id, new_password)?;
        Ok(())
    })
}

/// Changes the caller's own password; all of the caller's sessions end. UNAUTHENTICATED when
/// `current_password` is wrong.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_change_password(
    instance: *const DaguAuth,
    token: *const c_char,
    current_password: *const c_char,
    new_password: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        // SAFETY: caller contract.
        let (engine, token, current, new) = unsafe {
            (
                engine_of(instance)?,
                required_str(token, "token")?,
                required_str(current_password, "current_password")?,
                required_str(new_password, "new_password")?,
            )
        };
        engine.change_password(token, current, new)?;
        Ok(())
    })
}

/// Frees a string this library returned. NULL is ignored.
///
/// # Safety
/// `text` is NULL or a string from this library, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_string_free(text: *mut c_char) {
    if !text.is_null() {
        // SAFETY: every string we hand out comes from `CString::into_raw`.
        drop(unsafe { CString::from_raw(text) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_version_macros_match_the_abi_crate() {
        assert_eq!(
            DAGU_AUTH_ABI_VERSION_MAJOR,
            dagu_auth_abi::ABI_VERSION_MAJOR
        );
        assert_eq!(
            DAGU_AUTH_ABI_VERSION_MINOR,
            dagu_auth_abi::ABI_VERSION_MINOR
        );
        assert_eq!(
            dagu_auth_abi_version(),
            (DAGU_AUTH_ABI_VERSION_MAJOR << 16) | DAGU_AUTH_ABI_VERSION_MINOR
        );
    }

    #[test]
    fn soname_major_in_build_rs_matches_the_abi() {
        let build_rs = include_str!("../../build.rs");
        let expected = format!("const ABI_VERSION_MAJOR: u32 = {DAGU_AUTH_ABI_VERSION_MAJOR};");
        assert!(build_rs.contains(&expected), "build.rs must say {expected}");
    }

    #[test]
    fn every_status_has_its_name_and_unknown_values_a_fixed_one() {
        let name = |status: u32| {
            unsafe { std::ffi::CStr::from_ptr(dagu_auth_status_name(status)) }
                .to_str()
                .map(String::from)
        };
        for status in ALL_STATUSES {
            assert_eq!(name(status as u32), Ok(status.name().to_string()));
        }
        assert_eq!(name(ALL_STATUSES.len() as u32), Ok("UNKNOWN_STATUS".into()));
        assert_eq!(name(u32::MAX), Ok("UNKNOWN_STATUS".into()));
    }
}
