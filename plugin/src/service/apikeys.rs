//! API keys for automation, managed by admins (Dagu's shapes, HTTP_API.md).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Credentials, Engine};
use crate::error::{Error, Result};
use crate::model::{
    ApiKeyRecord, ApiKeyView, Role, WorkspaceAccess, WorkspaceAccessInput, display_prefix,
    generate_key, validate_key_description, validate_key_name,
};

/// Without an active licence (no licence features at all) an installation keeps at most this many.
const COMMUNITY_KEY_LIMIT: u64 = 2;
const DEFAULT_SURFACE: &str = "rest_api";
const DEFAULT_ATTRIBUTION: &str = "service_account";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApiKeyRequest {
    pub name: String,
    pub description: Option<String>,
    pub role: String,
    pub workspace_access: Option<WorkspaceAccessInput>,
    pub allowed_surfaces: Option<Vec<String>>,
    pub attribution_class: Option<String>,
    pub owner_user_id: Option<String>,
    pub service_account_name: Option<String>,
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateApiKeyRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub role: Option<String>,
    pub workspace_access: Option<WorkspaceAccessInput>,
    pub allowed_surfaces: Option<Vec<String>>,
    pub attribution_class: Option<String>,
    pub service_account_name: Option<String>,
    pub expires_at: Option<String>,
}

/// `{"apiKey": APIKey, "key": "dagu_..."}`: the only time the key itself is shown.
#[derive(Debug, Clone)]
pub struct ApiKeyCreated {
    pub api_key: ApiKeyRecord,
    pub key: String,
}

impl Serialize for ApiKeyCreated {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            api_key: ApiKeyView<'a>,
            key: &'a str,
        }
        Body {
            api_key: self.api_key.view(),
            key: &self.key,
        }
        .serialize(serializer)
    }
}

/// `{"apiKey": APIKey}`.
#[derive(Debug, Clone)]
pub struct ApiKeyEnvelope(pub ApiKeyRecord);

impl Serialize for ApiKeyEnvelope {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        json!({ "apiKey": self.0.view() }).serialize(serializer)
    }
}

/// `{"apiKeys": [APIKey]}`.
#[derive(Debug, Clone)]
pub struct ApiKeysEnvelope(pub Vec<ApiKeyRecord>);

impl Serialize for ApiKeysEnvelope {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let keys: Vec<ApiKeyView<'_>> = self.0.iter().map(ApiKeyRecord::view).collect();
        json!({ "apiKeys": keys }).serialize(serializer)
    }
}

fn role_and_access(
    role: &str,
    access: Option<WorkspaceAccessInput>,
) -> Result<(Role, WorkspaceAccess)> {
    let role: Role = role.parse().map_err(Error::BadRequest)?;
    Ok((role, super::users::resolve_access(access, role)?))
}

