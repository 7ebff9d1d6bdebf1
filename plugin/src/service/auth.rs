//! Who is calling: bearer tokens (session JWTs or API keys) to principals, through the in-memory
//! cache so `authorize` stays off SQLite.

use std::sync::Arc;

use dagu_auth_vocab::{
    DaguAuthAction as Action, DaguAuthDecision as Decision, DaguAuthSurface as Surface,
};
use subtle::ConstantTimeEq;

use super::Engine;
use super::cache::{CachedKey, CachedSession};
use crate::error::{Error, Result, msg};
use crate::model::{ApiKeyRecord, Principal, SURFACE_NOT_ALLOWED, UserRecord, looks_like_api_key};
use crate::policy;

/// The bearer credential of a call, the address it came from (for the audit trail) and the
/// surface it arrived on (an API key is refused on a surface it does not allow).
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub token: &'a str,
    pub client_ip: &'a str,
    pub surface: Surface,
}

impl<'a> Credentials<'a> {
    /// A credential on the REST API: what HTTP requests and the calls without a surface mean.
    pub fn new(token: &'a str, client_ip: &'a str) -> Self {
        Self {
            token,
            client_ip,
            surface: Surface::RestApi,
        }
    }

    /// The same credential, arrived on `surface`.
    pub fn on(self, surface: Surface) -> Self {
        Self { surface, ..self }
    }
}

impl Default for Credentials<'_> {
    fn default() -> Self {
        Self::new("", "")
    }
}

