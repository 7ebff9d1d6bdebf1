//! TOTP codes from Debian's `oathtool`, an implementation independent of the plugin's, so a
//! test never checks the plugin's codes against themselves.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The code of the base32 `secret` at now + `offset_secs`; `None` (with the reason printed)
/// when oathtool is missing, and a failure instead under `DAGU_AUTH_REQUIRE_ALL=1`.
pub fn totp_code(secret: &str, offset_secs: i64) -> Option<String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let output = Command::new("oathtool")
        .args([
            "--totp",
            "-b",
            "--now",
            &format!("@{}", now + offset_secs),
            secret,
        ])
        .output();
    match output {
        Ok(output) if output.status.success() => {
            Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        }
        outcome => {
            let reason = format!("oathtool did not run: {outcome:?}");
            if std::env::var("DAGU_AUTH_REQUIRE_ALL").is_ok_and(|v| v == "1") {
                panic!("DAGU_AUTH_REQUIRE_ALL=1 but {reason}");
            }
            eprintln!("skipped: {reason} (apt-get install oathtool)");
            None
        }
    }
}

/// Seconds until the current 30-second step ends: a test that needs two codes of one step
/// waits past a boundary that is too close.
pub fn secs_left_in_step() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    30 - now % 30
}
