//! A panic inside `handle_http` gives one answer through both ABIs: the call succeeds with the HTTP
//! 500 every internal error gives (include/dagu_auth.h, `dagu_auth_handle_http`; plugin/abi,
//! `Instance::handle_http`), and the instance keeps answering. The `test-hooks` build of the plugin
//! panics inside the handler for one request path.

use std::ffi::{CString, c_char, c_void};
use std::ptr;

use abi_stable::std_types::RStr;
use dagu_auth_abi::AbiHttpRequest;
use dagu_auth_tests::native::test_hooks_plugin;
use libloading::Library;
use serde_json::{Value, json};

/// `TEST_PANIC_PATH` of the plugin's `http` module.
const PANIC_PATH: &str = "/api/v1/test-hooks/panic";

/// An answer as both ABIs can give it: status, headers (names lowercased) and body.
type HttpAnswer = (u16, Vec<(String, String)>, Value);

fn config(dir: &std::path::Path) -> String {
    json!({
        "dataDir": dir,
        "argon2": {"memoryKib": 64, "iterations": 1, "parallelism": 1},
    })
    .to_string()
}

fn generic_500() -> Value {
    json!({"code": "internal_error", "message": "An unexpected error occurred"})
}

#[repr(C)]
struct CRequest {
    struct_size: u32,
    method: *const c_char,
    path: *const c_char,
    headers: *const c_void,
    header_count: usize,
    body: *const u8,
    body_len: usize,
    client_ip: *const c_char,
}

#[repr(C)]
struct CHeader {
    name: *const c_char,
    value: *const c_char,
}

#[repr(C)]
struct CResponse {
    status: u16,
    headers: *const CHeader,
    header_count: usize,
    body: *const u8,
    body_len: usize,
}

/// The plugin through its C functions.
struct CAbi {
    lib: &'static Library,
    instance: *mut c_void,
}

impl CAbi {
    fn open(dir: &std::path::Path) -> CAbi {
        // SAFETY: loading the plugin runs no initialisers with preconditions.
        let lib = unsafe { Library::new(test_hooks_plugin()) }.expect("load the test-hooks plugin");
        // Never unloaded: the header says so.
        let lib: &'static Library = Box::leak(Box::new(lib));
        type Open = unsafe extern "C" fn(*const c_char, *mut *mut c_void, *mut *mut c_char) -> u32;
        // SAFETY: the function's C signature.
        let open = unsafe { lib.get::<Open>(b"dagu_auth_open") }.expect("dagu_auth_open");
        let config = CString::new(config(dir)).expect("no NUL");
        let mut instance = ptr::null_mut();
        // SAFETY: valid pointers.
        let status = unsafe { open(config.as_ptr(), &mut instance, ptr::null_mut()) };
        assert_eq!(status, 0, "dagu_auth_open");
        CAbi { lib, instance }
    }

    fn get(&self, path: &str) -> HttpAnswer {
        type Handle =
            unsafe extern "C" fn(*mut c_void, *const CRequest, *mut *mut CResponse) -> u32;
        type Free = unsafe extern "C" fn(*mut CResponse);
        // SAFETY: the functions' C signatures.
        let (handle, free) = unsafe {
            (
                self.lib
                    .get::<Handle>(b"dagu_auth_handle_http")
                    .expect("handle_http"),
                self.lib
                    .get::<Free>(b"dagu_auth_http_response_free")
                    .expect("response_free"),
            )
        };
        let (method, path) = (c"GET", CString::new(path).expect("no NUL"));
        let request = CRequest {
            struct_size: size_of::<CRequest>() as u32,
            method: method.as_ptr(),
            path: path.as_ptr(),
            headers: ptr::null(),
            header_count: 0,
            body: ptr::null(),
            body_len: 0,
            client_ip: ptr::null(),
        };
        let mut response = ptr::null_mut();
        // SAFETY: a filled request and a writable output.
        let status = unsafe { handle(self.instance, &request, &mut response) };
        assert_eq!(
            status, 0,
            "dagu_auth_handle_http answers OK, whatever the HTTP status"
        );
        // SAFETY: a response from the library, read before it is freed once.
        let answer = unsafe {
            let r = &*response;
            let headers = std::slice::from_raw_parts(r.headers, r.header_count)
                .iter()
                .map(|h| {
                    let text = |p| std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
                    (text(h.name).to_ascii_lowercase(), text(h.value))
                })
                .collect();
            let body = std::slice::from_raw_parts(r.body, r.body_len);
            (
                r.status,
                headers,
                serde_json::from_slice(body).unwrap_or(Value::Null),
            )
        };
        // SAFETY: as above.
        unsafe { free(response) };
        answer
    }
}

