//! The web UI in a real browser: Debian's headless Chromium through chromedriver, against a fresh
//! `host-demo`. Screenshots of each page go to `target/web-ui-screenshots/`.
//!
//! Skips with a reason when chromium or chromedriver is missing, unless `DAGU_AUTH_REQUIRE_ALL=1`.

#[path = "support/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use dagu_auth_tests::api::*;
use dagu_auth_tests::native::tool_or_skip;
use dagu_auth_tests::{Abi, HostDemo, HostOptions, target_dir};
use webdriver::Browser;

const SCOPED_PASSWORD: &str = "Sc0ped-Pass-5150-harbor";
const RESET_PASSWORD: &str = "R3set-Pass-6161-meadow";

fn browser_or_skip() -> Option<Browser> {
    let chromium = tool_or_skip("chromium", "chromium")?;
    let chromedriver = tool_or_skip("chromedriver", "chromium-driver")?;
    Some(Browser::start(&chromium, &chromedriver))
}

fn screenshots() -> PathBuf {
    target_dir().join("web-ui-screenshots")
}

fn sign_in(browser: &Browser, username: &str, password: &str) {
    browser.wait_for("#login-form");
    browser.fill("#login-username", username);
    browser.fill("#login-password", password);
    browser.click("#login-submit");
}

fn sign_out(browser: &Browser) {
    browser.click("#sign-out");
    browser.wait_for_path("/login?signedout=1");
}

fn session_token(browser: &Browser) -> String {
    let token = browser.script("return sessionStorage.getItem('dagu-auth.token');");
    token
        .as_str()
        .expect("a token in sessionStorage")
        .to_string()
}

#[test]
fn an_admin_and_a_scoped_user_do_the_everyday_tasks_in_a_browser() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let host = HostDemo::start(HostOptions::new(Abi::Rust));
    let shots = screenshots();
    let base = host.base_url().to_string();

    // A fresh install sends every page to setup; the server's password rules show in the form.
    browser.goto(&format!("{base}/users"));
    browser.wait_for_path("/setup");
    browser.fill("#setup-username", ADMIN_USERNAME);
    browser.fill("#setup-password", "password1");
    browser.fill("#setup-confirm", "password1");
    browser.click("#setup-submit");
    browser.wait_for_text("#setup-error", "too common");
    browser.screenshot(&shots, "01-setup-weak-password");
    browser.fill("#setup-password", ADMIN_PASSWORD);
    browser.fill("#setup-confirm", ADMIN_PASSWORD);
    browser.click("#setup-submit");

    // Signed in as the new admin, on the users page.
    browser.wait_for_path("/users");
    browser.wait_for("tr[data-username=admin]");
    assert!(browser.is_shown("#nav-users"));
    browser.screenshot(&shots, "02-users-admin-only");

    // A scoped user with two workspace grants.
    browser.click("#create-open");
    browser.fill("#create-username", "scoped");
    browser.fill("#create-password", SCOPED_PASSWORD);
    browser.click("#create-scope-selected");
    browser.fill("#create-ws-1", "ops");
    browser.select("#create-wr-1", "operator");
    browser.click("#create-add-grant");
    browser.fill("#create-ws-2", "data");
    browser.select("#create-wr-2", "developer");
    browser.screenshot(&shots, "03-create-scoped-user");
    browser.click("#create-submit");
    browser.wait_for_text("#users-status", "Created scoped");
    let row = browser.text("tr[data-username=scoped]");
    assert!(row.contains("ops (Operator), data (Developer)"), "{row}");
    browser.screenshot(&shots, "04-users-with-scoped-user");
    let admin_token = login_token(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
    let users = host.get("/api/v1/users", Some(&admin_token)).json();
    let created = users["users"]
        .as_array()
        .and_then(|all| all.iter().find(|u| u["username"] == "scoped"))
        .expect("scoped user exists")
        .clone();
    assert_eq!(
        created["workspaceAccess"],
        scoped(&[("ops", "operator"), ("data", "developer")])
    );

    // Signing out ends the session on the server, not only in the tab.
    let browser_token = session_token(&browser);
    sign_out(&browser);
    assert_eq!(me_status(&host, &browser_token), 401);
    browser.screenshot(&shots, "05-signed-out");

    // The scoped user sees no admin navigation, and /users says not permitted.
    sign_in(&browser, "scoped", SCOPED_PASSWORD);
    browser.wait_for_path("/account");
    browser.wait_for_text("#account-access", "ops (Operator), data (Developer)");
    assert!(!browser.is_shown("#nav-users"));
    browser.screenshot(&shots, "06-account-scoped-user");
    browser.goto(&format!("{base}/users"));
    browser.wait_for_text("#not-permitted", "not permitted");
    assert!(!browser.is_shown("#users-admin"));
    browser.screenshot(&shots, "07-users-not-permitted");
    sign_out(&browser);

    // Back as admin: reset the password, disable, delete.
    sign_in(&browser, ADMIN_USERNAME, ADMIN_PASSWORD);
    browser.wait_for("tr[data-username=scoped]");
    browser.click("button[data-action=reset][data-user=scoped]");
    browser.fill("#reset-password", RESET_PASSWORD);
    browser.fill("#reset-confirm", RESET_PASSWORD);
    browser.screenshot(&shots, "08-reset-password");
    browser.click("#reset-submit");
    browser.wait_for_text("#users-status", "Password reset for scoped");
    login(&host, "scoped", RESET_PASSWORD).expect_status(200);

    browser.click("button[data-action=disable][data-user=scoped]");
    browser.wait_for_text("#users-status", "Disabled scoped");
    assert!(
        browser
            .text("tr[data-username=scoped]")
            .contains("Disabled")
    );
    assert_invalid_credentials(&login(&host, "scoped", RESET_PASSWORD));
    browser.screenshot(&shots, "09-scoped-user-disabled");

    browser.click("button[data-action=delete][data-user=scoped]");
    browser.wait_for_text("#delete-text", "Delete scoped?");
    browser.screenshot(&shots, "10-delete-confirmation");
    browser.click("#delete-confirm");
    browser.wait_for_text("#users-status", "Deleted scoped");
    browser.wait_gone("tr[data-username=scoped]");

    // The admin cannot delete themselves: the button is not offered.
    assert!(!browser.is_shown("button[data-action=delete][data-user=admin]"));
    browser.resize(390, 844);
    browser.screenshot(&shots, "11-users-narrow-window");
}

