//! The HTTP layer without sockets: routing, body handling and error shapes.

mod common;

use common::*;
use dagu_auth::http::{self, Request, Response};
use serde_json::json;

#[test]
fn setup_then_login_then_me_round_trip() {
    let fx = Fixture::new();
    let (status, body, _) = fx.http("GET", "/api/v1/auth/setup", None, b"");
    assert_eq!((status, body), (200, json!({"setupRequired": true})));
    let credentials = json!({"username": "root", "password": ADMIN_PASSWORD}).to_string();
    let (status, login, _) = fx.http("POST", "/api/v1/auth/setup", None, credentials.as_bytes());
    assert_eq!(status, 200);
    let token = login["token"].as_str().expect("token");
    let (status, me, _) = fx.http("GET", "/api/v1/auth/me", Some(token), b"");
    assert_eq!((status, &me["user"]["username"]), (200, &json!("root")));
}

#[test]
fn unknown_paths_are_json_404s() {
    let fx = Fixture::new();
    for path in [
        "/api/v1/auth/xyz",
        "/api/v1/nothing",
        "/elsewhere",
        "/api/v1/users/a/b/c",
    ] {
        let (status, body, _) = fx.http("GET", path, None, b"");
        assert_eq!(
            (status, &body["code"]),
            (404, &json!("not_found")),
            "{path}"
        );
    }
}

#[test]
fn bodies_over_one_mebibyte_are_413() {
    let fx = Fixture::new();
    let big = vec![b' '; 1024 * 1024 + 1];
    let (status, body, _) = fx.http("POST", "/api/v1/auth/login", None, &big);
    assert_eq!((status, &body["code"]), (413, &json!("payload_too_large")));
}

#[test]
fn malformed_json_and_wrong_types_are_400() {
    let fx = Fixture::new();
    for body in [
        &b"{not json"[..],
        br#"{"username": 1, "password": "x"}"#,
        b"[]",
        b"",
    ] {
        let (status, json, _) = fx.http("POST", "/api/v1/auth/login", None, body);
        assert_eq!((status, &json["code"]), (400, &json!("bad_request")));
    }
}

#[test]
fn a_non_json_content_type_is_415() {
    let fx = Fixture::new();
    let headers = [("content-type", "text/plain")];
    let request = Request {
        method: "POST",
        path: "/api/v1/auth/login",
        headers: &headers,
        body: b"{}",
        client_ip: "",
    };
    let response = http::handle(&fx.engine, &request);
    assert_eq!(response.status, 415);
    let body: serde_json::Value = serde_json::from_slice(&response.body).expect("json");
    assert_eq!(
        body,
        json!({"code": "bad_request", "message": "Content-Type must be application/json"})
    );
}

#[test]
fn the_query_string_does_not_change_the_route() {
    let fx = Fixture::new();
    let (status, _, _) = fx.http("GET", "/api/v1/auth/setup?x=1", None, b"");
    assert_eq!(status, 200);
}

#[test]
fn a_wrong_method_on_a_known_path_is_an_error_not_a_404() {
    let fx = Fixture::new();
    for (method, path) in [
        ("DELETE", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/sso"),
    ] {
        let (status, _, _) = fx.http(method, path, None, b"");
        assert_eq!(status, 405, "{method} {path}");
    }
}

#[test]
fn unauthenticated_calls_carry_the_bearer_challenge() {
    let fx = Fixture::new();
    fx.setup_admin();
    let (status, body, response) = fx.http("GET", "/api/v1/users", None, b"");
    assert_eq!(
        (status, body),
        (
            401,
            json!({"code": "unauthorized", "message": "Authentication required"})
        )
    );
    assert_eq!(
        response.header("WWW-Authenticate"),
        Some(r#"Bearer realm="restricted""#)
    );
}

#[test]
fn create_answers_201_and_delete_204() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let body = json!({"username": "bob", "password": USER_PASSWORD, "role": "viewer"}).to_string();
    let (status, created, _) = fx.http("POST", "/api/v1/users", Some(&admin), body.as_bytes());
    assert_eq!(status, 201);
    let id = created["user"]["id"].as_str().expect("id");
    let (status, _, response) =
        fx.http("DELETE", &format!("/api/v1/users/{id}"), Some(&admin), b"");
    assert_eq!((status, response.body.len()), (204, 0));
}

fn login_from(fx: &Fixture, peer: &str, forwarded_for: &str) -> Response {
    let body = json!({"username": "admin", "password": "wrong-password"}).to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Forwarded-For", forwarded_for),
    ];
    let request = Request {
        method: "POST",
        path: "/api/v1/auth/login",
        headers: &headers,
        body: body.as_bytes(),
        client_ip: peer,
    };
    http::handle(&fx.engine, &request)
}

#[test]
fn rate_limited_sign_ins_answer_429_with_retry_after() {
    let fx = Fixture::with(|c| c.login_limits.per_account.max_failures = 100);
    fx.setup_admin();
    let statuses: Vec<u16> = (0..21)
        .map(|_| login_from(&fx, "203.0.113.5", "").status)
        .collect();
    assert_eq!(statuses[..20], [401; 20]);
    let limited = login_from(&fx, "203.0.113.5", "");
    assert_eq!(limited.status, 429);
    assert!(
        limited
            .header("Retry-After")
            .is_some_and(|seconds| seconds.parse::<u64>().is_ok())
    );
}