impl Drop for CAbi {
    fn drop(&mut self) {
        // SAFETY: the function's C signature.
        let close = unsafe {
            self.lib
                .get::<unsafe extern "C" fn(*mut c_void)>(b"dagu_auth_close")
        };
        // SAFETY: from dagu_auth_open, closed once.
        unsafe { close.expect("dagu_auth_close")(self.instance) };
    }
}

fn rust_get(instance: &dagu_auth_abi::InstanceBox, path: &str) -> HttpAnswer {
    let request = AbiHttpRequest {
        method: "GET".into(),
        path: path.into(),
        ..Default::default()
    };
    let response = instance.handle_http(&request);
    let headers = response
        .headers
        .iter()
        .map(|pair| (pair.0.as_str().to_ascii_lowercase(), pair.1.to_string()))
        .collect();
    let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (response.status, headers, body)
}

#[test]
fn a_panic_in_handle_http_is_the_same_http_500_through_both_abis_even_without_stderr() {
    let (dir_c, dir_rust) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let c = CAbi::open(dir_c.path());
    let module = dagu_auth_abi::load_plugin(test_hooks_plugin()).expect("load through abi_stable");
    let rust = module.open()(RStr::from_str(&config(dir_rust.path())))
        .into_result()
        .expect("open through abi_stable");

    // First, with stderr unwritable (a full disk, a closed pipe): the 500's detail goes to stderr,
    // and `eprintln!` would panic inside the panic fallback, past the boundary, and abort this
    // Rust host. This must be the process's first panic through the plugin: a detail is written
    // at most once a minute, so a later one would not try to write at all. It is also why this is
    // the binary's only test: the redirect holds for the whole process.
    let while_full = {
        let _full = StderrFull::start();
        rust_get(&rust, PANIC_PATH)
    };
    assert_eq!((while_full.0, &while_full.2), (500, &generic_500()));

    let through_c = c.get(PANIC_PATH);
    let through_rust = rust_get(&rust, PANIC_PATH);
    assert_eq!(through_c.0, 500);
    assert_eq!(through_c.2, generic_500());
    assert_eq!(through_c, through_rust, "C and Rust answer a panic alike");

    // Both instances still answer.
    let setup = (200, json!({"setupRequired": true}));
    let (status, _, body) = c.get("/api/v1/auth/setup");
    assert_eq!((status, body), setup);
    let (status, _, body) = rust_get(&rust, "/api/v1/auth/setup");
    assert_eq!((status, body), setup);
}

/// Points this process's stderr at `/dev/full` until dropped, so every write to it fails.
struct StderrFull {
    saved: libc::c_int,
}

impl StderrFull {
    fn start() -> StderrFull {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full");
        // SAFETY: plain descriptor calls on descriptors this process owns.
        let saved = unsafe { libc::dup(2) };
        assert!(saved >= 0, "dup stderr");
        // SAFETY: as above; `full` stays open until after the dup2.
        let replaced = unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&full), 2) };
        assert_eq!(replaced, 2, "dup2 /dev/full onto stderr");
        StderrFull { saved }
    }
}

impl Drop for StderrFull {
    fn drop(&mut self) {
        // SAFETY: restores the descriptor saved in `start`, then closes the copy.
        unsafe {
            libc::dup2(self.saved, 2);
            libc::close(self.saved);
        }
    }
}
