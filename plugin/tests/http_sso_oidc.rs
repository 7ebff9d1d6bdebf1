//! `GET /oidc-login` and `/oidc-callback` up to the provider: the redirects, cookies and messages
//! that need no provider answer (a refused port stands in for a provider that is down). The whole
//! flow against a real provider in a browser is in the tests crate.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use dagu_auth::Config;
use dagu_auth::http::{self, Request, Response};
use dagu_auth::sso::{OidcSettings, Provisioning};

use common::Fixture;

/// An issuer on a loopback port nobody listens on: every call is refused at once.
fn dead_issuer() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn with_oidc(adjust: impl FnOnce(&mut Config)) -> Fixture {
    Fixture::with(|config| {
        config.license_features.push("sso".into());
        config.oidc = Some(OidcSettings {
            client_id: "dagu".into(),
            client_secret: "secret".into(),
            client_url: "http://127.0.0.1:8080".into(),
            issuer: dead_issuer(),
            scopes: vec!["openid".into(), "email".into()],
            button_label: "Login with SSO".into(),
            groups_claim: "groups".into(),
            provisioning: Provisioning {
                email_required: true,
                ..Provisioning::default()
            },
        });
        adjust(config);
    })
}

fn get(f: &Fixture, path: &str, cookie: Option<&str>) -> Response {
    let mut headers = Vec::new();
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    let request = Request {
        method: "GET",
        path,
        headers: &headers,
        body: b"",
        client_ip: "127.0.0.1",
    };
    http::handle(&f.engine, &request)
}

fn location(response: &Response) -> String {
    response.header("location").unwrap_or_default().to_string()
}

#[test]
fn before_setup_both_routes_go_to_setup() {
    let f = with_oidc(|_| {});
    for path in ["/oidc-login", "/oidc-callback?state=x&code=y"] {
        let response = get(&f, path, None);
        assert_eq!(
            (response.status, location(&response).as_str()),
            (302, "/setup"),
            "{path}"
        );
    }
}

#[test]
fn without_the_sso_feature_the_login_page_shows_dagus_refusal() {
    let f = with_oidc(|config| config.license_features.retain(|f| f != "sso"));
    f.setup_admin();
    let response = get(&f, "/oidc-login", None);
    assert_eq!(response.status, 302);
    assert_eq!(
        location(&response),
        "/login?error=SSO+requires+an+active+Dagu+license"
    );
}

#[test]
fn a_provider_that_is_down_is_a_clear_message_and_sessions_still_authorize() {
    let f = with_oidc(|_| {});
    let admin = f.setup_admin();
    let started = Instant::now();
    let response = get(&f, "/oidc-login", None);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded by the timeouts"
    );
    assert_eq!(
        location(&response),
        "/login?error=Authentication+failed%3A+the+identity+provider+is+unavailable"
    );
    assert_eq!(response.header_lines("set-cookie").count(), 0);
    let decision = f
        .engine
        .authorize(admin.as_str(), dagu_auth_abi::DaguAuthAction::Admin, "")
        .expect("decides");
    assert_eq!(decision, dagu_auth_abi::DaguAuthDecision::Allow);
}

#[test]
fn the_callback_checks_the_state_cookie_before_anything_else() {
    let f = with_oidc(|_| {});
    f.setup_admin();
    let missing = get(&f, "/oidc-callback?state=abc&code=c", None);
    assert_eq!(
        location(&missing),
        "/login?error=Authentication+failed%3A+state+not+found"
    );
    let tampered = get(
        &f,
        "/oidc-callback?state=abd&code=c",
        Some("oidc_state=abc"),
    );
    assert_eq!(
        location(&tampered),
        "/login?error=Authentication+failed%3A+state+mismatch"
    );
    let refused = get(
        &f,
        "/oidc-callback?state=abc&error=access_denied&error_description=User%20said%20no",
        Some("oidc_state=abc; oidc_nonce=n; oidc_pkce=p"),
    );
    assert_eq!(
        location(&refused),
        "/login?error=Authentication+failed%3A+User+said+no"
    );
    // Every answer clears the four single-use cookies.
    let cleared: Vec<&str> = refused.header_lines("set-cookie").collect();
    assert_eq!(cleared.len(), 4);
    for cookie in cleared {
        assert!(
            cookie.contains("Max-Age=0") && cookie.contains("HttpOnly"),
            "{cookie}"
        );
    }
}

#[test]
fn without_oidc_configured_the_routes_are_unknown() {
    let f = Fixture::new();
    f.setup_admin();
    assert_eq!(get(&f, "/oidc-login", None).status, 404);
    assert_eq!(get(&f, "/oidc-callback", None).status, 404);
}
