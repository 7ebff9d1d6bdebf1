//! User management by an admin, with HTTP_API.md's rules.

use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;

use serde::ser::{Error as _, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::json;

use super::{Credentials, Engine, MessageBody, UserEnvelope, UsersEnvelope};
use crate::error::{Error, Result, msg};
use crate::model::{Principal, Role, WorkspaceAccess, WorkspaceAccessInput, validate_username};
use crate::password;
use crate::store::{Store, UpdateEffects};

/// The licence feature that unlocks user management writes.
pub const RBAC_FEATURE: &str = "rbac";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserRequest {
    pub username: String,
    pub password: String,
    pub role: String,
    pub workspace_access: Option<WorkspaceAccessInput>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUserRequest {
    pub username: Option<String>,
    pub role: Option<String>,
    pub workspace_access: Option<WorkspaceAccessInput>,
    pub is_disabled: Option<bool>,
}

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

/// A user's entry in the full list before any list was measured: one with access to all
/// workspaces and a short name takes ~290 bytes.
pub(super) const USER_JSON_BYTES_GUESS: usize = 320;
/// The most bytes per user the up-front reservation assumes (a user with ~50 grants).
const MAX_USER_JSON_BYTES_ESTIMATE: usize = 4096;
/// `{"users":[]}` and the NUL the C ABI appends, so a right guess never reallocates.
const ENVELOPE_BYTES: usize = 16;

/// The `users` array of the full list, serialised from the store one user at a time.
struct StreamedUsers<'a> {
    store: &'a dyn Store,
    /// A store failure, kept whole: through the serializer it could only travel as a message.
    failure: RefCell<Option<Error>>,
    written: Cell<usize>,
}

impl Serialize for StreamedUsers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut serialized = Ok(());
        let walked = self.store.for_each_user(&mut |user| {
            serialized = seq.serialize_element(&user.view());
            self.written.set(self.written.get() + 1);
            match serialized {
                Ok(()) => Ok(()),
                // Stops the walk; the serializer's own error is the one returned below.
                Err(_) => Err(Error::Internal("the user list did not serialise".into())),
            }
        });
        serialized?;
        if let Err(e) = walked {
            let message = e.to_string();
            self.failure.replace(Some(e));
            return Err(S::Error::custom(message));
        }
        seq.end()
    }
}

/// `{"users": [User], "nextCursor"?: "..."}`.
#[derive(Debug, Clone)]
pub struct UsersPage {
    pub users: Vec<crate::model::UserRecord>,
    pub next_cursor: Option<String>,
}

impl serde::Serialize for UsersPage {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            users: Vec<crate::model::UserView<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            next_cursor: Option<&'a str>,
        }
        Body {
            users: self
                .users
                .iter()
                .map(crate::model::UserRecord::view)
                .collect(),
            next_cursor: self.next_cursor.as_deref(),
        }
        .serialize(serializer)
    }
}

/// Opaque to clients: base64url of `folded username \n id` (neither can hold a newline).
fn encode_cursor(user: &crate::model::UserRecord) -> String {
    use base64::Engine as _;
    let key = format!(
        "{}\n{}",
        crate::model::fold_username(&user.username),
        user.id
    );
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

fn parse_role(text: &str) -> Result<Role> {
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

/// Who makes a change, for the audit trail: an admin's id, or `operator` for the command line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Actor<'a> {
    pub id: &'a str,
    pub client_ip: &'a str,
}

/// The audit action for a user update: Dagu's `user_update`, or a dedicated one for the two changes
/// operators search for most.
fn update_action(request: &UpdateUserRequest) -> &'static str {
    match request.is_disabled {
        Some(true) => "user_disable",
        Some(false) => "user_enable",
        None => "user_update",
    }
}

impl Engine {
    /// Admin, then licence: the check order of HTTP_API.md for user writes.
    fn licensed_admin(&self, caller: Credentials<'_>) -> Result<Principal> {
        let principal = self.admin(caller)?;
        if !self.config.has_feature(RBAC_FEATURE) {
            return Err(Error::Forbidden(msg::LICENSE_REQUIRED.into()));
        }
        Ok(principal)
    }

