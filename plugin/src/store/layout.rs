//! How users, sessions, API keys and audit events lie in rows, written once for both stores: the
//! column lists, the JSON columns and the decoding of a row. A row this version cannot read (a
//! role or JSON column it does not understand) is a storage error naming the record, never a
//! panic.

use serde::{Deserialize, Serialize};

use super::Session;
use crate::error::{Error, Result};
use crate::model::{
    ApiKeyRecord, Attribution, AuditEntry, AuditField, AuthProvider, MfaState, Role, SsoIdentity,
    Surfaces, UserRecord, WorkspaceAccess,
};

pub const USER_COLUMNS: &str = "id, username, role, workspace_access, password_hash, disabled, \
     created_at, updated_at, mfa, auth_provider, sso_issuer, sso_subject";
pub const SESSION_COLUMNS: &str =
    "jti, user_id, created_at, expires_at, last_used_at, client_ip, user_agent";
pub const KEY_COLUMNS: &str = "id, name, description, role, workspace_access, key_prefix, digest, \
     created_at, updated_at, created_by, last_used_at, expires_at, owner_user_id, extra";
/// `seq` and `at` are integers, every other audit column text.
pub const AUDIT_COLUMNS: &str = "seq, at, id, category, action, user_id, username, source, surface, \
     result, correlation_id, resource_type, resource_id, workspace, credential_id, credential_type, \
     mcp_tool, details, ip_address";
/// What an insert writes: every column but `seq`, which the store assigns; [`AuditEntry::texts`] gives
/// the values after `at` in this order.
pub const AUDIT_INSERT_COLUMNS: &str = "at, id, category, action, user_id, username, source, \
     surface, result, correlation_id, resource_type, resource_id, workspace, credential_id, \
     credential_type, mcp_tool, details, ip_address";

/// The `mfa` column of a user.
pub fn mfa_column(user: &UserRecord) -> Result<String> {
    user.mfa
        .to_column()
        .map_err(|problem| Error::Internal(format!("user {}: {problem}", user.id)))
}

/// One row as its driver hands it over, read by position in one of the column lists above.
pub trait Columns {
    fn text(&self, index: usize) -> Result<String>;
    fn optional_text(&self, index: usize) -> Result<Option<String>>;
    fn int(&self, index: usize) -> Result<i64>;
    fn optional_int(&self, index: usize) -> Result<Option<i64>>;
    fn flag(&self, index: usize) -> Result<bool>;
}

pub fn user(row: &impl Columns) -> Result<UserRecord> {
    let id = row.text(0)?;
    let (role, workspace_access) = role_and_access(&row.text(2)?, &row.text(3)?)
        .map_err(|problem| unreadable("user", &id, problem))?;
    Ok(UserRecord {
        sso: sso_identity(
            &row.text(9)?,
            row.optional_text(10)?,
            row.optional_text(11)?,
        )
        .map_err(|problem| unreadable("user", &id, problem))?,
        username: row.text(1)?,
        role,
        workspace_access,
        password_hash: row.text(4)?,
        disabled: row.flag(5)?,
        created_at_ms: row.int(6)?,
        updated_at_ms: row.int(7)?,
        mfa: MfaState::from_column(&row.text(8)?)
            .map_err(|problem| unreadable("user", &id, problem))?,
        id,
    })
}

/// The identity columns: NULL issuer and subject for a builtin user, both set for any other.
fn sso_identity(
    provider: &str,
    issuer: Option<String>,
    subject: Option<String>,
) -> std::result::Result<Option<SsoIdentity>, String> {
    match (provider.parse()?, issuer, subject) {
        (AuthProvider::Builtin, None, None) => Ok(None),
        (AuthProvider::Builtin, _, _) => Err("a builtin user with an SSO identity".into()),
        (provider, Some(issuer), Some(subject)) => Ok(Some(SsoIdentity {
            provider,
            issuer,
            subject,
        })),
        (provider, _, _) => Err(format!("an {provider} user without its identity")),
    }
}

