//! The shapes of a C export. Each runs the body behind the panic boundary, checks the output
//! pointer first and the instance second (so a NULL costs nothing), lets the body read its
//! arguments and make its one Engine call, and writes the output only on success.

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;
use serde::Serialize;

use super::args::{engine_of, out_param};
use super::strings::c_string;
use crate::ffi::{CallResult, DaguAuth, call_boundary, panic_boundary, to_json};
use crate::service::Engine;

/// Runs `body` behind the panic boundary; a failure's message goes to `*error_out`.
///
/// # Safety
/// `error_out` is NULL or writable.
pub unsafe fn c_call(
    error_out: *mut *mut c_char,
    body: impl FnOnce() -> CallResult<()>,
) -> DaguAuthStatus {
    match call_boundary(body) {
        Ok(()) => DaguAuthStatus::Ok,
        Err(error) => {
            // SAFETY: forwarded contract.
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
    // SAFETY: forwarded contract.
    unsafe {
        c_call(error_out, || {
            let out = out_param(out)?;
            *out = call(engine_of(instance)?)?;
            Ok(())
        })
    }
}

/// An export that answers the Engine's value as JSON in `*json_out`, a string the caller frees.
///
/// # Safety
/// As [`c_call_out`].
pub unsafe fn c_call_json<T: Serialize>(
    instance: *const DaguAuth,
    json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
    call: impl FnOnce(&Engine) -> CallResult<T>,
) -> DaguAuthStatus {
    let json = |engine: &Engine| Ok(c_string(to_json(&call(engine)?)?));
    // SAFETY: forwarded contract.
    unsafe { c_call_out(instance, json_out, error_out, json) }
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
    // SAFETY: forwarded contract.
    unsafe { c_call(error_out, || call(engine_of(instance)?).map(drop)) }
}

/// A function that takes back what the library handed out: NULL is ignored, and the freeing runs
/// behind the panic boundary like every other export.
pub fn c_free<T>(ptr: *mut T, free: impl FnOnce(*mut T)) {
    panic_boundary(
        || (),
        || {
            if !ptr.is_null() {
                free(ptr)
            }
        },
    )
}
