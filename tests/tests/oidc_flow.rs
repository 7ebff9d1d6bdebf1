//! OIDC end to end: host-demo (plugin through the Rust ABI) against a real OpenID provider on
//! loopback (`oidc-provider`), the provider's login and consent forms filled over HTTP. Proves the
//! redirects, the mapping and `authorize` afterwards, re-sync, the provisioning refusals, the
//! state, code and nonce checks, a foreign key, key rotation and a provider that is down.

use dagu_auth_tests::host::{Abi, HostDemo, HostOptions, free_port};
use dagu_auth_tests::http::Response;
use dagu_auth_tests::oidc_provider::{
    ACCOUNT_PASSWORD, OidcAccount, OidcOptions, OidcProvider, SigningKey, query_pairs, query_param,
};
use serde_json::json;

const ADMIN: &str = "admin";
const ADMIN_PASSWORD: &str = "admin-password-123";

struct Site {
    provider: OidcProvider,
    host: HostDemo,
}

fn accounts() -> Vec<OidcAccount> {
    vec![
        OidcAccount::new("alice", "alice@example.com").groups(&["ops"]),
        OidcAccount::new("bob", "bob@elsewhere.test").groups(&["admins"]),
    ]
}

/// A provider and a host-demo that signs in through it; `extra` adds host environment.
fn site(extra: &[(&str, &str)]) -> Option<Site> {
    site_with(|options| options, accounts(), extra)
}

/// `site`, with the provider's options and accounts chosen by the test.
fn site_with(
    provider_options: impl FnOnce(OidcOptions) -> OidcOptions,
    provider_accounts: Vec<OidcAccount>,
    extra: &[(&str, &str)],
) -> Option<Site> {
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/oidc-callback");
    let mut options = provider_options(OidcOptions::new().redirect_uri(&callback));
    for account in provider_accounts {
        options = options.account(account);
    }
    let provider = OidcProvider::start_or_skip(options)?;
    let mut host = HostOptions::new(Abi::Rust)
        .license_features("rbac,audit,sso")
        .initial_admin(ADMIN, ADMIN_PASSWORD)
        .env("DAGU_PORT", &port.to_string())
        .env("DAGU_AUTH_OIDC_CLIENT_ID", provider.client_id())
        .env("DAGU_AUTH_OIDC_CLIENT_SECRET", provider.client_secret())
        .env("DAGU_AUTH_OIDC_ISSUER", provider.issuer())
        .env(
            "DAGU_AUTH_OIDC_CLIENT_URL",
            &format!("http://127.0.0.1:{port}"),
        )
        .env("DAGU_AUTH_OIDC_SCOPES", "openid,profile,email,groups")
        .env("DAGU_AUTH_OIDC_GROUP_MAPPINGS", r#"{"admins":"admin"}"#)
        .env(
            "DAGU_AUTH_OIDC_WORKSPACE_MAPPINGS",
            r#"{"ops":[{"workspace":"ops","role":"developer"}]}"#,
        );
    for (name, value) in extra {
        host = host.env(name, value);
    }
    let host = HostDemo::start(host);
    Some(Site { provider, host })
}

fn location(response: &Response) -> String {
    response.header("location").unwrap_or_default().to_owned()
}

impl Site {
    /// The whole flow for `username`: `/oidc-login`, the provider's forms, then the callback.
    /// Returns the callback's answer, the callback path and the cookies it was sent with.
    fn sign_in(&self, username: &str) -> (Response, String, String) {
        let login = self.host.client().send("GET", "/oidc-login", &[], None);
        assert_eq!(login.status, 302, "{}", login.text());
        let jar = login.cookies_to_send_back();
        for name in ["oidc_state=", "oidc_nonce=", "oidc_pkce="] {
            assert!(jar.contains(name), "{jar}");
        }
        let set = login.header("set-cookie").unwrap_or_default().to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Max-Age=120")
        );
        let authorization = location(&login);
        assert!(
            authorization.contains("code_challenge_method=S256"),
            "{authorization}"
        );
        let back = self
            .provider
            .sign_in_over_http(&authorization, username, ACCOUNT_PASSWORD);
        let path = back
            .strip_prefix(self.host.client().base_url())
            .unwrap_or_else(|| panic!("{back} is not the host's callback"))
            .to_owned();
        let answer = self
            .host
            .client()
            .send("GET", &path, &[("Cookie", jar.as_str())], None);
        (answer, path, jar)
    }

    /// A successful sign-in's token (and whether the user is new).
    fn token(&self, username: &str) -> (String, bool) {
        let (answer, _, _) = self.sign_in(username);
        let to = location(&answer);
        let (page, token) = to
            .split_once("#token=")
            .unwrap_or_else(|| panic!("no token in {to}"));
        (token.to_owned(), page.contains("welcome=true"))
    }

    fn error(&self, username: &str) -> String {
        let (answer, _, _) = self.sign_in(username);
        error_of(&answer)
    }
}

