//! The Dagu-compatible HTTP API as a pure function: (method, path, headers, body, client IP) to
//! (status, headers, body). No sockets: the host owns those.

mod checks;
mod error_log;
mod response;
mod routes;
mod sso;

pub use checks::{JSON_ONLY, ORIGIN_NOT_ALLOWED};
pub use response::{Response, UNAVAILABLE};
pub use sso::DOORS as SSO_DOORS;

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

impl<'a> Request<'a> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_lines(name).next()
    }

    /// Every line of header `name`, in the order received.
    pub fn header_lines<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }

    /// The client's address, through `X-Forwarded-For` (all its lines) only when the peer is a
    /// trusted proxy.
    pub fn real_client_ip(&self, engine: &Engine) -> String {
        let forwarded_for: Vec<&str> = self.header_lines("x-forwarded-for").collect();
        crate::netaddr::client_ip(
            self.client_ip,
            &forwarded_for,
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
    // Top-level browser navigations outside the API, with answers of their own kind.
    if let Some(answer) = sso::dispatch(engine, request) {
        return with_api_headers(answer);
    }
    let answer = checks::origin(request, &engine.config().allowed_origins)
        .and_then(|()| routes::dispatch(engine, request));
    with_api_headers(answer.unwrap_or_else(|refused| refused))
}

/// Headers on every answer of the API. Several answers carry a token, an API key or user data, so
/// none may be kept by a browser or a shared cache; and no answer may be sniffed into another
/// type (a JSON error echoing input rendered as HTML).
pub fn with_api_headers(mut response: Response) -> Response {
    response.headers.extend([
        ("X-Content-Type-Options".to_string(), "nosniff".to_string()),
        ("Cache-Control".to_string(), "no-store".to_string()),
    ]);
    response
}
