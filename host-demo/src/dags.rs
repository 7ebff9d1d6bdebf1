//! Demo resources the host owns and the plugin guards, the way Dagu guards its DAGs: every request
//! asks the plugin's `authorize(token, action, workspace)` and maps the decision to a status.
//!
//! A workspace the caller cannot see answers 404, never 403, so its DAGs cannot be discovered by
//! probing names; an unknown DAG still checks the token first, so an anonymous caller gets 401
//! everywhere rather than learning which names exist.
//!
//! A start and an update are recorded in the plugin's audit trail (`dagu_auth_audit_append`), as
//! Dagu records them (category `dag`, actions `dag_execute` and `dag_update`), attributed to the
//! caller's token (and `X-Request-Id`, when sent, as the correlation id), so an admin reads who
//! started or changed what beside the sign-ins.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use crate::api_error;
use crate::front::client_ip;
use crate::plugin::{DaguAuthAction, DaguAuthDecision};
use crate::server::{AppState, BodyError, read_at_most};

/// DAG definitions are small; this bounds what one PUT can make the host hold.
pub const SPEC_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Debug, Clone, Serialize)]
pub struct Dag {
    pub name: String,
    /// `None`: the default workspace (items with no named workspace).
    pub workspace: Option<String>,
    pub spec: Option<Value>,
}

impl Dag {
    /// What `authorize` takes for this DAG: the empty string is the default workspace.
    fn workspace_str(&self) -> &str {
        self.workspace.as_deref().unwrap_or_default()
    }
}

/// The in-memory DAG store. Specs written with PUT live until the process ends.
///
/// Readers take a snapshot (an `Arc` clone) and let go of the lock at once, so a listing that waits
/// on `authorize` (a database read on a cache miss) never holds up a writer, or readers queued
/// behind one; a writer copies the map only while a snapshot is still in use.
#[derive(Debug)]
pub struct Catalogue {
    dags: RwLock<Arc<BTreeMap<String, Dag>>>,
}

impl Catalogue {
    pub fn demo() -> Self {
        let entries = [
            ("demo-ops", Some("ops")),
            ("demo-prod", Some("prod")),
            ("demo-finance", Some("finance")),
            ("demo-default", None),
        ];
        let dags = entries
            .into_iter()
            .map(|(name, workspace)| {
                let dag = Dag {
                    name: name.to_owned(),
                    workspace: workspace.map(str::to_owned),
                    spec: None,
                };
                (name.to_owned(), dag)
            })
            .collect();
        Self {
            dags: RwLock::new(Arc::new(dags)),
        }
    }

    // A panic while holding the lock cannot leave a half-written entry (writes are one insert),
    // so a poisoned lock is still safe to use.
    fn snapshot(&self) -> Arc<BTreeMap<String, Dag>> {
        Arc::clone(&self.dags.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn get(&self, name: &str) -> Option<Dag> {
        self.snapshot().get(name).cloned()
    }

    fn set_spec(&self, name: &str, spec: Value) -> Option<Dag> {
        let mut dags = self.dags.write().unwrap_or_else(PoisonError::into_inner);
        let dag = Arc::make_mut(&mut dags).get_mut(name)?;
        dag.spec = Some(spec);
        Some(dag.clone())
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dags", get(list))
        .route("/api/v1/dags/{name}", get(show).put(update))
        .route("/api/v1/dags/{name}/start", post(start))
}

/// The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn dag_not_found() -> Response {
    api_error::not_found("DAG not found")
}

fn missing_token() -> Response {
    api_error::unauthorized("Authentication required")
}

/// The DAG `name` if the bearer of the request may do `action` on it (the plugin's `authorize`),
/// else the response to send: 401, 403, or 404 for a DAG the caller may not see.
async fn authorize_request(
    state: &AppState,
    headers: &HeaderMap,
    name: &str,
    action: DaguAuthAction,
) -> Result<Dag, Response> {
    let dag = state.dags.get(name);
    let Some(plugin) = &state.plugin else {
        return dag.ok_or_else(dag_not_found);
    };
    let token = bearer_token(headers).ok_or_else(missing_token)?;
    // For an unknown name, ask about the default workspace only to learn whether the token is
    // good: 401 before 404.
    let workspace = dag.as_ref().map(Dag::workspace_str).unwrap_or_default();
    let decision = plugin
        .authorize_now(token, action, workspace)
        .map_err(|e| api_error::from_plugin(&e))?;
    let dag = dag.ok_or_else(dag_not_found)?;
    match decision {
        DaguAuthDecision::Allow => Ok(dag),
        DaguAuthDecision::Forbidden => Err(api_error::forbidden()),
        DaguAuthDecision::NotVisible => Err(dag_not_found()),
    }
}

#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    workspace: Option<&'a str>,
}

#[derive(Serialize)]
struct Listing<'a> {
    dags: Vec<Listed<'a>>,
}

