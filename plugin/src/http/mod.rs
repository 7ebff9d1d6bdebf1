//! The Dagu-compatible HTTP API as a pure function: (method, path, headers, body, client IP) to
//! (status, headers, body). No sockets: the host owns those.

mod response;
mod routes;

pub use response::Response;

use crate::service::Engine;

/// Bodies above this are refused with 413 before any parsing.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path with its query string, e.g. `/api/v1/users?limit=5`.
    pub path: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub client_ip: &'a str,
}

impl Request<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }

    /// The client's address, through `X-Forwarded-For` only when the peer is a trusted proxy.
    pub fn real_client_ip(&self, engine: &Engine) -> String {
        crate::netaddr::client_ip(
            self.client_ip,
            self.header("x-forwarded-for"),
            &engine.config().trusted_proxies,
        )
    }

    /// The bearer credential, or "" when there is none (the Engine answers "Authentication required").
    pub fn bearer_token(&self) -> &str {
        self.header("authorization")
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .unwrap_or("")
    }
}

/// With the `test-hooks` feature, a request for this path panics inside the handler as a bug would,
/// so tests can see what each ABI answers then.
#[cfg(feature = "test-hooks")]
pub const TEST_PANIC_PATH: &str = "/api/v1/test-hooks/panic";

pub fn handle(engine: &Engine, request: &Request<'_>) -> Response {
    #[cfg(feature = "test-hooks")]
    if request.path == TEST_PANIC_PATH {
        panic!("forced panic inside handle_http ({TEST_PANIC_PATH})");
    }
    routes::dispatch(engine, request).unwrap_or_else(|error| Response::error(&error))
}
