//! The JSON inputs of the C ABI: arbitrary bytes (cut at the first NUL, as C strings are) as the
//! request of each JSON-taking function. Every call returns a status and frees cleanly; no panic
//! reaches the boundary (the PANIC status would fail here too).
#![no_main]

use std::ffi::{CStr, CString, c_char};
use std::ptr;
use std::sync::OnceLock;

use dagu_auth::capi::*;
use dagu_auth_abi::DaguAuthStatus;
use libfuzzer_sys::fuzz_target;

struct Instance {
    handle: *mut DaguAuth,
    token: CString,
    admin_id: CString,
}

// SAFETY: an instance may be used from any thread (include/dagu_auth.h, "Threads"); the fuzzer
// uses one at a time.
unsafe impl Send for Instance {}
unsafe impl Sync for Instance {}

fn take(text: *mut c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: a string the library returned, freed once here.
    let owned = unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned();
    unsafe { dagu_auth_string_free(text) };
    owned
}

fn instance() -> &'static Instance {
    static INSTANCE: OnceLock<Instance> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("dagu-auth-fuzz-capi-{}", std::process::id()));
        let config = serde_json::json!({
            "dataDir": dir,
            "argon2": {"memoryKib": 64, "iterations": 1, "parallelism": 1},
            "licenseFeatures": ["rbac", "audit"],
        });
        let config = CString::new(config.to_string()).expect("no NUL");
        let mut handle = ptr::null_mut();
        let mut error = ptr::null_mut();
        // SAFETY: valid pointers per the header.
        let status = unsafe { dagu_auth_open(config.as_ptr(), &mut handle, &mut error) };
        assert_eq!(status, DaguAuthStatus::Ok, "{}", take(error));
        let (user, pass) = (c"admin", c"fuzz-admin-password");
        let mut login = ptr::null_mut();
        // SAFETY: as above.
        let status = unsafe {
            dagu_auth_setup(handle, user.as_ptr(), pass.as_ptr(), &mut login, &mut error)
        };
        assert_eq!(status, DaguAuthStatus::Ok, "{}", take(error));
        let login: serde_json::Value = serde_json::from_str(&take(login)).expect("login JSON");
        let text =
            |v: &serde_json::Value| CString::new(v.as_str().expect("string")).expect("no NUL");
        Instance {
            handle,
            token: text(&login["token"]),
            admin_id: text(&login["user"]["id"]),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let cut = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let json = CString::new(&rest[..cut]).expect("cut at the first NUL");
    let fx = instance();
    let (h, token, id, json) = (
        fx.handle,
        fx.token.as_ptr(),
        fx.admin_id.as_ptr(),
        json.as_ptr(),
    );
    let mut out = ptr::null_mut();
    let mut error = ptr::null_mut();
    // SAFETY: every pointer is valid or an output slot, per the header.
    let status = unsafe {
        match selector % 8 {
            0 => dagu_auth_user_create(h, token, json, &mut out, &mut error),
            1 => dagu_auth_user_update(h, token, id, json, &mut out, &mut error),
            2 => dagu_auth_user_update(
                h,
                token,
                c"no-such-user".as_ptr(),
                json,
                &mut out,
                &mut error,
            ),
            3 => dagu_auth_api_key_create(h, token, json, &mut out, &mut error),
            4 => dagu_auth_api_key_update(
                h,
                token,
                c"no-such-key".as_ptr(),
                json,
                &mut out,
                &mut error,
            ),
            5 => dagu_auth_audit_list(h, token, json, &mut out, &mut error),
            6 => dagu_auth_audit_append(h, token, json, &mut error),
            _ => {
                // Open only what cannot be a usable configuration: a fuzzed dataDir could point
                // anywhere on this machine.
                let text = std::str::from_utf8(&rest[..cut]).unwrap_or("");
                if dagu_auth::Config::from_json(text).is_ok() {
                    return;
                }
                let mut opened = ptr::null_mut();
                let status = dagu_auth_open(json, &mut opened, &mut error);
                assert!(
                    opened.is_null(),
                    "an invalid configuration opened an instance"
                );
                status
            }
        }
    };
    assert_ne!(status, DaguAuthStatus::Panic, "{}", take(error));
    match status {
        // Appending answers only its status.
        DaguAuthStatus::Ok => assert!(error.is_null() && out.is_null() == (selector % 8 == 6)),
        _ => assert!(
            out.is_null() && !error.is_null(),
            "status {status:?} without error text"
        ),
    }
    take(out);
    take(error);
});