/// Takes the request rather than a `HeaderMap`, which axum would copy: this handler is the
/// per-request cost that plugin/benches/http_load.sh compares with a bare axum handler.
async fn list(State(state): State<AppState>, request: Request) -> Response {
    let token = match (&state.plugin, bearer_token(request.headers())) {
        (None, _) => None,
        (Some(plugin), Some(token)) => Some((plugin, token)),
        (Some(_), None) => return missing_token(),
    };
    // One snapshot for the whole answer, so a PUT in between cannot make it inconsistent.
    let dags = state.dags.snapshot();
    let allowed: Option<BTreeSet<&str>> = match token {
        None => None,
        Some((plugin, token)) => {
            // One question per workspace, not per DAG; the default workspace is always asked so
            // a bad token is a 401 even if no DAG were in it.
            let mut workspaces: BTreeSet<&str> = dags.values().map(Dag::workspace_str).collect();
            workspaces.insert("");
            let mut allowed = BTreeSet::new();
            for workspace in workspaces {
                match plugin.authorize_now(token, DaguAuthAction::View, workspace) {
                    Ok(DaguAuthDecision::Allow) => {
                        allowed.insert(workspace);
                    }
                    Ok(_) => {}
                    Err(e) => return api_error::from_plugin(&e),
                }
            }
            Some(allowed)
        }
    };
    let dags = dags
        .values()
        .filter(|d| {
            allowed
                .as_ref()
                .is_none_or(|a| a.contains(d.workspace_str()))
        })
        .map(|d| Listed {
            name: &d.name,
            workspace: d.workspace.as_deref(),
        })
        .collect();
    Json(Listing { dags }).into_response()
}

async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match authorize_request(&state, &headers, &name, DaguAuthAction::View).await {
        Ok(dag) => Json(dag).into_response(),
        Err(response) => response,
    }
}

async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let ip = client_ip(&request);
    let (parts, body) = request.into_parts();
    // Read (and ignore) whatever body came, before answering: see `update`.
    if let Err(BodyError::TooLarge) = read_at_most(body, SPEC_BODY_LIMIT).await {
        return api_error::payload_too_large(SPEC_BODY_LIMIT);
    }
    match authorize_request(&state, &parts.headers, &name, DaguAuthAction::Execute).await {
        Ok(dag) => {
            audit(&state, &parts.headers, ip, "dag_execute", &dag).await;
            (
                StatusCode::ACCEPTED,
                Json(json!({"name": dag.name, "started": true})),
            )
                .into_response()
        }
        Err(response) => response,
    }
}

async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let ip = client_ip(&request);
    let (parts, body) = request.into_parts();
    // The body is read (bounded) before answering: a refusal sent before the client's body (or
    // the end of an empty chunked one) has arrived makes hyper close the connection, and a client
    // reusing it sees a reset instead of its next answer (seen in the HTTP suite under load). It is validated only after authorization, so an unauthorized caller learns
    // nothing from validation.
    let bytes = read_at_most(body, SPEC_BODY_LIMIT).await;
    if let Err(response) =
        authorize_request(&state, &parts.headers, &name, DaguAuthAction::Write).await
    {
        return response;
    }
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => return api_error::payload_too_large(SPEC_BODY_LIMIT),
        Err(BodyError::Unreadable) => {
            return api_error::bad_request("cannot read the request body");
        }
    };
    let spec: Value = match serde_json::from_slice(&bytes) {
        Ok(spec) => spec,
        Err(e) => return api_error::bad_request(&format!("invalid JSON: {e}")),
    };
    match state.dags.set_spec(&name, spec) {
        Some(dag) => {
            audit(&state, &parts.headers, ip, "dag_update", &dag).await;
            Json(dag).into_response()
        }
        None => dag_not_found(),
    }
}

/// The caller's `X-Request-Id`, which ties the entry to the caller's own logs, when it is a
/// plausible one (1-128 visible ASCII characters).
fn request_id(headers: &HeaderMap) -> Option<&str> {
    let id = headers.get("x-request-id")?.to_str().ok()?.trim();
    let plausible = (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic());
    plausible.then_some(id)
}

