//! An API key as a row, shared by both stores: the same columns, encodings and messages.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::ApiKeyRecord;

pub const COLUMNS: &str = "id, name, description, role, workspace_access, key_prefix, digest, created_at, \
     updated_at, created_by, last_used_at, expires_at, owner_user_id, extra";

/// Dagu's optional fields, stored together since nothing queries them.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extra {
    allowed_surfaces: Vec<String>,
    attribution_class: String,
    service_account_name: Option<String>,
}

/// The columns of one row in `COLUMNS` order, as each database hands them over.
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub role: String,
    pub workspace_access: String,
    pub key_prefix: String,
    pub digest: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub created_by: String,
    pub last_used_at_ms: Option<i64>,
    pub expires_at_ms: Option<i64>,
    pub owner_user_id: Option<String>,
    pub extra: String,
}

impl KeyRow {
    /// A row we cannot read is a storage error naming the key, never a panic.
    pub fn into_record(self) -> Result<ApiKeyRecord> {
        let parsed = (|| -> std::result::Result<_, String> {
            let role = self.role.parse()?;
            let access = serde_json::from_str(&self.workspace_access)
                .map_err(|e| format!("workspace access: {e}"))?;
            let extra: Extra =
                serde_json::from_str(&self.extra).map_err(|e| format!("extra fields: {e}"))?;
            Ok((role, access, extra))
        })();
        let (role, workspace_access, extra) = parsed.map_err(|problem| {
            Error::Storage(format!("API key {} is unreadable: {problem}", self.id))
        })?;
        Ok(ApiKeyRecord {
            id: self.id,
            name: self.name,
            description: self.description,
            role,
            workspace_access,
            key_prefix: self.key_prefix,
            digest: self.digest,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            created_by: self.created_by,
            last_used_at_ms: self.last_used_at_ms,
            expires_at_ms: self.expires_at_ms,
            owner_user_id: self.owner_user_id,
            allowed_surfaces: extra.allowed_surfaces,
            attribution_class: extra.attribution_class,
            service_account_name: extra.service_account_name,
        })
    }
}

pub fn access_json(key: &ApiKeyRecord) -> Result<String> {
    json(&key.workspace_access)
}

pub fn extra_json(key: &ApiKeyRecord) -> Result<String> {
    json(&Extra {
        allowed_surfaces: key.allowed_surfaces.clone(),
        attribution_class: key.attribution_class.clone(),
        service_account_name: key.service_account_name.clone(),
    })
}

pub fn community_limit(max: u64) -> Error {
    Error::Forbidden(format!(
        "Community edition supports up to {max} API keys. Upgrade to Dagu Pro for unlimited API keys."
    ))
}

pub fn name_taken() -> Error {
    Error::AlreadyExists("API key name already exists".into())
}

pub fn unknown_owner() -> Error {
    Error::bad_request("ownerUserId does not name an existing user")
}

fn json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}
