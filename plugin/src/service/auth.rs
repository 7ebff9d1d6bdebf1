//! Who is calling: bearer tokens (session JWTs or API keys) to principals, through the in-memory
//! cache so `authorize` stays off SQLite.

use std::sync::Arc;

use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision};
use subtle::ConstantTimeEq;

use super::cache::{CachedKey, CachedSession};
use super::{Credentials, Engine};
use crate::error::{Error, Result, msg};
use crate::model::{Principal, UserRecord, looks_like_api_key};
use crate::policy;
use crate::token::Claims;

impl Engine {
    /// The principal behind a bearer credential, re-read after any change.
    pub fn principal<'a>(&self, caller: impl Into<Credentials<'a>>) -> Result<Principal> {
        let token = caller.into().token;
        if token.is_empty() {
            return Err(Error::Unauthenticated(msg::AUTH_REQUIRED.into()));
        }
        self.notice_other_writers();
        match looks_like_api_key(token) {
            true => self.key_principal(token).map(Principal::ApiKey),
            false => self
                .session_principal(token)
                .map(|(_, user)| Principal::User(user)),
        }
    }

    pub fn authorize(&self, token: &str, action: Action, workspace: &str) -> Result<Decision> {
        let principal = self.principal(token)?;
        Ok(policy::decide(
            principal.role(),
            principal.workspace_access(),
            action,
            workspace,
        ))
    }

    /// The caller, allowed `action` installation-wide (HTTP_API.md's check order: 401, then 403).
    pub(super) fn caller_allowed<'a>(
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

    /// A signed-in user's session: signature, expiry, a live session row, an enabled user.
    pub(super) fn session_principal(&self, token: &str) -> Result<(Arc<Claims>, Arc<UserRecord>)> {
        let invalid = || Error::Unauthenticated(msg::INVALID_TOKEN.into());
        let now_ms = self.now_ms();
        let claims = self
            .tokens
            .verify_shared(token, now_ms.div_euclid(1000))
            .map_err(|_| invalid())?;
        let session = self.cached_session(&claims.jti)?.ok_or_else(invalid)?;
        if session.expires_at_ms <= now_ms || *session.user_id != *claims.uid {
            return Err(invalid());
        }
        let user = self.cached_user(&claims.uid)?.ok_or_else(invalid)?;
        if user.disabled {
            return Err(invalid());
        }
        Ok((claims, user))
    }

    /// An API key: known digest, not expired, and an owner (if any) who is still enabled.
    fn key_principal(&self, token: &str) -> Result<Arc<crate::model::ApiKeyRecord>> {
        let invalid = || Error::Unauthenticated(msg::INVALID_TOKEN.into());
        let digest = self.key_digest.digest(token);
        let cached = self.cached_key(&digest)?.ok_or_else(invalid)?;
        // The lookup was by a keyed digest; the final comparison is constant-time all the same.
        if !bool::from(cached.record.digest.as_bytes().ct_eq(digest.as_bytes())) {
            return Err(invalid());
        }
        let now_ms = self.now_ms();
        if cached.record.is_expired(now_ms) {
            return Err(invalid());
        }
        if let Some(owner) = &cached.record.owner_user_id {
            let enabled = self.cached_user(owner)?.is_some_and(|user| !user.disabled);
            if !enabled {
                return Err(invalid());
            }
        }
        if cached.due_for_touch(now_ms) {
            self.maintenance.key_used(&cached.record.id, now_ms);
        }
        Ok(Arc::clone(&cached.record))
    }

    fn cached_session(&self, jti: &str) -> Result<Option<CachedSession>> {
        if let Some(session) = self.cache.session(jti) {
            return Ok(Some(session));
        }
        let generation = self.cache.generation();
        let Some(row) = self.store.session(jti)? else {
            return Ok(None);
        };
        let session = CachedSession {
            user_id: row.user_id.into(),
            expires_at_ms: row.expires_at_ms,
        };
        self.cache.put_session(generation, jti, session.clone());
        Ok(Some(session))
    }

    pub(super) fn cached_user(&self, id: &str) -> Result<Option<Arc<UserRecord>>> {
        if let Some(user) = self.cache.user(id) {
            return Ok(Some(user));
        }
        let generation = self.cache.generation();
        Ok(self
            .store
            .user_by_id(id)?
            .map(|user| self.cache.put_user(generation, user)))
    }

    fn cached_key(&self, digest: &str) -> Result<Option<Arc<CachedKey>>> {
        if let Some(key) = self.cache.key(digest) {
            return Ok(Some(key));
        }
        let generation = self.cache.generation();
        Ok(self
            .store
            .api_key_by_digest(digest)?
            .map(|key| self.cache.put_key(generation, key)))
    }
}
