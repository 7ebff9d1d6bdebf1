//! The shapes of a C export. Each runs the body behind the panic boundary, checks the output
//! pointer first and the instance second (so a NULL costs nothing), lets the body read its
//! arguments and make its one Engine call, and writes the output only on success.

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;

use super::args::{engine_of, out_param};
use super::strings::c_string;
use crate::ffi::{CallResult, DaguAuth, call_boundary};
use crate::service::Engine;

/// Runs `body` behind the panic boundary; a failure's message goes to `*error_out`.
pub fn c_call(
    error_out: *mut *mut c_char,
    body: impl FnOnce() -> CallResult<()>,
) -> DaguAuthStatus {
    match call_boundary(body) {
        Ok(()) => DaguAuthStatus::Ok,
        Err(error) => {
            // SAFETY: the caller passes NULL or a writable `char **`.
            if let Some(slot) = unsafe { error_out.as_mut() } {
                *slot = c_string(error.message);
            }
            error.status
        }
    }
}

/// An export that answers a value in `*out`.
///
/// # Safety
/// `instance` is NULL or live, `out` NULL or writable; `call` reads its own arguments.
pub unsafe fn c_call_out<T>(
    instance: *const DaguAuth,
    out: *mut T,
    error_out: *mut *mut c_char,
    call: impl FnOnce(&Engine) -> CallResult<T>,
) -> DaguAuthStatus {
    c_call(error_out, || {
        let out = out_param(out)?;
        // SAFETY: forwarded contract.
        let engine = unsafe { engine_of(instance) }?;
        *out = call(engine)?;
        Ok(())
    })
}

/// An export that answers JSON in `*json_out`, a string the caller frees.
///
/// # Safety
/// As [`c_call_out`].
pub unsafe fn c_call_json<J: Into<Vec<u8>>>(
    instance: *const DaguAuth,
    json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
    call: impl FnOnce(&Engine) -> CallResult<J>,
) -> DaguAuthStatus {
    // SAFETY: forwarded contract.
    unsafe {
        c_call_out(instance, json_out, error_out, |engine| {
            call(engine).map(c_string)
        })
    }
}

/// An export that answers only its status; what the Engine call returns is not needed.
///
/// # Safety
/// As [`c_call_out`].
pub unsafe fn c_call_status<T>(
    instance: *const DaguAuth,
    error_out: *mut *mut c_char,
    call: impl FnOnce(&Engine) -> CallResult<T>,
) -> DaguAuthStatus {
    c_call(error_out, || {
        // SAFETY: forwarded contract.
        let engine = unsafe { engine_of(instance) }?;
        call(engine).map(drop)
    })
}
