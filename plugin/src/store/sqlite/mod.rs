//! The embedded default store: one SQLite file in WAL mode, one writer connection, a few readers.
//!
//! Every write is a `BEGIN IMMEDIATE` transaction with `synchronous=FULL`: most writes here revoke
//! access or create accounts, and ~100 us per commit is small next to a password hash.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior,
    params,
};

mod audit;
mod backup;
mod keys;
mod schema;
mod verify;

pub use backup::schema_version;
pub use verify::verify_database;

use super::layout::{self, Columns, SESSION_COLUMNS, USER_COLUMNS};
use super::rules::{self, COUNT_ENABLED_ADMINS};
use super::{BackupSummary, Session, Store, UpdateEffects, UserChange, VerifyReport};
use crate::error::{Error, Result, msg};
use crate::model::{ApiKeyRecord, AuditEvent, AuditQuery, UserRecord, fold_username};

pub const DATABASE_FILE: &str = "auth.db";
/// Lock waits end with "busy, retry" rather than hanging a caller.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_IDLE_READERS: usize = 4;

pub struct SqliteStore {
    path: PathBuf,
    /// (device, inode) of the file opened: see `check_still_in_place`.
    file_id: (u64, u64),
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating when missing) `<auth_dir>/auth.db`; fails closed on a damaged or newer file.
    pub fn open(auth_dir: &Path) -> Result<Self> {
        let path = auth_dir.join(DATABASE_FILE);
        create_private_file(&path)?;
        let mut writer = connect(&path, false)?;
        check_integrity(&writer, &path)?;
        schema::migrate(&mut writer)?;
        let file_id = fs::metadata(&path)
            .map(|meta| file_id_of(&meta))
            .map_err(|e| Error::storage(format!("cannot read {}: {e}", path.display())))?;
        Ok(Self {
            path,
            file_id,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses to write when the database file was deleted (or replaced) while open. SQLite would
    /// carry on writing to the unlinked file, and every change acknowledged from then on would
    /// vanish at the next start: better a clear error now (one `stat` per write, ~1 us against a
    /// write's ~150 us). Reads keep answering from the open file.
    fn check_still_in_place(&self) -> Result<()> {
        let path = self.path.display();
        match fs::metadata(&self.path) {
            Ok(meta) if file_id_of(&meta) == self.file_id => Ok(()),
            Ok(_) => Err(Error::storage(format!(
                "{path} was replaced while this host had it open; writes are refused so that none \
                 goes to the old file: restart the host to use the new one"
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::storage(format!(
                "{path} was deleted while this host had it open; writes are refused so that none \
                 is lost with it: put the data folder back, or restart the host to start afresh"
            ))),
            Err(e) => Err(Error::storage(format!("cannot check {path}: {e}"))),
        }
    }

    /// The writer, for a restore that must replace the file under this store's own connection.
    pub(super) fn lock_writer(&self) -> parking_lot::MutexGuard<'_, Connection> {
        self.writer.lock()
    }

    fn read<T>(&self, query: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let pooled = self.readers.lock().pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => connect(&self.path, true)?,
        };
        let result = query(&conn).map_err(sql_error);
        let mut readers = self.readers.lock();
        if readers.len() < MAX_IDLE_READERS {
            readers.push(conn);
        }
        result
    }

    fn write<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock();
        self.check_still_in_place()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error)?;
        // On an error the transaction is dropped, which rolls back (and ignores a failed rollback).
        let value = work(&tx)?;
        tx.commit().map_err(sql_error)?;
        Ok(value)
    }
}

impl Store for SqliteStore {
    fn user_count(&self) -> Result<u64> {
        self.read(|conn| conn.query_row("SELECT COUNT(*) FROM users", [], count))
    }

    fn insert_first_user(&self, user: &UserRecord) -> Result<bool> {
        self.write(|tx| {
            if tx
                .query_row("SELECT COUNT(*) FROM users", [], count)
                .map_err(sql_error)?
                > 0
            {
                return Ok(false);
            }
            insert(tx, user)?;
            Ok(true)
        })
    }

    fn insert_user(&self, user: &UserRecord) -> Result<()> {
        self.write(|tx| insert(tx, user))
    }

    fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>> {
        self.read(|conn| select_user(conn, "id", id))?.transpose()
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        self.read(|conn| select_user(conn, "username_folded", &fold_username(username)))?
            .transpose()
    }

