//! Persistence behind a trait free of any database's types: the `Store` trait and the types it
//! speaks in live here, with what both implementations share (`layout`: how records lie in rows;
//! `rules`: what a write must not break; `report`: what backup and verify answer). `sqlite/` is
//! the embedded default, `postgres/` (cargo feature `postgres`) the store several hosts share.

// First, so both stores' migrations can use its macro.
#[macro_use]
mod audit_upgrade;
mod audit_counts;
mod audit_sql;
mod layout;
#[cfg(feature = "postgres")]
mod postgres;
mod report;
mod rules;
mod sqlite;
mod username_keys;

#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use report::{BackupSummary, VerifyReport};
pub use sqlite::{SqliteStore, schema_version, verify_database};

use std::path::Path;
use std::sync::Arc;

use crate::config::StoreConfig;
use crate::error::Result;
use crate::model::{ApiKeyRecord, AuditEntry, AuditListing, AuditQuery, SsoIdentity, UserRecord};

/// How many audit entries one retention transaction deletes: small enough that a writer waiting
/// behind it waits at most a few milliseconds (about 2 ms of work at 1,000,000 entries, twice
/// that at worst; BENCHMARKS.md, audit pruning). SQLite hands the writer to a waiting caller
/// between batches.
pub const AUDIT_PRUNE_BATCH: usize = 50;

/// A signed-in session; a token is valid only while its session row exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub jti: String,
    pub user_id: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    /// The last use any host has written: uses are batched, so it trails the real last use by up
    /// to the Engine's touch interval.
    pub last_used_at_ms: i64,
    /// Where the session was signed in from, as the audit trail records it.
    pub client_ip: String,
    /// The sign-in request's `User-Agent`, bounded and without control characters.
    pub user_agent: String,
}

/// What an update did besides changing the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpdateEffects {
    /// Every session of the user ends in the same transaction (password change, disable).
    pub revoke_sessions: bool,
}

/// Applies a change to a user inside the store's write transaction. It must be quick and pure:
/// no hashing, no I/O (hashing happens before the transaction starts).
pub type UserChange<'a> = dyn FnMut(&mut UserRecord) -> Result<UpdateEffects> + 'a;

