//! What another website, a DNS-rebinding page or a spoofing client can make the API do: bodies only
//! as JSON, a foreign `Origin` refused, the setup code of an exposed install, the `Host` check of a
//! loopback one, authentication before any body is read, the headers on every answer, and
//! `X-Forwarded-For` lines walked as one list.

use std::io::{Read, Write};
use std::net::TcpStream;

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo, HostOptions, Response};
use serde_json::{Value, json};

use crate::fixtures::{start, start_with_admin};

const JSON_ONLY: &str = "Content-Type must be application/json";
const ORIGIN_NOT_ALLOWED: &str = "Origin not allowed";
/// The start of host-demo's log line with the setup code.
const SETUP_CODE_LINE: &str = "host-demo: setup code: ";

fn credentials() -> Vec<u8> {
    json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
        .to_string()
        .into_bytes()
}

/// `POST path` with exactly these headers and body.
fn post(host: &HostDemo, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    host.send("POST", path, headers, Some(body))
}

fn state_changing_requests_without_json_content_type_are_refused_with_415(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let bearer = format!("Bearer {token}");
    let key = json!({"name": "ci", "role": "viewer"})
        .to_string()
        .into_bytes();
    let routes: [(&str, Option<&str>, Vec<u8>); 4] = [
        ("/api/v1/auth/setup", None, credentials()),
        ("/api/v1/auth/login", None, credentials()),
        ("/api/v1/users", Some(&bearer), b"{}".to_vec()),
        ("/api/v1/api-keys", Some(&bearer), key.clone()),
    ];
    // What a cross-site form or no-cors fetch can send without asking first.
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        for (path, authorization, body) in &routes {
            let headers: Vec<(&str, &str)> = [
                content_type.map(|value| ("Content-Type", value)),
                authorization.map(|value| ("Authorization", value)),
            ]
            .into_iter()
            .flatten()
            .collect();
            for body in [body.as_slice(), b""] {
                let response = post(&host, path, &headers, body);
                assert_error(&response, 415, "bad_request", JSON_ONLY);
            }
        }
    }
    assert_eq!(
        host.get("/api/v1/api-keys", Some(&token)).json()["apiKeys"],
        json!([]),
        "nothing was created"
    );
    let headers = [("Content-Type", "application/json; charset=utf-8")];
    post(&host, "/api/v1/auth/login", &headers, &credentials()).expect_status(200);
}

both_abis!(state_changing_requests_without_json_content_type_are_refused_with_415);

fn foreign_origin_cannot_create_the_first_admin(abi: Abi) {
    let host = start(abi);
    for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        let headers = [("Content-Type", "application/json"), ("Origin", origin)];
        let response = post(&host, "/api/v1/auth/setup", &headers, &credentials());
        assert_error(&response, 403, "forbidden", ORIGIN_NOT_ALLOWED);
    }
    assert!(setup_required(&host), "nobody was made admin");
    let own = host.base_url().to_string();
    let headers = [("Content-Type", "application/json"), ("Origin", &own)];
    post(&host, "/api/v1/auth/setup", &headers, &credentials()).expect_status(200);
}

both_abis!(foreign_origin_cannot_create_the_first_admin);

fn a_configured_origin_may_change_state_and_others_may_not(abi: Abi) {
    let options =
        HostOptions::new(abi).env("DAGU_AUTH_ALLOWED_ORIGINS", "https://dagu.example.com");
    let host = HostDemo::start(options);
    setup_admin(&host);
    let sign_in = |origin: &str| {
        let headers = [("Content-Type", "application/json"), ("Origin", origin)];
        post(&host, "/api/v1/auth/login", &headers, &credentials())
    };
    sign_in("https://dagu.example.com").expect_status(200);
    assert_error(
        &sign_in("https://dagu.example.com.evil.example"),
        403,
        "forbidden",
        ORIGIN_NOT_ALLOWED,
    );
}

both_abis!(a_configured_origin_may_change_state_and_others_may_not);

