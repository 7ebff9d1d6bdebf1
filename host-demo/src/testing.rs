//! Test helpers: a fake plugin with fixed rules and one-request drivers for the router, so the
//! server's behaviour is tested without a built `libdagu_auth.so`.

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::config::Abi;
use crate::dags::Catalogue;
use crate::front::Front;
use crate::plugin::{
    Backend, DaguAuthAction, DaguAuthDecision, DaguAuthStatus, HttpRequest, HttpResponse,
    LoadedPlugin, PluginError,
};
use crate::server::{AppState, router};

/// The audit entries a host appended, as (token, entry).
pub type Appended = Arc<Mutex<Vec<(String, Value)>>>;

/// Tokens: `admin` may do anything anywhere; `ops-viewer` is a viewer scoped to `ops` (and the
/// default workspace, per the role rules); anything else is unauthenticated. Audit entries the
/// host appends are kept in `appended`.
#[derive(Default)]
pub struct FakeBackend {
    pub appended: Appended,
}

impl Backend for FakeBackend {
    fn handle_http(&self, request: &HttpRequest) -> Result<HttpResponse, PluginError> {
        if request.path == "/api/v1/auth/teapot" {
            let mut headers = HeaderMap::new();
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
            return Ok(HttpResponse {
                status: 418,
                headers,
                body: Bytes::new(),
            });
        }
        let authorization = request
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        let echo = json!({
            "method": request.method.as_str(),
            "path": request.path,
            "authorization": authorization,
            "bodyLen": request.body.len(),
            "body": String::from_utf8_lossy(&request.body[..request.body.len().min(4096)]),
        });
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(HttpResponse {
            status: 200,
            headers,
            body: echo.to_string().into(),
        })
    }

    fn authorize(
        &self,
        token: &str,
        action: DaguAuthAction,
        workspace: &str,
    ) -> Result<DaguAuthDecision, PluginError> {
        match token {
            "admin" => Ok(DaguAuthDecision::Allow),
            "ops-viewer" if workspace.is_empty() || workspace == "ops" => {
                Ok(if action == DaguAuthAction::View {
                    DaguAuthDecision::Allow
                } else {
                    DaguAuthDecision::Forbidden
                })
            }
            "ops-viewer" => Ok(DaguAuthDecision::NotVisible),
            _ => Err(PluginError::new(
                DaguAuthStatus::Unauthenticated,
                "Invalid or expired token",
            )),
        }
    }

    fn setup_required(&self) -> Result<bool, PluginError> {
        Ok(false)
    }

    fn operator(&self, command_json: &str) -> Result<String, PluginError> {
        Ok(json!({"echo": command_json}).to_string())
    }

    fn audit_append(&self, token: &str, entry_json: &str) -> Result<(), PluginError> {
        if !matches!(token, "admin" | "ops-viewer") {
            return Err(PluginError::new(
                DaguAuthStatus::Unauthenticated,
                "Invalid or expired token",
            ));
        }
        let entry = serde_json::from_str(entry_json)
            .map_err(|e| PluginError::new(DaguAuthStatus::InvalidJson, e.to_string()))?;
        let mut appended = self.appended.lock().unwrap_or_else(PoisonError::into_inner);
        appended.push((token.to_owned(), entry));
        Ok(())
    }
}

pub fn mode_none() -> Front {
    router(AppState {
        plugin: None,
        dags: Arc::new(Catalogue::demo()),
        allowed_hosts: None,
    })
}

pub fn mode_builtin() -> Front {
    mode_builtin_recording().0
}

/// [`mode_builtin`], and the audit entries the host appends through it.
pub fn mode_builtin_recording() -> (Front, Appended) {
    let backend = FakeBackend::default();
    let appended = Arc::clone(&backend.appended);
    let plugin = LoadedPlugin::from_backend(Box::new(backend), Abi::Rust);
    let app = router(AppState {
        plugin: Some(Arc::new(plugin)),
        dags: Arc::new(Catalogue::demo()),
        allowed_hosts: None,
    });
    (app, appended)
}

pub async fn response(
    app: &Front,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> Response {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = builder.body(Body::from(body)).expect("valid test request");
    app.clone()
        .oneshot(request)
        .await
        .expect("router is infallible")
}

/// Sends raw body bytes; returns the status and the body parsed as JSON (`null` if empty).
pub async fn call_raw(
    app: &Front,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let response = response(app, method, path, token, body).await;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body reads");
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("response is JSON")
    };
    (status, value)
}

pub async fn call(
    app: &Front,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    call_raw(app, method, path, token, bytes).await
}