    /// Every user as records. Answers to callers go through `list_users_json`, which never holds
    /// them all.
    pub fn list_users<'a>(&self, caller: impl Into<Credentials<'a>>) -> Result<UsersEnvelope> {
        self.admin(caller)?;
        Ok(UsersEnvelope(self.store.list_users()?))
    }

    /// The full list as the JSON document `{"users": [User]}`, byte for byte what serialising
    /// `list_users` gives, written as the store yields each user: at 100,000 users the records
    /// and their views would take more memory than the 28 MiB document itself. The buffer is
    /// reserved up front from the user count and the size per user of the previous list, so it
    /// is not grown by doubling.
    pub fn list_users_json<'a>(&self, caller: impl Into<Credentials<'a>>) -> Result<Vec<u8>> {
        self.admin(caller)?;
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

        #[derive(Serialize)]
        struct Body<'a> {
            users: &'a StreamedUsers<'a>,
        }
        let streamed = StreamedUsers {
            store: self.store.as_ref(),
            failure: RefCell::new(None),
            written: Cell::new(0),
        };
        let serialized =
            Body { users: &streamed }.serialize(&mut serde_json::Serializer::new(&mut json));
        if let Some(e) = streamed.failure.take() {
            return Err(e);
        }
        serialized.map_err(|e| Error::Internal(e.to_string()))?;
        if let Some(average) = json.len().checked_div(streamed.written.get()) {
            self.user_json_bytes
                .store(average.max(1), Ordering::Relaxed);
        }
        Ok(json)
    }

    /// A page of the list: `limit` users (default 100, at most 1,000) after `cursor`, and the
    /// cursor of the next page when there is one. The cursor is the last user's folded username and
    /// id, so pages stay stable while users are added or removed.
    pub fn list_users_page<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<UsersPage> {
        self.admin(caller)?;
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
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
        Ok(UsersPage { users, next_cursor })
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
        let caller = caller.into();
        let admin = self.licensed_admin(caller)?.id();
        let actor = Actor {
            id: &admin,
            client_ip: caller.client_ip,
        };
        self.create_user_as(actor, request)
    }

    pub(super) fn create_user_as(
        &self,
        actor: Actor<'_>,
        request: CreateUserRequest,
    ) -> Result<UserEnvelope> {
        let username = validate_username(&request.username).map_err(Error::BadRequest)?;
        let role = parse_role(&request.role)?;
        let access = resolve_access(request.workspace_access, role)?;
        let normalized =
            password::check_rules(&self.config.password, &request.password, &username)?;
        // Saves a hash on the common mistake; the insert still enforces uniqueness under races.
        if self.store.user_by_username(&username)?.is_some() {
            return Err(Error::AlreadyExists(msg::USERNAME_TAKEN.into()));
        }
        let user = self.new_user(username, role, access, &normalized)?;
        self.store.insert_user(&user)?;
        self.cache.invalidate();
        let detail = json!({"username": user.username, "role": user.role, "workspaceAccess": user.workspace_access});
        self.audit("user_create", actor.id, &user.id, actor.client_ip, detail);
        Ok(UserEnvelope(user))
    }

    pub fn update_user<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        id: &str,
        request: UpdateUserRequest,
    ) -> Result<UserEnvelope> {
        let caller = caller.into();
        let admin = self.licensed_admin(caller)?;
        if admin.id() == id && request.is_disabled == Some(true) {
            return Err(Error::Forbidden("Cannot disable your own account".into()));
        }
        let admin = admin.id();
        let actor = Actor {
            id: &admin,
            client_ip: caller.client_ip,
        };
        self.update_user_as(actor, id, request)
    }

    pub(super) fn update_user_as(
        &self,
        actor: Actor<'_>,
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
        let detail = json!({
            "username": updated.username,
            "role": updated.role,
            "workspaceAccess": updated.workspace_access,
            "isDisabled": updated.disabled,
        });
        self.audit(
            update_action(&request),
            actor.id,
            id,
            actor.client_ip,
            detail,
        );
        Ok(UserEnvelope(updated))
    }

    pub fn delete_user<'a>(&self, caller: impl Into<Credentials<'a>>, id: &str) -> Result<()> {
        let caller = caller.into();
        let admin = self.licensed_admin(caller)?;
        if admin.id() == id {
            return Err(Error::Forbidden("Cannot delete your own account".into()));
        }
        let admin = admin.id();
        let actor = Actor {
            id: &admin,
            client_ip: caller.client_ip,
        };
        self.delete_user_as(actor, id)
    }

    pub(super) fn delete_user_as(&self, actor: Actor<'_>, id: &str) -> Result<()> {
        let mut username = String::new();
        self.store.delete_user(id, &mut |user| {
            username.clone_from(&user.username);
            Ok(())
        })?;
        self.cache.invalidate();
        self.audit(
            "user_delete",
            actor.id,
            id,
            actor.client_ip,
            json!({"username": username}),
        );
        Ok(())
    }

    /// Sets a new password for another user (or oneself) and ends all of that user's sessions.
    pub fn reset_password<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        id: &str,
        new_password: &str,
    ) -> Result<MessageBody> {
        let caller = caller.into();
        let admin = self.admin(caller)?.id();
        let actor = Actor {
            id: &admin,
            client_ip: caller.client_ip,
        };
        self.reset_password_as(actor, id, new_password)
    }

    pub(super) fn reset_password_as(
        &self,
        actor: Actor<'_>,
        id: &str,
        new_password: &str,
    ) -> Result<MessageBody> {
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
        self.audit(
            "password_reset",
            actor.id,
            id,
            actor.client_ip,
            json!({"username": target.username}),
        );
        Ok(MessageBody {
            message: "Password reset successfully",
        })
    }
}
