//! User management by an admin (and by an operator at the command line, through the `_as`
//! functions with the same rules).

use std::sync::atomic::Ordering;

use serde_json::json;

use super::audit::{Actor, Event};
use super::cache::ListRequest;
use super::wire::{
    CreateUserRequest, MessageBody, UpdateUserRequest, UserEnvelope, UsersEnvelope, UsersPage,
    write_user_list,
};
use super::{Credentials, Engine};
use crate::error::{Error, Result, msg};
use crate::model::{
    Role, UserRecord, WorkspaceAccess, WorkspaceAccessInput, fold_username, validate_username,
};
use crate::password;
use crate::store::UpdateEffects;

/// The licence feature that unlocks user management writes.
pub const RBAC_FEATURE: &str = "rbac";

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

/// A user's entry in the full list before any list was measured: one with access to all
/// workspaces and a short name takes ~290 bytes.
pub(super) const USER_JSON_BYTES_GUESS: usize = 320;
/// The most bytes per user the up-front reservation assumes (a user with ~50 grants).
const MAX_USER_JSON_BYTES_ESTIMATE: usize = 4096;
/// The list's envelope without users (`{"users":[],"oidcWorkspaceAccessSyncEnabled":false,...}`,
/// 114 bytes) and the NUL the C ABI appends, so a right guess never reallocates.
const ENVELOPE_BYTES: usize = 115;