/// The values of `auth_provider, sso_issuer, sso_subject` for `user`.
pub fn sso_columns(user: &UserRecord) -> (&'static str, Option<&str>, Option<&str>) {
    match &user.sso {
        None => (AuthProvider::Builtin.as_str(), None, None),
        Some(identity) => (
            identity.provider.as_str(),
            Some(identity.issuer.as_str()),
            Some(identity.subject.as_str()),
        ),
    }
}

pub fn session(row: &impl Columns) -> Result<Session> {
    Ok(Session {
        jti: row.text(0)?,
        user_id: row.text(1)?,
        created_at_ms: row.int(2)?,
        expires_at_ms: row.int(3)?,
        last_used_at_ms: row.int(4)?,
        client_ip: row.text(5)?,
        user_agent: row.text(6)?,
    })
}

pub fn api_key(row: &impl Columns) -> Result<ApiKeyRecord> {
    let id = row.text(0)?;
    let (role, access, extra) = (row.text(3)?, row.text(4)?, row.text(13)?);
    let parsed = role_and_access(&role, &access).and_then(|grants| {
        let extra: Extra =
            serde_json::from_str(&extra).map_err(|e| format!("extra fields: {e}"))?;
        Ok((grants, extra))
    });
    let ((role, workspace_access), extra) =
        parsed.map_err(|problem| unreadable("API key", &id, problem))?;
    let name = row.text(1)?;
    let attribution = Attribution::from_stored(
        extra.attribution_class.as_deref(),
        row.optional_text(12)?,
        extra.owner_username,
        extra.service_account_name,
        &name,
    );
    Ok(ApiKeyRecord {
        name,
        description: row.text(2)?,
        role,
        workspace_access,
        key_prefix: row.text(5)?,
        digest: row.text(6)?,
        created_at_ms: row.int(7)?,
        updated_at_ms: row.int(8)?,
        created_by: row.text(9)?,
        last_used_at_ms: row.optional_int(10)?,
        expires_at_ms: row.optional_int(11)?,
        allowed_surfaces: Surfaces::from_stored(&extra.allowed_surfaces),
        attribution,
        id,
    })
}

pub fn audit_entry(row: &impl Columns) -> Result<AuditEntry> {
    let text = |index| row.text(index);
    Ok(AuditEntry {
        seq: row.int(0)?,
        at_ms: row.int(1)?,
        id: text(2)?,
        category: text(3)?,
        action: text(4)?,
        user_id: text(5)?,
        username: text(6)?,
        source: text(7)?,
        surface: text(8)?,
        result: text(9)?,
        correlation_id: text(10)?,
        resource_type: text(11)?,
        resource_id: text(12)?,
        workspace: text(13)?,
        credential_id: text(14)?,
        credential_type: text(15)?,
        mcp_tool: text(16)?,
        // Handed out as the text it is: Dagu's shape carries details as a string, so one entry
        // with odd details must not make the whole trail unreadable.
        details: text(17)?,
        ip_address: text(18)?,
    })
}

/// The column that holds a filtered field.
pub fn audit_column(field: AuditField) -> &'static str {
    match field {
        AuditField::Category => "category",
        AuditField::Action => "action",
        AuditField::Source => "source",
        AuditField::Surface => "surface",
        AuditField::Result => "result",
        AuditField::CorrelationId => "correlation_id",
        AuditField::ResourceType => "resource_type",
        AuditField::ResourceId => "resource_id",
        AuditField::Workspace => "workspace",
        AuditField::CredentialId => "credential_id",
        AuditField::CredentialType => "credential_type",
        AuditField::McpTool => "mcp_tool",
        AuditField::IpAddress => "ip_address",
        AuditField::UserId => "user_id",
    }
}

/// The role and workspace access columns, which users and API keys store alike.
pub fn role_and_access(
    role: &str,
    access: &str,
) -> std::result::Result<(Role, WorkspaceAccess), String> {
    let role = role.parse()?;
    let access = serde_json::from_str(access).map_err(|e| format!("workspace access: {e}"))?;
    Ok((role, access))
}

