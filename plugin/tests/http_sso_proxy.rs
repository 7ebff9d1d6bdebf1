//! `GET /proxy-login`: the identity headers of an authenticating proxy, believed only from a
//! configured proxy peer, read with Dagu's rules and answered with Dagu's statuses and messages.

mod common;

use dagu_auth::Config;
use dagu_auth::http::{self, Request, Response};
use dagu_auth::model::Role;
use dagu_auth::sso::{Provisioning, ProxySettings, RoleMapping};
use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision};

use common::Fixture;

/// A request's header lines.
type Headers<'a> = &'a [(&'a str, &'a str)];

const PROXY_PEER: &str = "127.0.0.1";
const UNTRUSTED_PEER: &str = "127.0.0.2";

fn with_proxy(adjust: impl FnOnce(&mut Config)) -> Fixture {
    Fixture::with(|config| {
        config.license_features.push("sso".into());
        config.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
        config.proxy = Some(ProxySettings {
            source: "oauth2-proxy".into(),
            button_label: "Login with Proxy".into(),
            user_header: "X-Forwarded-User".into(),
            groups_header: "X-Forwarded-Groups".into(),
            provisioning: Provisioning {
                mapping: RoleMapping {
                    group_mappings: [("Ops, EU".to_string(), Role::Operator)].into(),
                    ..RoleMapping::default()
                },
                ..Provisioning::default()
            },
        });
        adjust(config);
    })
}

fn proxy_login(f: &Fixture, peer: &str, headers: &[(&str, &str)]) -> Response {
    proxy_request(f, "GET", "/proxy-login", peer, headers)
}

fn proxy_request(
    f: &Fixture,
    method: &str,
    path: &str,
    peer: &str,
    headers: &[(&str, &str)],
) -> Response {
    let request = Request {
        method,
        path,
        headers,
        body: b"",
        client_ip: peer,
    };
    http::handle(&f.engine, &request)
}

fn location(response: &Response) -> &str {
    response.header("location").unwrap_or("")
}

fn text(response: &Response) -> String {
    String::from_utf8_lossy(&response.body).trim().to_string()
}

fn token_of(response: &Response) -> String {
    location(response)
        .split_once("#token=")
        .map(|(_, token)| token.to_string())
        .expect("a token in the fragment")
}