    fn for_each_user(&self, visit: &mut dyn FnMut(UserRecord) -> Result<()>) -> Result<()> {
        self.read(|conn| {
            // One statement is one read transaction: in WAL mode it sees the database as of its
            // first step until it is reset, however long `visit` takes, and writers carry on.
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users ORDER BY username_folded, id"
            ))?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                if let Err(e) = layout::user(row).and_then(&mut *visit) {
                    return Ok(Err(e));
                }
            }
            Ok(Ok(()))
        })?
    }

    fn list_users_page(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<UserRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| match after {
            // Row-value keyset on the unique username index: a page costs the same at any depth.
            Some((name, id)) => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE (username_folded, id) > (?1, ?2)
                     ORDER BY username_folded, id LIMIT ?3"
                ))?;
                collect_users(stmt.query_map(params![name, id, limit], decode_user)?)
            }
            None => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {USER_COLUMNS} FROM users ORDER BY username_folded, id LIMIT ?1"
                ))?;
                collect_users(stmt.query_map([limit], decode_user)?)
            }
        })?
    }

    fn update_user(&self, id: &str, change: &mut UserChange<'_>) -> Result<UserRecord> {
        self.write(|tx| {
            let mut user = select_user(tx, "id", id)
                .map_err(sql_error)?
                .transpose()?
                .ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()))?;
            let was_enabled_admin = user.is_enabled_admin();
            let effects: UpdateEffects = change(&mut user)?;
            tx.execute(
                "UPDATE users SET username = ?2, username_folded = ?3, role = ?4, workspace_access = ?5,
                 password_hash = ?6, disabled = ?7, updated_at = ?8 WHERE id = ?1",
                params![
                    user.id,
                    user.username,
                    fold_username(&user.username),
                    user.role.as_str(),
                    layout::access_json(&user.workspace_access)?,
                    user.password_hash,
                    user.disabled,
                    user.updated_at_ms,
                ],
            )
            .map_err(unique_username)?;
            if effects.revoke_sessions {
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id]).map_err(sql_error)?;
            }
            rules::keep_an_enabled_admin(was_enabled_admin, user.is_enabled_admin(), || {
                count_enabled_admins(tx)
            })?;
            Ok(user)
        })
    }

    fn delete_user(
        &self,
        id: &str,
        check: &mut dyn FnMut(&UserRecord) -> Result<()>,
    ) -> Result<()> {
        self.write(|tx| {
            let user = select_user(tx, "id", id)
                .map_err(sql_error)?
                .transpose()?
                .ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()))?;
            check(&user)?;
            tx.execute("DELETE FROM users WHERE id = ?1", [id])
                .map_err(sql_error)?;
            rules::keep_an_enabled_admin(user.is_enabled_admin(), false, || {
                count_enabled_admins(tx)
            })
        })
    }

    fn insert_session(&self, session: &Session) -> Result<()> {
        self.write(|tx| insert_session(tx, session))
    }

    fn insert_session_audited(&self, session: &Session, event: &AuditEvent) -> Result<()> {
        self.write(|tx| {
            insert_session(tx, session)?;
            audit::append(tx, event)
        })
    }

    fn session(&self, jti: &str) -> Result<Option<Session>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE jti = ?1"
            ))?
            .query_row([jti], |row| Ok(layout::session(row)))
            .optional()
        })?
        .transpose()
    }

    fn delete_session(&self, jti: &str) -> Result<bool> {
        self.write(|tx| {
            Ok(tx
                .execute("DELETE FROM sessions WHERE jti = ?1", [jti])
                .map_err(sql_error)?
                > 0)
        })
    }

    fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64> {
        self.write(|tx| {
            let removed = tx
                .execute("DELETE FROM sessions WHERE expires_at <= ?1", [now_ms])
                .map_err(sql_error)?;
            Ok(removed as u64)
        })
    }

    fn insert_api_key(&self, key: &ApiKeyRecord, max_keys: Option<u64>) -> Result<()> {
        self.write(|tx| keys::insert(tx, key, max_keys))
    }

    fn api_key_by_id(&self, id: &str) -> Result<Option<ApiKeyRecord>> {
        self.read(|conn| keys::select(conn, "id", id))?.transpose()
    }

    fn api_key_by_digest(&self, digest: &str) -> Result<Option<ApiKeyRecord>> {
        self.read(|conn| keys::select(conn, "digest", digest))?
            .transpose()
    }

    fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        self.read(keys::list)?.into_iter().collect()
    }

    fn update_api_key(
        &self,
        id: &str,
        change: &mut dyn FnMut(&mut ApiKeyRecord) -> Result<()>,
    ) -> Result<ApiKeyRecord> {
        self.write(|tx| {
            let mut key = keys::select(tx, "id", id)
                .map_err(sql_error)?
                .transpose()?
                .ok_or_else(|| Error::NotFound(msg::API_KEY_NOT_FOUND.into()))?;
            change(&mut key)?;
            keys::update(tx, &key)?;
            Ok(key)
        })
    }

    fn delete_api_key(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            match tx
                .execute("DELETE FROM api_keys WHERE id = ?1", [id])
                .map_err(sql_error)?
            {
                0 => Err(Error::NotFound(msg::API_KEY_NOT_FOUND.into())),
                _ => Ok(()),
            }
        })
    }

    fn touch_api_keys(&self, uses: &[(String, i64)]) -> Result<()> {
        self.write(|tx| keys::touch(tx, uses))
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        self.write(|tx| audit::append(tx, event))
    }

    fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.read(|conn| audit::list(conn, query))?
            .into_iter()
            .collect()
    }

    fn prune_audit(&self, before_ms: i64, batch: usize) -> Result<u64> {
        self.write(|tx| audit::prune(tx, before_ms, batch))
    }

    fn change_counter(&self) -> Result<u64> {
        // data_version moves when another connection commits; this one's own writes are announced
        // by the Engine directly.
        let conn = self.writer.lock();
        conn.query_row("PRAGMA data_version", [], count)
            .map_err(sql_error)
    }

    fn backup_to(&self, dest: &Path) -> Result<BackupSummary> {
        backup::backup(self, dest)
    }

    fn restore_from(&self, source: &Path) -> Result<BackupSummary> {
        backup::restore(self, source)
    }

    fn verify(&self) -> Result<VerifyReport> {
        verify_database(&self.path)
    }
}

