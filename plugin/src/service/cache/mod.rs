//! The in-memory principal cache that keeps the store off the `authorize` hot path, and the
//! rendered user lists kept under its generation ([`RenderedLists`]).
//!
//! Every write in this process calls `invalidate`; writes by other processes are noticed through
//! the store's change counter ([`freshness`]). A generation number stops a reader that loaded
//! before an invalidation from putting stale data back afterwards.
//!
//! Sessions and API keys are found by the credential's own bytes ([`BearerTable`], which holds the
//! argument why a hit needs no HMAC): a hot `authorize` is one keyed hash, one lookup, one
//! comparison of the whole credential and the entry's checks.

mod bearer_table;
mod freshness;
mod lists;
mod packed_access;
mod use_stamp;

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use parking_lot::RwLock;

pub use bearer_table::BearerTable;
pub use freshness::Freshness;
pub use lists::{ListRequest, RenderedLists};
use packed_access::PackedAccess;
pub use use_stamp::UseStamp;

use crate::error::Result;
use crate::model::{ApiKeyRecord, UserRecord};
use crate::store::Store;
use crate::token::{self, Claims};

/// `lastUsedAt` is written at most this often per key.
const KEY_TOUCH_INTERVAL_MS: i64 = 60 * 1000;

/// Past this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 200_000;

/// A verified session token with everything `authorize` checks: the token's own times, its session
/// row's expiry and the user's access, so a hot call is one lookup and one buffer read. New fields
/// go here and into `new`; `valid_at` is the one place a hot call decides whether the entry holds.
#[derive(Debug, Clone)]
pub struct CachedSession {
    pub token_exp_secs: i64,
    pub token_iat_secs: i64,
    pub expires_at_ms: i64,
    pub access: PackedAccess,
    /// The user's role requires two-factor sign-in and they have not set it up: refused until
    /// they do. Decided when the entry is made, from the user and the configuration, so a hot
    /// call reads a flag instead of the user record (a write to the user empties the cache).
    pub enrollment_pending: bool,
    /// For callers that need the whole principal; `authorize` never reads it.
    pub user: Arc<UserRecord>,
    /// The session row's key, for queueing its uses.
    pub jti: Arc<str>,
    /// The session's last use known here: read for the idle timeout, advanced once per touch
    /// interval.
    pub last_use: UseStamp,
}

impl CachedSession {
    pub fn new(
        claims: &Claims,
        expires_at_ms: i64,
        last_used_at_ms: i64,
        user: Arc<UserRecord>,
        enrollment_pending: bool,
    ) -> Self {
        Self {
            token_exp_secs: claims.exp,
            token_iat_secs: claims.iat,
            expires_at_ms,
            access: PackedAccess::of(&user),
            enrollment_pending,
            user,
            jti: claims.jti.as_str().into(),
            last_use: UseStamp::new(last_used_at_ms),
        }
    }

    /// Unused for longer than `idle_timeout_ms` as far as this host knows (0: no idle timeout).
    /// Another host may have seen a later use, so this sends the caller to the store, never away.
    #[inline]
    pub fn idle_at(&self, now_ms: i64, idle_timeout_ms: i64) -> bool {
        idle_timeout_ms > 0 && now_ms.saturating_sub(self.last_use.at_ms()) > idle_timeout_ms
    }

    /// Times are checked on every use: an entry may outlive the token or the session.
    pub fn valid_at(&self, now_ms: i64) -> bool {
        let now_secs = now_ms.div_euclid(1000);
        token::check_times(self.token_exp_secs, self.token_iat_secs, now_secs).is_ok()
            && self.expires_at_ms > now_ms
            && !self.access.disabled()
    }
}

/// An API key as `authorize` needs it, with the time its use was last queued for the store.
#[derive(Debug)]
pub struct CachedKey {
    pub record: Arc<ApiKeyRecord>,
    last_touch: UseStamp,
}

