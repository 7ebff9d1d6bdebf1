//! Operator commands: the command JSON a host's command line sends, Dagu's user files it imports,
//! and the answers.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{UserRecord, WorkspaceAccessInput};
use crate::store::{BackupSummary, VerifyReport};

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
    /// Refused while a server holds the data folder (see `service/backup.rs`).
    #[serde(rename = "db.restore")]
    Restore { path: PathBuf },
    /// Answers the report; problems are not an error, so the caller decides the exit status.
    #[serde(rename = "db.verify")]
    Verify,
}

/// A user as Dagu's file store writes it (`UserForStorage`).
#[derive(Debug, Deserialize)]
pub(in crate::service) struct DaguUser {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password_hash: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub auth_provider: String,
    #[serde(default)]
    pub is_disabled: bool,
    /// Absent in files written before workspaces existed: all workspaces, as in Dagu.
    #[serde(default)]
    pub workspace_access: Option<WorkspaceAccessInput>,
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

/// `{"results": [ImportOutcome]}`.
#[derive(Serialize)]
pub(in crate::service) struct ImportAnswer {
    pub results: Vec<ImportOutcome>,
}

/// The answer of `users.delete`.
#[derive(Serialize)]
pub(in crate::service) struct DeletedUser<'a> {
    message: &'static str,
    id: &'a str,
    username: &'a str,
}

impl<'a> DeletedUser<'a> {
    pub fn of(user: &'a UserRecord) -> Self {
        Self {
            message: "User deleted",
            id: &user.id,
            username: &user.username,
        }
    }
}

/// The answer of `db.backup` and `db.restore`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(in crate::service) struct BackupAnswer<'a> {
    path: String,
    bytes: u64,
    schema_version: i64,
    users: u64,
    verify: VerifyAnswer<'a>,
}

impl<'a> BackupAnswer<'a> {
    pub fn of(summary: &'a BackupSummary) -> Self {
        Self {
            path: summary.path.display().to_string(),
            bytes: summary.bytes,
            schema_version: summary.schema_version,
            users: summary.users,
            verify: VerifyAnswer::of(&summary.report),
        }
    }
}

/// The answer of `db.verify`: problems are not an error, so the caller decides the exit status.
#[derive(Serialize)]
pub(in crate::service) struct VerifyAnswer<'a> {
    ok: bool,
    problems: &'a [String],
}

impl<'a> VerifyAnswer<'a> {
    pub fn of(report: &'a VerifyReport) -> Self {
        Self {
            ok: report.is_ok(),
            problems: &report.problems,
        }
    }
}
