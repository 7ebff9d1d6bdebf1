use std::sync::Arc;

use serde::Serialize;

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

/// `{"user": ...}` as `/auth/me` answers: the full User for people, a minimal one for keys.
impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct KeyUser<'a> {
            id: String,
            username: String,
            role: Role,
            workspace_access: &'a WorkspaceAccess,
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Inner<'a> {
            User(super::UserView<'a>),
            Key(KeyUser<'a>),
        }
        #[derive(Serialize)]
        struct Body<'a> {
            user: Inner<'a>,
        }
        let user = match self {
            Self::User(user) => Inner::User(user.view()),
            Self::ApiKey(key) => Inner::Key(KeyUser {
                id: self.id(),
                username: self.name(),
                role: key.role,
                workspace_access: &key.workspace_access,
            }),
        };
        Body { user }.serialize(serializer)
    }
}
