//! `dagu_auth_handle_http`: the whole HTTP API through one C call.

use std::ffi::{CString, c_char};

use dagu_auth_vocab::DaguAuthStatus;

use super::args::{optional_str, required_ref, required_str, slice};
use super::call::{c_call_out, c_free};
use super::strings::c_text;
use crate::ffi::{CallError, CallResult, DaguAuth, http_boundary};
use crate::http::{self, Request, Response};

/// One header; both strings NUL-terminated.
#[repr(C)]
pub struct DaguAuthHttpHeader {
    pub name: *const c_char,
    pub value: *const c_char,
}

/// A request as the host received it. Set `struct_size` to `sizeof(DaguAuthHttpRequest)`: later
/// versions append fields, and a smaller size than this library knows is UNSUPPORTED_VERSION.
#[repr(C)]
pub struct DaguAuthHttpRequest {
    pub struct_size: u32,
    /// "GET", "POST", ... Not NULL.
    pub method: *const c_char,
    /// The path with its query string, e.g. "/api/v1/users?limit=50". Not NULL.
    pub path: *const c_char,
    /// `header_count` headers: every header line the client sent, `Host` included, a repeated one
    /// (`X-Forwarded-For`) as one entry per line; the origin check and the forwarded-for walk
    /// read them all. May be NULL when `header_count` is 0.
    pub headers: *const DaguAuthHttpHeader,
    pub header_count: usize,
    /// `body_len` bytes, any content; may be NULL when `body_len` is 0.
    pub body: *const u8,
    pub body_len: usize,
    /// The client's address as the host sees it; may be NULL.
    pub client_ip: *const c_char,
}

/// The answer, owned by the library until `dagu_auth_http_response_free`.
#[repr(C)]
pub struct DaguAuthHttpResponse {
    pub status: u16,
    pub headers: *const DaguAuthHttpHeader,
    pub header_count: usize,
    pub body: *const u8,
    pub body_len: usize,
}

/// The response and the storage its pointers point into. `public` comes first, so a pointer to
/// it is a pointer to the whole (repr(C)).
#[repr(C)]
struct OwnedResponse {
    public: DaguAuthHttpResponse,
    headers: Vec<DaguAuthHttpHeader>,
    strings: Vec<CString>,
    body: Vec<u8>,
}

fn into_c_response(response: Response) -> *mut DaguAuthHttpResponse {
    let strings: Vec<CString> = response
        .headers
        .into_iter()
        .flat_map(|(name, value)| [c_text(name), c_text(value)])
        .collect();
    let headers: Vec<DaguAuthHttpHeader> = strings
        .chunks_exact(2)
        .map(|pair| DaguAuthHttpHeader {
            name: pair[0].as_ptr(),
            value: pair[1].as_ptr(),
        })
        .collect();
    let mut owned = Box::new(OwnedResponse {
        public: DaguAuthHttpResponse {
            status: response.status,
            headers: std::ptr::null(),
            header_count: headers.len(),
            body: std::ptr::null(),
            body_len: response.body.len(),
        },
        headers,
        strings,
        body: response.body,
    });
    // Vec and CString buffers do not move when the Box is created, so these pointers stay valid.
    owned.public.headers = owned.headers.as_ptr();
    owned.public.body = owned.body.as_ptr();
    Box::into_raw(owned).cast()
}

/// The headers of `request`.
///
/// # Safety
/// `request.headers` is valid for `request.header_count` headers, whose strings are NULL or
/// NUL-terminated.
unsafe fn read_headers<'a>(request: &DaguAuthHttpRequest) -> CallResult<Vec<(&'a str, &'a str)>> {
    // SAFETY: forwarded contract.
    let headers = unsafe { slice(request.headers, request.header_count) }?;
    let read = |header: &DaguAuthHttpHeader| {
        // SAFETY: forwarded contract.
        unsafe {
            Ok((
                required_str(header.name, "header name")?,
                required_str(header.value, "header value")?,
            ))
        }
    };
    headers.iter().map(read).collect()
}

/// Answers one request of the HTTP API (`plugin/openapi.yaml`). HTTP errors are responses, not
/// statuses: the status is OK whenever `*response_out` was written. Statuses: NULL_ARGUMENT,
/// INVALID_UTF8 (method, path, a header or client_ip), UNSUPPORTED_VERSION (`struct_size`).
///
/// A panic while answering the request gives OK with an HTTP 500 response whose body is
/// `{"code":"internal_error","message":"An unexpected error occurred"}`, as any internal error
/// does, so a host forwards every answer unchanged; the Rust ABI's `handle_http` answers the same.
///
/// # Safety
/// Required: `instance`, `request`, `response_out`. `request` points to a filled
/// `DaguAuthHttpRequest` whose pointers are valid for the call (its fields say which may be NULL).
/// The caller frees `*response_out` with `dagu_auth_http_response_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_handle_http(
    instance: *const DaguAuth,
    request: *const DaguAuthHttpRequest,
    response_out: *mut *mut DaguAuthHttpResponse,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`request`, `response_out`).
    unsafe {
        c_call_out(instance, response_out, std::ptr::null_mut(), |engine| {
            let request = required_ref(request, "request")?;
            if (request.struct_size as usize) < size_of::<DaguAuthHttpRequest>() {
                return Err(CallError::new(
                    DaguAuthStatus::UnsupportedVersion,
                    "struct_size is too small",
                ));
            }
            let body = slice(request.body, request.body_len)?;
            let headers = read_headers(request)?;
            let request = Request {
                method: required_str(request.method, "method")?,
                path: required_str(request.path, "path")?,
                headers: &headers,
                body,
                client_ip: optional_str(request.client_ip, "client_ip")?,
            };
            Ok(into_c_response(http_boundary(|| {
                http::handle(engine, &request)
            })))
        })
    }
}

/// Frees a response from `dagu_auth_handle_http`. NULL is ignored.
///
/// # Safety
/// `response` is NULL or from `dagu_auth_handle_http`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_http_response_free(response: *mut DaguAuthHttpResponse) {
    // SAFETY: made by `into_c_response` from a boxed `OwnedResponse` whose first field it is.
    c_free(response, |r| {
        drop(unsafe { Box::from_raw(r.cast::<OwnedResponse>()) })
    })
}
