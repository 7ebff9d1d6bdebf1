//! The operator command line: setup, user recovery and the Dagu import, on the server's data folder
//! and configuration, safe to run while a server is serving it (SQLite in WAL mode; the server
//! notices the change within the plugin's cross-process refresh bound).
//!
//! Every rule is the plugin's: each subcommand is one `dagu_auth_operator` command, so the command
//! line validates exactly like the HTTP API and audits as `operator`.

use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::config::AuthMode;
use crate::plugin::LoadedPlugin;
use crate::{EXIT_CONFIG, EXIT_FAILURE};

mod db;

/// Accounts sent to the plugin per call: small enough to report progress every second or so.
const IMPORT_BATCH: usize = 200;

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create the first admin (only while no user exists).
    Setup(SetupArgs),
    /// List, create and recover users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Import a Dagu `users/` folder (one JSON file per user, bcrypt hashes).
    ImportDaguUsers {
        /// The folder of Dagu user files.
        dir: PathBuf,
    },
    /// Back up, restore and verify the user database.
    #[command(subcommand)]
    Db(db::DbCommand),
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Asked for when missing.
    #[arg(long)]
    username: Option<String>,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List every user.
    List {
        /// Print the plugin's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a user.
    Create {
        username: String,
        /// admin, manager, developer, operator or viewer.
        #[arg(long)]
        role: String,
        /// Limit to workspaces, each as WORKSPACE=ROLE (repeat; the role must then be viewer).
        #[arg(long = "workspace", value_name = "WORKSPACE=ROLE")]
        workspaces: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password; the user's sessions end.
    ResetPassword {
        /// Username or id.
        user: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user; their sessions end.
    Disable {
        /// Username or id.
        user: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Username or id.
        user: String,
    },
    /// Delete a user.
    Delete {
        /// Username or id.
        user: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// Why an operator command did not complete, with the exit status it maps to: `EXIT_CONFIG` for
/// what the operator must fix in the configuration or the command line, `EXIT_FAILURE` otherwise.
struct CommandError {
    code: u8,
    message: String,
}

impl CommandError {
    fn failed(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    fn config(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_CONFIG,
            message: message.into(),
        }
    }
}

type CommandResult = Result<(), CommandError>;

pub fn run(config_file: Option<&Path>, command: OperatorCommand) -> ExitCode {
    let opened = open(config_file).map_err(|error| db::open_failure_hint(error, &command));
    match opened.and_then(|plugin| dispatch(&plugin, command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            say!("host-demo: {}", error.message);
            ExitCode::from(error.code)
        }
    }
}

/// Opens the plugin as the server would, without the server's start-up messages.
fn open(config_file: Option<&Path>) -> Result<LoadedPlugin, CommandError> {
    let config = crate::load_config(config_file).map_err(CommandError::config)?;
    if config.auth_mode == AuthMode::None {
        return Err(CommandError::config(
            "auth.mode is none: there are no users to manage",
        ));
    }
    LoadedPlugin::open_configured(&config).map_err(|e| match e.is_configuration() {
        true => CommandError::config(e.to_string()),
        false => CommandError::failed(e.to_string()),
    })
}

fn call(plugin: &LoadedPlugin, command: Value) -> Result<Value, CommandError> {
    let answer = plugin
        .operator(&command.to_string())
        .map_err(|e| CommandError::failed(e.message.clone()))?;
    serde_json::from_str(&answer)
        .map_err(|e| CommandError::failed(format!("the plugin answered invalid JSON: {e}")))
}

fn dispatch(plugin: &LoadedPlugin, command: OperatorCommand) -> CommandResult {
    match command {
        OperatorCommand::Setup(args) => setup(plugin, args),
        OperatorCommand::Users(command) => users(plugin, command),
        OperatorCommand::ImportDaguUsers { dir } => import(plugin, &dir),
        OperatorCommand::Db(command) => db::run(plugin, command),
    }
}

fn setup(plugin: &LoadedPlugin, args: SetupArgs) -> CommandResult {
    let username = match args.username {
        Some(name) => name,
        None if args.password_stdin => {
            return Err(CommandError::config("--password-stdin needs --username"));
        }
        None => prompt_line("Admin username: ")?,
    };
    let password = new_password(args.password_stdin)?;
    let answer = call(
        plugin,
        json!({"command": "setup", "username": username, "password": password}),
    )?;
    println!(
        "created admin {} ({}); sign in at /login",
        answer["user"]["username"].as_str().unwrap_or_default(),
        answer["user"]["id"].as_str().unwrap_or_default()
    );
    Ok(())
}

fn users(plugin: &LoadedPlugin, command: UsersCommand) -> CommandResult {
    match command {
        UsersCommand::List { json } => {
            let answer = call(plugin, json!({"command": "users.list"}))?;
            match json {
                true => println!("{answer}"),
                false => print_table(answer["users"].as_array().map_or(&[][..], |v| v)),
            }
        }
        UsersCommand::Create {
            username,
            role,
            workspaces,
            password_stdin,
        } => {
            let mut command =
                json!({"command": "users.create", "username": username, "role": role});
            if !workspaces.is_empty() {
                command["workspaceAccess"] = scoped_access(&workspaces)?;
            }
            command["password"] = json!(new_password(password_stdin)?);
            let answer = call(plugin, command)?;
            println!(
                "created {} ({})",
                answer["user"]["username"].as_str().unwrap_or_default(),
                answer["user"]["id"].as_str().unwrap_or_default()
            );
        }
        UsersCommand::ResetPassword {
            user,
            password_stdin,
        } => {
            let password = new_password(password_stdin)?;
            call(
                plugin,
                json!({"command": "users.reset_password", "user": user, "newPassword": password}),
            )?;
            println!("password reset for {user}; their sessions have ended");
        }
        UsersCommand::Disable { user } => {
            call(
                plugin,
                json!({"command": "users.set_disabled", "user": user, "disabled": true}),
            )?;
            println!("disabled {user}; their sessions have ended");
        }
        UsersCommand::Enable { user } => {
            call(
                plugin,
                json!({"command": "users.set_disabled", "user": user, "disabled": false}),
            )?;
            println!("enabled {user}");
        }
        UsersCommand::Delete { user, yes } => {
            if !yes && !confirm(&format!("Delete user {user}? [y/N] "))? {
                return Err(CommandError::failed("not deleted"));
            }
            call(plugin, json!({"command": "users.delete", "user": user}))?;
            println!("deleted {user}");
        }
    }
    Ok(())
}

/// `ops=developer` pairs as scoped workspace access; the plugin checks names and roles.
fn scoped_access(pairs: &[String]) -> Result<Value, CommandError> {
    let grants = pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((workspace, role)) => Ok(json!({"workspace": workspace, "role": role})),
            None => Err(CommandError::config(format!(
                "--workspace {pair}: expected WORKSPACE=ROLE"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"all": false, "grants": grants}))
}

fn print_table(users: &[Value]) {
    let text = |user: &Value, key: &str| user[key].as_str().unwrap_or_default().to_string();
    let rows: Vec<[String; 5]> = users
        .iter()
        .map(|user| {
            [
                text(user, "username"),
                text(user, "role"),
                access_summary(&user["workspaceAccess"]),
                match user["isDisabled"].as_bool() {
                    Some(true) => "disabled".into(),
                    _ => "enabled".into(),
                },
                text(user, "id"),
            ]
        })
        .collect();
    let header = ["USERNAME", "ROLE", "WORKSPACES", "STATUS", "ID"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

fn access_summary(access: &Value) -> String {
    if access["all"].as_bool().unwrap_or(true) {
        return "all".into();
    }
    let grants = access["grants"].as_array().map_or(&[][..], |v| v);
    grants
        .iter()
        .map(|g| {
            format!(
                "{}={}",
                g["workspace"].as_str().unwrap_or_default(),
                g["role"].as_str().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A new password: the first line of standard input, or typed twice without echo.
fn new_password(from_stdin: bool) -> Result<String, CommandError> {
    if from_stdin {
        let mut line = String::new();
        io::stdin().lock().read_line(&mut line).map_err(|e| {
            CommandError::failed(format!("cannot read the password from stdin: {e}"))
        })?;
        let password = line.strip_suffix('\n').unwrap_or(&line);
        let password = password.strip_suffix('\r').unwrap_or(password);
        return Ok(password.to_string());
    }
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|e| {
            CommandError::config(format!(
                "cannot prompt for a password ({e}); use --password-stdin"
            ))
        })
    };
    let first = read("New password: ")?;
    if read("Repeat password: ")? != first {
        return Err(CommandError::failed("the passwords do not match"));
    }
    Ok(first)
}

fn prompt_line(prompt: &str) -> Result<String, CommandError> {
    if !io::stdin().is_terminal() {
        return Err(CommandError::config(format!(
            "{} is required when not typing at a terminal",
            prompt.trim_end_matches([':', ' '])
        )));
    }
    print!("{prompt}");
    io::stdout().flush().ok();
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CommandError::failed(format!("cannot read standard input: {e}")))?;
    Ok(line.trim().to_string())
}

fn confirm(question: &str) -> Result<bool, CommandError> {
    if !io::stdin().is_terminal() {
        return Err(CommandError::config(
            "not at a terminal: pass --yes to confirm the deletion",
        ));
    }
    let answer = prompt_line(question)?;
    Ok(matches!(answer.as_str(), "y" | "Y" | "yes"))
}

/// One Dagu user file, or why it could not be read.
struct Entry {
    file: String,
    user: Result<Value, String>,
}

fn read_dagu_dir(dir: &Path) -> Result<Vec<Entry>, CommandError> {
    let listing = fs::read_dir(dir)
        .map_err(|e| CommandError::config(format!("cannot read {}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = listing
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json") && path.is_file())
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| {
            let file = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let user = fs::read(&path)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|bytes| {
                    serde_json::from_slice::<Value>(&bytes).map_err(|e| format!("not JSON: {e}"))
                });
            Entry { file, user }
        })
        .collect())
}

fn import(plugin: &LoadedPlugin, dir: &Path) -> CommandResult {
    let entries = read_dagu_dir(dir)?;
    let total = entries.len();
    let mut imported = 0usize;
    let mut skipped: Vec<(String, String)> = Vec::new();
    let mut done = 0usize;
    for batch in entries.chunks(IMPORT_BATCH) {
        let mut readable = Vec::new();
        let mut files = Vec::new();
        for entry in batch {
            match &entry.user {
                Ok(user) => {
                    readable.push(user.clone());
                    files.push(entry.file.as_str());
                }
                Err(reason) => skipped.push((entry.file.clone(), reason.clone())),
            }
        }
        if !readable.is_empty() {
            let answer = call(
                plugin,
                json!({"command": "import_dagu_users", "users": readable}),
            )?;
            let results = answer["results"].as_array().map_or(&[][..], |v| v);
            for (file, result) in files.iter().zip(results) {
                match result["status"].as_str() {
                    Some("imported") => imported += 1,
                    _ => skipped.push((
                        file.to_string(),
                        result["reason"].as_str().unwrap_or("skipped").to_string(),
                    )),
                }
            }
        }
        done += batch.len();
        if total > IMPORT_BATCH {
            say!(
                "progress: {done}/{total} files (imported {imported}, skipped {})",
                skipped.len()
            );
        }
    }
    for (file, reason) in &skipped {
        println!("skipped {file}: {reason}");
    }
    println!(
        "imported {imported}, skipped {} of {total} files from {}",
        skipped.len(),
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_pairs_become_scoped_access() {
        let access =
            scoped_access(&["ops=developer".into(), "data=viewer".into()]).unwrap_or_else(|f| {
                panic!("{}", f.message);
            });
        assert_eq!(
            access,
            json!({"all": false, "grants": [
                {"workspace": "ops", "role": "developer"},
                {"workspace": "data", "role": "viewer"}]})
        );
        assert!(scoped_access(&["ops".into()]).is_err());
    }

    #[test]
    fn access_is_summarised_as_all_or_the_grants() {
        assert_eq!(access_summary(&json!({"all": true, "grants": []})), "all");
        let scoped = json!({"all": false, "grants": [{"workspace": "ops", "role": "viewer"}]});
        assert_eq!(access_summary(&scoped), "ops=viewer");
    }
}