impl Engine {
    fn expiry(&self, text: &str) -> Result<i64> {
        let at = chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| {
                Error::bad_request(
                    "expiresAt must be an RFC 3339 time such as 2027-01-31T00:00:00Z",
                )
            })?
            .timestamp_millis();
        match at > self.now_ms() {
            true => Ok(at),
            false => Err(Error::bad_request("expiresAt must be in the future")),
        }
    }

    pub fn list_api_keys<'a>(&self, caller: impl Into<Credentials<'a>>) -> Result<ApiKeysEnvelope> {
        self.admin(caller)?;
        Ok(ApiKeysEnvelope(self.store.list_api_keys()?))
    }

    pub fn get_api_key<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        id: &str,
    ) -> Result<ApiKeyEnvelope> {
        self.admin(caller)?;
        let key = self
            .store
            .api_key_by_id(id)?
            .ok_or_else(|| Error::NotFound(crate::error::msg::API_KEY_NOT_FOUND.into()))?;
        Ok(ApiKeyEnvelope(key))
    }

    pub fn create_api_key<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        request: CreateApiKeyRequest,
    ) -> Result<ApiKeyCreated> {
        let caller = caller.into();
        let creator = self.admin(caller)?;
        let name = validate_key_name(&request.name).map_err(Error::BadRequest)?;
        let description = validate_key_description(request.description.as_deref().unwrap_or(""))
            .map_err(Error::BadRequest)?;
        let (role, workspace_access) = role_and_access(&request.role, request.workspace_access)?;
        let expires_at_ms = request
            .expires_at
            .as_deref()
            .map(|t| self.expiry(t))
            .transpose()?;
        if let Some(owner) = &request.owner_user_id
            && self.store.user_by_id(owner)?.is_none()
        {
            return Err(Error::bad_request(
                "ownerUserId does not name an existing user",
            ));
        }
        let key = generate_key().map_err(|e| Error::Internal(format!("no OS randomness: {e}")))?;
        let now = self.now_ms();
        let record = ApiKeyRecord {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            description,
            role,
            workspace_access,
            key_prefix: display_prefix(&key),
            digest: self.key_digest.digest(&key),
            created_at_ms: now,
            updated_at_ms: now,
            created_by: creator.id(),
            last_used_at_ms: None,
            expires_at_ms,
            owner_user_id: request.owner_user_id,
            allowed_surfaces: request
                .allowed_surfaces
                .unwrap_or_else(|| vec![DEFAULT_SURFACE.into()]),
            attribution_class: request
                .attribution_class
                .unwrap_or_else(|| DEFAULT_ATTRIBUTION.into()),
            service_account_name: request.service_account_name,
        };
        let limit = self
            .config
            .license_features
            .is_empty()
            .then_some(COMMUNITY_KEY_LIMIT);
        self.store.insert_api_key(&record, limit)?;
        self.cache.invalidate();
        let detail = json!({"name": record.name, "role": record.role});
        self.audit(
            "api_key_create",
            &creator.id(),
            &record.id,
            caller.client_ip,
            detail,
        );
        Ok(ApiKeyCreated {
            api_key: record,
            key,
        })
    }

    pub fn update_api_key<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        id: &str,
        request: UpdateApiKeyRequest,
    ) -> Result<ApiKeyEnvelope> {
        let caller = caller.into();
        let editor = self.admin(caller)?;
        let name = request
            .name
            .as_deref()
            .map(validate_key_name)
            .transpose()
            .map_err(Error::BadRequest)?;
        let description = request
            .description
            .as_deref()
            .map(validate_key_description)
            .transpose()
            .map_err(Error::BadRequest)?;
        let expires_at_ms = request
            .expires_at
            .as_deref()
            .map(|t| self.expiry(t))
            .transpose()?;
        let now = self.now_ms();
        let updated = self.store.update_api_key(id, &mut |key| {
            let role = request.role.as_deref().unwrap_or(key.role.as_str());
            let access = request
                .workspace_access
                .clone()
                .unwrap_or_else(|| key.workspace_access.clone().into());
            (key.role, key.workspace_access) = role_and_access(role, Some(access))?;
            if let Some(name) = &name {
                key.name.clone_from(name);
            }
            if let Some(description) = &description {
                key.description.clone_from(description);
            }
            if let Some(surfaces) = &request.allowed_surfaces {
                key.allowed_surfaces.clone_from(surfaces);
            }
            if let Some(class) = &request.attribution_class {
                key.attribution_class.clone_from(class);
            }
            if request.service_account_name.is_some() {
                key.service_account_name
                    .clone_from(&request.service_account_name);
            }
            key.expires_at_ms = expires_at_ms.or(key.expires_at_ms);
            key.updated_at_ms = now;
            Ok(())
        })?;
        self.cache.invalidate();
        let detail = json!({"name": updated.name, "role": updated.role});
        self.audit("api_key_update", &editor.id(), id, caller.client_ip, detail);
        Ok(ApiKeyEnvelope(updated))
    }

    pub fn delete_api_key<'a>(&self, caller: impl Into<Credentials<'a>>, id: &str) -> Result<()> {
        let caller = caller.into();
        let admin = self.admin(caller)?;
        self.store.delete_api_key(id)?;
        self.cache.invalidate();
        self.audit(
            "api_key_delete",
            &admin.id(),
            id,
            caller.client_ip,
            json!({}),
        );
        Ok(())
    }
}
