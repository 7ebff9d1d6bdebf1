//! API keys: the APIKey object and the key management requests and answers.

use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::model::{
    ApiKeyRecord, Attribution, Role, Surfaces, WorkspaceAccess, WorkspaceAccessInput,
    display_prefix,
};

/// Every field is optional to serde so that the rules, not the decoder, answer a missing one, in
/// Dagu's order (role, workspace access, surfaces, attribution, then the name).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApiKeyRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub role: Option<String>,
    pub workspace_access: Option<WorkspaceAccessInput>,
    pub allowed_surfaces: Option<Vec<String>>,
    pub attribution_class: Option<String>,
    pub owner_user_id: Option<String>,
    pub service_account_name: Option<String>,
    pub expires_at: Option<String>,
}

/// Omitted fields stay as they are; the attribution the key ends with is checked again.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateApiKeyRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub role: Option<String>,
    pub workspace_access: Option<WorkspaceAccessInput>,
    pub allowed_surfaces: Option<Vec<String>>,
    pub attribution_class: Option<String>,
    pub owner_user_id: Option<String>,
    pub service_account_name: Option<String>,
    pub expires_at: Option<String>,
}

/// The APIKey object: the key's display prefix, never the key or its digest. The attribution
/// fields are those of its class only, as Dagu sends them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiKeyView<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    role: Role,
    workspace_access: &'a WorkspaceAccess,
    key_prefix: String,
    created_at: String,
    updated_at: String,
    created_by: &'a str,
    last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    allowed_surfaces: Surfaces,
    attribution_class: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_account_name: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    migrated_as_service_account: bool,
}

impl<'a> ApiKeyView<'a> {
    fn of(key: &'a ApiKeyRecord) -> Self {
        let mut view = Self {
            id: &key.id,
            name: &key.name,
            description: &key.description,
            role: key.role,
            workspace_access: &key.workspace_access,
            key_prefix: display_prefix(&key.key_prefix),
            created_at: rfc3339(key.created_at_ms),
            updated_at: rfc3339(key.updated_at_ms),
            created_by: &key.created_by,
            last_used_at: key.last_used_at_ms.map(rfc3339),
            expires_at: key.expires_at_ms.map(rfc3339),
            allowed_surfaces: key.allowed_surfaces,
            attribution_class: key.attribution.class(),
            owner_user_id: None,
            owner_username: None,
            service_account_id: None,
            service_account_name: None,
            migrated_as_service_account: false,
        };
        match &key.attribution {
            Attribution::UserOwned {
                owner_user_id,
                owner_username,
            } => {
                view.owner_user_id = Some(owner_user_id);
                view.owner_username = Some(owner_username);
            }
            Attribution::ServiceAccount { name, migrated } => {
                view.service_account_id = Some(key.service_account_id());
                view.service_account_name = Some(name);
                view.migrated_as_service_account = *migrated;
            }
        }
        view
    }
}

/// `{"apiKey": APIKey, "key"?: "dagu_..."}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiKeyBody<'a> {
    api_key: ApiKeyView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
}

/// `{"apiKey": APIKey, "key": "dagu_..."}`: the only time the key itself is shown.
#[derive(Debug, Clone)]
pub struct ApiKeyCreated {
    pub api_key: ApiKeyRecord,
    pub key: String,
}

serialize_as!(ApiKeyCreated, |created| ApiKeyBody {
    api_key: ApiKeyView::of(&created.api_key),
    key: Some(&created.key),
});

/// `{"apiKey": APIKey}`.
#[derive(Debug, Clone)]
pub struct ApiKeyEnvelope(pub ApiKeyRecord);

serialize_as!(ApiKeyEnvelope, |envelope| ApiKeyBody {
    api_key: ApiKeyView::of(&envelope.0),
    key: None,
});

/// `{"apiKeys": [APIKey]}`.
#[derive(Debug, Clone)]
pub struct ApiKeysEnvelope(pub Vec<ApiKeyRecord>);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiKeysBody<'a> {
    api_keys: Vec<ApiKeyView<'a>>,
}

serialize_as!(ApiKeysEnvelope, |envelope| ApiKeysBody {
    api_keys: envelope.0.iter().map(ApiKeyView::of).collect(),
});
