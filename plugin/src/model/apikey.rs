use std::borrow::Cow;

use dagu_auth_vocab::DaguAuthSurface as Surface;
use serde::ser::{Serialize, SerializeSeq, Serializer};

use super::{Role, WorkspaceAccess};

/// The visible start of every key, so scanners and people recognise it.
pub const KEY_PREFIX: &str = "dagu_";
/// Characters of a key shown in listings (`dagu_` and three more), as Dagu shows them.
const DISPLAY_PREFIX_CHARS: usize = 8;

/// Dagu's answer to a key used on a surface it does not allow (HTTP 403).
pub const SURFACE_NOT_ALLOWED: &str = "API key is not allowed for this surface";
/// Dagu's answer to `allowedSurfaces` missing, empty or naming an unknown surface.
pub const INVALID_SURFACE: &str = "Invalid API key surface";
/// Dagu's answer to `attributionClass` missing or unknown, and to a `user_owned` key without an
/// existing, enabled owner.
pub const INVALID_ATTRIBUTION: &str = "Invalid API key attribution";

pub const USER_OWNED: &str = "user_owned";
pub const SERVICE_ACCOUNT: &str = "service_account";

/// Dagu's JSON name of a surface.
pub const fn surface_name(surface: Surface) -> &'static str {
    match surface {
        Surface::RestApi => "rest_api",
        Surface::Mcp => "mcp",
    }
}

fn surface_named(name: &str) -> Option<Surface> {
    Surface::ALL.into_iter().find(|s| surface_name(*s) == name)
}

/// The surfaces a key may be used on, one bit per surface: the check on the `authorize` hot path
/// is one AND on the cached key. Serialises as Dagu's list of names, in the vocabulary's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Surfaces(u8);

const _: () = assert!(Surface::ALL.len() <= u8::BITS as usize);

impl Surfaces {
    pub const ALL: Self = {
        let mut bits = 0;
        let mut i = 0;
        while i < Surface::ALL.len() {
            bits |= Self::bit(Surface::ALL[i]);
            i += 1;
        }
        Self(bits)
    };

    const fn bit(surface: Surface) -> u8 {
        1 << surface as u32
    }

    pub fn of(surfaces: &[Surface]) -> Self {
        Self(surfaces.iter().fold(0, |bits, s| bits | Self::bit(*s)))
    }

    #[inline]
    pub fn contains(self, surface: Surface) -> bool {
        self.0 & Self::bit(surface) != 0
    }

    /// The list of a request: at least one name, each a known surface. Repeated names count once,
    /// as Dagu removes duplicates without a word.
    pub fn parse(names: &[String]) -> Result<Self, &'static str> {
        let surfaces: Option<Vec<Surface>> = names.iter().map(|n| surface_named(n)).collect();
        match surfaces {
            Some(surfaces) if !surfaces.is_empty() => Ok(Self::of(&surfaces)),
            _ => Err(INVALID_SURFACE),
        }
    }

    /// The list a stored key holds. Keys stored before surfaces were checked may hold none, or
    /// names no request may send now; unknown names are skipped and a list left empty means
    /// every surface, as Dagu reads a key without surfaces: such keys keep working where they did.
    pub fn from_stored(names: &[String]) -> Self {
        let known: Vec<Surface> = names.iter().filter_map(|n| surface_named(n)).collect();
        match known.is_empty() {
            true => Self::ALL,
            false => Self::of(&known),
        }
    }

    pub fn iter(self) -> impl Iterator<Item = Surface> {
        Surface::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(surface_name).collect()
    }
}

impl Serialize for Surfaces {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for surface in self.iter() {
            seq.serialize_element(surface_name(surface))?;
        }
        seq.end()
    }
}

/// Whom a key's actions are attributed to (Dagu's `attributionClass`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribution {
    /// The key acts for a user, and works only while that user exists and is enabled. The
    /// username is a snapshot taken at the key's last create or update, as Dagu keeps it.
    UserOwned {
        owner_user_id: String,
        owner_username: String,
    },
    /// The key acts as itself: the service account `api_key:<key id>`. `migrated` marks a key
    /// stored without an attribution class (made before classes were checked), which Dagu reads
    /// as a service account and flags as `migratedAsServiceAccount`.
    ServiceAccount { name: String, migrated: bool },
}

impl Attribution {
    /// Dagu's `attributionClass`.
    pub fn class(&self) -> &'static str {
        match self {
            Self::UserOwned { .. } => USER_OWNED,
            Self::ServiceAccount { .. } => SERVICE_ACCOUNT,
        }
    }

    pub fn owner_user_id(&self) -> Option<&str> {
        match self {
            Self::UserOwned { owner_user_id, .. } => Some(owner_user_id),
            Self::ServiceAccount { .. } => None,
        }
    }

    /// The attribution a stored key reads as. A stored owner decides: a key with an owner was
    /// refused while its owner was disabled even before classes existed, so it stays tied to its
    /// owner. Without an owner it is a service account, flagged `migrated` unless it was stored
    /// as one; a blank service account name is the key's name, as Dagu fills it in.
    pub fn from_stored(
        class: Option<&str>,
        owner_user_id: Option<String>,
        owner_username: Option<String>,
        service_account_name: Option<String>,
        key_name: &str,
    ) -> Self {
        if let Some(owner_user_id) = owner_user_id {
            return Self::UserOwned {
                owner_user_id,
                owner_username: owner_username.unwrap_or_default(),
            };
        }
        Self::ServiceAccount {
            name: service_account_name
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| key_name.to_string()),
            migrated: class != Some(SERVICE_ACCOUNT),
        }
    }
}

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
    pub allowed_surfaces: Surfaces,
    pub attribution: Attribution,
}

