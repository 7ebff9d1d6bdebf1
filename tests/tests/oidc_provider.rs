//! The OIDC test provider itself (`tests/oidc`, through `dagu_auth_tests::oidc_provider`), with no
//! plugin involved: what the SSO tests rely on it for holds.
//!
//! Skips with a reason when node, npm, chromium or chromedriver is missing, unless
//! `DAGU_AUTH_REQUIRE_ALL=1`.

#[path = "support/webdriver.rs"]
#[allow(
    dead_code,
    reason = "the shared WebDriver helpers; this test needs only a few"
)]
mod webdriver;

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use dagu_auth_tests::native::tool_or_skip;
use dagu_auth_tests::oidc_provider::{
    ACCOUNT_PASSWORD, CodeFlow, OidcAccount, OidcOptions, OidcProvider, SigningKey, jwt_parts,
    query_pairs, query_param,
};
use webdriver::Browser;

const CALLBACK_WAIT: Duration = Duration::from_secs(15);

fn alice() -> OidcAccount {
    OidcAccount::new("alice", "alice@example.com").groups(&["dagu-admins", "ops"])
}

fn browser_or_skip() -> Option<Browser> {
    let chromium = tool_or_skip("chromium", "chromium")?;
    let chromedriver = tool_or_skip("chromedriver", "chromium-driver")?;
    Some(Browser::start(&chromium, &chromedriver))
}

/// Stands in for the relying party's redirect URI: answers every request with a small page and
/// hands its request target (path and query) to the test.
struct RedirectCatcher {
    uri: String,
    targets: Receiver<String>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RedirectCatcher {
    fn start() -> RedirectCatcher {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let (sender, targets) = mpsc::channel();
        let stopping = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let mut stream = match listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    Err(_) => return,
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                // The whole head is read before answering: closing with unread bytes would
                // reset the connection, and the browser might send the request again.
                let mut reader = BufReader::new(&stream);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let target = request_line.split(' ').nth(1).unwrap_or_default();
                if target.starts_with("/callback") {
                    let _ = sender.send(target.to_owned());
                }
                let body = "<p id=\"callback-done\">back at the relying party</p>";
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        RedirectCatcher {
            uri: format!("http://127.0.0.1:{port}/callback"),
            targets,
            stop,
            thread: Some(thread),
        }
    }

    /// The query parameters of the next request to the redirect URI.
    fn next_query(&self, browser: &Browser) -> Vec<(String, String)> {
        let Ok(target) = self.targets.recv_timeout(CALLBACK_WAIT) else {
            panic!(
                "the browser did not come back to the redirect URI within {CALLBACK_WAIT:?}; \
                 it is at {}",
                browser.current_url()
            );
        };
        query_pairs(&target)
    }
}

impl Drop for RedirectCatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs the browser to the redirect URI (signing in at the provider's form when it asks) and
/// returns the code, after checking state and iss.
fn authorize(
    browser: &Browser,
    provider: &OidcProvider,
    catcher: &RedirectCatcher,
    flow: &CodeFlow,
    sign_in_as: Option<(&str, &str)>,
) -> String {
    browser.goto(&flow.authorization_url(provider, &catcher.uri));
    if let Some((username, password)) = sign_in_as {
        browser.fill("#login-username", username);
        browser.fill("#login-password", password);
        browser.click("#login-submit");
        browser.wait_for_text("#consent-scopes", &flow.scope);
        browser.click("#consent-submit");
    }
    let query = catcher.next_query(browser);
    assert_eq!(query_param(&query, "state"), Some(flow.state.as_str()));
    assert_eq!(query_param(&query, "iss"), Some(provider.issuer()));
    query_param(&query, "code")
        .unwrap_or_else(|| panic!("no code in {query:?}"))
        .to_owned()
}

/// The redirect URI of the tests that sign in over HTTP: nothing listens there, as the provider
/// only names it.
const UNSERVED_REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// The tokens of one code flow signed in over HTTP as alice.
fn tokens_over_http(provider: &OidcProvider, flow: &CodeFlow) -> serde_json::Value {
    let url = flow.authorization_url(provider, UNSERVED_REDIRECT_URI);
    let back = provider.sign_in_over_http(&url, "alice", ACCOUNT_PASSWORD);
    assert!(
        back.starts_with(&format!("{UNSERVED_REDIRECT_URI}?")),
        "{back}"
    );
    let query = query_pairs(&back);
    assert_eq!(query_param(&query, "state"), Some(flow.state.as_str()));
    let code = query_param(&query, "code").unwrap_or_else(|| panic!("no code in {back}"));
    let tokens = flow.exchange(provider, UNSERVED_REDIRECT_URI, code);
    tokens.expect_status(200).json()
}

fn http_options() -> OidcOptions {
    OidcOptions::new()
        .redirect_uri(UNSERVED_REDIRECT_URI)
        .account(alice())
}

#[test]
fn discovery_names_the_issuer_and_its_endpoints_and_the_jwks_publishes_one_signing_key() {
    let options = OidcOptions::new().issuer_path("/realms/test");
    let Some(provider) = OidcProvider::start_or_skip(options) else {
        return;
    };
    assert!(provider.issuer().ends_with("/realms/test"));
    let discovery = provider.discovery();
    assert_eq!(discovery["issuer"], provider.issuer());
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
    ] {
        let url = discovery[endpoint].as_str().unwrap_or_default();
        assert!(url.starts_with(provider.issuer()), "{endpoint}: {url}");
    }
    assert_eq!(
        discovery["jwks_uri"].as_str(),
        Some(format!("{}/jwks", provider.issuer()).as_str())
    );
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let scopes = discovery["scopes_supported"].as_array().cloned();
    for scope in ["openid", "email", "profile", "groups"] {
        assert!(
            scopes.iter().flatten().any(|s| s == scope),
            "{scope} in {scopes:?}"
        );
    }
    assert_eq!(provider.jwks_kids().len(), 1);
}

#[test]
fn signing_in_over_http_without_a_browser_yields_a_code_for_the_same_id_token() {
    let Some(provider) = OidcProvider::start_or_skip(http_options()) else {
        return;
    };
    let flow = CodeFlow::new();
    let tokens = tokens_over_http(&provider, &flow);
    let (_, claims) = jwt_parts(tokens["id_token"].as_str().expect("an ID token"));
    assert_eq!(claims["nonce"], flow.nonce.as_str());
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["groups"], serde_json::json!(["dagu-admins", "ops"]));
}

