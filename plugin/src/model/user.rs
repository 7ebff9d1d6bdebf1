use serde::Serialize;

use super::{Role, WorkspaceAccess};
use crate::clock::rfc3339;

const MAX_USERNAME_CHARS: usize = 64;

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
}

impl UserRecord {
    pub fn view(&self) -> UserView<'_> {
        UserView {
            id: &self.id,
            username: &self.username,
            role: self.role,
            workspace_access: &self.workspace_access,
            auth_provider: "builtin",
            is_disabled: self.disabled,
            created_at: rfc3339(self.created_at_ms),
            updated_at: rfc3339(self.updated_at_ms),
        }
    }

    pub fn is_enabled_admin(&self) -> bool {
        self.role == Role::Admin && !self.disabled
    }
}

/// The User object of HTTP_API.md: never a hash, `isDisabled` only when true.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub role: Role,
    pub workspace_access: &'a WorkspaceAccess,
    pub auth_provider: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_disabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// Trims and checks a username; returns the form to store.
pub fn validate_username(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("username is required".into());
    }
    if name.chars().count() > MAX_USERNAME_CHARS {
        return Err(format!(
            "username must be at most {MAX_USERNAME_CHARS} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("username must not contain control characters".into());
    }
    Ok(name.to_string())
}

/// The key usernames are unique under and matched by at sign-in.
pub fn fold_username(name: &str) -> String {
    name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(disabled: bool) -> UserRecord {
        UserRecord {
            id: "id-1".into(),
            username: "alice".into(),
            role: Role::Developer,
            workspace_access: WorkspaceAccess::all(),
            password_hash: "$argon2id$secret".into(),
            disabled,
            created_at_ms: 0,
            updated_at_ms: 1_000,
        }
    }

    #[test]
    fn user_json_never_contains_the_hash_and_hides_is_disabled_when_false() {
        let json = serde_json::to_value(record(false).view()).expect("serializes");
        let text = json.to_string();
        assert!(!text.contains("argon2") && !text.contains("password"));
        assert!(json.get("isDisabled").is_none());
        assert_eq!(json["authProvider"], "builtin");
        assert_eq!(json["createdAt"], "1970-01-01T00:00:00Z");
        assert_eq!(
            json["workspaceAccess"],
            serde_json::json!({"all": true, "grants": []})
        );
    }

    #[test]
    fn disabled_users_show_is_disabled() {
        let json = serde_json::to_value(record(true).view()).expect("serializes");
        assert_eq!(json["isDisabled"], true);
    }

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
