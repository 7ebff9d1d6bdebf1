//! Who is calling: bearer tokens (session JWTs or API keys) to principals, through the in-memory
//! cache so `authorize` stays off SQLite.

use std::sync::Arc;

use dagu_auth_vocab::{DaguAuthAction as Action, DaguAuthDecision as Decision};
use subtle::ConstantTimeEq;

use super::Engine;
use super::cache::{CachedKey, CachedSession};
use crate::error::{Error, Result, msg};
use crate::model::{ApiKeyRecord, Principal, UserRecord, looks_like_api_key};
use crate::policy;
use crate::token::Verified;

/// The bearer credential of a call and where it came from (for the audit trail).
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    pub token: &'a str,
    pub client_ip: &'a str,
}

impl<'a> Credentials<'a> {
    pub fn new(token: &'a str, client_ip: &'a str) -> Self {
        Self { token, client_ip }
    }
}

/// A bare token: callers of the ABIs have no client address to give.
impl<'a> From<&'a str> for Credentials<'a> {
    fn from(token: &'a str) -> Self {
        Self {
            token,
            client_ip: "",
        }
    }
}

impl<'a> From<&'a String> for Credentials<'a> {
    fn from(token: &'a String) -> Self {
        Self::from(token.as_str())
    }
}

fn invalid_token() -> Error {
    Error::Unauthenticated(msg::INVALID_TOKEN.into())
}

impl Engine {
    /// The principal behind a bearer credential, re-read after any change.
    pub fn principal<'a>(&self, caller: impl Into<Credentials<'a>>) -> Result<Principal> {
        let token = caller.into().token;
        if token.is_empty() {
            return Err(Error::Unauthenticated(msg::AUTH_REQUIRED.into()));
        }
        let now_ms = self.now_noticing_writers();
        match looks_like_api_key(token) {
            true => self.key_principal(token, now_ms).map(Principal::ApiKey),
            false => self
                .with_session(token, now_ms, |session| Arc::clone(&session.user))
                .map(Principal::User),
        }
    }

    pub fn authorize(&self, token: &str, action: Action, workspace: &str) -> Result<Decision> {
        if token.is_empty() || looks_like_api_key(token) {
            let principal = self.principal(token)?;
            return Ok(policy::decide(
                principal.role(),
                principal.workspace_access(),
                action,
                workspace,
            ));
        }
        // A session token: decided from the packed access, without cloning the user.
        let now_ms = self.now_noticing_writers();
        self.with_session(token, now_ms, |session| {
            session.access.decide(action, workspace)
        })
    }

    /// The time for expiry checks, once other processes' writes have been looked for.
    fn now_noticing_writers(&self) -> i64 {
        let now_ms = self.clock.now_ms_coarse();
        self.cache.notice_other_writers(now_ms, self.store.as_ref());
        now_ms
    }

    /// The caller, allowed `action` installation-wide: an unknown caller is 401 before a known
    /// one without the role is 403.
    pub(crate) fn caller_allowed<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        action: Action,
    ) -> Result<Principal> {
        let principal = self.principal(caller)?;
        match policy::decide(principal.role(), principal.workspace_access(), action, "") {
            Decision::Allow => Ok(principal),
            _ => Err(Error::Forbidden(msg::INSUFFICIENT_PERMISSIONS.into())),
        }
    }

    pub(super) fn admin<'a>(&self, caller: impl Into<Credentials<'a>>) -> Result<Principal> {
        self.caller_allowed(caller, Action::Admin)
    }

    /// `read` on a signed-in user's session (signature, expiry, a live session row, an enabled
    /// user). A cached session is read under the cache's read lock, so a hot call is one HMAC, one
    /// clock read and one lookup (BENCHMARKS.md has the figures).
    fn with_session<R>(
        &self,
        token: &str,
        now_ms: i64,
        read: impl Fn(&CachedSession) -> R,
    ) -> Result<R> {
        let verified = self
            .tokens
            .verify_signature(token)
            .map_err(|_| invalid_token())?;
        let hot = self.cache.with_session(&verified.signature, |session| {
            session.valid_at(now_ms).then(|| read(session))
        });
        match hot {
            Some(answer) => answer.ok_or_else(invalid_token),
            None => Ok(read(&self.load_session(&verified, now_ms)?)),
        }
    }

    /// Reads a verified token's session row and user into the cache; refuses an invalid one.
    fn load_session(&self, verified: &Verified<'_>, now_ms: i64) -> Result<CachedSession> {
        let claims = verified
            .claims(now_ms.div_euclid(1000))
            .map_err(|_| invalid_token())?;
        let generation = self.cache.generation();
        let row = self.store.session(&claims.jti)?.ok_or_else(invalid_token)?;
        if *row.user_id != *claims.uid {
            return Err(invalid_token());
        }
        let user = self.cached_user(&claims.uid)?.ok_or_else(invalid_token)?;
        let session = CachedSession::new(&claims, row.expires_at_ms, user);
        if !session.valid_at(now_ms) {
            return Err(invalid_token());
        }
        self.cache
            .put_session(generation, verified.signature, session.clone());
        Ok(session)
    }

    /// An API key: known digest, not expired, and an owner (if any) who is still enabled.
    fn key_principal(&self, token: &str, now_ms: i64) -> Result<Arc<ApiKeyRecord>> {
        let digest = self.key_digest.digest(token);
        let cached = self.cached_key(&digest)?.ok_or_else(invalid_token)?;
        // The lookup was by a keyed digest; the final comparison is constant-time all the same.
        if !bool::from(cached.record.digest.as_bytes().ct_eq(digest.as_bytes())) {
            return Err(invalid_token());
        }
        if cached.record.is_expired(now_ms) {
            return Err(invalid_token());
        }
        if let Some(owner) = &cached.record.owner_user_id {
            let enabled = self.cached_user(owner)?.is_some_and(|user| !user.disabled);
            if !enabled {
                return Err(invalid_token());
            }
        }
        if cached.due_for_touch(now_ms) {
            self.maintenance.key_used(&cached.record.id, now_ms);
        }
        Ok(Arc::clone(&cached.record))
    }

    pub(super) fn cached_user(&self, id: &str) -> Result<Option<Arc<UserRecord>>> {
        self.cache.user_or_load(id, || self.store.user_by_id(id))
    }

    fn cached_key(&self, digest: &str) -> Result<Option<Arc<CachedKey>>> {
        self.cache
            .key_or_load(digest, || self.store.api_key_by_digest(digest))
    }
}