pub fn access_json(access: &WorkspaceAccess) -> Result<String> {
    json(access)
}

/// Dagu's API key fields that no query selects on, stored together. Every field may be missing:
/// keys stored before surfaces and attribution were checked hold what was sent then, or nothing,
/// and read as the model says ([`Surfaces::from_stored`], [`Attribution::from_stored`]).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extra {
    #[serde(default)]
    allowed_surfaces: Vec<String>,
    /// Left out for a service account migrated from a key stored without a class, so it stays
    /// flagged `migratedAsServiceAccount` until the key is next updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attribution_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner_username: Option<String>,
}

/// The owner column of a key: set exactly for a user-owned key.
pub fn owner_column(key: &ApiKeyRecord) -> Option<&str> {
    key.attribution.owner_user_id()
}

pub fn extra_json(key: &ApiKeyRecord) -> Result<String> {
    let mut extra = Extra {
        allowed_surfaces: key
            .allowed_surfaces
            .names()
            .into_iter()
            .map(String::from)
            .collect(),
        attribution_class: Some(key.attribution.class().to_string()),
        service_account_name: None,
        owner_username: None,
    };
    match &key.attribution {
        Attribution::UserOwned { owner_username, .. } => {
            extra.owner_username = Some(owner_username.clone());
        }
        Attribution::ServiceAccount { name, migrated } => {
            extra.service_account_name = Some(name.clone());
            if *migrated {
                extra.attribution_class = None;
            }
        }
    }
    json(&extra)
}

fn json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