fn insert(tx: &Transaction<'_>, user: &UserRecord) -> Result<()> {
    tx.execute(
        &format!("INSERT INTO users ({USER_COLUMNS}, username_folded) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        params![
            user.id,
            user.username,
            user.role.as_str(),
            layout::access_json(&user.workspace_access)?,
            user.password_hash,
            user.disabled,
            user.created_at_ms,
            user.updated_at_ms,
            fold_username(&user.username),
        ],
    )
    .map_err(unique_username)?;
    Ok(())
}

/// Counted in the writing transaction, which `BEGIN IMMEDIATE` makes the only writer, so two
/// concurrent demotions cannot both pass the last-admin rule.
fn count_enabled_admins(tx: &Transaction<'_>) -> Result<u64> {
    tx.query_row(COUNT_ENABLED_ADMINS, [], count)
        .map_err(sql_error)
}

fn select_user(
    conn: &Connection,
    column: &str,
    value: &str,
) -> rusqlite::Result<Option<Result<UserRecord>>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE {column} = ?1"
    ))?
    .query_row([value], decode_user)
    .optional()
}

/// Rows straight into one vector: collecting the row results first would hold every user twice.
fn collect_users(
    rows: impl Iterator<Item = rusqlite::Result<Result<UserRecord>>>,
) -> rusqlite::Result<Result<Vec<UserRecord>>> {
    let mut users = Vec::new();
    for row in rows {
        match row? {
            Ok(user) => users.push(user),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(users))
}

/// For rusqlite's row callbacks, whose own error type is only the driver's: the decoding's
/// verdict travels inside.
fn decode_user(row: &Row<'_>) -> rusqlite::Result<Result<UserRecord>> {
    Ok(layout::user(row))
}

impl Columns for Row<'_> {
    fn text(&self, index: usize) -> Result<String> {
        self.get(index).map_err(sql_error)
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>> {
        self.get(index).map_err(sql_error)
    }

    fn int(&self, index: usize) -> Result<i64> {
        self.get(index).map_err(sql_error)
    }

    fn optional_int(&self, index: usize) -> Result<Option<i64>> {
        self.get(index).map_err(sql_error)
    }

    fn flag(&self, index: usize) -> Result<bool> {
        self.get(index).map_err(sql_error)
    }
}

/// SQLite integers are signed; counts and versions never go below zero.
pub(super) fn count(row: &Row<'_>) -> rusqlite::Result<u64> {
    row.get::<_, i64>(0).map(|n| n.max(0) as u64)
}

fn unique_username(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => rules::username_taken(),
        _ => sql_error(e),
    }
}

pub(super) fn sql_error(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            Error::Unavailable("the user database is busy; retry shortly".into())
        }
        _ => Error::storage(e),
    }
}

fn file_id_of(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

fn create_private_file(path: &Path) -> Result<()> {
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

fn connect(path: &Path, read_only: bool) -> Result<Connection> {
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

fn check_integrity(conn: &Connection, path: &Path) -> Result<()> {
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

fn damaged(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => Error::Storage(format!(
            "the user database {} is damaged ({e}); restore it from a backup",
            path.display()
        )),
        _ => Error::Storage(format!("cannot use {}: {e}", path.display())),
    }
}

fn insert_session(tx: &rusqlite::Transaction<'_>, session: &Session) -> Result<()> {
    tx.execute(
        &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4)"),
        params![
            session.jti,
            session.user_id,
            session.created_at_ms,
            session.expires_at_ms
        ],
    )
    .map_err(sql_error)?;
    Ok(())
}
