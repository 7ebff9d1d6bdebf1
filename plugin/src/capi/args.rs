//! Reading the arguments of a C export. Each check happens before any work, and a failed one is
//! a status with a message naming the argument.

use std::ffi::{CStr, c_char};

use dagu_auth_vocab::DaguAuthStatus;

use crate::ffi::{CallError, CallResult, DaguAuth};
use crate::service::Engine;

fn null_argument(name: &str) -> CallError {
    CallError::new(
        DaguAuthStatus::NullArgument,
        format!("{name} must not be NULL"),
    )
}

fn invalid_utf8(name: &str) -> CallError {
    CallError::new(
        DaguAuthStatus::InvalidUtf8,
        format!("{name} is not valid UTF-8"),
    )
}

/// The Engine of `instance`.
///
/// # Safety
/// `ptr` is NULL or a live instance from `dagu_auth_open`.
pub unsafe fn engine_of<'a>(ptr: *const DaguAuth) -> CallResult<&'a Engine> {
    // SAFETY: forwarded contract; an instance lives from `dagu_auth_open` to `dagu_auth_close`.
    unsafe { required_ref(ptr, "instance") }.map(|instance| &instance.engine)
}

/// The output pointer of an export (each has one, so the message need not name it).
///
/// # Safety
/// `ptr` is NULL or valid and writable.
pub unsafe fn out_param<'a, T>(ptr: *mut T) -> CallResult<&'a mut T> {
    // SAFETY: forwarded contract.
    unsafe { ptr.as_mut() }.ok_or_else(|| null_argument("the output pointer"))
}

/// A required argument that points to a struct.
///
/// # Safety
/// `ptr` is NULL or valid for the call.
pub unsafe fn required_ref<'a, T>(ptr: *const T, name: &str) -> CallResult<&'a T> {
    // SAFETY: forwarded contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| null_argument(name))
}

/// A required string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives the call.
pub unsafe fn required_str<'a>(ptr: *const c_char, name: &str) -> CallResult<&'a str> {
    if ptr.is_null() {
        return Err(null_argument(name));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|_| invalid_utf8(name))
}

/// An optional string argument: NULL reads as "".
///
/// # Safety
/// As [`required_str`].
pub unsafe fn optional_str<'a>(ptr: *const c_char, name: &str) -> CallResult<&'a str> {
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
pub unsafe fn str_with_len<'a>(ptr: *const c_char, len: usize, name: &str) -> CallResult<&'a str> {
    if ptr.is_null() && len != 0 {
        return Err(CallError::new(
            DaguAuthStatus::NullArgument,
            format!("{name} is NULL but {name}_len is {len}"),
        ));
    }
    if isize::try_from(len).is_err() {
        return Err(CallError::new(
            DaguAuthStatus::BadRequest,
            format!("{name}_len {len} is not a length"),
        ));
    }
    // SAFETY: `len` readable bytes (or none) per the caller's contract, `len` <= isize::MAX.
    let bytes = unsafe { slice(ptr.cast::<u8>(), len) }?;
    std::str::from_utf8(bytes).map_err(|_| invalid_utf8(name))
}

/// `len` elements at `ptr`; NULL is accepted with length 0.
///
/// # Safety
/// `ptr` is valid for `len` elements, or `len` is 0.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> CallResult<&'a [T]> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(null_argument("a pointer with a non-zero length")),
        // SAFETY: forwarded contract.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}
