//! Test-only entry points, compiled with the `test-hooks` feature and never part of the header or
//! the default build. They prove the boundary's promises from outside the library; the HTTP one is
//! `http::TEST_PANIC_PATH`, a request path that panics inside `handle_http`.

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;

use super::call::c_call;

/// Panics inside the panic boundary, as a bug in the Engine would. A correct boundary returns
/// `DAGU_AUTH_STATUS_PANIC` (15) with a message in `*error_out` instead of aborting the host.
///
/// # Safety
/// `error_out` is NULL or a valid `char **`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_test_panic(error_out: *mut *mut c_char) -> DaguAuthStatus {
    // SAFETY: the contract above.
    unsafe {
        c_call(error_out, || {
            // A runtime value, so the compiler cannot see that the panic is unconditional.
            let forced = std::hint::black_box(true);
            if forced {
                panic!("dagu_auth_test_panic: forced panic inside the boundary");
            }
            Ok(())
        })
    }
}