#[test]
fn forwarded_for_counts_only_behind_a_trusted_proxy() {
    let fx = Fixture::with(|c| {
        c.login_limits.per_account.max_failures = 100;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    });
    fx.setup_admin();
    // Behind the proxy, each client has its own budget.
    for i in 0..25 {
        assert_eq!(
            login_from(&fx, "127.0.0.1", &format!("198.51.100.{i}")).status,
            401
        );
    }
    // An untrusted peer cannot dodge its limit by inventing addresses.
    let statuses: Vec<u16> = (0..21)
        .map(|i| login_from(&fx, "203.0.113.9", &format!("10.9.9.{i}")).status)
        .collect();
    assert_eq!(statuses.last(), Some(&429));
}

#[test]
fn api_keys_round_trip_over_http_and_authenticate_as_bearer() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let body = json!({"name": "ci", "role": "developer", "allowedSurfaces": ["rest_api"], "attributionClass": "service_account"}).to_string();
    let (status, created, _) = fx.http("POST", "/api/v1/api-keys", Some(&admin), body.as_bytes());
    assert_eq!(status, 201);
    let key = created["key"].as_str().expect("key");
    let id = created["apiKey"]["id"].as_str().expect("id");
    let (status, me, _) = fx.http("GET", "/api/v1/auth/me", Some(key), b"");
    assert_eq!((status, &me["user"]["username"]), (200, &json!("ci")));
    // A full User, built from the key: the service account it acts as.
    assert_eq!(me["user"]["id"], format!("api_key:{id}"));
    assert_eq!(me["user"]["role"], "developer");
    assert_eq!(
        me["user"]["workspaceAccess"],
        json!({"all": true, "grants": []})
    );
    assert_eq!(me["user"]["authProvider"], "builtin");
    assert_eq!(me["user"]["createdAt"], created["apiKey"]["createdAt"]);
    assert_eq!(me["user"]["updatedAt"], created["apiKey"]["updatedAt"]);
    let (status, listed, _) = fx.http("GET", "/api/v1/api-keys", Some(&admin), b"");
    assert_eq!(
        (status, listed["apiKeys"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let (status, _, _) = fx.http(
        "PATCH",
        &format!("/api/v1/api-keys/{id}"),
        Some(&admin),
        br#"{"description":"x"}"#,
    );
    assert_eq!(status, 200);
    let (status, _, _) = fx.http(
        "DELETE",
        &format!("/api/v1/api-keys/{id}"),
        Some(&admin),
        b"",
    );
    assert_eq!(status, 204);
    let (status, _, _) = fx.http("GET", "/api/v1/auth/me", Some(key), b"");
    assert_eq!(status, 401);
}

#[test]
fn the_audit_trail_is_served_as_json_and_as_csv() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (status, page, _) = fx.http(
        "GET",
        "/api/v1/audit?action=setup_admin&limit=5&remoteNode=local",
        Some(&admin),
        b"",
    );
    assert_eq!(
        (
            status,
            page["entries"][0]["action"].as_str(),
            &page["total"]
        ),
        (200, Some("setup_admin"), &json!(1))
    );
    let (status, _, response) = fx.http("GET", "/api/v1/audit?format=csv", Some(&admin), b"");
    let csv = String::from_utf8(response.body.clone()).expect("utf-8");
    assert_eq!(status, 200);
    assert!(
        csv.starts_with(
            "id,timestamp,category,action,userId,username,source,surface,result,correlationId,\
             resourceType,resourceId,workspace,credentialId,credentialType,mcpTool,details,\
             ipAddress\n"
        ) && csv.contains("\"setup_admin\""),
        "{csv}"
    );
    assert_eq!(response.header("x-total-count"), Some("1"));
}

#[test]
fn audit_parameters_that_do_not_parse_are_400_after_the_credential_is_checked() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let cases = [
        (
            "startTime=yesterday",
            "Invalid format for parameter startTime: error parsing 'yesterday' as RFC3339 or \
             2006-01-02 time",
        ),
        (
            "limit=ten",
            "Invalid format for parameter limit: error binding string parameter: \
             strconv.ParseInt: parsing \"ten\": invalid syntax",
        ),
        (
            "offset=1.5",
            "Invalid format for parameter offset: error binding string parameter: \
             strconv.ParseInt: parsing \"1.5\": invalid syntax",
        ),
    ];
    for (query, message) in cases {
        let path = format!("/api/v1/audit?{query}");
        let (status, body, _) = fx.http("GET", &path, Some(&admin), b"");
        assert_eq!(
            (status, body),
            (400, json!({"code": "bad_request", "message": message})),
            "{query}"
        );
        let (status, _, _) = fx.http("GET", &path, None, b"");
        assert_eq!(status, 401, "{query} without a credential");
    }
}
