//! OIDC sign-in in a real browser: Debian's headless Chromium through chromedriver, host-demo's
//! own login page and the provider's own login and consent forms (`oidc-provider` on loopback).
//!
//! The provider and host-demo both live on 127.0.0.1, and browsers keep cookies per host, not
//! per port: the provider's session cookies and the host's state cookies sit side by side, which
//! is the situation a real single-host install meets too.
//!
//! Skips with a reason when node, npm, chromium or chromedriver is missing, unless
//! `DAGU_AUTH_REQUIRE_ALL=1`.

#[path = "support/webdriver.rs"]
#[allow(
    dead_code,
    reason = "the shared WebDriver helpers; this test needs only a few"
)]
mod webdriver;

use dagu_auth_tests::host::{Abi, HostDemo, HostOptions, free_port};
use dagu_auth_tests::native::tool_or_skip;
use dagu_auth_tests::oidc_provider::{ACCOUNT_PASSWORD, OidcAccount, OidcOptions, OidcProvider};
use dagu_auth_tests::target_dir;
use webdriver::Browser;

fn browser_or_skip() -> Option<Browser> {
    let chromium = tool_or_skip("chromium", "chromium")?;
    let chromedriver = tool_or_skip("chromedriver", "chromium-driver")?;
    Some(Browser::start(&chromium, &chromedriver))
}

#[test]
fn the_sso_button_signs_in_at_the_provider_and_the_users_page_shows_the_managed_role_read_only() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let options = OidcOptions::new()
        .redirect_uri(&format!("{base}/oidc-callback"))
        .account(OidcAccount::new("bob", "bob@example.com").groups(&["admins"]));
    let Some(provider) = OidcProvider::start_or_skip(options) else {
        return;
    };
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let host = HostDemo::start(
        HostOptions::new(Abi::Rust)
            .license_features("rbac,audit,sso")
            .initial_admin("admin", "admin-password-123")
            .env("DAGU_PORT", &port.to_string())
            .env("DAGU_AUTH_OIDC_CLIENT_ID", provider.client_id())
            .env("DAGU_AUTH_OIDC_CLIENT_SECRET", provider.client_secret())
            .env("DAGU_AUTH_OIDC_ISSUER", provider.issuer())
            .env("DAGU_AUTH_OIDC_CLIENT_URL", &base)
            .env("DAGU_AUTH_OIDC_SCOPES", "openid,profile,email,groups")
            .env("DAGU_AUTH_OIDC_BUTTON_LABEL", "Sign in with Test SSO")
            .env("DAGU_AUTH_OIDC_GROUP_MAPPINGS", r#"{"admins":"admin"}"#),
    );
    let shots = target_dir().join("web-ui-screenshots");

    // A callback without the state cookie ends on the login page with the reason.
    browser.goto(&format!("{base}/oidc-callback?code=x&state=y"));
    browser.wait_for_text("#login-error", "Authentication failed: state not found");

    browser.goto(&format!("{base}/login"));
    let button = "#sso-buttons a.sso";
    browser.wait_for_text(button, "Sign in with Test SSO");
    browser.click(button);

    // The provider's forms (their ids happen to match the host's login form; the path tells
    // whose page this is).
    browser.wait_for_path("/interaction/");
    assert!(
        browser.current_url().starts_with(provider.issuer()),
        "{}",
        browser.current_url()
    );
    browser.fill("#login-username", "bob");
    browser.fill("#login-password", ACCOUNT_PASSWORD);
    browser.click("#login-submit");
    browser.wait_for("#consent-submit");
    browser.screenshot(&shots, "oidc-consent");
    browser.click("#consent-submit");

    // Back at host-demo: the login page takes the token from the fragment into the session
    // and lands on the signed-in home page.
    browser.wait_for("#sign-out");
    assert!(
        browser.current_url().starts_with(&base),
        "{}",
        browser.current_url()
    );
    assert!(
        !browser.current_url().contains("token="),
        "{}",
        browser.current_url()
    );
    let token = browser.script("return sessionStorage.getItem('dagu-auth.token');");
    let token = token.as_str().expect("a token in sessionStorage");
    let me = host.client().get("/api/v1/auth/me", Some(token)).json();
    assert_eq!(me["user"]["username"], "bob", "{me}");
    assert_eq!(me["user"]["authProvider"], "oidc", "{me}");
    assert_eq!(me["user"]["role"], "admin", "{me}");

    // The role comes from the provider at every sign-in: the users page says so.
    browser.goto(&format!("{base}/users"));
    let bob = r#"tr[data-username="bob"]"#;
    browser.wait_for_text(
        &format!(r#"{bob} [data-managed="role"]"#),
        "managed by SSO: set at every sign-in",
    );
    browser.screenshot(&shots, "oidc-users-managed-role");
}
