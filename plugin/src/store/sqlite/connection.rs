//! Opening the database file: created private, connections set up the same way every time, and a
//! damaged or foreign file refused before anything reads it.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::{Error, Result};

/// Lock waits end with "busy, retry" rather than hanging a caller.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Created 0600 here, so SQLite opens an existing private file instead of creating one with the
/// process umask.
pub fn create_private_file(path: &Path) -> Result<()> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::Storage(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

/// WAL, so readers never wait for the writer; `synchronous=FULL`, so an acknowledged write
/// survives a power cut; foreign keys, so sessions and keys go with their user.
pub fn connect(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::Storage(format!("cannot open {}: {e}", path.display())))?;
    let setup = || -> rusqlite::Result<()> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        if read_only {
            conn.pragma_update(None, "query_only", "ON")?;
        }
        Ok(())
    };
    setup().map_err(|e| damaged(path, e))?;
    Ok(conn)
}

pub fn check_integrity(conn: &Connection, path: &Path) -> Result<()> {
    let verdict: String = conn
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(|e| damaged(path, e))?;
    match verdict.as_str() {
        "ok" => Ok(()),
        problem => Err(Error::Storage(format!(
            "the user database {} is damaged ({problem}); restore it from a backup",
            path.display()
        ))),
    }
}

/// (device, inode): what tells the file opened from another one put under the same name.
pub fn file_id_of(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

fn damaged(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => Error::Storage(format!(
            "the user database {} is damaged ({e}); restore it from a backup",
            path.display()
        )),
        _ => Error::Storage(format!("cannot use {}: {e}", path.display())),
    }
}
