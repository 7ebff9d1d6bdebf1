//! The plugin through its C ABI, loaded with libloading exactly as a C or Go host would.
//!
//! The structs are our own `#[repr(C)]` mirrors of include/dagu_auth.h rather than the
//! plugin's Rust types: the point of this path is to prove the C contract, not share Rust code.
//! Every pointer the plugin hands back is copied into owned Rust values and freed at once with the
//! plugin's own free function, so no plugin memory outlives the call that produced it.

use std::ffi::{CStr, CString, c_char};
use std::path::Path;
use std::ptr::{self, NonNull};

use dagu_auth_abi::{ABI_VERSION_MAJOR, DaguAuthAction, DaguAuthDecision, DaguAuthStatus};
use libloading::Library;

use axum::body::Bytes;

use super::{
    Backend, HttpRequest, HttpResponse, OpenError, PluginError, append_header, decision_from,
    error_chain, header_text, response_headers,
};

/// Opaque instance handle (`typedef struct DaguAuth DaguAuth`).
#[repr(C)]
pub struct DaguAuth {
    _opaque: [u8; 0],
}

#[repr(C)]
pub struct DaguAuthHttpHeader {
    pub name: *const c_char,
    pub value: *const c_char,
}

#[repr(C)]
pub struct DaguAuthHttpRequest {
    pub struct_size: u32,
    pub method: *const c_char,
    pub path: *const c_char,
    pub headers: *const DaguAuthHttpHeader,
    pub header_count: usize,
    pub body: *const u8,
    pub body_len: usize,
    pub client_ip: *const c_char,
}

#[repr(C)]
pub struct DaguAuthHttpResponse {
    pub status: u16,
    pub headers: *const DaguAuthHttpHeader,
    pub header_count: usize,
    pub body: *const u8,
    pub body_len: usize,
}

type Status = u32;
type ErrorOut = *mut *mut c_char;

type AbiVersionFn = unsafe extern "C" fn() -> u32;
type VersionFn = unsafe extern "C" fn() -> *const c_char;
type OpenFn = unsafe extern "C" fn(*const c_char, *mut *mut DaguAuth, ErrorOut) -> Status;
type CloseFn = unsafe extern "C" fn(*mut DaguAuth);
type SetupRequiredFn = unsafe extern "C" fn(*const DaguAuth, *mut bool, ErrorOut) -> Status;
type AuthorizeFn = unsafe extern "C" fn(
    *const DaguAuth,
    *const c_char,
    u32,
    *const c_char,
    *mut u32,
    ErrorOut,
) -> Status;
type AuthorizeNFn = unsafe extern "C" fn(
    *const DaguAuth,
    *const c_char,
    usize,
    u32,
    *const c_char,
    usize,
    *mut u32,
    ErrorOut,
) -> Status;
type HandleHttpFn = unsafe extern "C" fn(
    *const DaguAuth,
    *const DaguAuthHttpRequest,
    *mut *mut DaguAuthHttpResponse,
) -> Status;
type OperatorFn =
    unsafe extern "C" fn(*const DaguAuth, *const c_char, *mut *mut c_char, ErrorOut) -> Status;
type AuditAppendFn =
    unsafe extern "C" fn(*const DaguAuth, *const c_char, *const c_char, ErrorOut) -> Status;
type ResponseFreeFn = unsafe extern "C" fn(*mut DaguAuthHttpResponse);
type StringFreeFn = unsafe extern "C" fn(*mut c_char);

/// The functions this host calls, resolved once at load.
struct Api {
    open: OpenFn,
    close: CloseFn,
    setup_required: SetupRequiredFn,
    authorize: AuthorizeFn,
    handle_http: HandleHttpFn,
    http_response_free: ResponseFreeFn,
    string_free: StringFreeFn,
    /// ABI 1.2; `None` in an older library.
    operator: Option<OperatorFn>,
    /// ABI 1.3 (lengths, so no CString per call); `None` in an older library.
    authorize_n: Option<AuthorizeNFn>,
    /// ABI 1.4; `None` in an older library.
    audit_append: Option<AuditAppendFn>,
}

pub struct CAbiBackend {
    api: Api,
    instance: NonNull<DaguAuth>,
}

// SAFETY: include/dagu_auth.h: an instance may be used from many threads at once; only
// `dagu_auth_close` needs exclusive use. Close runs only in `Drop`, which has `&mut self`.
unsafe impl Send for CAbiBackend {}
unsafe impl Sync for CAbiBackend {}