fn unreadable(what: &str, id: &str, problem: impl std::fmt::Display) -> Error {
    Error::Storage(format!("{what} {id} is unreadable: {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row as a driver would hand it over, without a database: `None` is NULL, and integers
    /// are written out as text.
    struct FakeRow(Vec<Option<String>>);

    impl FakeRow {
        fn new(cells: &[Option<&str>]) -> Self {
            Self(cells.iter().map(|cell| cell.map(String::from)).collect())
        }
    }

    impl Columns for FakeRow {
        fn text(&self, index: usize) -> Result<String> {
            self.optional_text(index)?
                .ok_or_else(|| Error::storage(format!("column {index} is NULL")))
        }

        fn optional_text(&self, index: usize) -> Result<Option<String>> {
            Ok(self.0[index].clone())
        }

        fn int(&self, index: usize) -> Result<i64> {
            self.text(index)?.parse().map_err(Error::storage)
        }

        fn optional_int(&self, index: usize) -> Result<Option<i64>> {
            self.0[index].as_ref().map(|_| self.int(index)).transpose()
        }

        fn flag(&self, index: usize) -> Result<bool> {
            self.int(index).map(|n| n != 0)
        }
    }

    fn user_row(role: &str) -> FakeRow {
        let access = access_json(&WorkspaceAccess::all()).expect("encodes");
        let cells = [
            "u1",
            "alice",
            role,
            &access,
            "$argon2id$hash",
            "0",
            "1",
            "2",
            "",
        ];
        let mut row = FakeRow::new(&cells.map(Some));
        row.0.extend([Some("builtin".into()), None, None]);
        row
    }

    fn key_row(owner: Option<&str>, extra: &str) -> FakeRow {
        let access = access_json(&WorkspaceAccess::all()).expect("encodes");
        FakeRow::new(&[
            Some("k1"),
            Some("deploy"),
            Some(""),
            Some("viewer"),
            Some(&access),
            Some("dagu_abc"),
            Some("digest"),
            Some("1"),
            Some("2"),
            Some("admin"),
            None,
            Some("3"),
            owner,
            Some(extra),
        ])
    }

    #[test]
    fn an_sso_identity_decodes_and_a_half_identity_is_unreadable() {
        let mut row = user_row("viewer");
        row.0[9] = Some("oidc".into());
        row.0[10] = Some("https://idp.example".into());
        row.0[11] = Some("sub-1".into());
        let decoded = user(&row).expect("decodes");
        assert_eq!(
            sso_columns(&decoded),
            ("oidc", Some("https://idp.example"), Some("sub-1"))
        );
        row.0[11] = None;
        assert!(user(&row).is_err());
        let mut builtin_with_identity = user_row("viewer");
        builtin_with_identity.0[10] = Some("x".into());
        assert!(user(&builtin_with_identity).is_err());
    }

    #[test]
    fn a_user_row_decodes_what_was_encoded() {
        let user = user(&user_row("admin")).expect("decodes");
        assert_eq!(
            (
                user.id.as_str(),
                user.role,
                user.disabled,
                user.updated_at_ms
            ),
            ("u1", Role::Admin, false, 2)
        );
        assert_eq!(user.workspace_access, WorkspaceAccess::all());
        assert!(!user.mfa_enabled());
    }

    #[test]
    fn a_user_row_with_an_unknown_role_is_a_storage_error_naming_the_user() {
        let Err(Error::Storage(message)) = user(&user_row("owner")) else {
            panic!("an unknown role decoded");
        };
        assert!(message.starts_with("user u1 is unreadable: "), "{message}");
    }

    /// A row written before surfaces and attribution were checked (here with values no request
    /// may send now) reads as every surface and a migrated service account named for the key.
    #[test]
    fn an_api_key_row_from_before_the_checks_reads_as_dagu_reads_a_legacy_key() {
        let key = api_key(&key_row(
            None,
            r#"{"allowedSurfaces":["api"],"attributionClass":"key","serviceAccountName":null}"#,
        ))
        .expect("decodes");
        assert_eq!(key.allowed_surfaces, Surfaces::ALL);
        assert_eq!(
            key.attribution,
            Attribution::ServiceAccount {
                name: "deploy".into(),
                migrated: true
            }
        );
        assert_eq!((key.last_used_at_ms, key.expires_at_ms), (None, Some(3)));
    }

    #[test]
    fn an_api_key_row_decodes_what_was_encoded() {
        let owned = Attribution::UserOwned {
            owner_user_id: "u1".into(),
            owner_username: "alice".into(),
        };
        let account = |migrated| Attribution::ServiceAccount {
            name: "bot".into(),
            migrated,
        };
        let mcp = Surfaces::parse(&["mcp".to_string()]).expect("mcp");
        for (surfaces, attribution) in [
            (mcp, owned),
            (Surfaces::ALL, account(false)),
            (mcp, account(true)),
        ] {
            let mut key = api_key(&key_row(None, "{}")).expect("decodes");
            key.allowed_surfaces = surfaces;
            key.attribution = attribution;
            let extra = extra_json(&key).expect("encodes");
            let read = api_key(&key_row(owner_column(&key), &extra)).expect("decodes");
            assert_eq!(read, key, "{extra}");
        }
    }

    #[test]
    fn an_api_key_row_with_unreadable_extra_fields_names_the_key() {
        let Err(Error::Storage(message)) = api_key(&key_row(None, "{")) else {
            panic!("unreadable extra fields decoded");
        };
        assert!(
            message.starts_with("API key k1 is unreadable: extra fields: "),
            "{message}"
        );
    }

    #[test]
    fn an_audit_row_decodes_every_column_and_passes_details_through_as_text() {
        let mut cells: Vec<String> = (0..19).map(|i| format!("c{i}")).collect();
        (cells[0], cells[1], cells[17]) = ("7".into(), "1".into(), "not json".into());
        let cells: Vec<Option<&str>> = cells.iter().map(|c| Some(c.as_str())).collect();
        let entry = audit_entry(&FakeRow::new(&cells)).expect("decodes");
        assert_eq!((entry.seq, entry.at_ms, entry.id.as_str()), (7, 1, "c2"));
        assert_eq!(
            (entry.details.as_str(), entry.ip_address.as_str()),
            ("not json", "c18")
        );
        // Written and read back in the same order.
        let texts = entry.texts();
        assert_eq!((texts[0], texts[16]), ("c2", "c18"));
    }
}
