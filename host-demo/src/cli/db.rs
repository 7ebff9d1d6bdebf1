//! `host-demo db backup|restore|verify`: each one `dagu_auth_operator` command, so the plugin
//! decides what a sound backup is and when a restore is allowed (not while a server holds the
//! data folder, see `server_lock.rs`).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::{Value, json};

use super::{CommandError, CommandResult, call};
use crate::EXIT_FAILURE;
use crate::plugin::LoadedPlugin;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Back up the user database to a new FILE while servers keep serving (SQLite backup API).
    Backup { file: PathBuf },
    /// Replace the user database with a backup; refused while a server uses the data folder.
    Restore { file: PathBuf },
    /// Check the user database: SQLite's integrity_check plus dagu-auth's invariants.
    /// Exits 0 when clean, 1 otherwise.
    Verify {
        /// Print the plugin's JSON instead of the report.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run(plugin: &LoadedPlugin, command: DbCommand) -> CommandResult {
    match command {
        DbCommand::Backup { file } => {
            let answer = call(
                plugin,
                json!({"command": "db.backup", "path": absolute(&file)?}),
            )?;
            println!(
                "backed up {} users to {} ({} bytes, schema version {}); verify: ok",
                answer["users"],
                text(&answer["path"]),
                answer["bytes"],
                answer["schemaVersion"]
            );
        }
        DbCommand::Restore { file } => {
            let answer = call(
                plugin,
                json!({"command": "db.restore", "path": absolute(&file)?}),
            )?;
            let verify = &answer["verify"];
            println!(
                "restored {} users from {} (schema version {}); every session has ended",
                answer["users"],
                file.display(),
                answer["schemaVersion"]
            );
            if verify["ok"] != true {
                return Err(report_failure(verify));
            }
            println!("verify: ok");
        }
        DbCommand::Verify { json } => {
            let answer = call(plugin, json!({"command": "db.verify"}))?;
            match json {
                true => println!("{answer}"),
                false => print_report(&answer),
            }
            if answer["ok"] != true {
                return Err(report_failure(&answer));
            }
        }
    }
    Ok(())
}

/// What to do when the plugin cannot even open the live database: the usual reason to restore.
pub(super) fn open_failure_hint(
    error: CommandError,
    command: &super::OperatorCommand,
) -> CommandError {
    match command {
        super::OperatorCommand::Db(DbCommand::Restore { .. }) if error.code == EXIT_FAILURE => {
            CommandError {
                message: format!(
                    "{}\nto restore over a database that cannot be opened, stop every server, move \
                 auth/auth.db (with auth.db-wal and auth.db-shm) out of the data folder, and run \
                 db restore again: it starts from a fresh database",
                    error.message
                ),
                ..error
            }
        }
        _ => error,
    }
}

fn print_report(answer: &Value) {
    let problems = answer["problems"].as_array().map_or(&[][..], |v| v);
    if problems.is_empty() {
        println!("ok: integrity_check passed and every invariant holds");
        return;
    }
    println!("{} problem(s):", problems.len());
    for problem in problems {
        println!("  - {}", text(problem));
    }
}

fn report_failure(report: &Value) -> CommandError {
    let count = report["problems"].as_array().map_or(0, Vec::len);
    CommandError::failed(format!("the database does not verify ({count} problem(s))"))
}

/// The plugin runs in this process, but a full path makes its messages unambiguous.
fn absolute(file: &Path) -> Result<String, CommandError> {
    let path = std::path::absolute(file)
        .map_err(|e| CommandError::config(format!("{}: {e}", file.display())))?;
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| CommandError::config(format!("{} is not valid UTF-8", path.display())))
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}
