//! The store for several hosts: one PostgreSQL database that every host reads and writes.
//!
//! Check-then-act transactions (first user, last enabled admin, the API key limit) take a
//! transaction-scoped advisory lock first, so two hosts cannot both pass a check that only one
//! may pass. Hosts learn of each other's writes through `change_counter`, a row that every
//! transaction which changes or removes a cached user, session or key bumps in the same commit.

mod audit;
mod keys;
mod login_failures;
mod pool;
mod schema;
mod sessions;
mod users;

use postgres::{Client, Row};

use super::layout::Columns;
use super::{LimitScope, LoginFailureLog, Session, Store, UserChange};
use crate::config::PostgresConfig;
use crate::error::{Error, Result};
use crate::model::{
    ApiKeyRecord, AuditEntry, AuditListing, AuditQuery, SsoIdentity, UserRecord, fold_username,
};
use pool::{Conn, Pool, connection_lost};

/// Advisory lock keys (database-wide): ASCII "dagu" in the high bytes, then a purpose.
mod lock {
    pub(super) const MIGRATE: i64 = 0x6461_6775_0000_0001;
    pub(super) const USERS: i64 = 0x6461_6775_0000_0002;
    pub(super) const API_KEYS: i64 = 0x6461_6775_0000_0003;
}

/// Why a unit of work against PostgreSQL stopped, before its caller hears of it.
pub enum PgError {
    /// The driver's error, not yet classified: a lost connection is retried or dropped, and the
    /// rest become `Unavailable` or `Storage` (`settle`).
    Driver(postgres::Error),
    /// Already the caller's answer: a rule refused, or a row did not parse.
    Settled(Error),
}

impl From<postgres::Error> for PgError {
    fn from(e: postgres::Error) -> Self {
        Self::Driver(e)
    }
}

impl From<Error> for PgError {
    fn from(e: Error) -> Self {
        Self::Settled(e)
    }
}

pub type PgResult<T> = std::result::Result<T, PgError>;

pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connects, migrates, and keeps at most `max_connections` connections open.
    pub fn open(config: &PostgresConfig) -> Result<Self> {
        let pool = Pool::new(&config.url, config.max_connections)?;
        schema::migrate(&pool)?;
        Ok(Self { pool })
    }

    /// Runs `query` on a pooled connection. A read is idempotent, so when the connection turns out
    /// to be dead (the server restarted) it is retried once on a fresh one.
    fn read<T>(&self, mut query: impl FnMut(&mut Client) -> PgResult<T>) -> Result<T> {
        let mut retried = false;
        loop {
            let mut conn = self.pool.get()?;
            match query(conn.client()) {
                Ok(value) => return Ok(value),
                Err(PgError::Driver(e)) if connection_lost(&e) && !retried => {
                    conn.discard();
                    retried = true;
                }
                Err(error) => return Err(self.settle(&mut conn, error)),
            }
        }
    }

    /// Runs `work` in one transaction. Only a failed `BEGIN` is retried: once work has started,
    /// whether a lost commit landed is unknown, and the caller hears `Unavailable`.
    fn write<T>(&self, work: impl FnOnce(&mut Client) -> PgResult<T>) -> Result<T> {
        let mut retried = false;
        let mut conn = loop {
            let mut conn = self.pool.get()?;
            match conn.client().batch_execute("BEGIN") {
                Ok(()) => break conn,
                Err(e) if connection_lost(&e) && !retried => {
                    conn.discard();
                    retried = true;
                }
                Err(e) => return Err(self.settle(&mut conn, PgError::Driver(e))),
            }
        };
        let result = work(conn.client()).and_then(|value| {
            conn.client().batch_execute("COMMIT")?;
            Ok(value)
        });
        result.map_err(|error| {
            // A connection that cannot roll back is not handed to the next caller mid-transaction.
            if conn.client().batch_execute("ROLLBACK").is_err() {
                conn.discard();
            }
            self.settle(&mut conn, error)
        })
    }

    /// The caller's error; a connection that broke is not given back to the pool.
    fn settle(&self, conn: &mut Conn<'_>, error: PgError) -> Error {
        match error {
            PgError::Settled(e) => e,
            PgError::Driver(e) => {
                if connection_lost(&e) {
                    conn.discard();
                }
                self.pool.error(&e)
            }
        }
    }
}

impl Store for PostgresStore {
    fn user_count(&self) -> Result<u64> {
        self.read(|client| count(client, "SELECT COUNT(*) FROM users"))
    }

    fn insert_first_user(&self, user: &UserRecord) -> Result<bool> {
        self.write(|tx| users::insert_first(tx, user))
    }

    fn insert_user(&self, user: &UserRecord) -> Result<()> {
        self.write(|tx| users::insert(tx, user))
    }

    fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>> {
        self.read(|client| users::select(client, "id", id))
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        let folded = fold_username(username);
        self.read(|client| users::select(client, "username_folded", &folded))
    }

    fn user_by_sso_identity(&self, identity: &SsoIdentity) -> Result<Option<UserRecord>> {
        self.read(|client| users::by_sso_identity(client, identity))
    }

