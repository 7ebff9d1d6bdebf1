//! The one panic boundary. Every export of both ABIs runs its body through [`panic_boundary`]: a
//! panic unwinding into a C caller is undefined behaviour, and into abi_stable's extern frames an
//! abort, so neither may ever leave the library.

use std::panic::{AssertUnwindSafe, catch_unwind};

use dagu_auth_vocab::DaguAuthStatus;

use super::{CallError, CallResult};
use crate::error::Error;
use crate::http::Response;

/// What a caller reads when a panic was caught.
const PANIC_MESSAGE: &str = "internal panic in dagu-auth (the instance is still usable)";

/// Runs `body`; when it panics, answers `on_panic()` instead. The instance stays usable: its locks
/// are parking_lot's, which a panic does not poison.
pub fn panic_boundary<T>(on_panic: impl FnOnce() -> T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| on_panic())
}

/// An export that reports a status: a panic becomes the PANIC status.
pub fn call_boundary<T>(body: impl FnOnce() -> CallResult<T>) -> CallResult<T> {
    panic_boundary(
        || Err(CallError::new(DaguAuthStatus::Panic, PANIC_MESSAGE)),
        body,
    )
}

/// `handle_http` through either ABI: a panic becomes the HTTP 500 every other internal error
/// gives, `{"code":"internal_error","message":"An unexpected error occurred"}`. The call itself
/// still succeeds, because a host forwards the answer as it is and must never special-case it.
pub fn http_boundary(body: impl FnOnce() -> Response) -> Response {
    panic_boundary(
        || crate::http::with_api_headers(Response::error(&Error::Internal(PANIC_MESSAGE.into()))),
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forced_panic<T>() -> T {
        // A runtime value, so the compiler cannot see that the panic is unconditional.
        if std::hint::black_box(true) {
            panic!("forced panic inside the boundary");
        }
        unreachable!()
    }

    #[test]
    fn a_panic_in_a_call_is_the_panic_status() {
        let answer: CallResult<u32> = call_boundary(forced_panic);
        assert_eq!(
            answer,
            Err(CallError::new(DaguAuthStatus::Panic, PANIC_MESSAGE))
        );
        assert_eq!(call_boundary(|| Ok(7)), Ok(7));
    }

    #[test]
    fn a_panic_in_handle_http_is_the_generic_500() {
        let response = http_boundary(forced_panic);
        assert_eq!(response.status, 500);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&response.body).ok(),
            Some(
                serde_json::json!({"code": "internal_error", "message": "An unexpected error occurred"})
            )
        );
    }
}