#[test]
fn a_stopped_provider_refuses_connections_and_a_restart_keeps_issuer_key_and_accounts() {
    let Some(mut provider) = OidcProvider::start_or_skip(OidcOptions::new()) else {
        return;
    };
    provider.set_accounts(&[alice()]);
    provider.set_redirect_uris(&[UNSERVED_REDIRECT_URI]);
    let issuer = provider.issuer().to_owned();
    let kid = provider.rotate_key();

    provider.stop();
    let discovery_path = "/.well-known/openid-configuration";
    let refused = provider.client().try_send("GET", discovery_path, &[], None);
    assert!(refused.is_err(), "{:?}", refused.map(|r| r.status));

    provider.restart();
    assert_eq!(provider.issuer(), issuer);
    assert_eq!(provider.jwks_kids(), vec![kid]);
    let tokens = tokens_over_http(&provider, &CodeFlow::new());
    assert!(tokens["id_token"].is_string(), "{tokens}");
}

#[test]
fn rotating_the_key_publishes_a_new_kid_in_place_of_the_old_or_beside_it() {
    let Some(provider) = OidcProvider::start_or_skip(OidcOptions::new()) else {
        return;
    };
    let first = provider.jwks_kids();
    let second = provider.rotate_key();
    assert!(!first.contains(&second), "{first:?} already had {second}");
    assert_eq!(provider.jwks_kids(), vec![second.clone()]);

    let third = provider.rotate_key_keeping_previous();
    assert_eq!(provider.jwks_kids(), vec![third, second]);
}

#[test]
fn a_browser_signs_in_at_the_provider_and_the_code_with_pkce_yields_an_id_token_with_email_and_groups()
 {
    let catcher = RedirectCatcher::start();
    let options = OidcOptions::new()
        .redirect_uri(&catcher.uri)
        .account(alice());
    let Some(provider) = OidcProvider::start_or_skip(options) else {
        return;
    };
    let Some(browser) = browser_or_skip() else {
        return;
    };

    // A wrong password stays on the provider's form with its message.
    let flow = CodeFlow::new();
    browser.goto(&flow.authorization_url(&provider, &catcher.uri));
    browser.fill("#login-username", "alice");
    browser.fill("#login-password", "not-the-password");
    browser.click("#login-submit");
    browser.wait_for_text("#login-error", "Invalid username or password");

    // Cancelling at the provider sends the browser back with access_denied.
    browser.click("#login-abort");
    let query = catcher.next_query(&browser);
    assert_eq!(query_param(&query, "error"), Some("access_denied"));
    assert_eq!(query_param(&query, "state"), Some(flow.state.as_str()));

    let flow = CodeFlow::new();
    let code = authorize(
        &browser,
        &provider,
        &catcher,
        &flow,
        Some(("alice", ACCOUNT_PASSWORD)),
    );

    // A code without its verifier is refused (the provider remembers the sign-in and the
    // consent, so this flow comes straight back).
    let unverified = CodeFlow::new();
    let unverified_code = authorize(&browser, &provider, &catcher, &unverified, None);
    let refused = CodeFlow::new().exchange(&provider, &catcher.uri, &unverified_code);
    refused.expect_status(400);
    assert_eq!(refused.json()["error"], "invalid_grant");

    let tokens = flow.exchange(&provider, &catcher.uri, &code);
    let tokens = tokens.expect_status(200).json();
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let (header, claims) = jwt_parts(id_token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(
        provider.jwks_kids(),
        vec![header["kid"].as_str().unwrap_or_default()]
    );
    assert_eq!(claims["iss"], provider.issuer());
    assert_eq!(claims["aud"], provider.client_id());
    assert_eq!(claims["sub"], "sub-alice");
    assert_eq!(claims["nonce"], flow.nonce.as_str());
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["groups"], serde_json::json!(["dagu-admins", "ops"]));

    // A code is good once (and its reuse revokes the grant, as RFC 6749 10.5 advises).
    let again = flow.exchange(&provider, &catcher.uri, &code);
    again.expect_status(400);
    assert_eq!(again.json()["error"], "invalid_grant");
}