#[test]
fn a_trusted_peer_signs_the_named_user_in_with_mapped_groups() {
    let f = with_proxy(|_| {});
    f.setup_admin();
    let first = proxy_login(
        &f,
        PROXY_PEER,
        &[
            ("X-Forwarded-User", "alice"),
            ("X-Forwarded-Groups", r#""Ops, EU",dev"#),
        ],
    );
    assert_eq!(first.status, 302, "{}", text(&first));
    assert!(location(&first).starts_with("/login?welcome=true#token="));
    let token = token_of(&first);
    let me = f.http("GET", "/api/v1/auth/me", Some(&token), b"").1;
    assert_eq!(me["user"]["username"], "alice");
    assert_eq!(me["user"]["authProvider"], "proxy");
    assert_eq!(me["user"]["role"], "operator");
    assert_eq!(
        f.engine
            .authorize(token.as_str(), Action::Execute, "")
            .expect("decides"),
        Decision::Allow
    );
    let again = proxy_login(&f, PROXY_PEER, &[("X-Forwarded-User", "alice")]);
    assert!(
        location(&again).starts_with("/login#token="),
        "{}",
        location(&again)
    );
    // No groups now: the proxy re-syncs to the default role.
    let me = f
        .http("GET", "/api/v1/auth/me", Some(&token_of(&again)), b"")
        .1;
    assert_eq!(me["user"]["role"], "viewer");
}

#[test]
fn headers_from_a_peer_that_is_no_trusted_proxy_are_refused() {
    let f = with_proxy(|_| {});
    f.setup_admin();
    let response = proxy_login(&f, UNTRUSTED_PEER, &[("X-Forwarded-User", "admin")]);
    assert_eq!(
        (response.status, text(&response).as_str()),
        (403, "access denied")
    );
    // Naming a trusted proxy in X-Forwarded-For changes nothing: the TCP peer decides.
    let forged = proxy_login(
        &f,
        UNTRUSTED_PEER,
        &[
            ("X-Forwarded-User", "admin"),
            ("X-Forwarded-For", PROXY_PEER),
        ],
    );
    assert_eq!(forged.status, 403);
}

#[test]
fn missing_duplicated_oversized_and_broken_headers_answer_as_dagu() {
    let f = with_proxy(|_| {});
    f.setup_admin();
    let long = "a".repeat(256);
    let cases: [(Headers, u16, &str); 5] = [
        (&[], 401, "proxy identity unavailable"),
        (
            &[("X-Forwarded-User", " ")],
            401,
            "proxy identity unavailable",
        ),
        (
            &[("X-Forwarded-User", "a"), ("X-Forwarded-User", "b")],
            400,
            "invalid proxy identity",
        ),
        (
            &[("X-Forwarded-User", &long)],
            400,
            "invalid proxy identity",
        ),
        (
            &[
                ("X-Forwarded-User", "a"),
                ("X-Forwarded-Groups", r#""unclosed"#),
            ],
            400,
            "invalid proxy identity",
        ),
    ];
    for (headers, status, message) in cases {
        let response = proxy_login(&f, PROXY_PEER, headers);
        assert_eq!(
            (response.status, text(&response).as_str()),
            (status, message),
            "{headers:?}"
        );
    }
}

#[test]
fn method_query_setup_licence_and_switch_are_checked_in_dagus_order() {
    let f = with_proxy(|_| {});
    let user = [("X-Forwarded-User", "alice")];
    let setup = proxy_login(&f, PROXY_PEER, &user);
    assert_eq!((setup.status, location(&setup)), (302, "/setup"));
    f.setup_admin();
    let post = proxy_request(&f, "POST", "/proxy-login", PROXY_PEER, &user);
    assert_eq!(post.status, 405);
    let query = proxy_request(&f, "GET", "/proxy-login?next=/x", PROXY_PEER, &user);
    assert_eq!(
        (query.status, text(&query).as_str()),
        (400, "invalid request")
    );

    let unlicensed = with_proxy(|config| config.license_features.retain(|f| f != "sso"));
    unlicensed.setup_admin();
    let refused = proxy_login(&unlicensed, PROXY_PEER, &user);
    assert_eq!(
        (refused.status, text(&refused).as_str()),
        (403, "access denied")
    );

    // Dagu's answer for a door that is off: plain text, not the API's JSON 404.
    let off = with_proxy(|config| config.proxy = None);
    let unknown = proxy_login(&off, PROXY_PEER, &user);
    assert_eq!(
        (unknown.status, text(&unknown).as_str()),
        (404, "not found")
    );
}

#[test]
fn auto_signup_off_require_mapping_and_a_disabled_user_are_access_denied() {
    let f = with_proxy(|config| {
        let proxy = config.proxy.as_mut().expect("proxy");
        proxy.provisioning.mapping.strict = true;
    });
    let admin = f.setup_admin();
    let unmapped = proxy_login(&f, PROXY_PEER, &[("X-Forwarded-User", "bob")]);
    assert_eq!(
        (unmapped.status, text(&unmapped).as_str()),
        (403, "access denied")
    );
    let mapped = proxy_login(
        &f,
        PROXY_PEER,
        &[
            ("X-Forwarded-User", "bob"),
            ("X-Forwarded-Groups", "\"Ops, EU\""),
        ],
    );
    assert_eq!(mapped.status, 302);
    let me = f
        .http("GET", "/api/v1/auth/me", Some(&token_of(&mapped)), b"")
        .1;
    let id = me["user"]["id"].as_str().expect("id").to_string();
    let disable = common::patch(serde_json::json!({"isDisabled": true}));
    f.engine
        .update_user(admin.as_str(), &id, disable)
        .expect("disable");
    let disabled = proxy_login(
        &f,
        PROXY_PEER,
        &[
            ("X-Forwarded-User", "bob"),
            ("X-Forwarded-Groups", "\"Ops, EU\""),
        ],
    );
    assert_eq!(disabled.status, 403);

    let closed = with_proxy(|config| {
        config
            .proxy
            .as_mut()
            .expect("proxy")
            .provisioning
            .auto_signup = false;
    });
    closed.setup_admin();
    let refused = proxy_login(&closed, PROXY_PEER, &[("X-Forwarded-User", "carol")]);
    assert_eq!(
        (refused.status, text(&refused).as_str()),
        (403, "access denied")
    );
}

#[test]
fn one_user_value_under_two_sources_is_two_users() {
    let f = with_proxy(|_| {});
    f.setup_admin();
    let first = proxy_login(&f, PROXY_PEER, &[("X-Forwarded-User", "dana")]);
    let mut config = common::config(f.dir.path());
    config.license_features.push("sso".into());
    config.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    let mut other = f.engine.config().proxy.clone().expect("proxy");
    other.source = "another-proxy".into();
    config.proxy = Some(other);
    let second_host = dagu_auth::Engine::open(config).expect("opens");
    let request = Request {
        method: "GET",
        path: "/proxy-login",
        headers: &[("X-Forwarded-User", "dana")],
        body: b"",
        client_ip: PROXY_PEER,
    };
    let second = http::handle(&second_host, &request);
    assert!(location(&first).contains("welcome=true"));
    assert!(
        location(&second).contains("welcome=true"),
        "{}",
        location(&second)
    );
}

#[test]
fn the_login_page_learns_its_sso_buttons_without_credentials() {
    let f = with_proxy(|_| {});
    let (status, doors, _) = f.http("GET", "/api/v1/auth/sso", None, b"");
    assert_eq!(status, 200);
    assert_eq!(
        doors,
        serde_json::json!({
            "oidc": null,
            "proxy": {"buttonLabel": "Login with Proxy", "loginPath": "/proxy-login"},
        })
    );
}
