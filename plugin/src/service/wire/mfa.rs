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

/// The answer of a sign-in through an ABI that knows two-factor sign-in: the `LoginResponse`, or
/// the second step's `{"code": "mfa_required", "message", "mfaToken"}`, the body HTTP answers
/// with 401.
#[derive(Debug, Clone)]
pub enum SignInStep {
    SignedIn(Box<super::LoginResponse>),
    MfaRequired { message: String, mfa_token: String },
}

impl Serialize for SignInStep {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::SignedIn(login) => login.serialize(serializer),
            Self::MfaRequired { message, mfa_token } => serde_json::json!({
                "code": "mfa_required",
                "message": message,
                "mfaToken": mfa_token,
            })
            .serialize(serializer),
        }
    }
}
