//! API keys for automation, managed by admins, in Dagu's shapes.

use serde_json::json;

use super::audit::{Actor, Event};
use super::users::{parse_role, resolve_access};
use super::wire::{
    ApiKeyCreated, ApiKeyEnvelope, ApiKeysEnvelope, CreateApiKeyRequest, UpdateApiKeyRequest,
};
use super::{Credentials, Engine};
use crate::clock::parse_rfc3339;
use crate::error::{Error, Result, msg};
use crate::model::{
    ApiKeyRecord, Role, WorkspaceAccess, WorkspaceAccessInput, display_prefix, generate_key,
    validate_key_description, validate_key_name,
};

/// Without an active licence (no licence features at all) an installation keeps at most this many.
const COMMUNITY_KEY_LIMIT: u64 = 2;
const DEFAULT_SURFACE: &str = "rest_api";
const DEFAULT_ATTRIBUTION: &str = "service_account";

fn role_and_access(
    role: &str,
    access: Option<WorkspaceAccessInput>,
) -> Result<(Role, WorkspaceAccess)> {
    let role = parse_role(role)?;
    Ok((role, resolve_access(access, role)?))
}

/// A field's rule applied to it when the field is given.
fn validated(
    field: Option<&str>,
    rule: impl Fn(&str) -> std::result::Result<String, String>,
) -> Result<Option<String>> {
    field.map(rule).transpose().map_err(Error::BadRequest)
}

impl Engine {
    /// `expiresAt`, when given: a time in the future.
    fn expiry(&self, text: Option<&str>) -> Result<Option<i64>> {
        let Some(text) = text else {
            return Ok(None);
        };
        let at = parse_rfc3339(text).ok_or_else(|| {
            Error::bad_request("expiresAt must be an RFC 3339 time such as 2027-01-31T00:00:00Z")
        })?;
        match at > self.now_ms() {
            true => Ok(Some(at)),
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
            .ok_or_else(|| Error::NotFound(msg::API_KEY_NOT_FOUND.into()))?;
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
        let expires_at_ms = self.expiry(request.expires_at.as_deref())?;
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
        let details = json!({
            "key_id": record.id,
            "key_name": record.name,
            "role": record.role,
            "allowed_surfaces": record.allowed_surfaces,
            "attribution_class": record.attribution_class,
        });
        let event = Event::api_key("api_key_create", &record.id).details(details);
        self.audit(&Actor::caller(&creator, caller.client_ip), event);
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
        let name = validated(request.name.as_deref(), validate_key_name)?;
        let description = validated(request.description.as_deref(), validate_key_description)?;
        let expires_at_ms = self.expiry(request.expires_at.as_deref())?;
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
        let details = json!({"key_id": id, "key_name": updated.name, "role": updated.role});
        let event = Event::api_key("api_key_update", id).details(details);
        self.audit(&Actor::caller(&editor, caller.client_ip), event);
        Ok(ApiKeyEnvelope(updated))
    }

    pub fn delete_api_key<'a>(&self, caller: impl Into<Credentials<'a>>, id: &str) -> Result<()> {
        let caller = caller.into();
        let actor = Actor::caller(&self.admin(caller)?, caller.client_ip);
        self.store.delete_api_key(id)?;
        self.cache.invalidate();
        let event = Event::api_key("api_key_delete", id).details(json!({"key_id": id}));
        self.audit(&actor, event);
        Ok(())
    }
}
