//! The background thread: regression tests for work it must do without a caller waiting.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dagu_auth::service::CreateApiKeyRequest;
use dagu_auth_abi::DaguAuthAction as Action;

fn session_rows(fx: &Fixture) -> i64 {
    let conn = rusqlite::Connection::open(fx.dir.path().join("auth/auth.db")).expect("raw open");
    conn.query_row("SELECT COUNT(*) FROM sessions", [], |row| row.get(0))
        .expect("count")
}

/// Found by schemathesis: the first pass computed `now - i64::MIN`, which overflowed, killing the
/// thread in debug builds and skipping the periodic work forever in release builds.
#[test]
fn expired_sessions_are_swept_once_the_thread_wakes() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let request: CreateApiKeyRequest =
        serde_json::from_value(serde_json::json!({"name": "ci", "role": "viewer", "allowedSurfaces": ["rest_api"], "attributionClass": "service_account"}))
            .expect("request");
    let key = fx.engine.create_api_key(&admin, request).expect("key").key;
    assert_eq!(session_rows(&fx), 1);
    fx.clock.advance_ms(25 * 3600 * 1000);
    // A key use wakes the thread, which then also runs its periodic work.
    fx.engine
        .authorize(&key, Action::View, "")
        .expect("key works");
    let deadline = Instant::now() + Duration::from_secs(10);
    while session_rows(&fx) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(session_rows(&fx), 0, "the expired session was not swept");
}
