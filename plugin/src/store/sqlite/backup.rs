//! Online backup and restore of the SQLite store through SQLite's backup API.
//!
//! A backup copies every page in one step, so it reads one WAL snapshot: consistent, and writers
//! in this or any other process carry on meanwhile. It is written next to its destination under a
//! temporary name and renamed into place once complete and synced, so a file with the final name
//! is always a whole backup (scheduled retention counts on that).
//!
//! A restore checks the backup first (schema version, `integrity_check`, our invariants), then
//! copies it into the live file through the store's own writer connection: the file keeps its
//! inode and mode, and SQLite, not a file copy, deals with the WAL.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::schema::{self, CURRENT_VERSION};
use super::verify::verify_database;
use super::{SqliteStore, count, sql_error};
use crate::error::{Error, Result};
use crate::store::username_keys;
use crate::store::{BackupSummary, VerifyReport};

/// How long a backup step may keep finding the database busy before giving up.
const BUSY_DEADLINE: Duration = Duration::from_secs(10);
const BUSY_PAUSE: Duration = Duration::from_millis(20);

pub(super) fn backup(store: &SqliteStore, dest: &Path) -> Result<BackupSummary> {
    if dest.exists() {
        return Err(Error::AlreadyExists(format!(
            "{} already exists; back up to a new file",
            dest.display()
        )));
    }
    let partial = partial_name(dest)?;
    let result = write_backup(store.path(), &partial).and_then(|()| {
        // A file appearing meanwhile (another scheduled run) is kept rather than overwritten.
        if dest.exists() {
            return Err(Error::AlreadyExists(format!(
                "{} already exists; back up to a new file",
                dest.display()
            )));
        }
        fs::rename(&partial, dest).map_err(|e| io_error("cannot move the backup into", dest, e))?;
        sync_parent(dest);
        Ok(())
    });
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result?;
    summarize(dest, verify_database(dest)?)
}

/// `.NAME.<uuid>.partial` beside `dest`: same filesystem, so the final rename is atomic.
fn partial_name(dest: &Path) -> Result<PathBuf> {
    let name = dest
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::bad_request(format!("{} is not a file name", dest.display())))?;
    Ok(dest.with_file_name(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple())))
}

fn write_backup(live: &Path, partial: &Path) -> Result<()> {
    // Created here, 0600, so SQLite opens an existing private file instead of creating one with
    // the process umask.
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial)
        .map_err(|e| io_error("cannot create", partial, e))?;
    let source = open_checked(live, false)?;
    let mut copy = Connection::open(partial).map_err(|e| sqlite_at(partial, e))?;
    copy_all(&source, &mut copy, live)?;
    drop(copy);
    // Page 1 came from a WAL database and says so; switching the copy to a rollback journal
    // makes it one self-contained file, with no -wal or -shm beside it.
    let copy = Connection::open(partial).map_err(|e| sqlite_at(partial, e))?;
    copy.pragma_update_and_check(None, "journal_mode", "DELETE", |row| {
        row.get::<_, String>(0)
    })
    .map_err(|e| sqlite_at(partial, e))?;
    drop(copy);
    fs::File::open(partial)
        .and_then(|file| file.sync_all())
        .map_err(|e| io_error("cannot sync", partial, e))
}

