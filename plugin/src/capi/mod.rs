//! The C ABI: thin `extern "C"` functions over the Engine.
//!
//! Every exported body runs inside [`guard`], which catches panics (returned as the PANIC status,
//! never an abort) and writes error text only through `error_out`. Arguments are checked by the
//! helpers below before any work; outputs are written only on success.

mod boundary;
mod functions;
mod http;
mod keys;

pub use boundary::DaguAuth;
pub use functions::*;
pub use http::{
    DaguAuthHttpHeader, DaguAuthHttpRequest, DaguAuthHttpResponse, dagu_auth_handle_http,
    dagu_auth_http_response_free,
};
pub use keys::*;