#[test]
fn an_expired_session_returns_to_login_and_then_to_the_same_page() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let host = HostDemo::start(HostOptions::new(Abi::C));
    setup_admin(&host);
    let base = host.base_url().to_string();
    browser.goto(&format!("{base}/login"));
    sign_in(&browser, ADMIN_USERNAME, ADMIN_PASSWORD);
    browser.wait_for_path("/users");
    // Let the page finish loading first: a list still in flight when the session ends would
    // send this tab to the login page on its own, before the visit below.
    browser.wait_for_text("#users-table", ADMIN_USERNAME);

    // The session ends behind the tab's back (as at expiry), then the user opens their account.
    let token = session_token(&browser);
    host.post_empty("/api/v1/auth/logout", Some(&token))
        .expect_status(204);
    browser.goto(&format!("{base}/account"));
    browser.wait_for_path("/login?next=%2Faccount&expired=1");
    browser.wait_for_text("#login-notice", "session has expired");
    browser.screenshot(&screenshots(), "12-session-expired");
    sign_in(&browser, ADMIN_USERNAME, ADMIN_PASSWORD);
    browser.wait_for_path("/account");
    browser.wait_for_text("#account-username", ADMIN_USERNAME);
}

/// Waits until the tab has left `/login`; answers where it went.
fn url_after_login(browser: &Browser, base: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = browser.current_url();
        if !url.starts_with(&format!("{base}/login")) {
            return url;
        }
        assert!(Instant::now() < deadline, "still at {url}");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sign_in_redirects_only_to_the_same_origin() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let host = HostDemo::start(HostOptions::new(Abi::Rust));
    setup_admin(&host);
    let base = host.base_url().to_string();
    // As they appear in the link: the browser's parser drops the tab (%09) and reads a backslash
    // (%5C) as a slash, so each of these once meant "another origin".
    for next in [
        "/%5Cevil.example/x",
        "/%09/evil.example/x",
        "/%5C/evil.example",
        "/%5C%5Cevil.example",
        "//evil.example/x",
        "%2F%2Fevil.example",
        "https://evil.example/x",
        "javascript:alert(1)",
        "/.//evil.example",
    ] {
        browser.goto(&format!("{base}/login?next={next}"));
        sign_in(&browser, ADMIN_USERNAME, ADMIN_PASSWORD);
        let landed = url_after_login(&browser, &base);
        assert!(
            landed.starts_with(&format!("{base}/")),
            "next={next} left the origin for {landed}"
        );
    }
    browser.goto(&format!("{base}/login?next=%2Faccount%3Ftab%3D1"));
    sign_in(&browser, ADMIN_USERNAME, ADMIN_PASSWORD);
    browser.wait_for_path("/account?tab=1");
}