pub trait Store: Send + Sync {
    fn user_count(&self) -> Result<u64>;
    /// Inserts `user` only while no user exists; `Ok(false)` when someone was first.
    fn insert_first_user(&self, user: &UserRecord) -> Result<bool>;
    /// `AlreadyExists` when the folded username is taken.
    fn insert_user(&self, user: &UserRecord) -> Result<()>;
    fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>>;
    /// Matches case-insensitively (the folded form).
    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>>;
    /// The user provisioned from `identity` (exact match on provider, issuer and subject).
    fn user_by_sso_identity(&self, identity: &SsoIdentity) -> Result<Option<UserRecord>>;
    /// Sorted by username, case-insensitively.
    fn list_users(&self) -> Result<Vec<UserRecord>> {
        let mut users = Vec::new();
        self.for_each_user(&mut |user| {
            users.push(user);
            Ok(())
        })?;
        Ok(users)
    }
    /// Hands every user to `visit` in `list_users` order, one at a time, so a caller can write the
    /// full list out without holding every record at once. The users are those of one moment (the
    /// walk's start): a write that commits during the walk is not seen, so the list never shows a
    /// user twice or half of a rename. An error from `visit` stops the walk and is returned as is.
    fn for_each_user(&self, visit: &mut dyn FnMut(UserRecord) -> Result<()>) -> Result<()>;
    /// At most `limit` users in `list_users` order, after the (folded username, id) key `after`.
    /// The default filters the full list; stores override it with a keyset query.
    fn list_users_page(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<UserRecord>> {
        let key = |u: &UserRecord| (crate::model::fold_username(&u.username), u.id.clone());
        Ok(self
            .list_users()?
            .into_iter()
            .filter(|u| after.is_none_or(|(name, id)| key(u) > (name.to_string(), id.to_string())))
            .take(limit)
            .collect())
    }
    /// Read-modify-write in one transaction. `NotFound`, `AlreadyExists` (username taken) or
    /// `Conflict` (no enabled admin would remain) leave the user unchanged.
    fn update_user(&self, id: &str, change: &mut UserChange<'_>) -> Result<UserRecord>;
    /// `check` sees the user inside the transaction and may refuse. Sessions go with the user; the
    /// API keys it owns stay.
    fn delete_user(&self, id: &str, check: &mut dyn FnMut(&UserRecord) -> Result<()>)
    -> Result<()>;
    fn insert_session(&self, session: &Session) -> Result<()>;
    /// A sign-in's session and the audit entry that records it, in one transaction (a sign-in
    /// then waits for one commit to disk rather than two; BENCHMARKS.md, sign-in), written only
    /// while the user is enabled and still has `password_hash`, the hash the sign-in was checked
    /// against. A password changed or reset, or an account disabled or deleted, while the sign-in
    /// was hashing therefore leaves no session behind it. `false` (and nothing written) otherwise.
    fn insert_sign_in(
        &self,
        session: &Session,
        entry: &AuditEntry,
        password_hash: &str,
    ) -> Result<bool>;
    fn session(&self, jti: &str) -> Result<Option<Session>>;
    fn delete_session(&self, jti: &str) -> Result<bool>;
    fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64>;
    /// Every session row of the user, expired or not, oldest first.
    fn sessions_of_user(&self, user_id: &str) -> Result<Vec<Session>>;
    /// Ends every session of the user except `keep` (a jti), in one transaction; how many ended.
    fn delete_sessions_of_user(&self, user_id: &str, keep: Option<&str>) -> Result<u64>;
    /// Records when sessions were last used (jti, time); best effort, batched by the caller, and
    /// never announced as a change (a use changes nothing a cache holds but the time).
    fn touch_sessions(&self, uses: &[(String, i64)]) -> Result<()>;
    /// Ends the sessions last used before `before_ms` (the idle timeout); how many ended.
    fn delete_idle_sessions(&self, before_ms: i64) -> Result<u64>;
    /// `AlreadyExists` for a taken name; `Forbidden` when `max_keys` keys exist already.
    fn insert_api_key(&self, key: &ApiKeyRecord, max_keys: Option<u64>) -> Result<()>;
    fn api_key_by_id(&self, id: &str) -> Result<Option<ApiKeyRecord>>;
    fn api_key_by_digest(&self, digest: &str) -> Result<Option<ApiKeyRecord>>;
    /// Sorted by name.
    fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>>;
    fn update_api_key(
        &self,
        id: &str,
        change: &mut dyn FnMut(&mut ApiKeyRecord) -> Result<()>,
    ) -> Result<ApiKeyRecord>;
    fn delete_api_key(&self, id: &str) -> Result<()>;
    /// Records when keys were last used; best effort, batched by the caller.
    fn touch_api_keys(&self, uses: &[(String, i64)]) -> Result<()>;
    /// Stores `entry` (its `seq` is assigned here).
    fn append_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// The entries `query` asks for, newest first, with the number of all its matches; both read
    /// from one snapshot.
    fn list_audit(&self, query: &AuditQuery) -> Result<AuditListing>;
    /// Deletes at most `batch` entries older than `before_ms`; short transactions keep writers
    /// moving ([`AUDIT_PRUNE_BATCH`] is the size retention uses).
    fn prune_audit(&self, before_ms: i64, batch: usize) -> Result<u64>;
    /// Changes whenever any connection, in any process, commits; lets caches notice other writers.
    fn change_counter(&self) -> Result<u64>;
    /// `Some` when several hosts share this store, so failed sign-ins must be counted in it for a
    /// limit to hold across hosts; `None` keeps the counts in this process's memory.
    fn shared_login_failures(&self) -> Option<&dyn LoginFailureLog> {
        None
    }
    /// Copies the whole store into the new file `dest` (0600), consistent while others write.
    fn backup_to(&self, dest: &Path) -> Result<BackupSummary> {
        let _ = dest;
        Err(not_supported("db backup"))
    }
    /// Replaces every row with those of the backup at `source`, after checking it. The caller
    /// makes sure no server uses the store.
    fn restore_from(&self, source: &Path) -> Result<BackupSummary> {
        let _ = source;
        Err(not_supported("db restore"))
    }
    /// `integrity_check` plus the invariants the Engine relies on.
    fn verify(&self) -> Result<VerifyReport> {
        Err(not_supported("db verify"))
    }
}

/// Stores with tools of their own (PostgreSQL: pg_dump, pg_restore) leave these to them.
fn not_supported(what: &str) -> crate::error::Error {
    crate::error::Error::bad_request(format!(
        "{what} is not supported for this store; use the database's own backup tools"
    ))
}

/// Which sign-in limit a failure counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    Ip,
    Account,
}

/// Failed sign-ins kept where every host sees them.
pub trait LoginFailureLog: Send + Sync {
    /// Records one failure at `at_ms` against each key, and forgets every failure before
    /// `forget_before_ms` (no limit window reaches back that far).
    fn record_login_failure(
        &self,
        keys: &[(LimitScope, &str)],
        at_ms: i64,
        forget_before_ms: i64,
    ) -> Result<()>;
    /// The newest `max` failure times of a key later than `after_ms`, oldest first.
    fn recent_login_failures(
        &self,
        scope: LimitScope,
        key: &str,
        after_ms: i64,
        max: usize,
    ) -> Result<Vec<i64>>;
    fn clear_login_failures(&self, scope: LimitScope, key: &str) -> Result<()>;
}

/// The store the configuration names; SQLite lives in `auth_dir`.
pub fn open(config: &StoreConfig, auth_dir: &Path) -> Result<Arc<dyn Store>> {
    match config {
        StoreConfig::Sqlite => Ok(Arc::new(SqliteStore::open(auth_dir)?)),
        #[cfg(feature = "postgres")]
        StoreConfig::Postgres(postgres) => Ok(Arc::new(PostgresStore::open(postgres)?)),
        #[cfg(not(feature = "postgres"))]
        StoreConfig::Postgres(_) => Err(crate::error::Error::invalid_config(
            crate::config::NO_POSTGRES_SUPPORT,
        )),
    }
}