/// Opaque to clients: base64url of `folded username \n id` (neither can hold a newline).
fn encode_cursor(user: &UserRecord) -> String {
    use base64::Engine as _;
    let key = format!("{}\n{}", fold_username(&user.username), user.id);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

fn decode_cursor(cursor: &str) -> Result<(String, String)> {
    use base64::Engine as _;
    let invalid = || Error::bad_request("invalid cursor");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (name, id) = text.split_once('\n').ok_or_else(invalid)?;
    Ok((name.to_string(), id.to_string()))
}

pub(super) fn parse_role(text: &str) -> Result<Role> {
    text.parse().map_err(Error::BadRequest)
}

/// Omitted access means all workspaces.
pub(super) fn resolve_access(
    input: Option<WorkspaceAccessInput>,
    role: Role,
) -> Result<WorkspaceAccess> {
    input
        .unwrap_or_else(|| WorkspaceAccess::all().into())
        .resolve(role)
        .map_err(|e| Error::BadRequest(format!("invalid workspace access: {e}")))
}

impl Engine {
    /// The admin behind `caller`, as the actor of a change.
    fn admin_actor<'a>(&self, caller: Credentials<'a>) -> Result<Actor<'a>> {
        let admin = self.admin(caller)?;
        Ok(Actor::caller(&admin, caller.client_ip))
    }

    /// The admin behind `caller`, for a user write: admin first, then the licence, so a caller
    /// who is not an admin learns nothing about the licence.
    fn licensed_admin_actor<'a>(&self, caller: Credentials<'a>) -> Result<Actor<'a>> {
        let actor = self.admin_actor(caller)?;
        self.require_rbac()?;
        Ok(actor)
    }

    /// The licence gate of user writes, for the API and the operator alike.
    pub(super) fn require_rbac(&self) -> Result<()> {
        match self.config.has_feature(RBAC_FEATURE) {
            true => Ok(()),
            false => Err(Error::Forbidden(msg::LICENSE_REQUIRED.into())),
        }
    }

    /// A new, enabled user whose password (already checked against the rules) is hashed here.
    pub(super) fn new_user(
        &self,
        username: String,
        role: Role,
        access: WorkspaceAccess,
        normalized_password: &str,
    ) -> Result<UserRecord> {
        let now = self.now_ms();
        Ok(UserRecord {
            sso: None,
            id: uuid::Uuid::new_v4().to_string(),
            username,
            role,
            workspace_access: access,
            password_hash: self.hashing.hash(normalized_password)?,
            disabled: false,
            created_at_ms: now,
            updated_at_ms: now,
            mfa: Default::default(),
        })
    }

    /// Stores a new password (already checked against the rules) and ends all of the user's
    /// sessions, and the second step of a sign-in the old password began. A sign-in still
    /// checking the old password finds the hash changed and starts no session
    /// (`Store::insert_sign_in`).
    pub(super) fn set_password(&self, id: &str, normalized_password: &str) -> Result<()> {
        let hash = self.hashing.hash(normalized_password)?;
        let now = self.now_ms();
        self.store.update_user(id, &mut |user| {
            user.password_hash.clone_from(&hash);
            user.mfa.challenge = None;
            user.updated_at_ms = now;
            Ok(UpdateEffects {
                revoke_sessions: true,
            })
        })?;
        self.cache.invalidate();
        Ok(())
    }

    /// Every user as records. Answers to callers go through `list_users_json`, which never holds
    /// them all.
    pub fn list_users<'a>(&self, caller: impl Into<Credentials<'a>>) -> Result<UsersEnvelope> {
        self.admin(caller)?;
        Ok(UsersEnvelope(
            self.store.list_users()?,
            self.managed_providers(),
        ))
    }

    /// The full list as the JSON document `UsersListResponse`, byte for byte what serialising
    /// `list_users` gives. A list rendered since the last change to any user is answered again
    /// (`RenderedLists`).
    pub fn list_users_json<'a>(&self, caller: impl Into<Credentials<'a>>) -> Result<Vec<u8>> {
        self.admin(caller)?;
        self.rendered_list(ListRequest::Whole, || self.render_whole_list())
    }

    /// A page of the list as JSON (`limit` users, default 100, at most 1,000, after `cursor`; see
    /// `users_page`). A page rendered since the last change to any user is answered again
    /// (`RenderedLists`).
    pub fn list_users_page_json<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<Vec<u8>> {
        self.admin(caller)?;
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        self.rendered_list(ListRequest::Page { limit, cursor }, || {
            let page = self.users_page(limit, cursor)?;
            serde_json::to_vec(&page).map_err(|e| Error::Internal(e.to_string()))
        })
    }

    /// The list `request` as last rendered, unless a user changed since; else `render`'s, kept.
    /// The generation is read before `render` reads the store, so a list that raced a change is
    /// never kept under the generation after it.
    fn rendered_list(
        &self,
        request: ListRequest<'_>,
        render: impl FnOnce() -> Result<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let generation = self.cache.generation();
        // In a store outage the generation stops moving for the grace period; a kept list would
        // then be answered however stale, where the grace is meant for known principals' rights
        // only. The list is read from the store, and fails as it did before lists were kept.
        let kept = match self.cache.store_in_outage() {
            true => None,
            false => self.user_lists.get(generation, request),
        };
        if let Some(json) = kept {
            // With room for the NUL `dagu_auth_list_users` appends to the whole list, as a freshly
            // rendered one has.
            let mut copy = Vec::with_capacity(json.len() + 1);
            copy.extend_from_slice(&json);
            return Ok(copy);
        }
        let json = render()?;
        self.user_lists.put(generation, request, &json);
        Ok(json)
    }

    /// Written as the store yields each user: at 100,000 users the records and their views would
    /// take more memory than the 28 MiB document itself. The buffer is reserved up front from the
    /// user count and the size per user of the previous list, so it is not grown by doubling.
    fn render_whole_list(&self) -> Result<Vec<u8>> {
        let users = usize::try_from(self.store.user_count()?).unwrap_or(usize::MAX);
        // Capped: one small list skewed by a user with very many grants must not make a later,
        // larger list reserve gigabytes; past the cap the buffer simply grows.
        let per_user = self
            .user_json_bytes
            .load(Ordering::Relaxed)
            .min(MAX_USER_JSON_BYTES_ESTIMATE);
        // A little over the last average, since falling one byte short means a reallocation.
        let estimate = users
            .saturating_mul(per_user + per_user / 16)
            .saturating_add(ENVELOPE_BYTES);
        let mut json = Vec::new();
        // An estimate too large to allocate is only an estimate: the buffer then grows as needed.
        let _ = json.try_reserve_exact(estimate);
        let written = write_user_list(self.store.as_ref(), &self.managed_providers(), &mut json)?;
        if let Some(average) = json.len().checked_div(written) {
            self.user_json_bytes
                .store(average.max(1), Ordering::Relaxed);
        }
        Ok(json)
    }

    /// A page of the list: `limit` users (default 100, at most 1,000) after `cursor`, and the
    /// cursor of the next page when there is one. The cursor is the last user's folded username and
    /// id, so pages stay stable while users are added or removed.
    fn users_page(&self, limit: usize, cursor: Option<&str>) -> Result<UsersPage> {
        let after = cursor.map(decode_cursor).transpose()?;
        let after = after
            .as_ref()
            .map(|(name, id)| (name.as_str(), id.as_str()));
        let mut users = self.store.list_users_page(after, limit + 1)?;
        let next_cursor = match users.len() > limit {
            true => {
                users.truncate(limit);
                users.last().map(encode_cursor)
            }
            false => None,
        };
        Ok(UsersPage {
            users,
            next_cursor,
            managed: self.managed_providers(),
        })
    }

    pub fn get_user<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        id: &str,
    ) -> Result<UserEnvelope> {
        self.admin(caller)?;
        let user = self
            .store
            .user_by_id(id)?
            .ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()))?;
        Ok(UserEnvelope(user))
    }

    pub fn create_user<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        request: CreateUserRequest,
    ) -> Result<UserEnvelope> {
        let actor = self.licensed_admin_actor(caller.into())?;
        self.create_user_as(&actor, request)
    }

    pub(super) fn create_user_as(
        &self,
        actor: &Actor<'_>,
        request: CreateUserRequest,
    ) -> Result<UserEnvelope> {
        // Dagu's order: role, access, password, username.
        let role = parse_role(&request.role)?;
        let access = resolve_access(request.workspace_access, role)?;
        let normalized =
            password::check_rules(&self.config.password, &request.password, &request.username)?;
        let username = validate_username(&request.username).map_err(Error::BadRequest)?;
        // Saves a hash on the common mistake; the insert still enforces uniqueness under races.
        if self.store.user_by_username(&username)?.is_some() {
            return Err(Error::AlreadyExists(msg::USERNAME_TAKEN.into()));
        }
        let user = self.new_user(username, role, access, &normalized)?;
        self.store.insert_user(&user)?;
        self.cache.invalidate();
        let details = json!({
            "target_user_id": user.id,
            "target_username": user.username,
            "role": user.role,
            "workspace_access": user.workspace_access,
        });
        self.audit(actor, Event::user("user_create", &user.id).details(details));
        Ok(UserEnvelope(user))
    }

    pub fn update_user<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        id: &str,
        request: UpdateUserRequest,
    ) -> Result<UserEnvelope> {
        let actor = self.licensed_admin_actor(caller.into())?;
        if actor.user_id == id && request.is_disabled == Some(true) {
            return Err(Error::Forbidden("Cannot disable your own account".into()));
        }
        self.update_user_as(&actor, id, request)
    }

    pub(super) fn update_user_as(
        &self,
        actor: &Actor<'_>,
        id: &str,
        request: UpdateUserRequest,
    ) -> Result<UserEnvelope> {
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
            let current = user.workspace_access.clone().into();
            let requested = request.workspace_access.clone().unwrap_or(current);
            let access = resolve_access(Some(requested), role)?;
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
        // As Dagu: the target, and what the request changed (disabling is an update too).
        let mut details = json!({"target_user_id": id, "target_username": updated.username});
        let sent = [
            (
                "username",
                request.username.is_some(),
                json!(updated.username),
            ),
            ("role", request.role.is_some(), json!(updated.role)),
            (
                "workspace_access",
                request.workspace_access.is_some(),
                json!(updated.workspace_access),
            ),
            (
                "is_disabled",
                request.is_disabled.is_some(),
                json!(updated.disabled),
            ),
        ];
        for (key, _, value) in sent.into_iter().filter(|(_, sent, _)| *sent) {
            details[key] = value;
        }
        self.audit(actor, Event::user("user_update", id).details(details));
        Ok(UserEnvelope(updated))
    }

    pub fn delete_user<'a>(&self, caller: impl Into<Credentials<'a>>, id: &str) -> Result<()> {
        let actor = self.licensed_admin_actor(caller.into())?;
        if actor.user_id == id {
            return Err(Error::Forbidden("Cannot delete your own account".into()));
        }
        self.delete_user_as(&actor, id)
    }

    pub(super) fn delete_user_as(&self, actor: &Actor<'_>, id: &str) -> Result<()> {
        let mut username = String::new();
        self.store.delete_user(id, &mut |user| {
            username.clone_from(&user.username);
            Ok(())
        })?;
        self.cache.invalidate();
        let details = json!({"target_user_id": id, "target_username": username});
        self.audit(actor, Event::user("user_delete", id).details(details));
        Ok(())
    }

    /// Sets a new password for another user and ends all of that user's sessions. Not one's own:
    /// that needs the current password (change-password), so a stolen admin session cannot lock
    /// the admin out (ASVS 5.0, 7.5.1: re-authenticate before changing what signs one in).
    pub fn reset_password<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        id: &str,
        new_password: &str,
    ) -> Result<MessageBody> {
        let actor = self.admin_actor(caller.into())?;
        if actor.user_id == id {
            return Err(Error::Forbidden(
                "Use change-password to change your own password".into(),
            ));
        }
        self.reset_password_as(&actor, id, new_password)
    }

    pub(super) fn reset_password_as(
        &self,
        actor: &Actor<'_>,
        id: &str,
        new_password: &str,
    ) -> Result<MessageBody> {
        let target = self
            .store
            .user_by_id(id)?
            .ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()))?;
        if target.sso.is_some() {
            return Err(Error::Forbidden(msg::PASSWORD_MANAGED.into()));
        }
        let normalized =
            password::check_rules(&self.config.password, new_password, &target.username)?;
        self.set_password(id, &normalized)?;
        let details = json!({"target_user_id": id, "target_username": target.username});
        self.audit(actor, Event::user("password_reset", id).details(details));
        Ok(MessageBody {
            message: "Password reset successfully",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reservation_holds_the_envelope_of_an_empty_list_and_its_nul() {
        let empty =
            serde_json::to_vec(&UsersEnvelope(Vec::new(), Default::default())).expect("serialises");
        assert_eq!(empty.len() + 1, ENVELOPE_BYTES);
    }
}
