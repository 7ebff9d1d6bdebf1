//! The C ABI: thin `extern "C"` functions over the Engine.
//!
//! Every exported body runs inside [`guard`], which catches panics (returned as the PANIC status,
//! never an abort) and writes error text only through `error_out`. Arguments are checked by the
//! helpers below before any work; outputs are written only on success.

mod boundary;
mod functions;
mod http;
mod keys;
mod operator;
#[cfg(feature = "test-hooks")]
mod test_hooks;

pub use boundary::DaguAuth;
pub use functions::*;
pub use http::{
    DaguAuthHttpHeader, DaguAuthHttpRequest, DaguAuthHttpResponse, dagu_auth_handle_http,
    dagu_auth_http_response_free,
};
pub use keys::*;
pub use operator::dagu_auth_operator;
#[cfg(feature = "test-hooks")]
pub use test_hooks::dagu_auth_test_panic;
