//! OIDC: the time from the provider's redirect to a session, beside the provider's own
//! token-endpoint time. The callback does one token exchange, the ID-token checks, one userinfo
//! call, the provisioning and the session, so the difference between the two figures is what the
//! plugin and host-demo add on top of the provider.
//!
//! Both run against `oidc-provider` on loopback (node) and a release host-demo through the Rust
//! ABI; the browser's part (login and consent) is done over HTTP before each timed call and is
//! not timed. `cargo bench -p dagu-auth-tests --bench oidc_callback`; skips without node and npm.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use dagu_auth_tests::host::{Abi, HostDemo, HostOptions, free_port};
use dagu_auth_tests::oidc_provider::{
    ACCOUNT_PASSWORD, CodeFlow, OidcAccount, OidcOptions, OidcProvider, query_pairs, query_param,
};

fn code_of(redirect: &str) -> String {
    query_param(&query_pairs(redirect), "code")
        .unwrap_or_else(|| panic!("no code in {redirect}"))
        .to_owned()
}

fn oidc(c: &mut Criterion) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let callback = format!("{base}/oidc-callback");
    let options = OidcOptions::new()
        .redirect_uri(&callback)
        .account(OidcAccount::new("alice", "alice@example.com").groups(&["ops"]));
    let Some(provider) = OidcProvider::start_or_skip(options) else {
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
            .env(
                "DAGU_AUTH_OIDC_WORKSPACE_MAPPINGS",
                r#"{"ops":[{"workspace":"ops","role":"developer"}]}"#,
            ),
    );

    let mut group = c.benchmark_group("oidc");
    // Every timed call needs a fresh code, and a code costs a sign-in at the provider (tens of
    // ms, untimed): a short measurement keeps the run under two minutes.
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3));

    group.bench_function("provider_token_endpoint", |b| {
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            for _ in 0..iterations {
                let flow = CodeFlow::new();
                let authorization = flow.authorization_url(&provider, &callback);
                let code =
                    code_of(&provider.sign_in_over_http(&authorization, "alice", ACCOUNT_PASSWORD));
                let start = Instant::now();
                let tokens = flow.exchange(&provider, &callback, &code);
                timed += start.elapsed();
                assert_eq!(tokens.status, 200, "{}", tokens.text());
            }
            timed
        });
    });

    // The user exists after the first sign-in, so this is the everyday case: found by
    // (issuer, subject), role and grants re-synced, a session issued.
    group.bench_function("callback_to_session", |b| {
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            for _ in 0..iterations {
                let login = host.client().send("GET", "/oidc-login", &[], None);
                let cookies = login.cookies_to_send_back();
                let authorization = login.header("location").unwrap_or_default().to_owned();
                let back = provider.sign_in_over_http(&authorization, "alice", ACCOUNT_PASSWORD);
                let path = back.strip_prefix(&base).unwrap_or(&back).to_owned();
                let start = Instant::now();
                let answer =
                    host.client()
                        .send("GET", &path, &[("Cookie", cookies.as_str())], None);
                timed += start.elapsed();
                let to = answer.header("location").unwrap_or_default();
                assert!(to.contains("#token="), "{to}");
            }
            timed
        });
    });
    group.finish();
}

criterion_group!(benches, oidc);
criterion_main!(benches);
