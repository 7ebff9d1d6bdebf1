//! A user's two-factor state as the store keeps it: one JSON column, read and written with the
//! user, so every change to it (a code used, a recovery code spent, a sign-in challenge) is part
//! of the user's own read-modify-write transaction and holds across hosts sharing a store.

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaState {
    /// The TOTP secret, encrypted (`mfa::MfaKeys::seal`); empty when none was set up.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sealed_secret: String,
    /// True once a code confirmed the secret: only then does sign-in ask for a code.
    #[serde(default)]
    pub enabled: bool,
    /// The 30-second step of the last code taken; a code of that step or an earlier one is a
    /// replay and is refused.
    #[serde(default)]
    pub last_step: i64,
    /// Keyed digests of the unused recovery codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_digests: Vec<String>,
    /// The pending second step of a sign-in whose password was right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<MfaChallenge>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaChallenge {
    /// SHA-256 of the `mfaToken` handed out: the token itself is never stored.
    pub digest: String,
    pub expires_at_ms: i64,
}

impl MfaState {
    /// The column's text: empty for a user who never set up two-factor sign-in.
    pub fn to_column(&self) -> Result<String, String> {
        match self == &Self::default() {
            true => Ok(String::new()),
            false => serde_json::to_string(self).map_err(|e| e.to_string()),
        }
    }

    pub fn from_column(text: &str) -> Result<Self, String> {
        match text.is_empty() {
            true => Ok(Self::default()),
            false => serde_json::from_str(text).map_err(|e| format!("mfa: {e}")),
        }
    }
}

/// Only whether it is on: the rest is secret or useless in a log.
impl std::fmt::Debug for MfaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaState")
            .field("enabled", &self.enabled)
            .field(
                "pending",
                &(!self.sealed_secret.is_empty() && !self.enabled),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_factor_state_is_an_empty_column() {
        assert_eq!(MfaState::default().to_column(), Ok(String::new()));
        assert_eq!(MfaState::from_column(""), Ok(MfaState::default()));
    }

    #[test]
    fn the_column_round_trips_and_debug_hides_the_secret() {
        let state = MfaState {
            sealed_secret: "v1:sealed".into(),
            enabled: true,
            last_step: 7,
            recovery_digests: vec!["d1".into()],
            challenge: Some(MfaChallenge {
                digest: "c".into(),
                expires_at_ms: 9,
            }),
        };
        let column = state.to_column().expect("json");
        assert_eq!(MfaState::from_column(&column), Ok(state.clone()));
        assert!(!format!("{state:?}").contains("sealed"));
    }
}