impl CachedKey {
    /// True for at most one caller per interval, so the store sees one write a minute per key.
    pub fn due_for_touch(&self, now_ms: i64) -> bool {
        self.last_touch.due(now_ms, KEY_TOUCH_INTERVAL_MS)
    }
}

#[derive(Default)]
struct Inner {
    generation: u64,
    /// By the session token's bytes.
    sessions: BearerTable<CachedSession>,
    users: HashMap<Arc<str>, Arc<UserRecord>>,
    /// By digest: how a key presented for the first time is found.
    keys: HashMap<Box<str>, Arc<CachedKey>>,
    /// By the API key's bytes: how a key found once is found again without computing its digest.
    keys_by_secret: BearerTable<Arc<CachedKey>>,
}

pub struct PrincipalCache {
    inner: RwLock<Inner>,
    freshness: Freshness,
}

impl PrincipalCache {
    pub fn new(freshness: Freshness) -> Self {
        Self {
            inner: RwLock::default(),
            freshness,
        }
    }

    /// Forgets everything when another process has written since the last look; see
    /// [`Freshness`] for how rarely the store is asked.
    #[inline]
    pub fn notice_other_writers(&self, now_ms: i64, store: &dyn Store) {
        if self.freshness.stale(now_ms, || store.change_counter()) {
            self.invalidate();
        }
    }

    /// Whether the store failed to answer at the last look for other writers: known principals
    /// may then keep their rights for the configured grace, but nothing else is answered from
    /// memory.
    pub fn store_in_outage(&self) -> bool {
        self.freshness.in_outage()
    }

    pub fn generation(&self) -> u64 {
        self.inner.read().generation
    }

    /// `read` on the session cached under exactly `token`, under the read lock: no reference
    /// counts touched, which is what keeps a hot `authorize` to one lookup. `None` when the token
    /// is not cached (never verified here, or forgotten since).
    #[inline]
    pub fn with_session<R>(
        &self,
        token: &str,
        read: impl FnOnce(&CachedSession) -> R,
    ) -> Option<R> {
        self.inner.read().sessions.get(token.as_bytes()).map(read)
    }

    /// `read` on the API key cached under exactly `secret` (the key as presented), under the read
    /// lock. `None` when it was not found by digest since the last invalidation.
    #[inline]
    pub fn with_key_by_secret<R>(
        &self,
        secret: &str,
        read: impl FnOnce(&Arc<CachedKey>) -> R,
    ) -> Option<R> {
        self.inner
            .read()
            .keys_by_secret
            .get(secret.as_bytes())
            .map(read)
    }

    pub fn user(&self, id: &str) -> Option<Arc<UserRecord>> {
        self.inner.read().users.get(id).cloned()
    }

    /// The user `id` from the cache, or else from `load`.
    #[inline]
    pub fn user_or_load(
        &self,
        id: &str,
        load: impl FnOnce() -> Result<Option<UserRecord>>,
    ) -> Result<Option<Arc<UserRecord>>> {
        match self.user(id) {
            Some(user) => Ok(Some(user)),
            None => self.load_through(load, |generation, user| self.put_user(generation, user)),
        }
    }

    /// The key with `digest` from the cache, or else from `load`.
    #[inline]
    pub fn key_or_load(
        &self,
        digest: &str,
        load: impl FnOnce() -> Result<Option<ApiKeyRecord>>,
    ) -> Result<Option<Arc<CachedKey>>> {
        match self.key(digest) {
            Some(key) => Ok(Some(key)),
            None => self.load_through(load, |generation, key| self.put_key(generation, key)),
        }
    }

    fn key(&self, digest: &str) -> Option<Arc<CachedKey>> {
        self.inner.read().keys.get(digest).cloned()
    }

