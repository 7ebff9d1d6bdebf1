use std::sync::Arc;

use super::{ApiKeyRecord, Role, UserRecord, WorkspaceAccess};

/// Who a bearer credential belongs to: a signed-in user or an API key.
#[derive(Debug, Clone)]
pub enum Principal {
    User(Arc<UserRecord>),
    ApiKey(Arc<ApiKeyRecord>),
}

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Self::User(user) => user.role,
            Self::ApiKey(key) => key.role,
        }
    }

    pub fn workspace_access(&self) -> &WorkspaceAccess {
        match self {
            Self::User(user) => &user.workspace_access,
            Self::ApiKey(key) => &key.workspace_access,
        }
    }

    /// The id audit entries and self-checks use: a user id, or `apikey:<id>`.
    pub fn id(&self) -> String {
        match self {
            Self::User(user) => user.id.clone(),
            Self::ApiKey(key) => format!("apikey:{}", key.id),
        }
    }

    /// The name shown for the caller: a username, or `apikey:<name>` as Dagu names a key.
    pub fn name(&self) -> String {
        match self {
            Self::User(user) => user.username.clone(),
            Self::ApiKey(key) => format!("apikey:{}", key.name),
        }
    }

    pub fn user(&self) -> Option<&UserRecord> {
        match self {
            Self::User(user) => Some(user),
            Self::ApiKey(_) => None,
        }
    }
}