impl Drop for CAbiBackend {
    fn drop(&mut self) {
        // SAFETY: the handle came from `dagu_auth_open` and is closed exactly once, here.
        unsafe { (self.api.close)(self.instance.as_ptr()) };
    }
}

/// Looks up one symbol as a plain function pointer. The library is leaked, so the pointer stays
/// valid for the life of the process.
fn symbol<T: Copy>(library: &'static Library, name: &str, path: &Path) -> Result<T, OpenError> {
    // SAFETY: `T` is the function type of the contract for `name`; a mismatch is a contract bug,
    // which the ABI version check made before any call is meant to catch.
    unsafe { library.get::<T>(name) }
        .map(|s| *s)
        .map_err(|e| OpenError::Load {
            path: path.to_owned(),
            reason: format!("symbol {name}: {}", error_chain(&e)),
        })
}

impl CAbiBackend {
    /// Returns the open instance and the plugin's version string.
    pub fn open(path: &Path, config_json: &str) -> Result<(Self, String), OpenError> {
        let load_error = |reason: String| OpenError::Load {
            path: path.to_owned(),
            reason,
        };
        // SAFETY: loading runs the library's initialisers; trusting that code is the point of a
        // plugin.
        let library = unsafe { Library::new(path) }.map_err(|e| load_error(error_chain(&e)))?;
        // Never unloaded: a Rust cdylib that registered thread-local destructors stays mapped
        // after `dlclose` on glibc, and unloading it under running threads would crash them.
        let library: &'static Library = Box::leak(Box::new(library));

        // The version is checked before any other call: with another major, even the other
        // signatures may differ.
        let abi_version: AbiVersionFn = symbol(library, "dagu_auth_abi_version", path)?;
        // SAFETY: takes no arguments and returns a plain integer in every ABI version.
        let found = unsafe { abi_version() };
        if found >> 16 != ABI_VERSION_MAJOR {
            return Err(load_error(format!(
                "the library has C ABI {}.{}, this host needs {ABI_VERSION_MAJOR}.x",
                found >> 16,
                found & 0xffff
            )));
        }

        let version_fn: VersionFn = symbol(library, "dagu_auth_version", path)?;
        let api = Api {
            open: symbol(library, "dagu_auth_open", path)?,
            close: symbol(library, "dagu_auth_close", path)?,
            setup_required: symbol(library, "dagu_auth_setup_required", path)?,
            authorize: symbol(library, "dagu_auth_authorize", path)?,
            handle_http: symbol(library, "dagu_auth_handle_http", path)?,
            http_response_free: symbol(library, "dagu_auth_http_response_free", path)?,
            string_free: symbol(library, "dagu_auth_string_free", path)?,
            operator: symbol(library, "dagu_auth_operator", path).ok(),
            authorize_n: symbol(library, "dagu_auth_authorize_n", path).ok(),
            audit_append: symbol(library, "dagu_auth_audit_append", path).ok(),
        };
        // SAFETY: returns a static NUL-terminated string or NULL.
        let version = unsafe { static_string(version_fn()) };

        let config = CString::new(config_json).map_err(|_| {
            OpenError::Refused(PluginError::new(
                DaguAuthStatus::InvalidUtf8,
                "the configuration holds a NUL byte",
            ))
        })?;
        let mut instance: *mut DaguAuth = ptr::null_mut();
        let mut error: *mut c_char = ptr::null_mut();
        // SAFETY: valid C string in, out-pointers to our own locals.
        let status = unsafe { (api.open)(config.as_ptr(), &mut instance, &mut error) };
        // SAFETY: `error` is NULL or a string the plugin allocated for us.
        let message = unsafe { take_string(&api, error) };
        if status != DaguAuthStatus::Ok as u32 {
            return Err(OpenError::Refused(PluginError { status, message }));
        }
        let instance = NonNull::new(instance).ok_or_else(|| {
            OpenError::Refused(PluginError::new(
                DaguAuthStatus::Internal,
                "dagu_auth_open returned OK without an instance",
            ))
        })?;
        Ok((Self { api, instance }, version))
    }

    fn error(&self, status: Status, error: *mut c_char) -> PluginError {
        // SAFETY: `error` is NULL or a string the plugin allocated for us.
        let message = unsafe { take_string(&self.api, error) };
        PluginError { status, message }
    }
}