fn error_of(answer: &Response) -> String {
    let to = location(answer);
    assert!(to.starts_with("/login?error="), "not a login error: {to}");
    query_param(&query_pairs(&to), "error")
        .unwrap_or_default()
        .to_owned()
}

fn dag_names(site: &Site, token: &str) -> Vec<String> {
    let list = site.host.client().get("/api/v1/dags", Some(token));
    assert_eq!(list.status, 200, "{}", list.text());
    let json = list.json();
    let dags = json["dags"].as_array().cloned().unwrap_or_default();
    dags.iter()
        .filter_map(|dag| dag["name"].as_str().map(String::from))
        .collect()
}

#[test]
fn a_sign_in_maps_groups_to_workspaces_and_authorizes_dags_and_the_next_one_re_syncs_and_audits() {
    let Some(site) = site(&[]) else { return };
    let (token, new_user) = site.token("alice");
    assert!(new_user, "the first sign-in creates the user");
    let me = site
        .host
        .client()
        .get("/api/v1/auth/me", Some(&token))
        .json();
    assert_eq!(me["user"]["authProvider"], "oidc");
    assert_eq!(me["user"]["role"], "viewer");
    assert_eq!(
        me["user"]["workspaceAccess"]["grants"][0]["workspace"],
        "ops"
    );
    let names = dag_names(&site, &token);
    assert!(names.contains(&"demo-ops".to_owned()), "{names:?}");
    assert!(!names.contains(&"demo-finance".to_owned()), "{names:?}");
    let start = site
        .host
        .client()
        .post("/api/v1/dags/demo-ops/start", Some(&token), &json!({}));
    assert!(
        start.status < 300,
        "a developer in ops starts its DAG: {}",
        start.text()
    );

    // Moved to the admins group at the provider: the next sign-in re-syncs.
    site.provider
        .set_accounts(&[OidcAccount::new("alice", "alice@example.com").groups(&["admins"])]);
    site.provider.forget_sessions();
    let (token, new_user) = site.token("alice");
    assert!(!new_user);
    let me = site
        .host
        .client()
        .get("/api/v1/auth/me", Some(&token))
        .json();
    assert_eq!(me["user"]["role"], "admin");
    assert!(dag_names(&site, &token).contains(&"demo-finance".to_owned()));

    // The trail says what the re-sync changed.
    let trail = site.host.client().get("/api/v1/audit", Some(&token));
    assert_eq!(trail.status, 200, "{}", trail.text());
    let trail = trail.json();
    let synced = trail["entries"]
        .as_array()
        .and_then(|entries| entries.iter().find(|e| e["action"] == "sso_role_sync"))
        .unwrap_or_else(|| panic!("no sso_role_sync entry in {trail}"));
    let details: serde_json::Value =
        serde_json::from_str(synced["details"].as_str().unwrap_or_default()).expect("details");
    assert_eq!(details["old_role"], "viewer", "{details}");
    assert_eq!(details["role"], "admin", "{details}");
}

#[test]
fn skip_org_role_sync_keeps_the_first_assignment() {
    let Some(site) = site(&[("DAGU_AUTH_OIDC_SKIP_ORG_ROLE_SYNC", "true")]) else {
        return;
    };
    site.token("alice");
    site.provider
        .set_accounts(&[OidcAccount::new("alice", "alice@example.com").groups(&["admins"])]);
    site.provider.forget_sessions();
    let (token, _) = site.token("alice");
    let me = site
        .host
        .client()
        .get("/api/v1/auth/me", Some(&token))
        .json();
    assert_eq!(me["user"]["role"], "viewer");
}

