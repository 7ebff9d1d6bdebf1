//! Users: the User object, user management requests and the user lists.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};

use serde::ser::{Error as _, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::model::{
    AuthProvider, Principal, Role, UserRecord, WorkspaceAccess, WorkspaceAccessInput,
};
use crate::store::Store;

/// An API key authenticates against the plugin itself; Dagu, too, answers `builtin` for the
/// principal of an API key.
const KEY_AUTH_PROVIDER: AuthProvider = AuthProvider::Builtin;

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

/// The User object: never a hash, `isDisabled` only when true.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UserView<'a> {
    id: Cow<'a, str>,
    username: Cow<'a, str>,
    role: Role,
    workspace_access: &'a WorkspaceAccess,
    auth_provider: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_disabled: bool,
    /// Not in Dagu's User: whether sign-in asks this user for a second factor.
    mfa_enabled: bool,
    created_at: String,
    updated_at: String,
}

impl<'a> UserView<'a> {
    pub(super) fn of(user: &'a UserRecord) -> Self {
        Self {
            id: Cow::Borrowed(&user.id),
            username: Cow::Borrowed(&user.username),
            role: user.role,
            workspace_access: &user.workspace_access,
            auth_provider: user.auth_provider().as_str(),
            is_disabled: user.disabled,
            mfa_enabled: user.mfa_enabled(),
            created_at: rfc3339(user.created_at_ms),
            updated_at: rfc3339(user.updated_at_ms),
        }
    }

    /// A full User for an API key too, as Dagu attributes the key: a user-owned key as its owner
    /// (id, and the username snapshot the key keeps), a service account as `api_key:<id>` with
    /// its service account name; with the key's own role and grants either way (never the
    /// owner's), and the key's own times where Dagu sends zero times. A key that authenticates is
    /// never disabled.
    pub(super) fn of_principal(principal: &'a Principal) -> Self {
        match principal {
            Principal::User(user) => Self::of(user),
            Principal::ApiKey(key) => {
                let (id, username) = key.attributed_to();
                Self {
                    id,
                    username: Cow::Borrowed(username),
                    role: key.role,
                    workspace_access: &key.workspace_access,
                    auth_provider: KEY_AUTH_PROVIDER.as_str(),
                    is_disabled: false,
                    mfa_enabled: false,
                    created_at: rfc3339(key.created_at_ms),
                    updated_at: rfc3339(key.updated_at_ms),
                }
            }
        }
    }
}

/// `{"user": User}`.
#[derive(Serialize)]
struct UserBody<'a> {
    user: UserView<'a>,
}

/// Sign-in providers that overwrite a user's role, or workspace access, at each sign-in (Dagu's
/// `UserAuthProvider` values), so a UI shows those fields read-only for their users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedProviders {
    pub role: Vec<AuthProvider>,
    pub workspace_access: Vec<AuthProvider>,
}

fn provider_names(providers: &[AuthProvider]) -> Vec<&'static str> {
    providers.iter().map(|provider| provider.as_str()).collect()
}

/// Dagu's `UsersListResponse`: `{"users": [User], "oidcWorkspaceAccessSyncEnabled": false,
/// "managedRoleProviders": [], "managedWorkspaceAccessProviders": [], "nextCursor"?: "..."}`.
/// Every list answer, whole, paged or streamed, is this one body, so their shapes cannot drift.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsersBody<'a, U> {
    users: U,
    /// True when OIDC sign-ins overwrite workspace access.
    oidc_workspace_access_sync_enabled: bool,
    managed_role_providers: Vec<&'static str>,
    managed_workspace_access_providers: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<&'a str>,
}

impl<'a, U> UsersBody<'a, U> {
    fn of(users: U, managed: &ManagedProviders, next_cursor: Option<&'a str>) -> Self {
        Self {
            users,
            oidc_workspace_access_sync_enabled: managed
                .workspace_access
                .contains(&AuthProvider::Oidc),
            managed_role_providers: provider_names(&managed.role),
            managed_workspace_access_providers: provider_names(&managed.workspace_access),
            next_cursor,
        }
    }
}

fn user_views(users: &[UserRecord]) -> Vec<UserView<'_>> {
    users.iter().map(UserView::of).collect()
}

/// `{"user": User}`: user get, create and update.
#[derive(Debug, Clone)]
pub struct UserEnvelope(pub UserRecord);

serialize_as!(UserEnvelope, |envelope| UserBody {
    user: UserView::of(&envelope.0)
});