pub(super) fn restore(store: &SqliteStore, source_path: &Path) -> Result<BackupSummary> {
    let source = open_checked(source_path, true)?;
    let version = version_of(&source, source_path)?;
    if version > CURRENT_VERSION {
        return Err(Error::Conflict(format!(
            "{} has schema version {version}, newer than this dagu-auth supports \
             ({CURRENT_VERSION}); restore it with a newer dagu-auth",
            source_path.display()
        )));
    }
    if version < 1 {
        return Err(Error::bad_request(format!(
            "{} is not a dagu-auth database (schema version {version})",
            source_path.display()
        )));
    }
    // A file too damaged for integrity_check to finish is as untrustworthy as one it faults.
    let report = verify_database(source_path).map_err(|e| {
        Error::Conflict(format!(
            "{} is damaged, nothing was restored: {e}",
            source_path.display()
        ))
    })?;
    // Usernames left clashing by the migration to the username rules are for an admin to rename;
    // the database the backup came from has them too, so they do not block a restore.
    if report
        .problems
        .iter()
        .any(|problem| !username_keys::is_username_problem(problem))
    {
        return Err(Error::Conflict(format!(
            "{} does not verify, nothing was restored: {report}",
            source_path.display()
        )));
    }
    {
        let mut live = store.lock_writer();
        let page_size = |conn: &Connection| {
            conn.query_row("PRAGMA page_size", [], count)
                .map_err(sql_error)
        };
        // SQLite cannot change the page size of a database in WAL mode through a backup.
        if page_size(&source)? != page_size(&live)? {
            return Err(Error::Conflict(format!(
                "{} uses another page size than the live database; it cannot be restored in place",
                source_path.display()
            )));
        }
        copy_all(&source, &mut live, source_path)?;
        schema::migrate(&mut live)?;
        // Sessions revoked after the backup was taken (logout, password reset, disable) would
        // otherwise come back to life; everyone signs in again instead.
        live.execute("DELETE FROM sessions", [])
            .map_err(sql_error)?;
    }
    let report = verify_database(store.path())?;
    summarize(store.path(), report)
}

/// The schema version of the database file at `path`, read without changing it.
pub fn schema_version(path: &Path) -> Result<i64> {
    version_of(&open_checked(path, true)?, path)
}

fn version_of(conn: &Connection, path: &Path) -> Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| sqlite_at(path, e))
}

/// Opens an existing database (never creating one) and proves it is one by reading its header.
fn open_checked(path: &Path, read_only: bool) -> Result<Connection> {
    if !path.is_file() {
        return Err(Error::NotFound(format!("{} is not a file", path.display())));
    }
    let flags = match read_only {
        true => OpenFlags::SQLITE_OPEN_READ_ONLY,
        false => OpenFlags::SQLITE_OPEN_READ_WRITE,
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| sqlite_at(path, e))?;
    conn.busy_timeout(BUSY_DEADLINE)
        .map_err(|e| sqlite_at(path, e))?;
    if !read_only {
        conn.pragma_update(None, "query_only", "ON")
            .map_err(|e| sqlite_at(path, e))?;
    }
    conn.query_row("SELECT COUNT(*) FROM sqlite_schema", [], count)
        .map_err(|e| sqlite_at(path, e))?;
    Ok(conn)
}

/// Every page in one step: one read transaction on the source, hence one consistent snapshot.
fn copy_all(source: &Connection, dest: &mut Connection, source_path: &Path) -> Result<()> {
    let backup = Backup::new(source, dest).map_err(|e| sqlite_at(source_path, e))?;
    let deadline = Instant::now() + BUSY_DEADLINE;
    loop {
        match backup.step(-1).map_err(|e| sqlite_at(source_path, e))? {
            StepResult::Done => return Ok(()),
            StepResult::More | StepResult::Busy | StepResult::Locked
                if Instant::now() < deadline =>
            {
                std::thread::sleep(BUSY_PAUSE);
            }
            _ => {
                return Err(Error::Unavailable(
                    "the user database stayed busy; retry the backup shortly".into(),
                ));
            }
        }
    }
}

fn summarize(path: &Path, report: VerifyReport) -> Result<BackupSummary> {
    let conn = open_checked(path, true)?;
    let users = conn
        .query_row("SELECT COUNT(*) FROM users", [], count)
        .map_err(|e| sqlite_at(path, e))?;
    let bytes = fs::metadata(path)
        .map_err(|e| io_error("cannot read", path, e))?
        .len();
    Ok(BackupSummary {
        path: path.to_path_buf(),
        bytes,
        schema_version: version_of(&conn, path)?,
        users,
        report,
    })
}

/// The rename is durable only once the folder is synced; a failure here loses no data, at most
/// the name after a power cut.
fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = fs::File::open(parent).and_then(|dir| dir.sync_all());
    }
}

fn sqlite_at(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::Conflict(format!(
                "{} is not a SQLite database or is damaged ({e})",
                path.display()
            ))
        }
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::Unavailable(format!("{} is busy; retry shortly", path.display()))
        }
        _ => Error::Storage(format!("{}: {e}", path.display())),
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Storage(format!("{what} {}: {e}", path.display()))
}
