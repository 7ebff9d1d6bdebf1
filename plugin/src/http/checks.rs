//! What a request must show before a route acts on it, in this order:
//!
//! 1. A state-changing request that names an `Origin` comes from this host's own origin or one
//!    configured (`allowedOrigins`). A page on another site can send a form or a no-cors `fetch`
//!    without asking first; its browser always names the page's origin (`null` for sandboxed and
//!    `file:` pages, which counts as foreign).
//! 2. A route that reads a body first authenticates and authorizes the caller, so a stranger gets
//!    401 and learns nothing from a parse error.
//! 3. Then the body must be `application/json`: a cross-site form cannot send that type, and a
//!    no-cors `fetch` that sets it must ask the server first (CORS preflight), which fails.

use dagu_auth_vocab::DaguAuthAction as Action;
use serde::Deserialize;

use super::{Request, Response};
use crate::error::Error;
use crate::service::{Credentials, Engine};

pub const ORIGIN_NOT_ALLOWED: &str = "Origin not allowed";
pub const JSON_ONLY: &str = "Content-Type must be application/json";

/// Refuses a state-changing request whose `Origin` is neither the `Host` it was sent to nor one
/// of `allowed` (already normalized). A request without `Origin` (curl, a server, a same-origin
/// `GET`) is not a browser's cross-site one and passes.
pub fn origin(request: &Request<'_>, allowed: &[String]) -> Result<(), Response> {
    let state_changing = ["POST", "PUT", "PATCH", "DELETE"]
        .iter()
        .any(|method| request.method.eq_ignore_ascii_case(method));
    let Some(origin) = request.header("origin").filter(|_| state_changing) else {
        return Ok(());
    };
    let own = request
        .header("host")
        .is_some_and(|host| crate::origin::is_same_host(origin, host));
    let configured =
        || crate::origin::normalize(origin).is_some_and(|origin| allowed.contains(&origin));
    match own || configured() {
        true => Ok(()),
        false => Err(Response::error(&Error::Forbidden(
            ORIGIN_NOT_ALLOWED.into(),
        ))),
    }
}

/// Who may send a route its body; checked before the body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// Setup and sign-in: whoever calls.
    Anyone,
    /// Any valid session token or API key.
    SignedIn,
    /// A signed-in user, also one whose role requires two-factor sign-in they have not set up
    /// yet (the two-factor routes, where that is done).
    Enrolling,
    /// A caller allowed `ADMIN`.
    Admin,
}

/// The body of a route that reads one: the caller is checked against `sender`, then the content
/// type, then the JSON is parsed.
pub fn json_body<'a, T: Deserialize<'a>>(
    engine: &Engine,
    caller: Credentials<'_>,
    sender: Sender,
    request: &Request<'a>,
) -> Result<T, Response> {
    let checked = match sender {
        Sender::Anyone => Ok(()),
        Sender::SignedIn => engine.principal(caller).map(drop),
        Sender::Enrolling => engine.principal_during_enrollment(caller).map(drop),
        Sender::Admin => engine.caller_allowed(caller, Action::Admin).map(drop),
    };
    checked.map_err(|error| Response::error(&error))?;
    let is_json = request.header("content-type").is_some_and(|value| {
        let media_type = value.split(';').next().unwrap_or("").trim();
        media_type.eq_ignore_ascii_case("application/json")
    });
    if !is_json {
        return Err(unsupported_media_type());
    }
    serde_json::from_slice(request.body)
        .map_err(|e| Response::error(&Error::InvalidJson(e.to_string())))
}

/// 415 with Dagu's `bad_request` code: Dagu's clients know no other code for a malformed request.
fn unsupported_media_type() -> Response {
    Response::json(
        415,
        &serde_json::json!({ "code": "bad_request", "message": JSON_ONLY }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(method: &'a str, headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
        Request {
            method,
            path: "/api/v1/auth/login",
            headers,
            body: b"{}",
            client_ip: "127.0.0.1",
        }
    }

    fn status(result: Result<(), Response>) -> u16 {
        result.map_or_else(|refused| refused.status, |()| 200)
    }

    const HOST: (&str, &str) = ("Host", "127.0.0.1:8080");

    #[test]
    fn a_foreign_or_null_origin_cannot_change_state() {
        for origin in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:9999",
            "garbage",
        ] {
            let headers = [HOST, ("Origin", origin)];
            for method in ["POST", "put", "PATCH", "DELETE"] {
                assert_eq!(status(super::origin(&request(method, &headers), &[])), 403);
            }
        }
    }

    #[test]
    fn the_own_origin_a_configured_one_and_no_origin_pass() {
        let allowed = ["https://dagu.example.com".to_string()];
        for headers in [
            &[HOST, ("Origin", "http://127.0.0.1:8080")][..],
            &[HOST, ("Origin", "https://DAGU.example.com:443")][..],
            &[HOST][..],
            &[][..],
        ] {
            assert_eq!(status(origin(&request("POST", headers), &allowed)), 200);
        }
    }

    #[test]
    fn reads_are_not_checked_for_origin() {
        let headers = [HOST, ("Origin", "http://evil.example")];
        assert_eq!(status(origin(&request("GET", &headers), &[])), 200);
    }
}
