//! Operator commands: user management from the command line of a host, without a bearer token.
//!
//! Whoever can run these can already open the data folder and edit the database, so skipping the
//! token does not widen trust. Everything else is the admin path's: the same validation, the
//! licence gate, the last-enabled-admin guard, token revocation and an audit entry, with
//! `operator` as the actor.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::backup::{report_json, summary_json};
use super::users::{Actor, RBAC_FEATURE, resolve_access};
use super::{Engine, UserEnvelope, UsersEnvelope};
use crate::error::{Error, Result, msg};
use crate::model::{Role, UserRecord, WorkspaceAccessInput, validate_username};
use crate::password;
use crate::service::{CreateUserRequest, UpdateUserRequest};

/// The actor recorded in the audit trail for every operator command.
pub const OPERATOR: &str = "operator";

/// One command, as JSON: `{"command": "users.create", ...}`. Users are named by id or username.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "command", deny_unknown_fields)]
pub enum OperatorCommand {
    /// The first admin, only while no user exists; no session is started.
    #[serde(rename = "setup")]
    Setup { username: String, password: String },
    #[serde(rename = "users.list")]
    ListUsers,
    #[serde(rename = "users.create")]
    CreateUser {
        username: String,
        password: String,
        role: String,
        #[serde(default, rename = "workspaceAccess")]
        workspace_access: Option<WorkspaceAccessInput>,
    },
    #[serde(rename = "users.reset_password")]
    ResetPassword {
        user: String,
        #[serde(rename = "newPassword")]
        new_password: String,
    },
    #[serde(rename = "users.set_disabled")]
    SetDisabled { user: String, disabled: bool },
    #[serde(rename = "users.delete")]
    DeleteUser { user: String },
    /// Accounts from Dagu's file store (`users/*.json`), one JSON object each.
    #[serde(rename = "import_dagu_users")]
    ImportDaguUsers { users: Vec<Value> },
    /// An online backup into the new file `path`.
    #[serde(rename = "db.backup")]
    Backup { path: PathBuf },
    /// Refused while a server holds the data folder (see `backup.rs`).
    #[serde(rename = "db.restore")]
    Restore { path: PathBuf },
    /// Answers the report; problems are not an error, so the caller decides the exit status.
    #[serde(rename = "db.verify")]
    Verify,
}

/// A user as Dagu's file store writes it (`UserForStorage`).
#[derive(Debug, Deserialize)]
struct DaguUser {
    #[serde(default)]
    id: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password_hash: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    auth_provider: String,
    #[serde(default)]
    is_disabled: bool,
    /// Absent in files written before workspaces existed: all workspaces, as in Dagu.
    #[serde(default)]
    workspace_access: Option<WorkspaceAccessInput>,
}

/// What happened to one imported entry, in the order given.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImportOutcome {
    pub status: &'static str,
    pub id: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

const OPERATOR_ACTOR: Actor<'static> = Actor {
    id: OPERATOR,
    client_ip: "",
};

fn to_value(value: &impl Serialize) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(e.to_string()))
}

impl Engine {
    /// Runs one operator command and answers its JSON result.
    pub fn operator(&self, command: OperatorCommand) -> Result<Value> {
        match command {
            OperatorCommand::Setup { username, password } => {
                let user = self.create_first_admin(&username, &password, Some(OPERATOR), "")?;
                to_value(&UserEnvelope(user))
            }
            OperatorCommand::ListUsers => to_value(&UsersEnvelope(self.store.list_users()?)),
            OperatorCommand::CreateUser {
                username,
                password,
                role,
                workspace_access,
            } => {
                self.require_rbac()?;
                let request = CreateUserRequest {
                    username,
                    password,
                    role,
                    workspace_access,
                };
                to_value(&self.create_user_as(OPERATOR_ACTOR, request)?)
            }
            OperatorCommand::ResetPassword { user, new_password } => {
                let id = self.find_user(&user)?.id;
                to_value(&self.reset_password_as(OPERATOR_ACTOR, &id, &new_password)?)
            }
            OperatorCommand::SetDisabled { user, disabled } => {
                self.require_rbac()?;
                let id = self.find_user(&user)?.id;
                let request = UpdateUserRequest {
                    is_disabled: Some(disabled),
                    ..Default::default()
                };
                to_value(&self.update_user_as(OPERATOR_ACTOR, &id, request)?)
            }
            OperatorCommand::DeleteUser { user } => {
                self.require_rbac()?;
                let found = self.find_user(&user)?;
                self.delete_user_as(OPERATOR_ACTOR, &found.id)?;
                Ok(json!({"message": "User deleted", "id": found.id, "username": found.username}))
            }
            OperatorCommand::ImportDaguUsers { users } => {
                self.require_rbac()?;
                let outcomes = users
                    .into_iter()
                    .map(|raw| self.import_one(raw))
                    .collect::<Result<Vec<_>>>()?;
                Ok(json!({ "results": outcomes }))
            }
            OperatorCommand::Backup { path } => Ok(summary_json(&self.backup_to(&path)?)),
            OperatorCommand::Restore { path } => Ok(summary_json(&self.restore_from(&path)?)),
            OperatorCommand::Verify => Ok(report_json(&self.verify_store()?)),
        }
    }

