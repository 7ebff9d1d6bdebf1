//! Two-factor answers: what a setup shows once, and the recovery codes shown once.

use serde::Serialize;

/// `{"secret": "<base32>", "otpauthUrl": "otpauth://totp/..."}`: shown when setup starts, never
/// again.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpSetup {
    pub secret: String,
    pub otpauth_url: String,
}

/// `{"recoveryCodes": ["xxxxx-xxxxx", ...]}`: only their digests are kept.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}
