//! The host's own error responses, in the plugin's shape (`{code, message}`, the `Error` schema of
//! plugin/openapi.yaml), so a client sees one error format whether the host or the plugin answered.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::plugin::{DaguAuthStatus, PluginError};

pub const BEARER_CHALLENGE: &str = "Bearer realm=\"restricted\"";

/// `{"code", "message"}` with `status`; a 401 also carries the Bearer challenge.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = (status, Json(json!({"code": code, "message": message}))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(BEARER_CHALLENGE),
        );
    }
    response
}

pub fn unauthorized(message: &str) -> Response {
    error(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

pub fn forbidden() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Insufficient permissions",
    )
}

pub fn not_found(message: &str) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", message)
}

pub fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// Worded as the plugin words its own 413, so the two limits look like one to a client.
pub fn payload_too_large(limit: usize) -> Response {
    const MIB: usize = 1024 * 1024;
    let size = if limit.is_multiple_of(MIB) {
        format!("{} MiB", limit / MIB)
    } else {
        format!("{limit} bytes")
    };
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!("Request body exceeds {size}"),
    )
}

pub fn internal() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "An unexpected error occurred",
    )
}

/// Maps a plugin status from `authorize` or `setup_required` to a response. Only statuses a
/// client can act on keep the plugin's message; anything else is logged and hidden behind a 500.
pub fn from_plugin(e: &PluginError) -> Response {
    match e.status() {
        Some(DaguAuthStatus::Unauthenticated) => unauthorized(&e.message),
        // An API key used on a surface it does not allow.
        Some(DaguAuthStatus::Forbidden) => error(StatusCode::FORBIDDEN, "forbidden", &e.message),
        Some(DaguAuthStatus::RateLimited) => {
            error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &e.message)
        }
        Some(DaguAuthStatus::Unavailable) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal_error",
            "Service overloaded, retry later",
        ),
        _ => {
            crate::request_log::line(format_args!("host-demo: plugin error: {e}"));
            internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_401_carries_the_bearer_challenge() {
        let response = unauthorized("Authentication required");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            BEARER_CHALLENGE
        );
        assert!(
            forbidden()
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .is_none()
        );
    }

    #[tokio::test]
    async fn payload_too_large_names_the_limit_like_the_plugin() {
        let body = |limit| async move {
            let bytes = axum::body::to_bytes(payload_too_large(limit).into_body(), 1024).await;
            String::from_utf8(bytes.expect("body").to_vec()).expect("utf-8")
        };
        assert!(
            body(1024 * 1024)
                .await
                .contains("Request body exceeds 1 MiB")
        );
        assert!(body(1000).await.contains("Request body exceeds 1000 bytes"));
    }

    #[test]
    fn plugin_statuses_map_to_http() {
        let status = |s| from_plugin(&PluginError::new(s, "m")).status();
        assert_eq!(
            status(DaguAuthStatus::Unauthenticated),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(DaguAuthStatus::RateLimited),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            status(DaguAuthStatus::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(DaguAuthStatus::Storage),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
