use serde::Serialize;

use crate::error::{Error, msg};

/// Every 503's message over HTTP, whatever the cause (a full hashing queue, a busy or unreachable
/// database).
pub const UNAVAILABLE: &str = "The service is temporarily unavailable; try again later";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first line of header `name` (any case), as [`Request::header`] reads a request's.
    ///
    /// [`Request::header`]: super::Request::header
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_lines(name).next()
    }

    /// Every line of header `name`, in the order they are sent (`Set-Cookie` can repeat).
    pub fn header_lines<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s str> + 'n
    where
        's: 'n,
    {
        self.headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(status: u16, value: &impl Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::json_body(status, body),
            Err(e) => Self::error(&Error::Internal(e.to_string())),
        }
    }

    /// A JSON document the Engine wrote already (the full user list), taken as it is.
    pub fn json_body(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
        }
    }

    pub fn no_content() -> Self {
        Self {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The path exists, but not with this method. Only HTTP has methods, so this is no Engine
    /// error.
    pub fn method_not_allowed() -> Self {
        Self::code_and_message(405, "method_not_allowed", "Method not allowed")
    }

    /// Every error answer's body: `{code, message}`.
    fn code_and_message(status: u16, code: &str, message: &str) -> Self {
        Self::json(
            status,
            &serde_json::json!({ "code": code, "message": message }),
        )
    }

    /// The one table from Engine errors to HTTP statuses and `{code, message}` bodies.
    pub fn error(error: &Error) -> Self {
        let (status, code) = match error {
            Error::BadRequest(_) | Error::InvalidJson(_) => (400, "bad_request"),
            Error::Unauthenticated(_) => (401, "unauthorized"),
            Error::Forbidden(_) => (403, "forbidden"),
            Error::MfaRequired { .. } => (401, "mfa_required"),
            Error::MfaEnrollmentRequired => (403, "mfa_enrollment_required"),
            Error::NotFound(_) => (404, "not_found"),
            Error::AlreadyExists(_) => (409, "already_exists"),
            Error::Conflict(_) => (409, "conflict"),
            Error::PayloadTooLarge(_) => (413, "payload_too_large"),
            Error::RateLimited { .. } => (429, "rate_limited"),
            Error::Unavailable(_) => (503, "unavailable"),
            Error::InvalidConfig(_) | Error::Storage(_) | Error::Internal(_) => {
                (500, "internal_error")
            }
        };
        // Storage and internal details name files and queries, outage details the database's
        // address and the OS error: they stay out of responses, and go to the log instead.
        let message = match status {
            500 => msg::UNEXPECTED_ERROR.to_string(),
            503 => UNAVAILABLE.to_string(),
            _ => error.to_string(),
        };
        if matches!(status, 500 | 503) {
            super::error_log::hidden_detail(status, error);
        }
        let mut response = Self::code_and_message(status, code, &message);
        if let Error::MfaRequired { mfa_token } = error {
            response.body = serde_json::to_vec(&serde_json::json!({
                "code": code, "message": message, "mfaToken": mfa_token,
            }))
            .unwrap_or_default();
        }
        match error {
            Error::Unauthenticated(_) | Error::MfaRequired { .. } => {
                response.headers.push((
                    "WWW-Authenticate".into(),
                    r#"Bearer realm="restricted""#.into(),
                ));
            }
            Error::RateLimited { retry_after_secs } => {
                response
                    .headers
                    .push(("Retry-After".into(), retry_after_secs.to_string()));
            }
            Error::Unavailable(_) => response.headers.push(("Retry-After".into(), "1".into())),
            _ => {}
        }
        response
    }
}

/// An Engine error as the answer a route sends instead of its own, so routes can use `?`.
impl From<Error> for Response {
    fn from(error: Error) -> Self {
        Self::error(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: &Response) -> serde_json::Value {
        serde_json::from_slice(&response.body).expect("json body")
    }

    #[test]
    fn unauthorized_carries_the_bearer_challenge_and_a_json_body() {
        let response = Response::error(&Error::Unauthenticated("Authentication required".into()));
        assert_eq!(response.status, 401);
        assert_eq!(
            response.header("www-authenticate"),
            Some(r#"Bearer realm="restricted""#)
        );
        assert_eq!(
            body(&response),
            serde_json::json!({"code": "unauthorized", "message": "Authentication required"})
        );
    }

    #[test]
    fn rate_limited_carries_retry_after() {
        let response = Response::error(&Error::RateLimited {
            retry_after_secs: 30,
        });
        assert_eq!(
            (response.status, response.header("retry-after")),
            (429, Some("30"))
        );
    }

    #[test]
    fn storage_details_are_not_leaked() {
        let response = Response::error(&Error::Storage("cannot open /secret/path/auth.db".into()));
        assert_eq!(response.status, 500);
        assert!(!String::from_utf8_lossy(&response.body).contains("/secret/path"));
    }

    #[test]
    fn every_500_says_what_dagu_says() {
        for error in [
            Error::Storage("disk I/O error".into()),
            Error::Internal("x".into()),
            Error::InvalidConfig("x".into()),
        ] {
            assert_eq!(
                body(&Response::error(&error)),
                serde_json::json!({"code": "internal_error", "message": "An unexpected error occurred"}),
                "{error:?}"
            );
        }
    }

    #[test]
    fn a_wrong_method_is_405_with_its_code() {
        let response = Response::method_not_allowed();
        assert_eq!(response.status, 405);
        assert_eq!(
            body(&response),
            serde_json::json!({"code": "method_not_allowed", "message": "Method not allowed"})
        );
    }

    #[test]
    fn outage_details_are_not_leaked() {
        let detail = "the user database (PostgreSQL at 10.1.2.3:5432) is unreachable: \
                      Connection refused (os error 111); retry shortly";
        let response = Response::error(&Error::Unavailable(detail.into()));
        assert_eq!(
            (response.status, body(&response)),
            (
                503,
                serde_json::json!({"code": "unavailable", "message": UNAVAILABLE})
            )
        );
    }

    #[test]
    fn the_second_sign_in_step_is_a_401_carrying_its_token() {
        let response = Response::error(&Error::MfaRequired {
            mfa_token: "u1.abc".into(),
        });
        assert_eq!(response.status, 401);
        let body = body(&response);
        assert_eq!(
            (body["code"].as_str(), body["mfaToken"].as_str()),
            (Some("mfa_required"), Some("u1.abc"))
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(response.header("WWW-Authenticate").is_some());
    }

    #[test]
    fn every_error_kind_has_a_status_and_code() {
        let cases = [
            (Error::BadRequest("x".into()), 400, "bad_request"),
            (Error::InvalidJson("x".into()), 400, "bad_request"),
            (Error::Forbidden("x".into()), 403, "forbidden"),
            (Error::NotFound("x".into()), 404, "not_found"),
            (Error::AlreadyExists("x".into()), 409, "already_exists"),
            (Error::Conflict("x".into()), 409, "conflict"),
            (Error::PayloadTooLarge("x".into()), 413, "payload_too_large"),
            (Error::Unavailable("x".into()), 503, "unavailable"),
            (Error::Internal("x".into()), 500, "internal_error"),
            (Error::MfaEnrollmentRequired, 403, "mfa_enrollment_required"),
        ];
        for (error, status, code) in cases {
            let response = Response::error(&error);
            assert_eq!(
                (response.status, body(&response)["code"].as_str()),
                (status, Some(code)),
                "{error:?}"
            );
        }
    }
}