/// The code host-demo printed, from its log.
fn setup_code_from_log(host: &HostDemo) -> String {
    let output = host.output();
    let lines: Vec<&str> = output
        .lines()
        .filter(|line| line.starts_with(SETUP_CODE_LINE))
        .collect();
    assert_eq!(lines.len(), 1, "one setup code line in:\n{output}");
    lines[0][SETUP_CODE_LINE.len()..]
        .split_whitespace()
        .next()
        .expect("a code after the prefix")
        .to_string()
}

fn setup_with_code(host: &HostDemo, code: Option<&str>) -> Response {
    let mut body = json!({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD});
    if let Some(code) = code {
        body["setupCode"] = Value::from(code);
    }
    host.post("/api/v1/auth/setup", None, &body)
}

fn an_exposed_fresh_install_needs_the_setup_code_from_its_log(abi: Abi) {
    let host = HostDemo::start(HostOptions::new(abi).env("DAGU_HOST", "0.0.0.0"));
    assert_eq!(
        host.get("/api/v1/auth/setup", None).json(),
        json!({"setupRequired": true, "setupCodeRequired": true})
    );
    let code = setup_code_from_log(&host);
    let wrong = "0".repeat(code.len());
    for offered in [None, Some(wrong.as_str())] {
        let refused = setup_with_code(&host, offered);
        let message = assert_error_shape(&refused, 403, "forbidden");
        assert!(message.contains("setup code"), "{message}");
    }
    assert!(setup_required(&host), "nobody was made admin");
    setup_with_code(&host, Some(&code)).expect_status(200);
    assert_eq!(
        host.get("/api/v1/auth/setup", None).json(),
        json!({"setupRequired": false})
    );
}

both_abis!(an_exposed_fresh_install_needs_the_setup_code_from_its_log);

fn a_loopback_install_keeps_plain_setup_without_a_code(abi: Abi) {
    let host = start(abi);
    assert_eq!(
        host.get("/api/v1/auth/setup", None).json(),
        json!({"setupRequired": true})
    );
    setup_with_code(&host, None).expect_status(200);
    assert!(!host.output().contains(SETUP_CODE_LINE));
}

both_abis!(a_loopback_install_keeps_plain_setup_without_a_code);

