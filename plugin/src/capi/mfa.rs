//! Two-factor sign-in (ABI 1.5; check `dagu_auth_abi_version()` minor >= 5 before calling): the
//! sign-in that reports the second step, the second step itself, TOTP setup and the admin reset.
//! The JSON shapes are those of the HTTP API's two-factor routes.

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;

use super::args::{optional_str, required_str};
use super::call::{c_call_json, c_call_status};
use crate::ffi::DaguAuth;

/// Signs in, reporting a second step: OK with `*answer_json_out` either a LoginResponse or, for
/// a user with two-factor sign-in whose password was right, `{"code": "mfa_required", "message",
/// "mfaToken"}` (no session yet; finish with `dagu_auth_login_mfa` within 5 minutes). Refusals
/// are those of `dagu_auth_authenticate`, which, for such a user, answers UNAUTHENTICATED with
/// that message and no token.
///
/// # Safety
/// Required: `instance`, `username`, `password`, `answer_json_out`. `client_ip` may be NULL. The
/// caller frees `*answer_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_sign_in(
    instance: *const DaguAuth,
    username: *const c_char,
    password: *const c_char,
    client_ip: *const c_char,
    answer_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`username`, `password`, `client_ip`, `answer_json_out`).
    unsafe {
        c_call_json(instance, answer_json_out, error_out, |engine| {
            let (username, password, client_ip) = (
                required_str(username, "username")?,
                required_str(password, "password")?,
                optional_str(client_ip, "client_ip")?,
            );
            Ok(engine.sign_in(username, password, client_ip)?)
        })
    }
}

/// The second step of a sign-in: the `mfaToken` of the first and a TOTP or recovery code;
/// `*login_json_out` is the LoginResponse. UNAUTHENTICATED for a wrong or used code and for a
/// spent or expired token; RATE_LIMITED as at sign-in (wrong codes count against the account).
///
/// # Safety
/// Required: `instance`, `mfa_token`, `code`, `login_json_out`. `client_ip` may be NULL. The
/// caller frees `*login_json_out` with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_login_mfa(
    instance: *const DaguAuth,
    mfa_token: *const c_char,
    code: *const c_char,
    client_ip: *const c_char,
    login_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`mfa_token`, `code`, `client_ip`, `login_json_out`).
    unsafe {
        c_call_json(instance, login_json_out, error_out, |engine| {
            let (mfa_token, code, client_ip) = (
                required_str(mfa_token, "mfa_token")?,
                required_str(code, "code")?,
                optional_str(client_ip, "client_ip")?,
            );
            Ok(engine.login_mfa(mfa_token, code, client_ip)?)
        })
    }
}

/// Starts TOTP setup for the user holding `token`: `*setup_json_out` is `{"secret" (base32),
/// "otpauthUrl"}`, shown this once. CONFLICT when two-factor sign-in is on already.
///
/// # Safety
/// Required: `instance`, `token`, `setup_json_out`. The caller frees `*setup_json_out` with
/// `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_totp_setup(
    instance: *const DaguAuth,
    token: *const c_char,
    setup_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `setup_json_out`).
    unsafe {
        c_call_json(instance, setup_json_out, error_out, |engine| {
            let token = required_str(token, "token")?;
            Ok(engine.start_totp_setup(token)?)
        })
    }
}

/// Confirms TOTP setup with a code: from now on sign-in asks for one. `*codes_json_out` is
/// `{"recoveryCodes": [10 codes]}`, shown this once. BAD_REQUEST for a wrong code.
///
/// # Safety
/// Required: `instance`, `token`, `code`, `codes_json_out`. The caller frees `*codes_json_out`
/// with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_totp_confirm(
    instance: *const DaguAuth,
    token: *const c_char,
    code: *const c_char,
    codes_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `code`, `codes_json_out`).
    unsafe {
        c_call_json(instance, codes_json_out, error_out, |engine| {
            let (token, code) = (required_str(token, "token")?, required_str(code, "code")?);
            Ok(engine.confirm_totp(token, code)?)
        })
    }
}

/// Turns the caller's two-factor sign-in off; needs the password and a code (TOTP or recovery).
/// UNAUTHENTICATED for a wrong one, which counts against the account's sign-in limit.
///
/// # Safety
/// Required: `instance`, `token`, `current_password`, `code`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_totp_disable(
    instance: *const DaguAuth,
    token: *const c_char,
    current_password: *const c_char,
    code: *const c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `current_password`, `code`).
    unsafe {
        c_call_status(instance, error_out, |engine| {
            let (token, current_password, code) = (
                required_str(token, "token")?,
                required_str(current_password, "current_password")?,
                required_str(code, "code")?,
            );
            Ok(engine.disable_totp(token, current_password, code)?)
        })
    }
}

/// New recovery codes for a code (TOTP or recovery); the old ones stop working.
/// `*codes_json_out` is `{"recoveryCodes": [10 codes]}`.
///
/// # Safety
/// Required: `instance`, `token`, `code`, `codes_json_out`. The caller frees `*codes_json_out`
/// with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_recovery_codes_regenerate(
    instance: *const DaguAuth,
    token: *const c_char,
    code: *const c_char,
    codes_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`token`, `code`, `codes_json_out`).
    unsafe {
        c_call_json(instance, codes_json_out, error_out, |engine| {
            let (token, code) = (required_str(token, "token")?, required_str(code, "code")?);
            Ok(engine.regenerate_recovery_codes(token, code)?)
        })
    }
}

/// An admin turns another user's two-factor sign-in off (a lost phone); every session of that
/// user ends. FORBIDDEN for one's own account (use `dagu_auth_totp_disable`).
///
/// # Safety
/// Required: `instance`, `token`, `user_id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_user_mfa_reset(
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
            Ok(engine.reset_mfa(token, user_id)?)
        })
    }
}
