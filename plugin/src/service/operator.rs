//! Operator commands: user management from the command line of a host, without a bearer token.
//!
//! Whoever can run these can already open the data folder and edit the database, so skipping the
//! token does not widen trust. Everything else is the admin path's: the same validation, the
//! licence gate, the last-enabled-admin rule, token revocation and an audit entry, with
//! `operator` as the actor.

use serde::Serialize;
use serde_json::{Value, json};

use super::Engine;
use super::audit::{Actor, Event};
use super::users::{parse_role, resolve_access};
use super::wire::{
    BackupAnswer, CreateUserRequest, DaguUser, DeletedUser, ImportAnswer, ImportOutcome,
    OperatorCommand, OperatorUsers, UpdateUserRequest, UserEnvelope, VerifyAnswer,
};
use crate::clock::parse_rfc3339;
use crate::error::{Error, Result, msg};
use crate::model::{UserRecord, validate_username};
use crate::password;

fn to_value(value: &impl Serialize) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(e.to_string()))
}

impl Engine {
    /// Runs one operator command and answers its JSON result.
    pub fn operator(&self, command: OperatorCommand) -> Result<Value> {
        match command {
            OperatorCommand::Setup { username, password } => {
                let user =
                    self.create_first_admin(&username, &password, Some(Actor::operator()), "")?;
                to_value(&UserEnvelope(user))
            }
            OperatorCommand::ListUsers => to_value(&OperatorUsers(self.store.list_users()?)),
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
                to_value(&self.create_user_as(&Actor::operator(), request)?)
            }
            OperatorCommand::ResetPassword { user, new_password } => {
                let id = self.find_user(&user)?.id;
                to_value(&self.reset_password_as(&Actor::operator(), &id, &new_password)?)
            }
            OperatorCommand::SetDisabled { user, disabled } => {
                self.require_rbac()?;
                let id = self.find_user(&user)?.id;
                let request = UpdateUserRequest {
                    is_disabled: Some(disabled),
                    ..Default::default()
                };
                to_value(&self.update_user_as(&Actor::operator(), &id, request)?)
            }
            OperatorCommand::DeleteUser { user } => {
                self.require_rbac()?;
                let found = self.find_user(&user)?;
                self.delete_user_as(&Actor::operator(), &found.id)?;
                to_value(&DeletedUser::of(&found))
            }
            OperatorCommand::ImportDaguUsers { users } => {
                self.require_rbac()?;
                let results = users
                    .into_iter()
                    .map(|raw| self.import_one(raw))
                    .collect::<Result<Vec<_>>>()?;
                to_value(&ImportAnswer { results })
            }
            OperatorCommand::Backup { path } => {
                to_value(&BackupAnswer::of(&self.backup_to(&path)?))
            }
            OperatorCommand::Restore { path } => {
                to_value(&BackupAnswer::of(&self.restore_from(&path)?))
            }
            OperatorCommand::Verify => to_value(&VerifyAnswer::of(&self.verify_store()?)),
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
                let details = json!({
                    "target_user_id": user.id,
                    "target_username": user.username,
                    "role": user.role,
                    "is_disabled": user.disabled,
                });
                let event = Event::user("user_import", &user.id).details(details);
                self.audit(&Actor::operator(), event);
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
        let role = parse_role(&dagu.role)?;
        let access = resolve_access(dagu.workspace_access, role)?;
        if self.store.user_by_id(id)?.is_some() {
            return Err(Error::AlreadyExists("already imported (same id)".into()));
        }
        let now = self.now_ms();
        // Dagu writes Go's RFC 3339 with nanoseconds; an unreadable time falls back rather than
        // refuse an otherwise good account.
        let created_at_ms = dagu
            .created_at
            .as_deref()
            .and_then(parse_rfc3339)
            .unwrap_or(now);
        let user = UserRecord {
            sso: None,
            id: id.to_string(),
            username,
            role,
            workspace_access: access,
            password_hash: dagu.password_hash,
            disabled: dagu.is_disabled,
            created_at_ms,
            updated_at_ms: dagu
                .updated_at
                .as_deref()
                .and_then(parse_rfc3339)
                .unwrap_or(created_at_ms),
            mfa: Default::default(),
        };
        self.store.insert_user(&user)?;
        self.cache.invalidate();
        Ok(user)
    }
}