    /// Stores what was loaded at `generation` under the token it was verified from, unless an
    /// invalidation happened since. Only a token whose signature verified may be put here.
    pub fn put_session(&self, generation: u64, token: &str, session: CachedSession) {
        self.put_if_current(generation, |inner| {
            if inner.sessions.len() >= MAX_ENTRIES {
                inner.sessions.clear();
            }
            inner.sessions.insert(token.as_bytes(), session);
        });
    }

    /// Remembers `key` under the secret it was presented as, once that secret's digest found it
    /// (at `generation`). Only a secret whose digest matched `key` may be put here.
    pub fn put_key_by_secret(&self, generation: u64, secret: &str, key: Arc<CachedKey>) {
        self.put_if_current(generation, |inner| {
            if inner.keys_by_secret.len() >= MAX_ENTRIES {
                inner.keys_by_secret.clear();
            }
            inner.keys_by_secret.insert(secret.as_bytes(), key);
        });
    }

    /// The record is kept without its password hash: the hot path never needs it.
    pub fn put_user(&self, generation: u64, mut user: UserRecord) -> Arc<UserRecord> {
        user.password_hash.clear();
        let user = Arc::new(user);
        self.put_if_current(generation, |inner| {
            insert_bounded(&mut inner.users, user.id.as_str().into(), Arc::clone(&user));
        });
        user
    }

    fn put_key(&self, generation: u64, record: ApiKeyRecord) -> Arc<CachedKey> {
        let last_touch = UseStamp::new(record.last_used_at_ms.unwrap_or(i64::MIN / 2));
        let key = Arc::new(CachedKey {
            record: Arc::new(record),
            last_touch,
        });
        self.put_if_current(generation, |inner| {
            let digest = key.record.digest.as_str().into();
            insert_bounded(&mut inner.keys, digest, Arc::clone(&key));
        });
        key
    }

    pub fn invalidate(&self) {
        let mut inner = self.inner.write();
        inner.generation += 1;
        inner.sessions.clear();
        inner.users.clear();
        inner.keys.clear();
        inner.keys_by_secret.clear();
    }

    /// What `load` finds, kept by `put` unless an invalidation raced the load (the generation is
    /// read before it). Out of line: a hit, the hot path, is only the lookup.
    #[inline(never)]
    fn load_through<T, R>(
        &self,
        load: impl FnOnce() -> Result<Option<R>>,
        put: impl FnOnce(u64, R) -> T,
    ) -> Result<Option<T>> {
        let generation = self.generation();
        Ok(load()?.map(|loaded| put(generation, loaded)))
    }

    fn put_if_current(&self, generation: u64, insert: impl FnOnce(&mut Inner)) {
        let mut inner = self.inner.write();
        if inner.generation == generation {
            insert(&mut inner);
        }
    }
}

