//! The store for several hosts: one PostgreSQL database that every host reads and writes.
//!
//! Check-then-act transactions (first user, last enabled admin, the API key limit) take a
//! transaction-scoped advisory lock first, so two hosts cannot both pass a check that only one
//! may pass. Hosts learn of each other's writes through `change_counter`, a row that every
//! transaction which changes or removes a cached user, session or key bumps in the same commit.

mod audit;
mod keys;
mod pool;
mod schema;

use postgres::{Client, Row};

use super::layout::{self, Columns, SESSION_COLUMNS, USER_COLUMNS};
use super::rules::{self, COUNT_ENABLED_ADMINS};
use super::{LimitScope, LoginFailureLog, Session, Store, UpdateEffects, UserChange};
use crate::config::PostgresConfig;
use crate::error::{Error, Result, msg};
use crate::model::{ApiKeyRecord, AuditEvent, AuditQuery, UserRecord, fold_username};
use pool::{Conn, Pool, connection_lost};

/// Advisory lock keys (database-wide): ASCII "dagu" in the high bytes, then a purpose.
pub(crate) mod lock {
    pub(crate) const MIGRATE: i64 = 0x6461_6775_0000_0001;
    pub(crate) const USERS: i64 = 0x6461_6775_0000_0002;
    pub(crate) const API_KEYS: i64 = 0x6461_6775_0000_0003;
}

