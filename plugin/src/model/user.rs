pub use super::username::{fold_username, validate_username};
use super::{AuthProvider, MfaState, Role, SsoIdentity, WorkspaceAccess};

/// A user as the store keeps it. Only the Engine and the store see `password_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub workspace_access: WorkspaceAccess,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Two-factor sign-in; the default for a user who never set it up.
    pub mfa: MfaState,
    /// `Some` for a user an SSO sign-in created: such a user has no password here.
    pub sso: Option<SsoIdentity>,
}

impl UserRecord {
    pub fn is_enabled_admin(&self) -> bool {
        self.role == Role::Admin && !self.disabled
    }

    pub fn auth_provider(&self) -> AuthProvider {
        self.sso
            .as_ref()
            .map_or(AuthProvider::Builtin, |identity| identity.provider)
    }

    /// Sign-in asks this user for a second factor.
    pub fn mfa_enabled(&self) -> bool {
        self.mfa.enabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_bounded() {
        assert_eq!(validate_username("  bob "), Ok("bob".into()));
        assert!(validate_username("   ").is_err());
        assert!(validate_username(&"é".repeat(64)).is_ok());
        assert!(validate_username(&"é".repeat(65)).is_err());
        assert!(validate_username("a\u{0}b").is_err());
    }

    #[test]
    fn folding_ignores_case_and_surrounding_space() {
        assert_eq!(fold_username(" Alice "), fold_username("ALICE"));
    }
}