/// Past [`MAX_ENTRIES`] a table starts over rather than grow without bound.
fn insert_bounded<K: Eq + Hash, V>(table: &mut HashMap<K, V>, key: K, value: V) {
    if table.len() >= MAX_ENTRIES {
        table.clear();
    }
    table.insert(key, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Role, WorkspaceAccess, fixtures};

    fn user() -> UserRecord {
        fixtures::user(Role::Viewer, WorkspaceAccess::all())
    }

    fn cache() -> PrincipalCache {
        PrincipalCache::new(Freshness::new(0, 0, std::time::Duration::ZERO))
    }

    fn session(user: Arc<UserRecord>, expires_at_ms: i64) -> CachedSession {
        let claims = Claims {
            sub: user.id.clone(),
            uid: user.id.clone(),
            username: user.username.clone(),
            role: user.role,
            iat: 1_000,
            exp: 2_000,
            jti: "j1".into(),
        };
        CachedSession::new(&claims, expires_at_ms, 1_000_000, user, false)
    }

    #[test]
    fn a_cached_session_is_valid_only_inside_every_time_bound() {
        let cache = cache();
        let user = cache.put_user(cache.generation(), user());
        let entry = session(Arc::clone(&user), 1_500_000);
        assert!(entry.valid_at(1_200_000));
        assert!(!entry.valid_at(1_500_000), "session row expired");
        assert!(
            !session(Arc::clone(&user), i64::MAX).valid_at(2_000_000),
            "token expired"
        );
        assert!(!entry.valid_at(900_000 - 61_000), "issued in the future");
        let mut disabled = UserRecord::clone(&user);
        disabled.disabled = true;
        assert!(!session(Arc::new(disabled), i64::MAX).valid_at(1_200_000));
    }

    #[test]
    fn a_load_that_raced_an_invalidation_is_not_cached() {
        let cache = cache();
        let before = cache.generation();
        cache.invalidate();
        cache.put_user(before, user());
        assert!(cache.user("u1").is_none());
        cache.put_user(cache.generation(), user());
        assert!(cache.user("u1").is_some());
    }

    #[test]
    fn cached_users_carry_no_password_hash() {
        let cache = cache();
        cache.put_user(cache.generation(), user());
        assert_eq!(
            cache.user("u1").map(|u| u.password_hash.clone()),
            Some(String::new())
        );
    }

    #[test]
    fn invalidate_forgets_sessions_and_users() {
        let cache = cache();
        let generation = cache.generation();
        let token = "header.payload.signature";
        let user = cache.put_user(generation, user());
        cache.put_session(generation, token, session(user, i64::MAX));
        assert!(cache.with_session(token, |_| ()).is_some());
        assert!(
            cache
                .with_session("header.payload.signaturf", |_| ())
                .is_none()
        );
        cache.invalidate();
        assert!(cache.with_session(token, |_| ()).is_none() && cache.user("u1").is_none());
    }

    #[test]
    fn a_key_is_found_by_its_secret_only_until_the_next_invalidation() {
        let cache = cache();
        let generation = cache.generation();
        let key = cache.key_or_load("digest-k1", || {
            Ok(Some(fixtures::api_key(
                Role::Viewer,
                WorkspaceAccess::all(),
            )))
        });
        let Ok(Some(key)) = key else {
            panic!("the key loads");
        };
        cache.put_key_by_secret(generation, "dagu_secret", key);
        assert!(cache.with_key_by_secret("dagu_secret", |_| ()).is_some());
        assert!(cache.with_key_by_secret("dagu_secreu", |_| ()).is_none());
        cache.invalidate();
        assert!(cache.with_key_by_secret("dagu_secret", |_| ()).is_none());
    }

    #[test]
    fn a_credential_loaded_before_an_invalidation_is_not_cached_after_it() {
        let cache = cache();
        let before = cache.generation();
        let user = cache.put_user(before, user());
        cache.invalidate();
        cache.put_session(before, "header.payload.signature", session(user, i64::MAX));
        assert!(
            cache
                .with_session("header.payload.signature", |_| ())
                .is_none()
        );
    }

    #[test]
    fn a_miss_is_loaded_once_and_then_answered_from_the_cache() {
        let cache = cache();
        let loads = std::cell::Cell::new(0);
        let count = || loads.set(loads.get() + 1);
        for _ in 0..2 {
            let user = cache.user_or_load("u1", || {
                count();
                Ok(Some(user()))
            });
            assert!(matches!(user, Ok(Some(_))));
            let key = cache.key_or_load("digest-k1", || {
                count();
                Ok(Some(fixtures::api_key(
                    Role::Viewer,
                    WorkspaceAccess::all(),
                )))
            });
            assert!(matches!(key, Ok(Some(_))));
        }
        assert_eq!(loads.get(), 2, "one load per principal");
    }

    #[test]
    fn an_unknown_principal_is_not_remembered() {
        let cache = cache();
        for _ in 0..2 {
            assert!(matches!(cache.user_or_load("u9", || Ok(None)), Ok(None)));
            assert!(matches!(cache.key_or_load("nope", || Ok(None)), Ok(None)));
        }
        assert!(cache.user("u9").is_none());
    }
}