    /// The licence gate of the API's user writes, without its admin check.
    fn require_rbac(&self) -> Result<()> {
        match self.config.has_feature(RBAC_FEATURE) {
            true => Ok(()),
            false => Err(Error::Forbidden(msg::LICENSE_REQUIRED.into())),
        }
    }

    /// By id first, so a username that looks like another user's id cannot shadow it.
    fn find_user(&self, id_or_username: &str) -> Result<UserRecord> {
        if let Some(user) = self.store.user_by_id(id_or_username)? {
            return Ok(user);
        }
        self.store
            .user_by_username(id_or_username)?
            .ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()))
    }

    /// Imports one Dagu account; a refusal is an outcome, not an error, so one bad file does not
    /// stop the rest. Errors of the store itself still fail the whole command.
    fn import_one(&self, raw: Value) -> Result<ImportOutcome> {
        let id = raw.get("id").and_then(Value::as_str).unwrap_or_default();
        let username = raw
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut outcome = ImportOutcome {
            status: "imported",
            id: id.to_string(),
            username: username.to_string(),
            reason: None,
        };
        let result = serde_json::from_value::<DaguUser>(raw)
            .map_err(|e| Error::InvalidJson(e.to_string()))
            .and_then(|user| self.insert_dagu_user(user));
        match result {
            Ok(user) => {
                self.audit(
                    "user_import",
                    OPERATOR,
                    &user.id,
                    "",
                    json!({"username": user.username, "role": user.role, "isDisabled": user.disabled}),
                );
            }
            Err(error @ (Error::Storage(_) | Error::Unavailable(_) | Error::Internal(_))) => {
                return Err(error);
            }
            Err(error) => {
                outcome.status = "skipped";
                outcome.reason = Some(error.to_string());
            }
        }
        Ok(outcome)
    }

    fn insert_dagu_user(&self, dagu: DaguUser) -> Result<UserRecord> {
        let id = dagu.id.trim();
        if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
            return Err(Error::bad_request("missing or invalid id"));
        }
        if !matches!(dagu.auth_provider.as_str(), "" | "builtin") {
            return Err(Error::bad_request(format!(
                "signs in through {}, not with a password",
                dagu.auth_provider
            )));
        }
        if !password::is_legacy_hash(&dagu.password_hash)
            && !dagu.password_hash.starts_with("$argon2id$")
        {
            return Err(Error::bad_request("no bcrypt password_hash"));
        }
        let username = validate_username(&dagu.username).map_err(Error::BadRequest)?;
        let role: Role = dagu.role.parse().map_err(Error::BadRequest)?;
        let access = resolve_access(dagu.workspace_access, role)?;
        if self.store.user_by_id(id)?.is_some() {
            return Err(Error::AlreadyExists("already imported (same id)".into()));
        }
        let now = self.now_ms();
        let created_at_ms = parse_time(dagu.created_at.as_deref()).unwrap_or(now);
        let user = UserRecord {
            id: id.to_string(),
            username,
            role,
            workspace_access: access,
            password_hash: dagu.password_hash,
            disabled: dagu.is_disabled,
            created_at_ms,
            updated_at_ms: parse_time(dagu.updated_at.as_deref()).unwrap_or(created_at_ms),
        };
        self.store.insert_user(&user)?;
        self.cache.invalidate();
        Ok(user)
    }
}

/// Dagu writes Go's RFC 3339 with nanoseconds; an unreadable time falls back rather than refuse
/// an otherwise good account.
fn parse_time(text: Option<&str>) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.timestamp_millis())
}
