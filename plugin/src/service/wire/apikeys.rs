//! API keys: the APIKey object and the key management requests and answers.

use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::model::{ApiKeyRecord, Role, WorkspaceAccess, WorkspaceAccessInput};

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

/// Omitted fields stay as they are. The owner of a key is set once, at creation.
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

/// The APIKey object: the key's display prefix, never the key or its digest.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiKeyView<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    role: Role,
    workspace_access: &'a WorkspaceAccess,
    key_prefix: &'a str,
    created_at: String,
    updated_at: String,
    created_by: &'a str,
    last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_user_id: Option<&'a str>,
    allowed_surfaces: &'a [String],
    attribution_class: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_account_name: Option<&'a str>,
}

impl<'a> ApiKeyView<'a> {
    fn of(key: &'a ApiKeyRecord) -> Self {
        Self {
            id: &key.id,
            name: &key.name,
            description: &key.description,
            role: key.role,
            workspace_access: &key.workspace_access,
            key_prefix: &key.key_prefix,
            created_at: rfc3339(key.created_at_ms),
            updated_at: rfc3339(key.updated_at_ms),
            created_by: &key.created_by,
            last_used_at: key.last_used_at_ms.map(rfc3339),
            expires_at: key.expires_at_ms.map(rfc3339),
            owner_user_id: key.owner_user_id.as_deref(),
            allowed_surfaces: &key.allowed_surfaces,
            attribution_class: &key.attribution_class,
            service_account_name: key.service_account_name.as_deref(),
        }
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