/// The list order and keyset of `list_users`: byte order, as SQLite sorts, whatever the
/// database's collation. The index `users_in_list_order` has exactly these collations, so the
/// planner reads it in order instead of sorting the table for every page.
const USER_ORDER: &str = "username_folded COLLATE \"C\", id COLLATE \"C\"";
/// Rows per round trip of `for_each_user`: a few hundred KB held at a time.
const WALK_BATCH: i32 = 1000;

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
        self.write(|tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock::USERS])?;
            if count(tx, "SELECT COUNT(*) FROM users")? > 0 {
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
        self.read(|client| select_user(client, "id", id))
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        let folded = fold_username(username);
        self.read(|client| select_user(client, "username_folded", &folded))
    }

    fn for_each_user(&self, visit: &mut dyn FnMut(UserRecord) -> Result<()>) -> Result<()> {
        let mut visited = false;
        let mut retried = false;
        loop {
            let mut conn = self.pool.get()?;
            let walked = walk_users(&mut conn, &mut |user| {
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
        self.read(|client| {
            let rows = match after {
                // Row-value keyset on `users_in_list_order`: a page costs the same at any depth.
                Some((name, id)) => client.query(
                    &format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE ({USER_ORDER}) > ($1, $2) \
                         ORDER BY {USER_ORDER} LIMIT $3"
                    ),
                    &[&name, &id, &limit],
                )?,
                None => client.query(
                    &format!("SELECT {USER_COLUMNS} FROM users ORDER BY {USER_ORDER} LIMIT $1"),
                    &[&limit],
                )?,
            };
            Ok(rows.iter().map(layout::user).collect::<Result<_>>()?)
        })
    }

    fn update_user(&self, id: &str, change: &mut UserChange<'_>) -> Result<UserRecord> {
        self.write(|tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock::USERS])?;
            let mut user = select_user(tx, "id", id)?
                .ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()))?;
            let was_enabled_admin = user.is_enabled_admin();
            let effects: UpdateEffects = change(&mut user)?;
            tx.execute(
                "UPDATE users SET username = $2, username_folded = $3, role = $4, \
                 workspace_access = $5, password_hash = $6, disabled = $7, updated_at = $8 \
                 WHERE id = $1",
                &[
                    &user.id,
                    &user.username,
                    &fold_username(&user.username),
                    &user.role.as_str(),
                    &layout::access_json(&user.workspace_access)?,
                    &user.password_hash,
                    &user.disabled,
                    &user.updated_at_ms,
                ],
            )
            .map_err(unique_username)?;
            if effects.revoke_sessions {
                tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&id])?;
            }
            rules::keep_an_enabled_admin(was_enabled_admin, user.is_enabled_admin(), || {
                count(tx, COUNT_ENABLED_ADMINS)
            })?;
            bump_change_counter(tx)?;
            Ok(user)
        })
    }

    fn delete_user(
        &self,
        id: &str,
        check: &mut dyn FnMut(&UserRecord) -> Result<()>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock::USERS])?;
            let user = select_user(tx, "id", id)?
                .ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()))?;
            check(&user)?;
            tx.execute("DELETE FROM users WHERE id = $1", &[&id])?;
            rules::keep_an_enabled_admin(user.is_enabled_admin(), false, || {
                count(tx, COUNT_ENABLED_ADMINS)
            })?;
            bump_change_counter(tx)?;
            Ok(())
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
        self.read(|client| {
            let row = client.query_opt(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE jti = $1"),
                &[&jti],
            )?;
            Ok(row.as_ref().map(layout::session).transpose()?)
        })
    }

    fn delete_session(&self, jti: &str) -> Result<bool> {
        self.write(|tx| {
            let removed = tx.execute("DELETE FROM sessions WHERE jti = $1", &[&jti])? > 0;
            if removed {
                bump_change_counter(tx)?;
            }
            Ok(removed)
        })
    }

    fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64> {
        // No bump: every host already refuses an expired session by its expiry time.
        self.write(|tx| Ok(tx.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now_ms])?))
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
        self.write(|tx| {
            let mut key = keys::select_for_update(tx, id)?
                .ok_or_else(|| Error::NotFound(msg::API_KEY_NOT_FOUND.into()))?;
            change(&mut key)?;
            keys::update(tx, &key)?;
            bump_change_counter(tx)?;
            Ok(key)
        })
    }

    fn delete_api_key(&self, id: &str) -> Result<()> {
        self.write(
            |tx| match tx.execute("DELETE FROM api_keys WHERE id = $1", &[&id])? {
                0 => Err(Error::NotFound(msg::API_KEY_NOT_FOUND.into()).into()),
                _ => bump_change_counter(tx),
            },
        )
    }

    fn touch_api_keys(&self, uses: &[(String, i64)]) -> Result<()> {
        self.write(|tx| keys::touch(tx, uses))
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        self.write(|tx| audit::append(tx, event))
    }

    fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.read(|client| audit::list(client, query))
    }

    fn prune_audit(&self, before_ms: i64, batch: usize) -> Result<u64> {
        self.write(|tx| audit::prune(tx, before_ms, batch))
    }

    fn change_counter(&self) -> Result<u64> {
        self.read(|client| {
            let value: i64 = client
                .query_one("SELECT value FROM change_counter WHERE id = 1", &[])?
                .get(0);
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
        self.write(|tx| audit::record_failure(tx, keys, at_ms, forget_before_ms))
    }

    fn recent_login_failures(
        &self,
        scope: LimitScope,
        key: &str,
        after_ms: i64,
        max: usize,
    ) -> Result<Vec<i64>> {
        self.read(|client| audit::recent_failures(client, scope, key, after_ms, max))
    }

    fn clear_login_failures(&self, scope: LimitScope, key: &str) -> Result<()> {
        self.write(|tx| audit::clear_failures(tx, scope, key))
    }
}

/// Every transaction that changes or removes something a host may have cached calls this, so the
/// other hosts' next look at `change_counter` sees the change in the same commit as the data.
pub fn bump_change_counter(tx: &mut Client) -> PgResult<()> {
    tx.execute(
        "UPDATE change_counter SET value = value + 1 WHERE id = 1",
        &[],
    )?;
    Ok(())
}

fn insert(tx: &mut Client, user: &UserRecord) -> PgResult<()> {
    tx.execute(
        &format!(
            "INSERT INTO users ({USER_COLUMNS}, username_folded) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ),
        &[
            &user.id,
            &user.username,
            &user.role.as_str(),
            &layout::access_json(&user.workspace_access)?,
            &user.password_hash,
            &user.disabled,
            &user.created_at_ms,
            &user.updated_at_ms,
            &fold_username(&user.username),
        ],
    )
    .map_err(unique_username)?;
    Ok(())
}

/// The whole list through one portal (the wire protocol's cursor) in a read-only transaction,
/// `WALK_BATCH` rows per round trip. One statement has one snapshot, so the list is consistent
/// at any isolation level and the server orders the table once. Keyset pages would each be a
/// statement of their own, consistent only under REPEATABLE READ.
fn walk_users(
    conn: &mut Conn<'_>,
    visit: &mut dyn FnMut(UserRecord) -> Result<()>,
) -> PgResult<()> {
    let mut tx = conn.client().build_transaction().read_only(true).start()?;
    let walked = walk_portal(&mut tx, visit);
    let ended = match walked {
        Ok(()) => tx.commit(),
        Err(_) => tx.rollback(),
    };
    match (walked, ended) {
        (Ok(()), ended) => Ok(ended?),
        (Err(error), Ok(())) => Err(error),
        // As in `write`: a connection that may still be in the transaction is not handed on.
        (Err(error), Err(_)) => {
            conn.discard();
            Err(error)
        }
    }
}

fn walk_portal(
    tx: &mut postgres::Transaction<'_>,
    visit: &mut dyn FnMut(UserRecord) -> Result<()>,
) -> PgResult<()> {
    let portal = tx.bind(
        &format!("SELECT {USER_COLUMNS} FROM users ORDER BY {USER_ORDER}"),
        &[],
    )?;
    loop {
        let rows = tx.query_portal(&portal, WALK_BATCH)?;
        for row in &rows {
            visit(layout::user(row)?)?;
        }
        if rows.len() < WALK_BATCH as usize {
            return Ok(());
        }
    }
}

fn select_user(client: &mut Client, column: &str, value: &str) -> PgResult<Option<UserRecord>> {
    let row = client.query_opt(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = $1"),
        &[&value],
    )?;
    Ok(row.as_ref().map(layout::user).transpose()?)
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

pub fn count(client: &mut Client, sql: &str) -> PgResult<u64> {
    let n: i64 = client.query_one(sql, &[])?.get(0);
    Ok(n.max(0) as u64)
}

fn unique_username(e: postgres::Error) -> PgError {
    match e.code() {
        Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => {
            PgError::Settled(rules::username_taken())
        }
        _ => PgError::Driver(e),
    }
}

fn insert_session(tx: &mut Client, session: &Session) -> PgResult<()> {
    tx.execute(
        &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4)"),
        &[
            &session.jti,
            &session.user_id,
            &session.created_at_ms,
            &session.expires_at_ms,
        ],
    )?;
    Ok(())
}