/// Copies and frees a string the plugin allocated.
///
/// # Safety
/// `text` must be NULL or a NUL-terminated string from this plugin, not yet freed.
unsafe fn take_string(api: &Api, text: *mut c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: per this function's contract.
    let owned = unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: freed once, with the plugin's own allocator.
    unsafe { (api.string_free)(text) };
    owned
}

/// # Safety
/// `text` must be NULL or a NUL-terminated string that lives for the whole call.
unsafe fn static_string(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: per this function's contract.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

/// A token or workspace with an interior NUL cannot be a real one; refuse it as the plugin would.
fn c_string(value: &str, what: &str) -> Result<CString, PluginError> {
    CString::new(value).map_err(|_| {
        PluginError::new(
            DaguAuthStatus::InvalidUtf8,
            format!("{what} holds a NUL byte"),
        )
    })
}

impl Backend for CAbiBackend {
    fn handle_http(&self, request: &HttpRequest) -> Result<HttpResponse, PluginError> {
        let method = c_string(request.method.as_str(), "method")?;
        let path = c_string(&request.path, "path")?;
        let client_ip = c_string(&request.client_ip, "client IP")?;
        // HTTP header names and values cannot hold NUL; one that somehow does is dropped rather
        // than failing the whole request.
        let owned_headers: Vec<(CString, CString)> = request
            .headers
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    CString::new(n.as_str()).ok()?,
                    CString::new(header_text(v).as_bytes()).ok()?,
                ))
            })
            .collect();
        let headers: Vec<DaguAuthHttpHeader> = owned_headers
            .iter()
            .map(|(n, v)| DaguAuthHttpHeader {
                name: n.as_ptr(),
                value: v.as_ptr(),
            })
            .collect();
        let c_request = DaguAuthHttpRequest {
            struct_size: size_of::<DaguAuthHttpRequest>() as u32,
            method: method.as_ptr(),
            path: path.as_ptr(),
            headers: if headers.is_empty() {
                ptr::null()
            } else {
                headers.as_ptr()
            },
            header_count: headers.len(),
            body: if request.body.is_empty() {
                ptr::null()
            } else {
                request.body.as_ptr()
            },
            body_len: request.body.len(),
            client_ip: if request.client_ip.is_empty() {
                ptr::null()
            } else {
                client_ip.as_ptr()
            },
        };

        let mut response: *mut DaguAuthHttpResponse = ptr::null_mut();
        // SAFETY: every pointer in `c_request` borrows a local that outlives the call.
        let status =
            unsafe { (self.api.handle_http)(self.instance.as_ptr(), &c_request, &mut response) };
        if status != DaguAuthStatus::Ok as u32 {
            return Err(PluginError {
                status,
                message: "dagu_auth_handle_http failed".into(),
            });
        }
        let Some(response) = NonNull::new(response) else {
            return Err(PluginError::new(
                DaguAuthStatus::Internal,
                "dagu_auth_handle_http returned OK without a response",
            ));
        };
        // SAFETY: the response is the plugin's, valid until we free it just below.
        let copied = unsafe { copy_response(response.as_ref()) };
        // SAFETY: freed once, with the plugin's own free function.
        unsafe { (self.api.http_response_free)(response.as_ptr()) };
        Ok(copied)
    }

    fn authorize(
        &self,
        token: &str,
        action: DaguAuthAction,
        workspace: &str,
    ) -> Result<DaguAuthDecision, PluginError> {
        let mut decision = 0u32;
        let mut error: *mut c_char = ptr::null_mut();
        let status = match self.api.authorize_n {
            // SAFETY: pointers and lengths of live strings, out-pointers to locals.
            Some(authorize_n) => unsafe {
                authorize_n(
                    self.instance.as_ptr(),
                    token.as_ptr().cast(),
                    token.len(),
                    action as u32,
                    workspace.as_ptr().cast(),
                    workspace.len(),
                    &mut decision,
                    &mut error,
                )
            },
            None => {
                let token = c_string(token, "token")?;
                let workspace = c_string(workspace, "workspace")?;
                // SAFETY: valid C strings in, out-pointers to locals.
                unsafe {
                    (self.api.authorize)(
                        self.instance.as_ptr(),
                        token.as_ptr(),
                        action as u32,
                        workspace.as_ptr(),
                        &mut decision,
                        &mut error,
                    )
                }
            }
        };
        if status != DaguAuthStatus::Ok as u32 {
            return Err(self.error(status, error));
        }
        // SAFETY: on success an error string is not expected, but free one if the plugin set it.
        unsafe { take_string(&self.api, error) };
        decision_from(decision)
    }

    fn setup_required(&self) -> Result<bool, PluginError> {
        let mut required = false;
        let mut error: *mut c_char = ptr::null_mut();
        // SAFETY: out-pointers to locals.
        let status =
            unsafe { (self.api.setup_required)(self.instance.as_ptr(), &mut required, &mut error) };
        if status != DaguAuthStatus::Ok as u32 {
            return Err(self.error(status, error));
        }
        // SAFETY: as in `authorize`.
        unsafe { take_string(&self.api, error) };
        Ok(required)
    }

    fn operator(&self, command_json: &str) -> Result<String, PluginError> {
        let Some(operator) = self.api.operator else {
            return Err(PluginError::new(
                DaguAuthStatus::UnsupportedVersion,
                "this plugin is older than ABI 1.2 and has no dagu_auth_operator",
            ));
        };
        let command = c_string(command_json, "command")?;
        let mut result: *mut c_char = ptr::null_mut();
        let mut error: *mut c_char = ptr::null_mut();
        // SAFETY: valid C string in, out-pointers to locals.
        let status = unsafe {
            operator(
                self.instance.as_ptr(),
                command.as_ptr(),
                &mut result,
                &mut error,
            )
        };
        if status != DaguAuthStatus::Ok as u32 {
            return Err(self.error(status, error));
        }
        // SAFETY: both are NULL or strings the plugin allocated for us, each freed once here.
        let result = unsafe {
            take_string(&self.api, error);
            take_string(&self.api, result)
        };
        Ok(result)
    }

    fn audit_append(&self, token: &str, entry_json: &str) -> Result<(), PluginError> {
        let Some(audit_append) = self.api.audit_append else {
            return Err(PluginError::new(
                DaguAuthStatus::UnsupportedVersion,
                "this plugin is older than ABI 1.4 and has no dagu_auth_audit_append",
            ));
        };
        let token = c_string(token, "token")?;
        let entry = c_string(entry_json, "entry")?;
        let mut error: *mut c_char = ptr::null_mut();
        // SAFETY: valid C strings in, an out-pointer to a local.
        let status = unsafe {
            audit_append(
                self.instance.as_ptr(),
                token.as_ptr(),
                entry.as_ptr(),
                &mut error,
            )
        };
        if status != DaguAuthStatus::Ok as u32 {
            return Err(self.error(status, error));
        }
        // SAFETY: as in `authorize`.
        unsafe { take_string(&self.api, error) };
        Ok(())
    }
}