#[test]
fn allowed_domains_and_auto_signup_off_refuse_with_dagus_messages() {
    let Some(site) = site(&[("DAGU_AUTH_OIDC_ALLOWED_DOMAINS", "example.com")]) else {
        return;
    };
    assert_eq!(site.error("bob"), "your email domain is not authorized");
    let Some(closed) = site_closed() else { return };
    assert_eq!(
        closed.error("alice"),
        "automatic account creation is disabled, contact administrator"
    );
}

fn site_closed() -> Option<Site> {
    site(&[("DAGU_AUTH_OIDC_AUTO_SIGNUP", "false")])
}

#[test]
fn the_whitelist_and_a_disabled_user_refuse_with_dagus_messages() {
    let Some(site) = site(&[("DAGU_AUTH_OIDC_WHITELIST", "alice@example.com")]) else {
        return;
    };
    assert_eq!(site.error("bob"), "your email domain is not authorized");
    let (token, _) = site.token("alice");
    let me = site
        .host
        .client()
        .get("/api/v1/auth/me", Some(&token))
        .json();
    let id = me["user"]["id"].as_str().expect("id").to_owned();
    let admin = site
        .host
        .client()
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
        )
        .json()["token"]
        .as_str()
        .expect("admin token")
        .to_owned();
    let users = site.host.client().get("/api/v1/users", Some(&admin)).json();
    assert_eq!(users["managedRoleProviders"], json!(["oidc"]));
    let disabled = site.host.client().patch(
        &format!("/api/v1/users/{id}"),
        Some(&admin),
        &json!({"isDisabled": true}),
    );
    assert_eq!(disabled.status, 200, "{}", disabled.text());
    site.provider.forget_sessions();
    assert_eq!(
        site.error("alice"),
        "your account has been disabled, contact administrator"
    );
}

#[test]
fn tampered_state_missing_cookie_reused_code_and_wrong_nonce_are_refused() {
    let Some(site) = site(&[]) else { return };
    let (answer, path, jar) = site.sign_in("alice");
    assert!(location(&answer).contains("#token="));
    // The same code again: the provider refuses a code it has redeemed.
    let replay = site
        .host
        .client()
        .send("GET", &path, &[("Cookie", jar.as_str())], None);
    assert_eq!(
        error_of(&replay),
        "Authentication failed: could not exchange token"
    );

    site.provider.forget_sessions();
    let login = site.host.client().send("GET", "/oidc-login", &[], None);
    let jar = login.cookies_to_send_back();
    let back = site
        .provider
        .sign_in_over_http(&location(&login), "alice", ACCOUNT_PASSWORD);
    let path = back
        .strip_prefix(site.host.client().base_url())
        .expect("host")
        .to_owned();
    let no_cookie = site.host.client().send("GET", &path, &[], None);
    assert_eq!(
        error_of(&no_cookie),
        "Authentication failed: state not found"
    );
    let tampered = path.replace("state=", "state=x");
    let answer = site
        .host
        .client()
        .send("GET", &tampered, &[("Cookie", jar.as_str())], None);
    assert_eq!(error_of(&answer), "Authentication failed: state mismatch");

    site.provider.forget_sessions();
    site.provider
        .set_id_token_claims(json!({"nonce": "someone-elses"}));
    assert_eq!(site.error("alice"), "Authentication failed: nonce mismatch");
}

#[test]
fn a_token_signed_by_another_key_is_refused_and_rotation_is_followed() {
    let Some(site) = site(&[]) else { return };
    site.token("alice");
    for key in [SigningKey::Foreign, SigningKey::ForeignWithPublishedKid] {
        site.provider.sign_with(key);
        site.provider.forget_sessions();
        assert_eq!(
            site.error("alice"),
            "Authentication failed: invalid token",
            "{key:?}"
        );
    }
    site.provider.sign_with(SigningKey::Published);
    // A new key the host has not seen: the key set is fetched again.
    site.provider.rotate_key();
    site.provider.forget_sessions();
    let (token, _) = site.token("alice");
    assert!(!token.is_empty());
}

