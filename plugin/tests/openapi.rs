//! The OpenAPI document is served by the router and names every route it answers.

use dagu_auth::http::{Request, handle};
use dagu_auth::{Config, Engine};

fn get(engine: &Engine, path: &str) -> dagu_auth::http::Response {
    handle(
        engine,
        &Request {
            method: "GET",
            path,
            headers: &[],
            body: b"",
            client_ip: "127.0.0.1",
        },
    )
}

#[test]
fn the_document_is_served_as_yaml_without_credentials_and_names_every_route() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(Config::new(dir.path())).expect("engine");
    let response = get(&engine, "/api/v1/openapi.yaml");
    assert_eq!(response.status, 200);
    assert!(
        response
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "application/yaml")
    );
    let text = String::from_utf8(response.body).expect("utf-8");
    assert!(text.starts_with("openapi: 3."));
    for path in [
        "/auth/setup:",
        "/auth/login:",
        "/auth/logout:",
        "/auth/me:",
        "/auth/change-password:",
        "/users:",
        "/users/{id}:",
        "/users/{id}/reset-password:",
        "/api-keys:",
        "/api-keys/{id}:",
        "/audit:",
        "/openapi.yaml:",
    ] {
        assert!(
            text.contains(&format!("\n  {path}\n")),
            "{path} is not documented"
        );
    }
}
