//! `dagu_auth_handle_http`: the whole HTTP API through one C call.

use std::ffi::{CString, c_char};

use dagu_auth_abi::DaguAuthStatus;

use super::boundary::{DaguAuth, Failure, engine_of, guard, optional_str, out_param, required_str};
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
    /// `header_count` headers; may be NULL when `header_count` is 0.
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

fn into_c_response(response: Response) -> Result<*mut DaguAuthHttpResponse, Failure> {
    let mut strings = Vec::with_capacity(response.headers.len() * 2);
    for (name, value) in response.headers {
        for text in [name, value] {
            let text = CString::new(text)
                .map_err(|_| Failure::new(DaguAuthStatus::Internal, "header with a NUL byte"))?;
            strings.push(text);
        }
    }
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
    Ok(Box::into_raw(owned).cast())
}

/// Answers one request of the HTTP API (HTTP_API.md). HTTP errors are responses, not statuses: the
/// status is OK whenever `*response_out` was written. Statuses: NULL_ARGUMENT, INVALID_UTF8 (method,
/// path, a header or client_ip), UNSUPPORTED_VERSION (`struct_size`), PANIC.
///
/// # Safety
/// `request` points to a filled `DaguAuthHttpRequest` whose pointers are valid for the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_handle_http(
    instance: *const DaguAuth,
    request: *const DaguAuthHttpRequest,
    response_out: *mut *mut DaguAuthHttpResponse,
) -> DaguAuthStatus {
    guard(std::ptr::null_mut(), || {
        let out = out_param(response_out, "response_out")?;
        // SAFETY: caller contract.
        let engine = unsafe { engine_of(instance) }?;
        // SAFETY: caller contract.
        let request = unsafe { request.as_ref() }.ok_or_else(|| {
            Failure::new(DaguAuthStatus::NullArgument, "request must not be NULL")
        })?;
        if (request.struct_size as usize) < size_of::<DaguAuthHttpRequest>() {
            return Err(Failure::new(
                DaguAuthStatus::UnsupportedVersion,
                "struct_size is too small",
            ));
        }
        // SAFETY: caller contract: count-many headers, len-many body bytes.
        let (raw_headers, body) = unsafe {
            (
                slice(request.headers, request.header_count)?,
                slice(request.body, request.body_len)?,
            )
        };
        let mut headers = Vec::with_capacity(raw_headers.len());
        for header in raw_headers {
            // SAFETY: caller contract.
            headers.push(unsafe {
                (
                    required_str(header.name, "header name")?,
                    required_str(header.value, "header value")?,
                )
            });
        }
        // SAFETY: caller contract.
        let (method, path, client_ip) = unsafe {
            (
                required_str(request.method, "method")?,
                required_str(request.path, "path")?,
                optional_str(request.client_ip, "client_ip")?,
            )
        };
        let request = Request {
            method,
            path,
            headers: &headers,
            body,
            client_ip,
        };
        *out = into_c_response(http::handle(engine, &request))?;
        Ok(())
    })
}

/// Frees a response from `dagu_auth_handle_http`. NULL is ignored.
///
/// # Safety
/// `response` is NULL or from `dagu_auth_handle_http`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_http_response_free(response: *mut DaguAuthHttpResponse) {
    if !response.is_null() {
        // SAFETY: made by `into_c_response` from a boxed `OwnedResponse` whose first field it is.
        drop(unsafe { Box::from_raw(response.cast::<OwnedResponse>()) });
    }
}

/// # Safety
/// `ptr` is valid for `len` elements, or `len` is 0.
unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], Failure> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(Failure::new(
            DaguAuthStatus::NullArgument,
            "a pointer with a non-zero length is NULL",
        )),
        // SAFETY: forwarded contract.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}
