//! The embedded default store: one SQLite file in WAL mode, one writer connection, a few readers.
//!
//! Every write is a `BEGIN IMMEDIATE` transaction with `synchronous=FULL`: most writes here revoke
//! access or create accounts, and ~100 us per commit is small next to a password hash. The log is
//! checkpointed by a thread of its own (`checkpoint`), so no commit pays for copying it.

mod audit;
mod backup;
mod checkpoint;
mod connection;
mod group_commit;
mod keys;
mod schema;
mod sessions;
mod users;
mod verify;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, Transaction, TransactionBehavior};

pub use backup::schema_version;
pub use verify::verify_database;

use super::layout::Columns;
use super::{BackupSummary, Session, Store, UserChange, VerifyReport};
use crate::error::{Error, Result};
use crate::model::{
    ApiKeyRecord, AuditEntry, AuditListing, AuditQuery, SsoIdentity, UserRecord, fold_username,
};
use connection::{check_integrity, connect, create_private_file, file_id_of};

pub const DATABASE_FILE: &str = "auth.db";
const MAX_IDLE_READERS: usize = 4;

pub struct SqliteStore {
    path: PathBuf,
    /// (device, inode) of the file opened: see `check_still_in_place`.
    file_id: (u64, u64),
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Audit entries waiting for the writer: see `append_audit`.
    audit_queue: group_commit::Queue,
    /// Entries this store put in `audit_recent` since it last moved them: see `append_entries`.
    unmoved: AtomicUsize,
    /// Idle sweeps of this store that ended sessions: see `change_counter`.
    idle_sweeps: AtomicU64,
    /// Keeps checkpoints off the writer lock; declared after `writer` so that it stops after the
    /// writer's last commit.
    _checkpointer: checkpoint::Checkpointer,
}

impl SqliteStore {
    /// Opens (creating when missing) `<auth_dir>/auth.db`; fails closed on a damaged or newer file.
    pub fn open(auth_dir: &Path) -> Result<Self> {
        let path = auth_dir.join(DATABASE_FILE);
        create_private_file(&path)?;
        let mut writer = connect(&path, false)?;
        check_integrity(&writer, &path)?;
        schema::migrate(&mut writer)?;
        let checkpointer =
            checkpoint::Checkpointer::start(&path, &mut writer, checkpoint::Limits::default())?;
        let file_id = fs::metadata(&path)
            .map(|meta| file_id_of(&meta))
            .map_err(|e| Error::storage(format!("cannot read {}: {e}", path.display())))?;
        Ok(Self {
            path,
            file_id,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            audit_queue: group_commit::Queue::default(),
            unmoved: AtomicUsize::new(0),
            idle_sweeps: AtomicU64::new(0),
            _checkpointer: checkpointer,
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
    fn lock_writer(&self) -> parking_lot::MutexGuard<'_, Connection> {
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
        self.write_with(&mut conn, work)
    }

    /// A background write (pruning, sweeps, batched last-use stamps), which runs in many short
    /// transactions one after another: each hands the writer straight to a caller waiting for it,
    /// if any. A plain unlock lets the loop take the writer again at once (the mutex is not fair
    /// by default), and a sign-in would wait for the whole loop rather than one transaction.
    fn write_yielding<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock();
        let outcome = self.write_with(&mut conn, work);
        parking_lot::MutexGuard::unlock_fair(conn);
        outcome
    }

    fn write_with<T>(
        &self,
        conn: &mut Connection,
        work: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.check_still_in_place()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error)?;
        // On an error the transaction is dropped, which rolls back (and ignores a failed rollback).
        let value = work(&tx)?;
        tx.commit().map_err(sql_error)?;
        Ok(value)
    }

