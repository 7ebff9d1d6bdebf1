//! host-demo keeps serving, and exits cleanly, when its stderr cannot be written (a full disk
//! behind a redirect, a closed pipe): `eprintln!` panics on a failed write, so every line the
//! host writes while serving or shutting down must drop what stderr cannot take.

use dagu_auth_tests::host::{Abi, HostDemo, HostOptions};
use serde_json::json;

#[test]
fn a_host_whose_stderr_is_full_serves_and_exits_cleanly() {
    let host = HostDemo::start(
        HostOptions::new(Abi::Rust)
            .initial_admin("admin", "admin-password-1")
            .stderr_unwritable(),
    );
    let login = host.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "admin", "password": "admin-password-1"}),
    );
    login.expect_status(200);
    let token = login.json()["token"].as_str().map(str::to_owned);
    let token = token.expect("a session token");
    // Each answer also writes a request log line, and a refused one a plugin error line.
    host.get("/api/v1/auth/me", Some(&token)).expect_status(200);
    host.get("/api/v1/dags", Some(&token)).expect_status(200);
    host.get("/api/v1/users", Some("not-a-token"))
        .expect_status(401);
    let status = host.stop_status();
    assert!(
        status.is_some_and(|status| status.success()),
        "host-demo exited with {status:?} after SIGTERM"
    );
}