#[test]
fn after_rotation_or_with_a_second_providers_key_the_id_tokens_kid_follows_the_signing_key() {
    let Some(provider) = OidcProvider::start_or_skip(http_options()) else {
        return;
    };
    let id_token_kid = || {
        let tokens = tokens_over_http(&provider, &CodeFlow::new());
        let (header, _) = jwt_parts(tokens["id_token"].as_str().expect("an ID token"));
        header["kid"].as_str().unwrap_or_default().to_owned()
    };
    let original = id_token_kid();

    let rotated = provider.rotate_key();
    assert_ne!(rotated, original);
    assert_eq!(id_token_kid(), rotated);

    provider.sign_with(SigningKey::Foreign);
    let foreign = id_token_kid();
    assert!(!provider.jwks_kids().contains(&foreign), "{foreign}");

    provider.sign_with(SigningKey::ForeignWithPublishedKid);
    assert_eq!(id_token_kid(), rotated);
    assert_eq!(provider.jwks_kids(), vec![rotated]);
}

#[test]
fn the_provider_remembers_a_sign_in_until_it_forgets_its_sessions() {
    let catcher = RedirectCatcher::start();
    let options = OidcOptions::new()
        .redirect_uri(&catcher.uri)
        .account(alice());
    let Some(provider) = OidcProvider::start_or_skip(options) else {
        return;
    };
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let signed_in = Some(("alice", ACCOUNT_PASSWORD));
    authorize(&browser, &provider, &catcher, &CodeFlow::new(), signed_in);
    // Straight back: no form to fill.
    authorize(&browser, &provider, &catcher, &CodeFlow::new(), None);

    provider.forget_sessions();
    authorize(&browser, &provider, &catcher, &CodeFlow::new(), signed_in);
}

#[test]
fn with_claims_only_in_userinfo_and_groups_under_profile_dagus_default_scopes_get_groups_from_userinfo()
 {
    let options = http_options()
        .claims_only_in_userinfo()
        .groups_scope("profile");
    let Some(provider) = OidcProvider::start_or_skip(options) else {
        return;
    };
    let tokens = tokens_over_http(&provider, &CodeFlow::new().scope("openid profile email"));
    let (_, claims) = jwt_parts(tokens["id_token"].as_str().expect("an ID token"));
    assert_eq!(claims["sub"], "sub-alice");
    assert!(claims.get("email").is_none(), "{claims}");
    assert!(claims.get("groups").is_none(), "{claims}");

    let access_token = tokens["access_token"].as_str().expect("an access token");
    let userinfo = provider.client().get(
        &provider.endpoint_path("userinfo_endpoint"),
        Some(access_token),
    );
    let userinfo = userinfo.expect_status(200).json();
    assert_eq!(userinfo["email"], "alice@example.com");
    assert_eq!(
        userinfo["groups"],
        serde_json::json!(["dagu-admins", "ops"])
    );
}

#[test]
fn id_token_claim_overrides_reach_the_token_response_under_the_published_kid() {
    let Some(provider) = OidcProvider::start_or_skip(http_options()) else {
        return;
    };
    provider.set_id_token_claims(serde_json::json!({
        "nonce": "not-the-nonce",
        "aud": "someone-else",
        "email": null,
    }));
    let tokens = tokens_over_http(&provider, &CodeFlow::new());
    let (header, claims) = jwt_parts(tokens["id_token"].as_str().expect("an ID token"));
    assert_eq!(
        provider.jwks_kids(),
        vec![header["kid"].as_str().unwrap_or_default()]
    );
    assert_eq!(claims["nonce"], "not-the-nonce");
    assert_eq!(claims["aud"], "someone-else");
    assert!(claims.get("email").is_none(), "{claims}");
    assert_eq!(claims["iss"], provider.issuer());

    provider.set_id_token_claims(serde_json::json!({}));
    let flow = CodeFlow::new();
    let (_, claims) = jwt_parts(
        tokens_over_http(&provider, &flow)["id_token"]
            .as_str()
            .expect("an ID token"),
    );
    assert_eq!(claims["nonce"], flow.nonce.as_str());
    assert_eq!(claims["aud"], provider.client_id());
}