    /// Records audit entries in the caller's transaction; the one that brings this store's
    /// unmoved entries to `audit::MOVE_AT` moves them all (and any that another process left)
    /// into the indexed table in the same transaction, so the move costs no commit of its own.
    /// The count is only a trigger: were it wrong (a rolled-back transaction), a move comes a
    /// little early or late, and listings read both tables either way.
    ///
    /// A move that fails is undone on its own and reported on stderr; the caller's write (a
    /// sign-in's session, say) still commits, and the entries wait, listed and counted, for the
    /// next try `MOVE_AT` appends later. The one way known to make it fail is a process still
    /// running an older dagu-auth on the same file, writing `audit_entries` itself.
    fn append_entries(&self, tx: &Transaction<'_>, entries: &[AuditEntry]) -> Result<()> {
        entries
            .iter()
            .try_for_each(|entry| audit::append(tx, entry))?;
        let unmoved = self.unmoved.fetch_add(entries.len(), Ordering::Relaxed) + entries.len();
        if unmoved >= audit::MOVE_AT {
            self.unmoved.store(0, Ordering::Relaxed);
            if let Err(error) = audit::move_recent(tx) {
                let line = serde_json::json!({
                    "log": "dagu-auth.audit-move-failed",
                    "error": error.to_string(),
                    "effect": "the entries stay in audit_recent, listed and counted; moving them \
                               is tried again later",
                });
                crate::log::line(&line);
            }
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn user_count(&self) -> Result<u64> {
        self.read(|conn| conn.query_row("SELECT COUNT(*) FROM users", [], count))
    }

    fn insert_first_user(&self, user: &UserRecord) -> Result<bool> {
        self.write(|tx| users::insert_first(tx, user))
    }

    fn insert_user(&self, user: &UserRecord) -> Result<()> {
        self.write(|tx| users::insert(tx, user))
    }

    fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>> {
        self.read(|conn| users::select(conn, "id", id))?.transpose()
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        let folded = fold_username(username);
        self.read(|conn| users::select(conn, "username_folded", &folded))?
            .transpose()
    }

    fn user_by_sso_identity(&self, identity: &SsoIdentity) -> Result<Option<UserRecord>> {
        self.read(|conn| users::by_sso_identity(conn, identity))?
            .transpose()
    }

    fn for_each_user(&self, visit: &mut dyn FnMut(UserRecord) -> Result<()>) -> Result<()> {
        self.read(|conn| users::walk(conn, visit))?
    }

    fn list_users_page(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<UserRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| users::page(conn, after, limit))?
    }

    fn update_user(&self, id: &str, change: &mut UserChange<'_>) -> Result<UserRecord> {
        self.write(|tx| users::update(tx, id, change))
    }

    fn delete_user(
        &self,
        id: &str,
        check: &mut dyn FnMut(&UserRecord) -> Result<()>,
    ) -> Result<()> {
        self.write(|tx| users::delete(tx, id, check))
    }

    fn insert_session(&self, session: &Session) -> Result<()> {
        self.write(|tx| sessions::insert(tx, session))
    }

    fn insert_sign_in(
        &self,
        session: &Session,
        entry: &AuditEntry,
        password_hash: &str,
    ) -> Result<bool> {
        self.write(|tx| {
            let inserted = sessions::insert_while_current(tx, session, password_hash)?;
            if inserted {
                self.append_entries(tx, std::slice::from_ref(entry))?;
            }
            Ok(inserted)
        })
    }

    fn session(&self, jti: &str) -> Result<Option<Session>> {
        self.read(|conn| sessions::select(conn, jti))?.transpose()
    }

    fn delete_session(&self, jti: &str) -> Result<bool> {
        self.write(|tx| sessions::delete(tx, jti))
    }

    fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64> {
        self.write_yielding(|tx| sessions::delete_expired(tx, now_ms))
    }

    fn sessions_of_user(&self, user_id: &str) -> Result<Vec<Session>> {
        self.read(|conn| sessions::of_user(conn, user_id))?
            .into_iter()
            .collect()
    }

    fn delete_sessions_of_user(&self, user_id: &str, keep: Option<&str>) -> Result<u64> {
        self.write(|tx| sessions::delete_of_user(tx, user_id, keep))
    }

    fn touch_sessions(&self, uses: &[(String, i64)]) -> Result<()> {
        self.write_yielding(|tx| sessions::touch(tx, uses))
    }

    fn delete_idle_sessions(&self, before_ms: i64) -> Result<u64> {
        let removed = self.write_yielding(|tx| sessions::delete_idle(tx, before_ms))?;
        if removed > 0 {
            self.idle_sweeps.fetch_add(1, Ordering::Relaxed);
        }
        Ok(removed)
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
        self.write(|tx| keys::update(tx, id, change))
    }

    fn delete_api_key(&self, id: &str) -> Result<()> {
        self.write(|tx| keys::delete(tx, id))
    }

    fn touch_api_keys(&self, uses: &[(String, i64)]) -> Result<()> {
        self.write_yielding(|tx| keys::touch(tx, uses))
    }

    /// Group commit: entries that arrive while a batch is being written wait in the queue, and
    /// the next batch writes all of them in one transaction, one commit to disk for all. Each
    /// caller returns only once a commit holding its entry succeeded (or with that
    /// transaction's error): nothing is acknowledged before it is durable, and nothing queued is
    /// left behind, since a caller whose entry is still queued when the lead is free leads.
    fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        let ticket = self.audit_queue.push(entry.clone());
        let lead = match self.audit_queue.wait_or_lead(&ticket) {
            Ok(lead) => lead,
            Err(outcome) => return outcome,
        };
        let outcome = self.write(|tx| self.append_entries(tx, lead.batch.entries()));
        lead.batch.settle(&outcome);
        outcome
    }

    fn list_audit(&self, query: &AuditQuery) -> Result<AuditListing> {
        self.read(|conn| audit::list(conn, query))?
    }

    fn prune_audit(&self, before_ms: i64, batch: usize) -> Result<u64> {
        self.write_yielding(|tx| audit::prune(tx, before_ms, batch))
    }

    fn change_counter(&self) -> Result<u64> {
        // data_version moves when another connection commits; this one's own writes are announced
        // by the Engine directly. The maintenance thread's idle sweep follows no Engine call, and
        // a session still cached here may have been swept (its last use not yet written): the
        // sweeps count too, as PostgreSQL's sweep moves its shared counter. Both only grow, so
        // their sum moves whenever either does.
        let conn = self.writer.lock();
        let version = conn
            .query_row("PRAGMA data_version", [], count)
            .map_err(sql_error)?;
        Ok(version.wrapping_add(self.idle_sweeps.load(Ordering::Relaxed)))
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

/// The one row `sql` finds for `value`, decoded: the decoding's verdict travels inside the
/// driver's result, whose error type is only the driver's.
fn select_one<T>(
    conn: &Connection,
    sql: &str,
    value: &str,
    decode: impl Fn(&Row<'_>) -> Result<T>,
) -> rusqlite::Result<Option<Result<T>>> {
    conn.prepare_cached(sql)?
        .query_row([value], |row| Ok(decode(row)))
        .optional()
}

/// SQLite integers are signed; counts and versions never go below zero.
fn count(row: &Row<'_>) -> rusqlite::Result<u64> {
    row.get::<_, i64>(0).map(|n| n.max(0) as u64)
}

fn sql_error(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            Error::Unavailable("the user database is busy; retry shortly".into())
        }
        _ => Error::storage(e),
    }
}