#[test]
fn an_exposed_fresh_install_asks_for_the_setup_code_in_the_browser() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let host = HostDemo::start(HostOptions::new(Abi::C).env("DAGU_HOST", "0.0.0.0"));
    let output = host.output();
    let code = output
        .lines()
        .find_map(|line| line.strip_prefix("host-demo: setup code: "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no setup code in the log:\n{output}"))
        .to_string();
    let base = host.base_url().to_string();
    browser.goto(&format!("{base}/setup"));
    browser.wait_for("#setup-code");
    browser.fill("#setup-username", ADMIN_USERNAME);
    browser.fill("#setup-password", ADMIN_PASSWORD);
    browser.fill("#setup-confirm", ADMIN_PASSWORD);
    browser.click("#setup-submit");
    browser.wait_for_text("#setup-error", "setup code");
    browser.screenshot(&screenshots(), "13-setup-code-required");
    browser.fill("#setup-code", &code);
    browser.click("#setup-submit");
    browser.wait_for_path("/users");
    browser.wait_for("tr[data-username=admin]");
}

#[test]
fn a_loopback_install_shows_no_setup_code_field() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let host = HostDemo::start(HostOptions::new(Abi::Rust));
    browser.goto(&format!("{}/setup", host.base_url()));
    // The page shows or hides the field once GET /auth/setup has answered, then focuses the
    // username: only then is what it shows its decision.
    let deadline = Instant::now() + Duration::from_secs(15);
    while browser.script("return document.activeElement && document.activeElement.id;")
        != "setup-username"
    {
        assert!(
            Instant::now() < deadline,
            "the setup page did not get ready"
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert!(!browser.is_shown("#setup-code"));
}

/// Rows of the sessions table on the account page.
fn session_rows(browser: &Browser) -> u64 {
    browser
        .script("return document.querySelectorAll('#sessions-table tbody tr').length;")
        .as_u64()
        .unwrap_or(0)
}

fn wait_for_session_rows(browser: &Browser, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while session_rows(browser) != expected {
        assert!(
            Instant::now() < deadline,
            "{} session rows, not {expected}",
            session_rows(browser)
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_user_ends_their_other_sessions_and_an_admin_ends_a_users_sessions_in_a_browser() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let host = HostDemo::start(HostOptions::new(Abi::Rust));
    let shots = screenshots();
    let admin = setup_admin(&host);
    let (_, first) = create_user_and_login(&host, &admin, "bob", "viewer", None);
    let second = login_token(&host, "bob", USER_PASSWORD);
    let base = host.base_url().to_string();

    // bob signs in in the browser: the account page lists three sessions, this one first.
    browser.goto(&format!("{base}/login"));
    sign_in(&browser, "bob", USER_PASSWORD);
    browser.wait_for_path("/account");
    wait_for_session_rows(&browser, 3);
    let current = browser.text("#sessions-table tbody tr:first-child");
    assert!(
        current.contains("(this session)") && current.contains("Chrome"),
        "{current}"
    );
    browser.screenshot(&shots, "14-account-sessions");

    // Ends one of the others with its own button, then the rest at once.
    browser.click("#sessions-table tr[data-current=false] button[data-action=end-session]");
    browser.wait_for_text("#sessions-status", "Session ended");
    wait_for_session_rows(&browser, 2);
    let ended = [me_status(&host, &first), me_status(&host, &second)];
    assert!(
        ended.contains(&401) && ended.contains(&200),
        "exactly one API session ended: {ended:?}"
    );
    browser.click("#sessions-end-others");
    browser.wait_for_text("#sessions-status", "Signed out 1 other session.");
    wait_for_session_rows(&browser, 1);
    assert_eq!(
        [me_status(&host, &first), me_status(&host, &second)],
        [401, 401]
    );
    browser.screenshot(&shots, "15-account-other-sessions-ended");
    let browser_token = session_token(&browser);
    assert_eq!(me_status(&host, &browser_token), 200, "this session stays");
    sign_out(&browser);

    // An admin ends every session of bob from the users page; bob's password still works.
    let bob_again = login_token(&host, "bob", USER_PASSWORD);
    sign_in(&browser, ADMIN_USERNAME, ADMIN_PASSWORD);
    browser.wait_for("tr[data-username=bob]");
    browser.click("button[data-action=end-sessions][data-user=bob]");
    browser.wait_for_text("#users-status", "Ended 1 session of bob.");
    browser.screenshot(&shots, "16-users-end-sessions");
    assert_eq!(me_status(&host, &bob_again), 401);
    login(&host, "bob", USER_PASSWORD).expect_status(200);
    assert!(
        !browser.is_shown("button[data-action=end-sessions][data-user=admin]"),
        "one's own sessions are ended on the account page"
    );
}

/// Two-factor sign-in in the browser: an admin whose role requires it is sent to the account
/// page, sets TOTP up from the QR code's key, keeps the recovery codes, and signs in again with a
/// code. Codes come from `oathtool` (`dagu_auth_tests::oath`), never from the plugin.
#[test]
fn an_admin_sets_up_two_factor_sign_in_and_signs_in_with_a_code() {
    use dagu_auth_tests::oath::totp_code;
    let Some(browser) = browser_or_skip() else {
        return;
    };
    if totp_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 0).is_none() {
        return;
    }
    let host = HostDemo::start(
        HostOptions::new(Abi::Rust).env("DAGU_AUTH_BUILTIN_MFA_REQUIRED_ROLES", "admin"),
    );
    setup_admin(&host);
    let base = host.base_url().to_string();
    let shots = screenshots();
    browser.goto(&format!("{base}/login"));
    sign_in(&browser, ADMIN_USERNAME, ADMIN_PASSWORD);
    // The users page is closed until two-factor sign-in is set up.
    browser.wait_for_path("/account?enrol=1");
    browser.wait_for("#mfa-required");
    browser.click("#mfa-start");
    browser.wait_for("#mfa-setup");
    let secret = browser.text("#mfa-secret");
    let qr = browser.script("return document.querySelector('#mfa-qr').src;");
    assert!(
        qr.as_str()
            .is_some_and(|src| src.starts_with("data:image/svg+xml;base64,")),
        "{qr:?}"
    );
    browser.screenshot(&shots, "20-two-factor-setup");
    let code = totp_code(&secret, 0).expect("oathtool");
    browser.fill("#mfa-confirm-code", &code);
    browser.click("#mfa-confirm-submit");
    browser.wait_for("#mfa-recovery");
    let listed =
        browser.script("return document.querySelectorAll('#mfa-recovery-codes li').length;");
    assert_eq!(listed, 10);
    browser.screenshot(&shots, "21-two-factor-recovery-codes");

    sign_out(&browser);
    sign_in(&browser, ADMIN_USERNAME, ADMIN_PASSWORD);
    browser.wait_for("#mfa-form");
    browser.screenshot(&shots, "22-two-factor-code");
    // The next step's code: the current one was spent confirming.
    let code = totp_code(&secret, 30).expect("oathtool");
    browser.fill("#mfa-code", &code);
    browser.click("#mfa-submit");
    browser.wait_for_path("/users");
    browser.wait_for_text("#users-table", ADMIN_USERNAME);
}