/// Records `action` on `dag` in the plugin's audit trail as the bearer of the request. The DAG
/// was started or changed already, so a failed write is logged rather than answered; the answer
/// waits for the write, so the entry is there when the caller next reads the trail.
async fn audit(state: &AppState, headers: &HeaderMap, ip: String, action: &str, dag: &Dag) {
    let (Some(plugin), Some(token)) = (&state.plugin, bearer_token(headers)) else {
        return;
    };
    let entry = json!({
        "category": "dag",
        "action": action,
        "resourceType": "dag",
        "resourceId": dag.name,
        "workspace": dag.workspace,
        "details": {"dag_name": dag.name},
        "ipAddress": ip,
        "correlationId": request_id(headers),
    })
    .to_string();
    let token = token.to_owned();
    let written = plugin
        .call(move |plugin| plugin.audit_append(&token, &entry))
        .await;
    if let Err(e) = written {
        let line = json!({"log": "host-demo.audit-lost", "action": action, "dag": dag.name, "error": e.to_string()});
        crate::request_log::line(format_args!("{line}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, mode_builtin, mode_none};
    use axum::http::Method;

    #[test]
    fn bearer_token_needs_the_bearer_scheme_and_a_value() {
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().expect("header value"));
            h
        };
        assert_eq!(bearer_token(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(&headers("Basic abc")), None);
        assert_eq!(bearer_token(&headers("Bearer ")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn list_shows_only_workspaces_the_token_may_view() {
        let app = mode_builtin();
        let (status, body) =
            call(&app, Method::GET, "/api/v1/dags", Some("ops-viewer"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({"dags": [
                {"name": "demo-default", "workspace": null},
                {"name": "demo-ops", "workspace": "ops"},
            ]})
        );
    }

    #[tokio::test]
    async fn list_without_a_good_token_is_401() {
        let app = mode_builtin();
        let (status, body) = call(&app, Method::GET, "/api/v1/dags", None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "unauthorized");
        let (status, _) = call(&app, Method::GET, "/api/v1/dags", Some("bogus"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn a_dag_in_an_invisible_workspace_is_not_found() {
        let app = mode_builtin();
        let (status, body) = call(
            &app,
            Method::GET,
            "/api/v1/dags/demo-prod",
            Some("ops-viewer"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"code": "not_found", "message": "DAG not found"})
        );
    }

    #[tokio::test]
    async fn a_visible_dag_with_too_low_a_role_is_forbidden() {
        let app = mode_builtin();
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/dags/demo-ops/start",
            Some("ops-viewer"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            body,
            json!({"code": "forbidden", "message": "Insufficient permissions"})
        );
    }

    #[tokio::test]
    async fn an_unknown_dag_checks_the_token_before_answering_404() {
        let app = mode_builtin();
        let (status, _) = call(&app, Method::GET, "/api/v1/dags/nope", None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = call(&app, Method::GET, "/api/v1/dags/nope", Some("admin"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn allowed_actions_succeed() {
        let app = mode_builtin();
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/dags/demo-prod/start",
            Some("admin"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(body, json!({"name": "demo-prod", "started": true}));

        let spec = json!({"steps": [{"name": "s1", "command": "echo hi"}]});
        let (status, body) = call(
            &app,
            Method::PUT,
            "/api/v1/dags/demo-prod",
            Some("admin"),
            Some(&spec),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["spec"], spec);
        let (_, body) = call(
            &app,
            Method::GET,
            "/api/v1/dags/demo-prod",
            Some("admin"),
            None,
        )
        .await;
        assert_eq!(
            body,
            json!({"name": "demo-prod", "workspace": "prod", "spec": spec})
        );
    }

    #[tokio::test]
    async fn a_start_and_an_update_are_appended_to_the_audit_trail_as_the_caller() {
        let (app, appended) = crate::testing::mode_builtin_recording();
        let start = "/api/v1/dags/demo-prod/start";
        call(&app, Method::POST, start, Some("admin"), None).await;
        let spec = json!({"steps": []});
        call(
            &app,
            Method::PUT,
            "/api/v1/dags/demo-default",
            Some("admin"),
            Some(&spec),
        )
        .await;
        // Refused requests record nothing.
        call(
            &app,
            Method::POST,
            "/api/v1/dags/demo-ops/start",
            Some("ops-viewer"),
            None,
        )
        .await;
        call(&app, Method::POST, start, Some("bogus"), None).await;
        let appended = appended.lock().expect("entries").clone();
        let expected = |action: &str, dag: &str, workspace: Value| {
            (
                "admin".to_string(),
                json!({
                    "category": "dag",
                    "action": action,
                    "resourceType": "dag",
                    "resourceId": dag,
                    "workspace": workspace,
                    "details": {"dag_name": dag},
                    "ipAddress": "",
                    "correlationId": null,
                }),
            )
        };
        assert_eq!(
            appended,
            [
                expected("dag_execute", "demo-prod", json!("prod")),
                expected("dag_update", "demo-default", Value::Null),
            ]
        );
    }

    #[tokio::test]
    async fn put_refuses_a_body_that_is_not_json_after_authorizing() {
        let app = mode_builtin();
        let (status, body) = crate::testing::call_raw(
            &app,
            Method::PUT,
            "/api/v1/dags/demo-ops",
            Some("admin"),
            b"{not json".to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "bad_request");
        let (status, _) = crate::testing::call_raw(
            &app,
            Method::PUT,
            "/api/v1/dags/demo-ops",
            Some("ops-viewer"),
            b"{not json".to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn without_auth_every_dag_is_open() {
        let app = mode_none();
        let (status, body) = call(&app, Method::GET, "/api/v1/dags", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["dags"].as_array().map(Vec::len), Some(4));
        let (status, _) = call(
            &app,
            Method::POST,
            "/api/v1/dags/demo-finance/start",
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let (status, _) = call(&app, Method::GET, "/api/v1/dags/nope", None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
