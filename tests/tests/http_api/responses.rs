//! What every successful answer keeps to: no secret ever leaves, and the OpenAPI document describes
//! the endpoints.

use dagu_auth_tests::Abi;
use dagu_auth_tests::api::*;
use serde_json::json;

use crate::fixtures::start;

fn responses_never_expose_password_hashes(abi: Abi) {
    let host = start(abi);
    let mut responses = vec![setup(&host, ADMIN_USERNAME, ADMIN_PASSWORD)];
    let token = responses[0].json()["token"].as_str().unwrap().to_owned();
    let t = Some(token.as_str());
    let created = create_user_with(&host, &token, &new_user("bob", "viewer", None));
    let id = id_of(&created.json()["user"]);
    responses.push(created);
    responses.push(login(&host, "bob", USER_PASSWORD));
    responses.extend([
        login(&host, ADMIN_USERNAME, ADMIN_PASSWORD),
        host.get("/api/v1/auth/me", t),
        host.get("/api/v1/users", t),
        host.get(&user_path(&id), t),
        update_user(&host, &token, &id, &json!({"role": "developer"})),
        update_user(&host, &token, &id, &json!({"isDisabled": true})),
        host.get("/api/v1/users", t),
        update_user(&host, &token, &id, &json!({"isDisabled": false})),
        reset_password(&host, &token, &id, OTHER_PASSWORD),
        change_password(&host, &token, ADMIN_PASSWORD, OTHER_PASSWORD),
    ]);
    for response in &responses {
        assert!(
            (200..300).contains(&response.status),
            "{}: {} {}",
            response.request,
            response.status,
            response.text()
        );
        assert_no_secrets(&response.json());
        let text = response.text();
        for needle in ["$argon2", USER_PASSWORD, ADMIN_PASSWORD, OTHER_PASSWORD] {
            assert!(
                !text.contains(needle),
                "{}: the body contains {needle:?}: {text}",
                response.request
            );
        }
    }
}

both_abis!(responses_never_expose_password_hashes);

fn openapi_document_describes_the_api(abi: Abi) {
    let host = start(abi);
    let response = host.get("/api/v1/openapi.yaml", None);
    response.expect_status(200);
    let text = response.text();
    let version = text
        .lines()
        .find_map(|line| line.strip_prefix("openapi:"))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_owned())
        .unwrap_or_default();
    assert!(
        version.starts_with("3."),
        "not an OpenAPI 3 document (openapi: {version:?}):\n{text}"
    );
    for path in [
        "/auth/setup",
        "/auth/login",
        "/auth/logout",
        "/auth/me",
        "/auth/change-password",
        "/users",
        "/users/{",
        "/reset-password",
    ] {
        assert!(
            text.contains(path),
            "the OpenAPI document does not describe {path}"
        );
    }
}

both_abis!(openapi_document_describes_the_api);
