//! The in-memory principal cache that keeps SQLite off the `authorize` hot path.
//!
//! Every write in this process calls `invalidate`; writes by other processes are noticed through
//! the store's change counter (see `Engine::notice_other_writers`). A generation number stops a
//! reader that loaded before an invalidation from putting stale data back afterwards.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::RwLock;

use crate::model::{ApiKeyRecord, UserRecord};

/// `lastUsedAt` is written at most this often per key.
const KEY_TOUCH_INTERVAL_MS: i64 = 60 * 1000;

/// Past this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 200_000;

#[derive(Debug, Clone)]
pub struct CachedSession {
    pub user_id: Arc<str>,
    pub expires_at_ms: i64,
}

/// An API key as `authorize` needs it, with the time its use was last queued for the store.
#[derive(Debug)]
pub struct CachedKey {
    pub record: Arc<ApiKeyRecord>,
    last_touch_ms: AtomicI64,
}

impl CachedKey {
    /// True for at most one caller per interval, so the store sees one write a minute per key.
    pub fn due_for_touch(&self, now_ms: i64) -> bool {
        let last = self.last_touch_ms.load(Ordering::Relaxed);
        now_ms - last >= KEY_TOUCH_INTERVAL_MS
            && self
                .last_touch_ms
                .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }
}

#[derive(Default)]
struct Inner {
    generation: u64,
    sessions: HashMap<Box<str>, CachedSession>,
    users: HashMap<Arc<str>, Arc<UserRecord>>,
    /// By digest.
    keys: HashMap<Box<str>, Arc<CachedKey>>,
}

#[derive(Default)]
pub struct PrincipalCache {
    inner: RwLock<Inner>,
}

impl PrincipalCache {
    pub fn generation(&self) -> u64 {
        self.inner.read().generation
    }

    pub fn session(&self, jti: &str) -> Option<CachedSession> {
        self.inner.read().sessions.get(jti).cloned()
    }

    pub fn user(&self, id: &str) -> Option<Arc<UserRecord>> {
        self.inner.read().users.get(id).cloned()
    }

    pub fn key(&self, digest: &str) -> Option<Arc<CachedKey>> {
        self.inner.read().keys.get(digest).cloned()
    }

    pub fn put_key(&self, generation: u64, record: ApiKeyRecord) -> Arc<CachedKey> {
        let last_touch_ms = AtomicI64::new(record.last_used_at_ms.unwrap_or(i64::MIN / 2));
        let key = Arc::new(CachedKey {
            record: Arc::new(record),
            last_touch_ms,
        });
        let mut inner = self.inner.write();
        if inner.generation == generation {
            if inner.keys.len() >= MAX_ENTRIES {
                inner.keys.clear();
            }
            inner
                .keys
                .insert(key.record.digest.as_str().into(), Arc::clone(&key));
        }
        key
    }

    /// Stores what was loaded at `generation`, unless an invalidation happened since.
    pub fn put_session(&self, generation: u64, jti: &str, session: CachedSession) {
        let mut inner = self.inner.write();
        if inner.generation == generation {
            if inner.sessions.len() >= MAX_ENTRIES {
                inner.sessions.clear();
            }
            inner.sessions.insert(jti.into(), session);
        }
    }

    /// The record is kept without its password hash: the hot path never needs it.
    pub fn put_user(&self, generation: u64, mut user: UserRecord) -> Arc<UserRecord> {
        user.password_hash.clear();
        let user = Arc::new(user);
        let mut inner = self.inner.write();
        if inner.generation == generation {
            if inner.users.len() >= MAX_ENTRIES {
                inner.users.clear();
            }
            inner
                .users
                .insert(user.id.as_str().into(), Arc::clone(&user));
        }
        user
    }

    pub fn invalidate(&self) {
        let mut inner = self.inner.write();
        inner.generation += 1;
        inner.sessions.clear();
        inner.users.clear();
        inner.keys.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Role, WorkspaceAccess};

    fn user() -> UserRecord {
        UserRecord {
            id: "u1".into(),
            username: "alice".into(),
            role: Role::Viewer,
            workspace_access: WorkspaceAccess::all(),
            password_hash: "$argon2id$hash".into(),
            disabled: false,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn a_load_that_raced_an_invalidation_is_not_cached() {
        let cache = PrincipalCache::default();
        let before = cache.generation();
        cache.invalidate();
        cache.put_user(before, user());
        assert!(cache.user("u1").is_none());
        cache.put_user(cache.generation(), user());
        assert!(cache.user("u1").is_some());
    }

    #[test]
    fn cached_users_carry_no_password_hash() {
        let cache = PrincipalCache::default();
        cache.put_user(cache.generation(), user());
        assert_eq!(
            cache.user("u1").map(|u| u.password_hash.clone()),
            Some(String::new())
        );
    }

    #[test]
    fn invalidate_forgets_sessions_and_users() {
        let cache = PrincipalCache::default();
        let generation = cache.generation();
        cache.put_session(
            generation,
            "j1",
            CachedSession {
                user_id: "u1".into(),
                expires_at_ms: 1,
            },
        );
        cache.put_user(generation, user());
        cache.invalidate();
        assert!(cache.session("j1").is_none() && cache.user("u1").is_none());
    }
}
