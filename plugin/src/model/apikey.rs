use super::{Role, WorkspaceAccess};

/// The visible start of every key, so scanners and people recognise it.
pub const KEY_PREFIX: &str = "dagu_";
/// Characters of a key shown in listings (`dagu_` and six more).
const DISPLAY_PREFIX_CHARS: usize = 11;

/// An API key as the store keeps it: a digest, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub description: String,
    pub role: Role,
    pub workspace_access: WorkspaceAccess,
    pub key_prefix: String,
    pub digest: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub created_by: String,
    pub last_used_at_ms: Option<i64>,
    pub expires_at_ms: Option<i64>,
    pub owner_user_id: Option<String>,
    pub allowed_surfaces: Vec<String>,
    pub attribution_class: String,
    pub service_account_name: Option<String>,
}

impl ApiKeyRecord {
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_some_and(|at| at <= now_ms)
    }
}

/// A fresh key: `dagu_` and the Base58 form of 32 random bytes.
pub fn generate_key() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{KEY_PREFIX}{}", bs58::encode(bytes).into_string()))
}

pub fn display_prefix(key: &str) -> String {
    key.chars().take(DISPLAY_PREFIX_CHARS).collect()
}

pub fn looks_like_api_key(token: &str) -> bool {
    token.starts_with(KEY_PREFIX)
}

const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 1000;

pub fn validate_key_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err("name is required".into()),
        n if n > MAX_NAME_CHARS => Err(format!("name must be at most {MAX_NAME_CHARS} characters")),
        _ if name.chars().any(char::is_control) => {
            Err("name must not contain control characters".into())
        }
        _ => Ok(name.to_string()),
    }
}

pub fn validate_key_description(raw: &str) -> Result<String, String> {
    match raw.chars().count() {
        n if n > MAX_DESCRIPTION_CHARS => Err(format!(
            "description must be at most {MAX_DESCRIPTION_CHARS} characters"
        )),
        _ => Ok(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_dagu_prefixed_base58_of_32_bytes_and_unique() {
        let key = generate_key().expect("randomness");
        let body = key.strip_prefix(KEY_PREFIX).expect("prefix");
        assert_eq!(bs58::decode(body).into_vec().expect("base58").len(), 32);
        assert_ne!(key, generate_key().expect("randomness"));
        assert_eq!(display_prefix(&key).len(), 11);
    }

    #[test]
    fn names_are_trimmed_and_required() {
        assert_eq!(validate_key_name("  ci "), Ok("ci".into()));
        assert!(validate_key_name(" ").is_err());
        assert!(validate_key_name(&"n".repeat(101)).is_err());
    }
}