// `{"user": User}` for `/auth/me` and `verify`: the signed-in user, or the User of an API key.
serialize_as!(Principal, |principal| UserBody {
    user: UserView::of_principal(principal)
});

/// The whole list, `UsersListResponse` without `nextCursor`.
#[derive(Debug, Clone)]
pub struct UsersEnvelope(pub Vec<UserRecord>, pub ManagedProviders);

serialize_as!(UsersEnvelope, |envelope| UsersBody::of(
    user_views(&envelope.0),
    &envelope.1,
    None
));

/// The operator's `users.list`: only `{"users": [User]}`, since the SSO hints of the API's list
/// are for Dagu's UI.
#[derive(Debug, Clone)]
pub struct OperatorUsers(pub Vec<UserRecord>);

#[derive(Serialize)]
struct OperatorUsersBody<'a> {
    users: Vec<UserView<'a>>,
}

serialize_as!(OperatorUsers, |list| OperatorUsersBody {
    users: user_views(&list.0)
});

/// A page of the list: `UsersListResponse` with `nextCursor` when more follow.
#[derive(Debug, Clone)]
pub struct UsersPage {
    pub users: Vec<UserRecord>,
    pub next_cursor: Option<String>,
    pub managed: ManagedProviders,
}

serialize_as!(UsersPage, |page| UsersBody::of(
    user_views(&page.users),
    &page.managed,
    page.next_cursor.as_deref()
));

/// Writes the whole list for every user into `json`, one user at a time as the store yields
/// them, byte for byte what serialising a [`UsersEnvelope`] of them gives. Answers how many users
/// were written.
pub(in crate::service) fn write_user_list(
    store: &dyn Store,
    managed: &ManagedProviders,
    json: &mut Vec<u8>,
) -> Result<usize> {
    let streamed = StreamedUsers {
        store,
        failure: RefCell::new(None),
        written: Cell::new(0),
    };
    let serialized =
        UsersBody::of(&streamed, managed, None).serialize(&mut serde_json::Serializer::new(json));
    if let Some(e) = streamed.failure.take() {
        return Err(e);
    }
    serialized.map_err(|e| Error::Internal(e.to_string()))?;
    Ok(streamed.written.get())
}

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
            serialized = seq.serialize_element(&UserView::of(&user));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures;

    fn user_json(disabled: bool) -> serde_json::Value {
        let mut user = fixtures::user(Role::Developer, WorkspaceAccess::all());
        user.disabled = disabled;
        serde_json::to_value(UserEnvelope(user)).expect("serializes")["user"].clone()
    }

    #[test]
    fn user_json_never_contains_the_hash_and_hides_is_disabled_when_false() {
        let json = user_json(false);
        let text = json.to_string();
        assert!(!text.contains("argon2") && !text.contains("password"));
        assert!(json.get("isDisabled").is_none());
        assert_eq!(json["authProvider"], "builtin");
        assert_eq!(json["createdAt"], "1970-01-01T00:00:00Z");
        assert_eq!(
            json["workspaceAccess"],
            serde_json::json!({"all": true, "grants": []})
        );
    }

    #[test]
    fn disabled_users_show_is_disabled() {
        assert_eq!(user_json(true)["isDisabled"], true);
    }

    #[test]
    fn the_api_lists_carry_dagus_sso_fields_and_the_operator_list_only_users() {
        let users = vec![fixtures::user(Role::Viewer, WorkspaceAccess::all())];
        let sso_fields = serde_json::json!({
            "oidcWorkspaceAccessSyncEnabled": false,
            "managedRoleProviders": [],
            "managedWorkspaceAccessProviders": [],
        });
        let whole = serde_json::to_value(UsersEnvelope(users.clone(), Default::default()))
            .expect("serialises");
        let page = serde_json::to_value(UsersPage {
            users: users.clone(),
            next_cursor: Some("c".into()),
            managed: Default::default(),
        })
        .expect("serialises");
        for (list, extra) in [(whole, None), (page, Some("nextCursor"))] {
            let mut keys: Vec<&str> = list
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            let mut expected = vec![
                "managedRoleProviders",
                "managedWorkspaceAccessProviders",
                "oidcWorkspaceAccessSyncEnabled",
                "users",
            ];
            expected.extend(extra);
            expected.sort_unstable();
            assert_eq!(keys, expected);
            for (field, value) in sso_fields.as_object().expect("object") {
                assert_eq!(&list[field], value, "{field}");
            }
        }
        let operator = serde_json::to_value(OperatorUsers(users)).expect("serialises");
        assert_eq!(
            operator
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect::<Vec<_>>()),
            Some(vec!["users"])
        );
    }
}
