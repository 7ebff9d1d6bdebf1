//! The OpenAPI document is served by the router and names every route it answers.

mod common;

use common::Fixture;

#[test]
fn the_document_is_served_as_yaml_without_credentials_and_names_every_route() {
    let (_, _, response) = Fixture::new().http("GET", "/api/v1/openapi.yaml", None, b"");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/yaml"));
    let text = String::from_utf8(response.body).expect("utf-8");
    assert!(text.starts_with("openapi: 3."));
    for path in [
        "/auth/setup:",
        "/auth/login:",
        "/auth/logout:",
        "/auth/me:",
        "/auth/change-password:",
        "/auth/sessions:",
        "/auth/sessions/{id}:",
        "/users:",
        "/users/{id}:",
        "/users/{id}/reset-password:",
        "/users/{id}/sessions:",
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