/// The status line of a request sent by hand, so the `Host` header is exactly `host_header`.
fn status_for_host(host: &HostDemo, request_line: &str, host_header: &str, extra: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", host.port())).expect("connect");
    let request =
        format!("{request_line}\r\nHost: {host_header}\r\n{extra}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer.lines().next().unwrap_or_default().to_string()
}

fn a_loopback_server_refuses_a_dns_rebinding_host_name(abi: Abi) {
    let host = start(abi);
    let rebound = format!("evil.example:{}", host.port());
    let body = String::from_utf8(credentials()).expect("utf-8");
    let setup = format!(
        "Origin: http://{rebound}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (request_line, extra) in [
        ("GET /api/v1/auth/setup HTTP/1.1", String::new()),
        ("GET /login HTTP/1.1", String::new()),
        ("POST /api/v1/auth/setup HTTP/1.1", setup),
    ] {
        let status = status_for_host(&host, request_line, &rebound, &extra);
        assert!(status.contains(" 403 "), "{request_line}: {status}");
    }
    assert!(setup_required(&host), "nobody was made admin");
    let own = format!("localhost:{}", host.port());
    let status = status_for_host(&host, "GET /api/v1/auth/setup HTTP/1.1", &own, "");
    assert!(status.contains(" 200 "), "{status}");
}

both_abis!(a_loopback_server_refuses_a_dns_rebinding_host_name);

fn anonymous_requests_get_401_before_any_body_is_read(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let bob = create_user(&host, &token, "bob", "viewer", None);
    let user = user_path(&id_of(&bob));
    let reset = format!("{user}/reset-password");
    let routes = [
        ("POST", "/api/v1/users"),
        ("PATCH", user.as_str()),
        ("POST", reset.as_str()),
        ("POST", "/api/v1/auth/change-password"),
        ("POST", "/api/v1/api-keys"),
        ("PATCH", "/api/v1/api-keys/some-key"),
    ];
    let bodies: [(Option<&str>, &[u8]); 4] = [
        (Some("application/json"), b"{}"),
        (Some("application/json"), b"{not json"),
        (Some("text/plain"), b"{}"),
        (None, b""),
    ];
    for (method, path) in routes {
        for (content_type, body) in bodies {
            let headers: Vec<(&str, &str)> = content_type
                .map(|value| ("Content-Type", value))
                .into_iter()
                .collect();
            let response = host.send(method, path, &headers, Some(body));
            assert_authentication_required(&response);
        }
    }
}

both_abis!(anonymous_requests_get_401_before_any_body_is_read);

fn api_answers_are_never_sniffed_and_never_stored(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let answers = [
        host.get("/api/v1/auth/setup", None),
        login(&host, ADMIN_USERNAME, ADMIN_PASSWORD),
        host.post(
            "/api/v1/api-keys",
            Some(&token),
            &json!({"name": "ci", "role": "viewer"}),
        ),
        host.get("/api/v1/auth/me", Some(&token)),
        host.get("/api/v1/users", Some(&token)),
        host.get("/api/v1/api-keys", Some(&token)),
        host.get("/api/v1/audit", Some(&token)),
        host.get("/api/v1/users", None),
        host.get("/api/v1/auth/xyz", None),
    ];
    for answer in &answers {
        assert!(answer.status < 500, "{}: {}", answer.request, answer.status);
        assert_eq!(
            (
                answer.header("x-content-type-options"),
                answer.header("cache-control")
            ),
            (Some("nosniff"), Some("no-store")),
            "{}",
            answer.request
        );
    }
}

both_abis!(api_answers_are_never_sniffed_and_never_stored);

fn forwarded_for_lines_are_one_list_walked_from_the_right(abi: Abi) {
    let host = HostDemo::start(HostOptions::new(abi).env("DAGU_AUTH_TRUSTED_PROXIES", "127.0.0.1"));
    let token = setup_admin(&host);
    // A proxy that adds a line per hop (HAProxy's `option forwardfor`): the client writes the first
    // line itself, a new address each time; the proxy's own line says who really called.
    let statuses: Vec<u16> = (0..21)
        .map(|i| {
            let spoofed = format!("198.51.100.{i}");
            let body = json!({"username": format!("nobody{i}"), "password": "wrong-password"});
            let headers = [
                ("Content-Type", "application/json"),
                ("X-Forwarded-For", spoofed.as_str()),
                ("X-Forwarded-For", "203.0.113.77"),
            ];
            post(
                &host,
                "/api/v1/auth/login",
                &headers,
                body.to_string().as_bytes(),
            )
            .status
        })
        .collect();
    assert_eq!(statuses[..20], [401; 20], "{statuses:?}");
    assert_eq!(statuses[20], 429, "the real client is limited");
    let audit = host.get("/api/v1/audit?action=login_failed", Some(&token));
    let entries = audit.json()["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!entries.is_empty(), "{}", audit.text());
    assert!(
        entries.iter().all(|e| e["ipAddress"] == "203.0.113.77"),
        "{entries:?}"
    );
}

both_abis!(forwarded_for_lines_are_one_list_walked_from_the_right);

fn pages_carry_a_csp_with_frame_ancestors_none_and_a_referrer_policy(abi: Abi) {
    let (host, _) = start_with_admin(abi);
    for path in ["/login", "/users", "/account"] {
        let page = host.get(path, None);
        assert_eq!(page.status, 200, "{path}");
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert_eq!(
            page.header("referrer-policy"),
            Some("no-referrer"),
            "{path}"
        );
        assert_eq!(
            page.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
}

both_abis!(pages_carry_a_csp_with_frame_ancestors_none_and_a_referrer_policy);
