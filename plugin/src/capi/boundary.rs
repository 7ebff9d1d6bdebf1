//! What every C entry point shares: the panic boundary, argument checks and output writing.

use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use dagu_auth_abi::DaguAuthStatus;

use crate::error::Error;
use crate::service::Engine;

/// An open plugin instance. Opaque to C; shared by any number of threads.
pub struct DaguAuth {
    pub(crate) engine: Engine,
}

/// Why a call failed: a status and a message for `error_out`.
pub struct Failure {
    pub status: DaguAuthStatus,
    pub message: String,
}

impl Failure {
    pub fn new(status: DaguAuthStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::new(error.status(), error.to_string())
    }
}

pub type Outcome = Result<(), Failure>;

/// Runs `body` behind the panic boundary and reports its failure through `error_out`.
pub fn guard(error_out: *mut *mut c_char, body: impl FnOnce() -> Outcome) -> DaguAuthStatus {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return DaguAuthStatus::Ok,
        Ok(Err(failure)) => failure,
        Err(_) => Failure::new(
            DaguAuthStatus::Panic,
            "internal panic in dagu-auth (the instance is still usable)",
        ),
    };
    if !error_out.is_null() {
        // SAFETY: the caller passes either NULL or a valid `char **`.
        unsafe { *error_out = c_string(failure.message).unwrap_or(std::ptr::null_mut()) };
    }
    failure.status
}

/// A required string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives the call.
pub unsafe fn required_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::new(
            DaguAuthStatus::NullArgument,
            format!("{name} must not be NULL"),
        ));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(ptr) }.to_str().map_err(|_| {
        Failure::new(
            DaguAuthStatus::InvalidUtf8,
            format!("{name} is not valid UTF-8"),
        )
    })
}

/// An optional string argument: NULL reads as "".
///
/// # Safety
/// As [`required_str`].
pub unsafe fn optional_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    match ptr.is_null() {
        true => Ok(""),
        // SAFETY: forwarded contract.
        false => unsafe { required_str(ptr, name) },
    }
}

/// A string argument given as a pointer and a length (no NUL terminator): the bytes are taken
/// exactly, so a NUL inside is part of the value. NULL is accepted with length 0 and reads as "".
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that outlive the call.
pub unsafe fn str_with_len<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return match len {
            0 => Ok(""),
            _ => Err(Failure::new(
                DaguAuthStatus::NullArgument,
                format!("{name} is NULL but {name}_len is {len}"),
            )),
        };
    }
    if isize::try_from(len).is_err() {
        return Err(Failure::new(
            DaguAuthStatus::BadRequest,
            format!("{name}_len {len} is not a length"),
        ));
    }
    // SAFETY: non-NULL, `len` readable bytes per the caller's contract, `len` <= isize::MAX.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|_| {
        Failure::new(
            DaguAuthStatus::InvalidUtf8,
            format!("{name} is not valid UTF-8"),
        )
    })
}

/// # Safety
/// `ptr` is NULL or a live instance from `dagu_auth_open`.
pub unsafe fn engine_of<'a>(ptr: *const DaguAuth) -> Result<&'a Engine, Failure> {
    // SAFETY: non-NULL pointers come from `dagu_auth_open` and live until `dagu_auth_close`.
    unsafe { ptr.as_ref() }
        .map(|handle| &handle.engine)
        .ok_or_else(|| Failure::new(DaguAuthStatus::NullArgument, "instance must not be NULL"))
}

/// Checks an out-parameter before any work is done, so a NULL costs nothing.
pub fn out_param<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller passes NULL or a valid, writable pointer.
    unsafe { ptr.as_mut() }.ok_or_else(|| {
        Failure::new(
            DaguAuthStatus::NullArgument,
            format!("{name} must not be NULL"),
        )
    })
}

/// `text` as a plugin-owned C string, freed with `dagu_auth_string_free`. An owned `String` or
/// `Vec` becomes it in its own buffer (`CString::new` checks for a NUL and appends the terminator);
/// a `&str` is copied.
pub fn c_string(text: impl Into<Vec<u8>>) -> Result<*mut c_char, Failure> {
    CString::new(text)
        .map(CString::into_raw)
        .map_err(|_| Failure::new(DaguAuthStatus::Internal, "output contained a NUL byte"))
}

/// Serialises an Engine result and hands it to `out` as a plugin-owned string.
pub fn write_json(out: &mut *mut c_char, value: &impl serde::Serialize) -> Outcome {
    *out = c_string(Error::to_json(value)?)?;
    Ok(())
}

/// Hands JSON the Engine wrote already to `out` as a plugin-owned string, without a copy.
pub fn write_json_bytes(out: &mut *mut c_char, json: Vec<u8>) -> Outcome {
    *out = c_string(json)?;
    Ok(())
}