impl ApiKeyRecord {
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_some_and(|at| at <= now_ms)
    }

    /// Dagu's `serviceAccountId`: the principal a service-account key acts as.
    pub fn service_account_id(&self) -> String {
        format!("api_key:{}", self.id)
    }

    /// Whom the key's calls are attributed to, as Dagu attributes them in `/auth/me` and in the
    /// audit trail: a user-owned key as its owner (id, and the username snapshot the key keeps), a
    /// service account as `api_key:<id>` under its service account name.
    pub fn attributed_to(&self) -> (Cow<'_, str>, &str) {
        match &self.attribution {
            Attribution::UserOwned {
                owner_user_id,
                owner_username,
            } => (Cow::Borrowed(owner_user_id), owner_username),
            Attribution::ServiceAccount { name, .. } => {
                (Cow::Owned(self.service_account_id()), name)
            }
        }
    }
}

/// A fresh key: `dagu_` and the Base58 form of 32 random bytes.
pub fn generate_key() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{KEY_PREFIX}{}", bs58::encode(bytes).into_string()))
}

/// What listings show of a key. Applied to a stored prefix too: keys made when listings showed
/// eleven characters are shown with eight like the others.
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

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn keys_are_dagu_prefixed_base58_of_32_bytes_and_unique() {
        let key = generate_key().expect("randomness");
        let body = key.strip_prefix(KEY_PREFIX).expect("prefix");
        assert_eq!(bs58::decode(body).into_vec().expect("base58").len(), 32);
        assert_ne!(key, generate_key().expect("randomness"));
        assert_eq!(display_prefix(&key), key[..8]);
    }

    #[test]
    fn an_eleven_character_stored_prefix_is_shown_with_eight() {
        assert_eq!(display_prefix("dagu_AbCdEf"), "dagu_AbC");
    }

    #[test]
    fn names_are_trimmed_and_required() {
        assert_eq!(validate_key_name("  ci "), Ok("ci".into()));
        assert!(validate_key_name(" ").is_err());
        assert!(validate_key_name(&"n".repeat(101)).is_err());
    }

    #[test]
    fn requested_surfaces_are_known_names_at_least_one_and_each_once() {
        let rest = Surfaces::of(&[Surface::RestApi]);
        assert_eq!(Surfaces::parse(&names(&["rest_api"])), Ok(rest));
        assert_eq!(Surfaces::parse(&names(&["rest_api", "rest_api"])), Ok(rest));
        assert_eq!(
            Surfaces::parse(&names(&["mcp", "rest_api"])),
            Ok(Surfaces::ALL)
        );
        for refused in [
            &[][..],
            &["ftp"],
            &["rest_api", "ftp"],
            &["REST_API"],
            &[""],
        ] {
            assert_eq!(
                Surfaces::parse(&names(refused)),
                Err(INVALID_SURFACE),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn a_stored_list_without_a_known_surface_means_every_surface() {
        assert_eq!(Surfaces::from_stored(&[]), Surfaces::ALL);
        assert_eq!(Surfaces::from_stored(&names(&["ftp"])), Surfaces::ALL);
        assert_eq!(
            Surfaces::from_stored(&names(&["ftp", "mcp"])),
            Surfaces::of(&[Surface::Mcp])
        );
    }

    #[test]
    fn surfaces_are_one_bit_each_and_serialise_as_dagu_names() {
        let mcp = Surfaces::of(&[Surface::Mcp]);
        assert!(mcp.contains(Surface::Mcp) && !mcp.contains(Surface::RestApi));
        assert!(Surfaces::ALL.contains(Surface::RestApi) && Surfaces::ALL.contains(Surface::Mcp));
        assert_eq!(
            serde_json::to_value(Surfaces::ALL).expect("json"),
            serde_json::json!(["rest_api", "mcp"])
        );
        assert_eq!(mcp.names(), ["mcp"]);
    }

    #[test]
    fn a_stored_owner_makes_a_key_user_owned_whatever_its_stored_class() {
        for class in [
            None,
            Some("service_account"),
            Some("robot"),
            Some(USER_OWNED),
        ] {
            let read =
                Attribution::from_stored(class, Some("u1".into()), Some("alice".into()), None, "k");
            assert_eq!(
                read,
                Attribution::UserOwned {
                    owner_user_id: "u1".into(),
                    owner_username: "alice".into()
                },
                "{class:?}"
            );
        }
    }

    #[test]
    fn a_key_stored_without_a_service_account_class_is_a_migrated_service_account() {
        let read = |class, name: Option<&str>| {
            Attribution::from_stored(class, None, None, name.map(String::from), "deploy")
        };
        let account = |name: &str, migrated| Attribution::ServiceAccount {
            name: name.into(),
            migrated,
        };
        assert_eq!(
            read(Some(SERVICE_ACCOUNT), Some("bot")),
            account("bot", false)
        );
        assert_eq!(
            read(Some(SERVICE_ACCOUNT), Some("  ")),
            account("deploy", false)
        );
        assert_eq!(read(None, None), account("deploy", true));
        assert_eq!(read(Some(""), None), account("deploy", true));
        assert_eq!(read(Some("robot"), Some("bot")), account("bot", true));
        assert_eq!(read(Some(USER_OWNED), None), account("deploy", true));
    }
}