/// A bare token on the REST API: callers of the ABIs have no client address to give.
impl<'a> From<&'a str> for Credentials<'a> {
    fn from(token: &'a str) -> Self {
        Self::new(token, "")
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
    /// The principal behind a bearer credential, re-read after any change. A session token is
    /// good on every surface; an API key only on those it allows (FORBIDDEN elsewhere).
    /// A user whose role requires two-factor sign-in and who has not set it up is refused
    /// (`MfaEnrollmentRequired`) until they do.
    pub fn principal<'a>(&self, caller: impl Into<Credentials<'a>>) -> Result<Principal> {
        self.principal_gated(caller.into(), true)
    }

    /// `principal`, with the enrolment gate only when `gate` is set.
    pub(super) fn principal_gated(&self, caller: Credentials<'_>, gate: bool) -> Result<Principal> {
        if caller.token.is_empty() {
            return Err(Error::Unauthenticated(msg::AUTH_REQUIRED.into()));
        }
        let now_ms = self.now_noticing_writers();
        match looks_like_api_key(caller.token) {
            true => self
                .key_principal(caller.token, caller.surface, now_ms)
                .map(Principal::ApiKey),
            false => {
                let (user, pending) = self.with_session(caller.token, now_ms, |session| {
                    (Arc::clone(&session.user), session.enrollment_pending)
                })?;
                if gate && pending {
                    return Err(Error::MfaEnrollmentRequired);
                }
                Ok(Principal::User(user))
            }
        }
    }

    /// What the holder of the credential may do in `workspace`, on the surface it arrived on.
    pub fn authorize<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        action: Action,
        workspace: &str,
    ) -> Result<Decision> {
        let caller = caller.into();
        if caller.token.is_empty() || looks_like_api_key(caller.token) {
            let principal = self.principal(caller)?;
            return Ok(policy::decide(
                principal.role(),
                principal.workspace_access(),
                action,
                workspace,
            ));
        }
        // A session token, good on every surface: decided from the packed access, without
        // cloning the user.
        let now_ms = self.now_noticing_writers();
        let (pending, decision) = self.with_session(caller.token, now_ms, |session| {
            (
                session.enrollment_pending,
                session.access.decide(action, workspace),
            )
        })?;
        match pending {
            true => Err(Error::MfaEnrollmentRequired),
            false => Ok(decision),
        }
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
    /// user). A token verified before is found by its own bytes and read under the cache's read
    /// lock, without its HMAC: a hit means these exact bytes verified (the cache's `BearerTable`
    /// says why), and the times and the user's state are checked on every call all the same.
    fn with_session<R>(
        &self,
        token: &str,
        now_ms: i64,
        read: impl Fn(&CachedSession) -> R,
    ) -> Result<R> {
        let session_use = self.session_use;
        let hot = self.cache.with_session(token, |session| {
            if !session.valid_at(now_ms) {
                return Some(Err(invalid_token()));
            }
            // Idle as far as this host knows: another host may have used it since, so the store
            // decides.
            if session.idle_at(now_ms, session_use.idle_timeout_ms) {
                return None;
            }
            self.note_session_use(session, now_ms);
            Some(Ok(read(session)))
        });
        match hot.flatten() {
            Some(answer) => answer,
            None => {
                let session = self.load_session(token, now_ms)?;
                self.note_session_use(&session, now_ms);
                Ok(read(&session))
            }
        }
    }

    /// Queues the session's use for the store once per touch interval; every other call only
    /// reads the time of the last one.
    #[inline]
    fn note_session_use(&self, session: &CachedSession, now_ms: i64) {
        if session
            .last_use
            .due(now_ms, self.session_use.touch_interval_ms)
        {
            self.maintenance.session_used(&session.jti, now_ms);
        }
    }

    /// Verifies a token, reads its session row and user into the cache; refuses an invalid one.
    /// Out of line: the hot path is the lookup above.
    #[inline(never)]
    fn load_session(&self, token: &str, now_ms: i64) -> Result<CachedSession> {
        let claims = self
            .tokens
            .verify_signature(token)
            .and_then(|verified| verified.claims(now_ms.div_euclid(1000)))
            .map_err(|_| invalid_token())?;
        let generation = self.cache.generation();
        let row = self.store.session(&claims.jti)?.ok_or_else(invalid_token)?;
        if *row.user_id != *claims.uid {
            return Err(invalid_token());
        }
        if self.session_use.idle(row.last_used_at_ms, now_ms) {
            return Err(invalid_token());
        }
        let user = self.cached_user(&claims.uid)?.ok_or_else(invalid_token)?;
        let pending = self.mfa_enrollment_pending(&user);
        let session = CachedSession::new(
            &claims,
            row.expires_at_ms,
            row.last_used_at_ms,
            user,
            pending,
        );
        if !session.valid_at(now_ms) {
            return Err(invalid_token());
        }
        self.cache.put_session(generation, token, session.clone());
        Ok(session)
    }

    /// An API key: known digest, not expired, an owner (if any) who still exists and is enabled,
    /// and allowed on `surface`. The checks run in Dagu's order: a key that is no good at all is
    /// 401 before a good key on the wrong surface is 403.
    fn key_principal(
        &self,
        token: &str,
        surface: Surface,
        now_ms: i64,
    ) -> Result<Arc<ApiKeyRecord>> {
        let cached = match self.cache.with_key_by_secret(token, Arc::clone) {
            Some(cached) => cached,
            None => self.key_by_digest(token)?,
        };
        if cached.record.is_expired(now_ms) {
            return Err(invalid_token());
        }
        // The owner is looked up on every use (from the cache, which every user change empties),
        // so a disabled owner's key stops at once and works again once the owner is re-enabled,
        // and a deleted owner's key never works again.
        if let Some(owner) = cached.record.attribution.owner_user_id() {
            let enabled = self.cached_user(owner)?.is_some_and(|user| !user.disabled);
            if !enabled {
                return Err(invalid_token());
            }
        }
        // Counted as used even where it is refused next, as Dagu counts it.
        if cached.due_for_touch(now_ms) {
            self.maintenance.key_used(&cached.record.id, now_ms);
        }
        if !cached.record.allowed_surfaces.contains(surface) {
            return Err(Error::Forbidden(SURFACE_NOT_ALLOWED.into()));
        }
        Ok(Arc::clone(&cached.record))
    }

    /// The key whose digest `secret` has, remembered under `secret` so that its next use skips
    /// the digest (an HMAC). Out of line: the hot path is the lookup by secret.
    #[inline(never)]
    fn key_by_digest(&self, secret: &str) -> Result<Arc<CachedKey>> {
        let generation = self.cache.generation();
        let digest = self.key_digest.digest(secret);
        let cached = self.cached_key(&digest)?.ok_or_else(invalid_token)?;
        // The lookup was by a keyed digest; the final comparison is constant-time all the same.
        if !bool::from(cached.record.digest.as_bytes().ct_eq(digest.as_bytes())) {
            return Err(invalid_token());
        }
        self.cache
            .put_key_by_secret(generation, secret, Arc::clone(&cached));
        Ok(cached)
    }

    pub(super) fn cached_user(&self, id: &str) -> Result<Option<Arc<UserRecord>>> {
        self.cache.user_or_load(id, || self.store.user_by_id(id))
    }

    fn cached_key(&self, digest: &str) -> Result<Option<Arc<CachedKey>>> {
        self.cache
            .key_or_load(digest, || self.store.api_key_by_digest(digest))
    }
}
