//! The HTTP side: routes, forwarding to the plugin, graceful shutdown. What every request passes
//! first (the loopback host check and the request log) is in `front`.
//!
//! Auth and user-management endpoints are the plugin's: the host passes them through unchanged
//! (method, path with query, every header line, body bytes, peer IP) and sends back exactly what
//! the plugin answers. The host only adds what a socket owner must: a body size cap, the logs, and
//! on loopback the refusal of host names it does not answer to (`exposure`).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::Response;
use axum::routing::{any, get};
use http_body_util::LengthLimitError;
use tokio::net::TcpListener;

use crate::api_error;
use crate::dags::{self, Catalogue};
use crate::exposure::AllowedHosts;
use crate::front::{Connections, Front, client_ip};
use crate::health;
use crate::plugin::{HttpRequest, HttpResponse, LoadedPlugin};

/// The plugin's own body limit (1 MiB). One byte more is read and passed on so the plugin can
/// answer its own 413; anything larger is cut off here without buffering it.
pub const PLUGIN_BODY_LIMIT: usize = 1024 * 1024;

/// Endpoints that belong to the plugin (its OpenAPI document, plugin/openapi.yaml, lists them).
/// `{*rest}` catches every sub-path. The SSO paths are outside `/api/v1`, as in Dagu.
const PLUGIN_ROUTES: [&str; 11] = [
    "/api/v1/auth",
    "/api/v1/auth/{*rest}",
    "/api/v1/users",
    "/api/v1/users/{*rest}",
    "/api/v1/api-keys",
    "/api/v1/api-keys/{*rest}",
    "/api/v1/audit",
    "/api/v1/openapi.yaml",
    "/oidc-login",
    "/oidc-callback",
    "/proxy-login",
];

#[derive(Clone)]
pub struct AppState {
    /// `None` when `auth.mode` is `none`.
    pub plugin: Option<Arc<LoadedPlugin>>,
    pub dags: Arc<Catalogue>,
    /// `None` when the server listens beyond loopback and answers to any name.
    pub allowed_hosts: Option<Arc<AllowedHosts>>,
}

/// The routes behind the host check and the request log ([`Front`]).
pub fn router(state: AppState) -> Front {
    let started = Instant::now();
    let mut router = Router::new().route("/api/v1/health", get(move || health::answer(started)));
    for path in PLUGIN_ROUTES {
        router = router.route(path, any(forward));
    }
    let allowed_hosts = state.allowed_hosts.clone();
    let router = router
        .merge(dags::routes())
        .merge(crate::web::routes())
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    Front::new(router, allowed_hosts)
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, Connections(router(state)))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn unknown_route() -> Response {
    api_error::not_found("Not found")
}

async fn method_not_allowed() -> Response {
    api_error::error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
    )
}

#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Unreadable,
}

/// Reads the whole body, refusing (without buffering) anything past `limit` bytes.
pub async fn read_at_most(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<LengthLimitError>()) {
            BodyError::TooLarge
        } else {
            BodyError::Unreadable
        }
    })
}

async fn forward(State(state): State<AppState>, request: Request) -> Response {
    let Some(plugin) = state.plugin else {
        return api_error::unauthorized("User management is not enabled");
    };
    let client_ip = client_ip(&request);
    let (parts, body) = request.into_parts();
    let body = match read_at_most(body, PLUGIN_BODY_LIMIT + 1).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return api_error::payload_too_large(PLUGIN_BODY_LIMIT),
        Err(BodyError::Unreadable) => {
            return api_error::bad_request("cannot read the request body");
        }
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |pq| pq.as_str())
        .to_owned();
    let request = HttpRequest {
        method: parts.method,
        path,
        headers: parts.headers,
        body,
        client_ip,
    };
    let answered = if answers_from_memory(request.method.as_str(), &request.path) {
        plugin.handle_http_now(&request)
    } else {
        plugin.call(move |p| p.handle_http(&request)).await
    };
    match answered {
        Ok(response) => to_axum(response),
        Err(e) => {
            crate::request_log::line(format_args!("host-demo: plugin handle_http failed: {e}"));
            api_error::internal()
        }
    }
}

/// Plugin routes answered from the plugin's memory or one indexed read, in microseconds: run on
/// the calling task, since the hop to the blocking pool costs more than the work (wrk: GET
/// /api/v1/auth/me went from 31.8k req/s to the figures in BENCHMARKS.md, "HTTP"). `GET /auth/me`
/// (Dagu's UI asks on every page load) and a page of users; everything else (argon2 sign-ins,
/// writes that wait for the disk, full lists, audit queries) stays on the pool.
fn answers_from_memory(method: &str, path_and_query: &str) -> bool {
    if method != "GET" {
        return false;
    }
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    match path.trim_end_matches('/') {
        "/api/v1/auth/me" => true,
        "/api/v1/users" => query
            .split('&')
            .any(|pair| pair.starts_with("limit=") || pair.starts_with("cursor=")),
        _ => false,
    }
}

/// Headers the connection layer owns; copying the plugin's would contradict hyper's framing.
const CONNECTION_HEADERS: [HeaderName; 3] = [
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
];