    fn for_each_user(&self, visit: &mut dyn FnMut(UserRecord) -> Result<()>) -> Result<()> {
        let mut visited = false;
        let mut retried = false;
        loop {
            let mut conn = self.pool.get()?;
            let walked = users::walk(&mut conn, &mut |user| {
                visited = true;
                visit(user)
            });
            match walked {
                Ok(()) => return Ok(()),
                // Starting over is only invisible to the caller while it has been given nothing.
                Err(PgError::Driver(e)) if connection_lost(&e) && !visited && !retried => {
                    conn.discard();
                    retried = true;
                }
                Err(error) => return Err(self.settle(&mut conn, error)),
            }
        }
    }

    fn list_users_page(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<UserRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|client| users::page(client, after, limit))
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
                audit::append(tx, entry)?;
            }
            Ok(inserted)
        })
    }

    fn session(&self, jti: &str) -> Result<Option<Session>> {
        self.read(|client| sessions::select(client, jti))
    }

    fn delete_session(&self, jti: &str) -> Result<bool> {
        self.write(|tx| sessions::delete(tx, jti))
    }

    fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64> {
        self.write(|tx| sessions::delete_expired(tx, now_ms))
    }

    fn sessions_of_user(&self, user_id: &str) -> Result<Vec<Session>> {
        self.read(|client| sessions::of_user(client, user_id))
    }

    fn delete_sessions_of_user(&self, user_id: &str, keep: Option<&str>) -> Result<u64> {
        self.write(|tx| sessions::delete_of_user(tx, user_id, keep))
    }

    fn touch_sessions(&self, uses: &[(String, i64)]) -> Result<()> {
        self.write(|tx| sessions::touch(tx, uses))
    }

    fn delete_idle_sessions(&self, before_ms: i64) -> Result<u64> {
        self.write(|tx| sessions::delete_idle(tx, before_ms))
    }

    fn insert_api_key(&self, key: &ApiKeyRecord, max_keys: Option<u64>) -> Result<()> {
        self.write(|tx| keys::insert(tx, key, max_keys))
    }

    fn api_key_by_id(&self, id: &str) -> Result<Option<ApiKeyRecord>> {
        self.read(|client| keys::select(client, "id", id))
    }

    fn api_key_by_digest(&self, digest: &str) -> Result<Option<ApiKeyRecord>> {
        self.read(|client| keys::select(client, "digest", digest))
    }

    fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        self.read(keys::list)
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
        self.write(|tx| keys::touch(tx, uses))
    }

    fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        self.write(|tx| audit::append(tx, entry))
    }

    fn list_audit(&self, query: &AuditQuery) -> Result<AuditListing> {
        self.read(|client| audit::list(client, query))
    }

    fn prune_audit(&self, before_ms: i64, batch: usize) -> Result<u64> {
        self.write(|tx| audit::prune(tx, before_ms, batch))
    }

    fn change_counter(&self) -> Result<u64> {
        self.read(|client| {
            let value: i64 = client
                .query_one("SELECT value FROM change_counter WHERE id = 1", &[])?
                .try_get(0)?;
            Ok(value.max(0) as u64)
        })
    }

    fn shared_login_failures(&self) -> Option<&dyn LoginFailureLog> {
        Some(self)
    }
}

impl LoginFailureLog for PostgresStore {
    fn record_login_failure(
        &self,
        keys: &[(LimitScope, &str)],
        at_ms: i64,
        forget_before_ms: i64,
    ) -> Result<()> {
        self.write(|tx| login_failures::record(tx, keys, at_ms, forget_before_ms))
    }

    fn recent_login_failures(
        &self,
        scope: LimitScope,
        key: &str,
        after_ms: i64,
        max: usize,
    ) -> Result<Vec<i64>> {
        self.read(|client| login_failures::recent(client, scope, key, after_ms, max))
    }

    fn clear_login_failures(&self, scope: LimitScope, key: &str) -> Result<()> {
        self.write(|tx| login_failures::clear(tx, scope, key))
    }
}

/// Every transaction that changes or removes something a host may have cached calls this, so the
/// other hosts' next look at `change_counter` sees the change in the same commit as the data.
fn bump_change_counter(tx: &mut Client) -> PgResult<()> {
    tx.execute(
        "UPDATE change_counter SET value = value + 1 WHERE id = 1",
        &[],
    )?;
    Ok(())
}

/// The one row `sql` finds for `value`, decoded.
fn select_one<T>(
    client: &mut Client,
    sql: &str,
    value: &str,
    decode: impl Fn(&Row) -> Result<T>,
) -> PgResult<Option<T>> {
    let row = client.query_opt(sql, &[&value])?;
    Ok(row.as_ref().map(decode).transpose()?)
}

fn count(client: &mut Client, sql: &str) -> PgResult<u64> {
    let n: i64 = client.query_one(sql, &[])?.try_get(0)?;
    Ok(n.max(0) as u64)
}

/// `try_get`, never `get`: a column of an unexpected type is a storage error, not a panic.
impl Columns for Row {
    fn text(&self, index: usize) -> Result<String> {
        self.try_get(index).map_err(Error::storage)
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>> {
        self.try_get(index).map_err(Error::storage)
    }

    fn int(&self, index: usize) -> Result<i64> {
        self.try_get(index).map_err(Error::storage)
    }

    fn optional_int(&self, index: usize) -> Result<Option<i64>> {
        self.try_get(index).map_err(Error::storage)
    }

    fn flag(&self, index: usize) -> Result<bool> {
        self.try_get(index).map_err(Error::storage)
    }
}
