//! User management by an admin, with HTTP_API.md's rules.

use serde::Deserialize;

use super::{Engine, MessageBody, UserEnvelope, UsersEnvelope};
use crate::error::{Error, Result, msg};
use crate::model::{Role, WorkspaceAccess, validate_username};
use crate::password;
use crate::store::UpdateEffects;

/// The licence feature that unlocks user management writes.
pub const RBAC_FEATURE: &str = "rbac";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserRequest {
    pub username: String,
    pub password: String,
    pub role: String,
    pub workspace_access: Option<WorkspaceAccess>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUserRequest {
    pub username: Option<String>,
    pub role: Option<String>,
    pub workspace_access: Option<WorkspaceAccess>,
    pub is_disabled: Option<bool>,
}

fn parse_role(text: &str) -> Result<Role> {
    text.parse().map_err(Error::BadRequest)
}

fn check_access(access: &WorkspaceAccess, role: Role) -> Result<()> {
    access
        .validate(role)
        .map_err(|e| Error::BadRequest(format!("invalid workspace access: {e}")))
}

impl Engine {
    /// Admin, then licence: the check order of HTTP_API.md for user writes.
    fn licensed_admin(&self, token: &str) -> Result<std::sync::Arc<crate::model::UserRecord>> {
        let caller = self.admin(token)?;
        if !self.config.has_feature(RBAC_FEATURE) {
            return Err(Error::Forbidden(msg::LICENSE_REQUIRED.into()));
        }
        Ok(caller)
    }

    pub fn list_users(&self, token: &str) -> Result<UsersEnvelope> {
        self.admin(token)?;
        Ok(UsersEnvelope(self.store.list_users()?))
    }

    pub fn get_user(&self, token: &str, id: &str) -> Result<UserEnvelope> {
        self.admin(token)?;
        let user = self
            .store
            .user_by_id(id)?
            .ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()))?;
        Ok(UserEnvelope(user))
    }

    pub fn create_user(&self, token: &str, request: CreateUserRequest) -> Result<UserEnvelope> {
        self.licensed_admin(token)?;
        let username = validate_username(&request.username).map_err(Error::BadRequest)?;
        let role = parse_role(&request.role)?;
        let access = request.workspace_access.unwrap_or_default();
        check_access(&access, role)?;
        let normalized =
            password::check_rules(&self.config.password, &request.password, &username)?;
        // Saves a hash on the common mistake; the insert still enforces uniqueness under races.
        if self.store.user_by_username(&username)?.is_some() {
            return Err(Error::AlreadyExists(msg::USERNAME_TAKEN.into()));
        }
        let user = self.new_user(username, role, access, &normalized)?;
        self.store.insert_user(&user)?;
        self.cache.invalidate();
        Ok(UserEnvelope(user))
    }

    pub fn update_user(
        &self,
        token: &str,
        id: &str,
        request: UpdateUserRequest,
    ) -> Result<UserEnvelope> {
        let caller = self.licensed_admin(token)?;
        if caller.id == id && request.is_disabled == Some(true) {
            return Err(Error::Forbidden("Cannot disable your own account".into()));
        }
        let username = request
            .username
            .as_deref()
            .map(validate_username)
            .transpose()
            .map_err(Error::BadRequest)?;
        let role = request.role.as_deref().map(parse_role).transpose()?;
        let now = self.now_ms();
        let updated = self.store.update_user(id, &mut |user| {
            let role = role.unwrap_or(user.role);
            // Without a new access, the current one must still fit the (possibly new) role: a scoped
            // viewer moves to another role only together with `{"all": true}`, as in Dagu.
            let access = request
                .workspace_access
                .clone()
                .unwrap_or_else(|| user.workspace_access.clone());
            check_access(&access, role)?;
            let disabling = request.is_disabled == Some(true) && !user.disabled;
            if let Some(name) = &username {
                user.username.clone_from(name);
            }
            user.role = role;
            user.workspace_access = access;
            user.disabled = request.is_disabled.unwrap_or(user.disabled);
            user.updated_at_ms = now;
            Ok(UpdateEffects {
                revoke_sessions: disabling,
            })
        })?;
        self.cache.invalidate();
        Ok(UserEnvelope(updated))
    }

    pub fn delete_user(&self, token: &str, id: &str) -> Result<()> {
        let caller = self.licensed_admin(token)?;
        if caller.id == id {
            return Err(Error::Forbidden("Cannot delete your own account".into()));
        }
        self.store.delete_user(id, &mut |_| Ok(()))?;
        self.cache.invalidate();
        Ok(())
    }

    /// Sets a new password for another user (or oneself) and ends all of that user's sessions.
    pub fn reset_password(&self, token: &str, id: &str, new_password: &str) -> Result<MessageBody> {
        self.admin(token)?;
        let target = self
            .store
            .user_by_id(id)?
            .ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()))?;
        let normalized =
            password::check_rules(&self.config.password, new_password, &target.username)?;
        let hash = self.hashing.hash(&normalized)?;
        let now = self.now_ms();
        self.store.update_user(id, &mut |user| {
            user.password_hash.clone_from(&hash);
            user.updated_at_ms = now;
            Ok(UpdateEffects {
                revoke_sessions: true,
            })
        })?;
        self.cache.invalidate();
        Ok(MessageBody {
            message: "Password reset successfully",
        })
    }
}
