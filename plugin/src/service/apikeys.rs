//! API keys for automation, managed by admins, in Dagu's shapes and with Dagu's rules: where a
//! key may be used (`allowedSurfaces`) and whom its actions are attributed to
//! (`attributionClass`), checked in Dagu's order with Dagu's messages.

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
    ApiKeyRecord, Attribution, INVALID_ATTRIBUTION, INVALID_SURFACE, Role, SERVICE_ACCOUNT,
    Surfaces, USER_OWNED, WorkspaceAccess, WorkspaceAccessInput, display_prefix, generate_key,
    validate_key_description, validate_key_name,
};

/// Without an active licence (no licence features at all) an installation keeps at most this many.
const COMMUNITY_KEY_LIMIT: u64 = 2;

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

fn invalid_attribution() -> Error {
    Error::bad_request(INVALID_ATTRIBUTION)
}

/// A request's surfaces: Dagu refuses a missing or empty list before anything but the role and
/// access, and unknown names once the name has been checked; both say the same.
fn requested_surfaces(names: Option<&[String]>) -> Result<&[String]> {
    names
        .filter(|names| !names.is_empty())
        .ok_or_else(|| Error::bad_request(INVALID_SURFACE))
}

fn parse_surfaces(names: &[String]) -> Result<Surfaces> {
    Surfaces::parse(names).map_err(Error::bad_request)
}

/// What a create or update asks the key to be attributed to.
struct AttributionRequest<'a> {
    class: &'a str,
    owner_user_id: Option<&'a str>,
    service_account_name: Option<&'a str>,
    /// The name the key ends with: a service account without a name of its own takes it.
    key_name: &'a str,
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

    /// The attribution `request` asks for, as Dagu checks it: a service account (any owner
    /// given is dropped), or a key owned by an existing, enabled user, whose username the key
    /// keeps as a snapshot. Anything else is "Invalid API key attribution".
    fn attribution(&self, request: &AttributionRequest<'_>) -> Result<Attribution> {
        match request.class {
            SERVICE_ACCOUNT => Ok(Attribution::ServiceAccount {
                name: request
                    .service_account_name
                    .filter(|name| !name.trim().is_empty())
                    .unwrap_or(request.key_name)
                    .to_string(),
                migrated: false,
            }),
            USER_OWNED => {
                let owner = request
                    .owner_user_id
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .ok_or_else(invalid_attribution)?;
                match self.store.user_by_id(owner)? {
                    Some(user) if !user.disabled => Ok(Attribution::UserOwned {
                        owner_user_id: user.id,
                        owner_username: user.username,
                    }),
                    _ => Err(invalid_attribution()),
                }
            }
            _ => Err(invalid_attribution()),
        }
    }

    pub fn create_api_key<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        request: CreateApiKeyRequest,
    ) -> Result<ApiKeyCreated> {
        let caller = caller.into();
        let creator = self.admin(caller)?;
        let role = request.role.as_deref().unwrap_or_default();
        let (role, workspace_access) = role_and_access(role, request.workspace_access)?;
        let surfaces = requested_surfaces(request.allowed_surfaces.as_deref())?;
        let class = request
            .attribution_class
            .as_deref()
            .filter(|class| !class.is_empty())
            .ok_or_else(invalid_attribution)?;
        let name = validate_key_name(request.name.as_deref().unwrap_or_default())
            .map_err(Error::BadRequest)?;
        let description = validate_key_description(request.description.as_deref().unwrap_or(""))
            .map_err(Error::BadRequest)?;
        let expires_at_ms = self.expiry(request.expires_at.as_deref())?;
        let allowed_surfaces = parse_surfaces(surfaces)?;
        let attribution = self.attribution(&AttributionRequest {
            class,
            owner_user_id: request.owner_user_id.as_deref(),
            service_account_name: request.service_account_name.as_deref(),
            key_name: &name,
        })?;
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
            allowed_surfaces,
            attribution,
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
            "attribution_class": record.attribution.class(),
        });
        let event = Event::api_key("api_key_create", &record.id).details(details);
        self.audit(&Actor::caller(&creator, caller.client_ip), event);
        Ok(ApiKeyCreated {
            api_key: record,
            key,
        })
    }

    /// Applies the fields given. The attribution the key ends with is checked on every update,
    /// as Dagu does: a key whose owner is disabled or gone cannot be changed at all until it is
    /// given another owner or made a service account.
    pub fn update_api_key<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        id: &str,
        request: UpdateApiKeyRequest,
    ) -> Result<ApiKeyEnvelope> {
        let caller = caller.into();
        let editor = self.admin(caller)?;
        let role = request.role.as_deref().map(parse_role).transpose()?;
        let surfaces = match request.allowed_surfaces.as_deref() {
            Some(names) => Some(parse_surfaces(requested_surfaces(Some(names))?)?),
            None => None,
        };
        let name = validated(request.name.as_deref(), validate_key_name)?;
        let description = validated(request.description.as_deref(), validate_key_description)?;
        let expires_at_ms = self.expiry(request.expires_at.as_deref())?;
        let current = self
            .store
            .api_key_by_id(id)?
            .ok_or_else(|| Error::NotFound(msg::API_KEY_NOT_FOUND.into()))?;
        let attribution = self.attribution(&AttributionRequest {
            class: request
                .attribution_class
                .as_deref()
                .unwrap_or(current.attribution.class()),
            owner_user_id: request
                .owner_user_id
                .as_deref()
                .or(current.attribution.owner_user_id()),
            // A migrated key's name was never chosen: it follows the key's name until set.
            service_account_name: request.service_account_name.as_deref().or(
                match &current.attribution {
                    Attribution::ServiceAccount {
                        name,
                        migrated: false,
                    } => Some(name.as_str()),
                    _ => None,
                },
            ),
            key_name: name.as_deref().unwrap_or(&current.name),
        })?;
        let now = self.now_ms();
        let updated = self.store.update_api_key(id, &mut |key| {
            // The owner was checked against the key as read above; an attribution changed since
            // by another writer would be overwritten unchecked.
            if key.attribution != current.attribution {
                return Err(Error::Conflict(
                    "The API key was changed at the same time; retry".into(),
                ));
            }
            let role = role.unwrap_or(key.role);
            let access = request
                .workspace_access
                .clone()
                .unwrap_or_else(|| key.workspace_access.clone().into());
            key.workspace_access = resolve_access(Some(access), role)?;
            key.role = role;
            if let Some(name) = &name {
                key.name.clone_from(name);
            }
            if let Some(description) = &description {
                key.description.clone_from(description);
            }
            if let Some(surfaces) = surfaces {
                key.allowed_surfaces = surfaces;
            }
            key.attribution.clone_from(&attribution);
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