fn to_axum(plugin_response: HttpResponse) -> Response {
    let Ok(status) = StatusCode::from_u16(plugin_response.status) else {
        crate::request_log::line(format_args!(
            "host-demo: plugin answered invalid HTTP status {}",
            plugin_response.status
        ));
        return api_error::internal();
    };
    let mut headers = plugin_response.headers;
    for name in CONNECTION_HEADERS {
        headers.remove(name);
    }
    let mut response = Response::new(Body::from(plugin_response.body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, call_raw, mode_builtin, mode_none};
    use axum::http::{HeaderMap, HeaderValue, Method};
    use serde_json::json;

    #[tokio::test]
    async fn health_is_open_and_answers_dagus_health_response() {
        for mode in [mode_none(), mode_builtin()] {
            let (status, body) = call(&mode, Method::GET, "/api/v1/health", None, None).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["status"], "healthy");
            assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
            assert!(body["uptime"].is_u64(), "{body}");
            let timestamp = body["timestamp"].as_str().unwrap_or_default();
            assert!(
                chrono::DateTime::parse_from_rfc3339(timestamp).is_ok() && !timestamp.contains('.'),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn unknown_routes_are_json_404() {
        let (status, body) = call(&mode_none(), Method::GET, "/api/v1/nope", None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body, json!({"code": "not_found", "message": "Not found"}));
        let (status, _) = call(&mode_none(), Method::GET, "/no-such-page", None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn without_auth_plugin_routes_are_401_not_enabled() {
        for path in [
            "/api/v1/auth/login",
            "/api/v1/users",
            "/api/v1/users/x",
            "/api/v1/audit",
        ] {
            let (status, body) = call(&mode_none(), Method::POST, path, None, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(
                body,
                json!({"code": "unauthorized", "message": "User management is not enabled"})
            );
        }
    }

    #[tokio::test]
    async fn plugin_routes_are_forwarded_unchanged() {
        let app = mode_builtin();
        let body = json!({"username": "a", "password": "b"});
        let (status, echoed) = call(
            &app,
            Method::POST,
            "/api/v1/users/42/reset-password?x=1&y=2",
            Some("t"),
            Some(&body),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(echoed["method"], "POST");
        assert_eq!(echoed["path"], "/api/v1/users/42/reset-password?x=1&y=2");
        assert_eq!(echoed["authorization"], "Bearer t");
        assert_eq!(echoed["body"], body.to_string());
    }

    #[tokio::test]
    async fn plugin_status_and_headers_come_back() {
        let app = mode_builtin();
        let response =
            crate::testing::response(&app, Method::GET, "/api/v1/auth/teapot", None, vec![]).await;
        assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
        assert_eq!(response.headers()["retry-after"], "7");
    }

    #[tokio::test]
    async fn a_body_one_byte_over_the_limit_reaches_the_plugin() {
        let app = mode_builtin();
        let body = vec![b'x'; PLUGIN_BODY_LIMIT + 1];
        let (status, echoed) = call_raw(&app, Method::POST, "/api/v1/auth/login", None, body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(echoed["bodyLen"], PLUGIN_BODY_LIMIT + 1);
    }

    #[tokio::test]
    async fn a_larger_body_is_413_from_the_host() {
        let app = mode_builtin();
        let body = vec![b'x'; PLUGIN_BODY_LIMIT + 2];
        let (status, answer) = call_raw(&app, Method::POST, "/api/v1/auth/login", None, body).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(answer["code"], "payload_too_large");
    }

    /// A server on loopback, as `main` builds it.
    fn on_loopback(allowed_origins: &[String]) -> Front {
        router(AppState {
            plugin: None,
            dags: Arc::new(Catalogue::demo()),
            allowed_hosts: AllowedHosts::for_listener("127.0.0.1", allowed_origins).map(Arc::new),
        })
    }

    async fn status_for_host(app: &Front, host: &str) -> StatusCode {
        use tower::ServiceExt;
        let request = Request::builder()
            .uri("/api/v1/health")
            .header(header::HOST, host)
            .body(Body::empty())
            .expect("valid request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        response.status()
    }

    #[tokio::test]
    async fn on_loopback_a_rebound_host_name_is_refused() {
        let app = on_loopback(&["https://dagu.example.com".into()]);
        for host in [
            "evil.example:8080",
            "127.0.0.1.nip.example",
            "dagu.example.org",
        ] {
            assert_eq!(
                status_for_host(&app, host).await,
                StatusCode::FORBIDDEN,
                "{host}"
            );
        }
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "[::1]:8080",
            "dagu.example.com",
        ] {
            assert_eq!(status_for_host(&app, host).await, StatusCode::OK, "{host}");
        }
    }

    #[tokio::test]
    async fn beyond_loopback_any_host_name_is_answered() {
        let app = mode_none();
        assert_eq!(
            status_for_host(&app, "evil.example:8080").await,
            StatusCode::OK
        );
    }

    #[test]
    fn only_reads_answered_from_memory_skip_the_blocking_pool() {
        for (method, path) in [
            ("GET", "/api/v1/auth/me"),
            ("GET", "/api/v1/users?limit=50"),
            ("GET", "/api/v1/users?cursor=abc&limit=50"),
            ("GET", "/api/v1/users?cursor=abc"),
        ] {
            assert!(answers_from_memory(method, path), "{method} {path}");
        }
        for (method, path) in [
            ("POST", "/api/v1/auth/login"),
            ("POST", "/api/v1/auth/me"),
            ("GET", "/api/v1/users"),
            ("GET", "/api/v1/users?name=limit"),
            ("GET", "/api/v1/users/u1?limit=5"),
            ("GET", "/api/v1/audit?limit=50"),
            ("PATCH", "/api/v1/users?limit=50"),
        ] {
            assert!(!answers_from_memory(method, path), "{method} {path}");
        }
    }

    #[test]
    fn connection_headers_from_the_plugin_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("999"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let response = to_axum(HttpResponse {
            status: 200,
            headers,
            body: Bytes::from_static(b"{}"),
        });
        assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.headers().len(), 1);
    }

    #[test]
    fn an_invalid_plugin_status_is_a_500() {
        let response = to_axum(HttpResponse {
            status: 1000,
            ..HttpResponse::default()
        });
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