#[test]
fn a_provider_that_is_down_is_a_clear_message_while_sessions_still_authorize() {
    let Some(mut site) = site(&[]) else { return };
    let (token, _) = site.token("alice");
    // A code the provider issued, redeemed only after the provider went down.
    site.provider.forget_sessions();
    let login = site.host.client().send("GET", "/oidc-login", &[], None);
    let jar = login.cookies_to_send_back();
    let back = site
        .provider
        .sign_in_over_http(&location(&login), "alice", ACCOUNT_PASSWORD);
    let path = back
        .strip_prefix(site.host.client().base_url())
        .expect("host")
        .to_owned();
    site.provider.stop();
    let started = std::time::Instant::now();
    let callback = site
        .host
        .client()
        .send("GET", &path, &[("Cookie", jar.as_str())], None);
    assert_eq!(
        error_of(&callback),
        "Authentication failed: could not exchange token"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "a refused connection answers at once, not after the call timeout"
    );
    // Discovery is cached, so the login starts; a fresh host would fail at discovery.
    let fresh = HostDemo::start(
        HostOptions::new(Abi::Rust)
            .license_features("rbac,audit,sso")
            .initial_admin(ADMIN, ADMIN_PASSWORD)
            .env("DAGU_AUTH_OIDC_CLIENT_ID", "x")
            .env("DAGU_AUTH_OIDC_CLIENT_SECRET", "y")
            .env("DAGU_AUTH_OIDC_ISSUER", site.provider.issuer())
            .env("DAGU_AUTH_OIDC_CLIENT_URL", "http://127.0.0.1:1"),
    );
    let login = fresh.client().send("GET", "/oidc-login", &[], None);
    assert_eq!(
        error_of(&login),
        "Authentication failed: the identity provider is unavailable"
    );
    assert!(dag_names(&site, &token).contains(&"demo-ops".to_owned()));

    // Back up on the same port with the same key: the next sign-in works without a host restart.
    site.provider.restart();
    site.provider.forget_sessions();
    assert!(!site.token("alice").0.is_empty());
}

#[test]
fn dagus_default_scopes_read_email_and_groups_from_userinfo_under_an_issuer_with_a_path() {
    // Keycloak-style issuer (a path), claims only at userinfo, groups granted with `profile`,
    // and the host asking for Dagu's default scopes.
    let Some(site) = site_with(
        |options| {
            options
                .issuer_path("/realms/test")
                .claims_only_in_userinfo()
                .groups_scope("profile")
        },
        accounts(),
        &[("DAGU_AUTH_OIDC_SCOPES", "openid,profile,email")],
    ) else {
        return;
    };
    let (token, _) = site.token("alice");
    let me = site
        .host
        .client()
        .get("/api/v1/auth/me", Some(&token))
        .json();
    // Provisioning requires an email, so this user exists only because userinfo gave one.
    assert_eq!(me["user"]["username"], "alice", "{me}");
    assert_eq!(
        me["user"]["workspaceAccess"]["grants"][0]["workspace"], "ops",
        "{me}"
    );
    assert!(dag_names(&site, &token).contains(&"demo-ops".to_owned()));
}

#[test]
fn role_attribute_path_reads_the_providers_claims_and_wins_over_group_mappings() {
    let Some(site) = site_with(
        |options| options,
        vec![
            OidcAccount::new("carol", "carol@example.com")
                .groups(&["ops"])
                .claim("dagu_role", json!("operator")),
        ],
        &[("DAGU_AUTH_OIDC_ROLE_ATTRIBUTE_PATH", ".dagu_role")],
    ) else {
        return;
    };
    let (token, _) = site.token("carol");
    let me = site
        .host
        .client()
        .get("/api/v1/auth/me", Some(&token))
        .json();
    assert_eq!(me["user"]["role"], "operator", "{me}");
    assert!(dag_names(&site, &token).contains(&"demo-finance".to_owned()));
}

#[test]
fn an_id_token_for_another_audience_or_issuer_or_expired_is_an_invalid_token() {
    let Some(site) = site(&[]) else { return };
    for claims in [
        json!({"aud": "someone-else"}),
        json!({"iss": "http://127.0.0.1:1/other"}),
        json!({"exp": 1_000_000_000}),
    ] {
        site.provider.set_id_token_claims(claims.clone());
        site.provider.forget_sessions();
        assert_eq!(
            site.error("alice"),
            "Authentication failed: invalid token",
            "{claims}"
        );
    }
    site.provider.set_id_token_claims(json!({}));
    site.provider.forget_sessions();
    assert!(!site.token("alice").0.is_empty());
}