/// # Safety
/// `response` must be a live response from the plugin whose pointers match their lengths.
unsafe fn copy_response(response: &DaguAuthHttpResponse) -> HttpResponse {
    let mut headers = response_headers(response.header_count);
    if !response.headers.is_null() {
        // SAFETY: `headers` points at `header_count` entries (function contract).
        let raw = unsafe { std::slice::from_raw_parts(response.headers, response.header_count) };
        for header in raw {
            if header.name.is_null() || header.value.is_null() {
                continue;
            }
            // SAFETY: non-NULL NUL-terminated strings owned by the response.
            let (name, value) =
                unsafe { (CStr::from_ptr(header.name), CStr::from_ptr(header.value)) };
            append_header(&mut headers, name.to_bytes(), value.to_bytes());
        }
    }
    let body = if response.body.is_null() || response.body_len == 0 {
        Bytes::new()
    } else {
        // SAFETY: `body` points at `body_len` bytes (function contract).
        Bytes::copy_from_slice(unsafe {
            std::slice::from_raw_parts(response.body, response.body_len)
        })
    };
    HttpResponse {
        status: response.status,
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_struct_layout_matches_the_c_declaration() {
        // uint32_t + padding, then 7 pointer-sized fields, on a 64-bit target.
        #[cfg(target_pointer_width = "64")]
        {
            assert_eq!(size_of::<DaguAuthHttpRequest>(), 64);
            assert_eq!(size_of::<DaguAuthHttpResponse>(), 40);
            assert_eq!(size_of::<DaguAuthHttpHeader>(), 16);
        }
    }

    #[test]
    fn a_missing_library_reports_the_loader_cause() {
        let missing = Path::new("/nonexistent/libdagu_auth.so");
        let Err(error) = CAbiBackend::open(missing, "{}") else {
            panic!("must fail")
        };
        let text = error.to_string();
        assert!(text.contains("/nonexistent/libdagu_auth.so"), "{text}");
        assert!(text.contains("No such file"), "{text}");
    }
}
