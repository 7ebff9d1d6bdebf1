//! First-admin setup, sign-in, sign-out and token checks.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision};
use serde::Serialize;

use super::cache::CachedSession;
use super::{Engine, MessageBody, expires_at};
use crate::error::{Error, Result, msg};
use crate::model::{Role, UserRecord, UserView, WorkspaceAccess, fold_username, validate_username};
use crate::password;
use crate::policy;
use crate::store::{Session, UpdateEffects};
use crate::token::Claims;

/// Expired sessions are swept at most this often, on sign-in.
const SESSION_SWEEP_INTERVAL_MS: i64 = 3600 * 1000;
/// A sign-in password this long in bytes cannot be valid under any rule set; it is not hashed.
const MAX_SIGN_IN_PASSWORD_BYTES: usize = 4 * 1024;

#[derive(Debug, Clone)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at_ms: i64,
    pub user: UserRecord,
}

impl Serialize for LoginResponse {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            token: &'a str,
            expires_at: String,
            user: UserView<'a>,
        }
        Body {
            token: &self.token,
            expires_at: expires_at(self.expires_at_ms),
            user: self.user.view(),
        }
        .serialize(serializer)
    }
}

impl Engine {
    pub fn setup_required(&self) -> Result<bool> {
        Ok(self.store.user_count()? == 0)
    }

    /// Creates the first admin and signs them in. Only while no user exists; of concurrent calls
    /// exactly one wins (the store checks and inserts in one transaction).
    pub fn setup(&self, username: &str, password: &str) -> Result<LoginResponse> {
        let done = || Error::Forbidden(msg::SETUP_DONE.into());
        // Checked before the password so a finished installation reveals nothing else.
        if !self.setup_required()? {
            return Err(done());
        }
        let username = validate_username(username).map_err(Error::BadRequest)?;
        let normalized = password::check_rules(&self.config.password, password, &username)?;
        let user = self.new_user(username, Role::Admin, WorkspaceAccess::all(), &normalized)?;
        if !self.store.insert_first_user(&user)? {
            return Err(done());
        }
        self.cache.invalidate();
        self.start_session(user)
    }

    /// Signs in. Unknown user, wrong password and disabled account answer the same error after the
    /// same work: one password hash. Failures count against the client IP and the account.
    pub fn login(&self, username: &str, password: &str, client_ip: &str) -> Result<LoginResponse> {
        let account = fold_username(username);
        let now_ms = self.now_ms();
        if let Err(retry_after_secs) = self.limiter.check(client_ip, &account, now_ms) {
            self.security_event(
                "rate_limited",
                &account,
                client_ip,
                "too many failed sign-ins",
            );
            return Err(Error::RateLimited { retry_after_secs });
        }
        let user = match account.as_str() {
            "" => None,
            name => self.store.user_by_username(name)?,
        };
        let candidate = match password.len() {
            0..=MAX_SIGN_IN_PASSWORD_BYTES => password::normalize(password),
            _ => String::new(),
        };
        let matches = self
            .hashing
            .verify(&candidate, user.as_ref().map(|u| u.password_hash.as_str()))?;
        let refusal = match &user {
            None => "unknown user",
            Some(user) if user.disabled => "account disabled",
            Some(_) if !matches => "wrong password",
            Some(_) => "",
        };
        match (user, refusal) {
            (Some(user), "") => {
                self.limiter.record_success(&account);
                self.security_event("login", &user.username, client_ip, "");
                self.start_session(user)
            }
            _ => {
                self.limiter.record_failure(client_ip, &account, now_ms);
                self.security_event("login_failed", &account, client_ip, refusal);
                Err(Error::Unauthenticated(msg::INVALID_CREDENTIALS.into()))
            }
        }
    }

    fn start_session(&self, mut user: UserRecord) -> Result<LoginResponse> {
        let now_ms = self.now_ms();
        let iat = now_ms.div_euclid(1000);
        let exp = iat + self.tokens.ttl().as_secs() as i64;
        let claims = Claims {
            sub: user.id.clone(),
            uid: user.id.clone(),
            username: user.username.clone(),
            role: user.role,
            iat,
            exp,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = self.tokens.sign(&claims)?;
        self.store.insert_session(&Session {
            jti: claims.jti,
            user_id: user.id.clone(),
            created_at_ms: now_ms,
            expires_at_ms: exp * 1000,
        })?;
        self.sweep_expired_sessions(now_ms);
        user.password_hash.clear();
        Ok(LoginResponse {
            token,
            expires_at_ms: exp * 1000,
            user,
        })
    }

    fn sweep_expired_sessions(&self, now_ms: i64) {
        let last = self.last_session_sweep_ms.load(Ordering::Relaxed);
        if now_ms - last < SESSION_SWEEP_INTERVAL_MS
            || self
                .last_session_sweep_ms
                .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        // Expired sessions fail verification anyway; sweeping only reclaims space, so an error here
        // must not fail the sign-in that triggered it.
        let _ = self.store.delete_expired_sessions(now_ms);
    }

    /// Ends the session of `token`; it fails from the next call on.
    pub fn logout(&self, token: &str) -> Result<()> {
        let (claims, _) = self.verify_token(token)?;
        self.store.delete_session(&claims.jti)?;
        self.cache.invalidate();
        Ok(())
    }

    /// The current user behind a bearer token, re-read after any change.
    pub fn principal(&self, token: &str) -> Result<Arc<UserRecord>> {
        self.verify_token(token).map(|(_, user)| user)
    }

    pub fn authorize(&self, token: &str, action: Action, workspace: &str) -> Result<Decision> {
        let user = self.principal(token)?;
        Ok(policy::decide(
            user.role,
            &user.workspace_access,
            action,
            workspace,
        ))
    }

    /// The caller, who must be an admin (HTTP_API.md's check order: 401, then 403).
    pub(super) fn admin(&self, token: &str) -> Result<Arc<UserRecord>> {
        let caller = self.principal(token)?;
        match policy::decide(caller.role, &caller.workspace_access, Action::Admin, "") {
            Decision::Allow => Ok(caller),
            _ => Err(Error::Forbidden(msg::INSUFFICIENT_PERMISSIONS.into())),
        }
    }

    fn verify_token(&self, token: &str) -> Result<(Claims, Arc<UserRecord>)> {
        let invalid = || Error::Unauthenticated(msg::INVALID_TOKEN.into());
        if token.is_empty() {
            return Err(Error::Unauthenticated(msg::AUTH_REQUIRED.into()));
        }
        let now_ms = self.now_ms();
        let claims = self
            .tokens
            .verify(token, now_ms.div_euclid(1000))
            .map_err(|_| invalid())?;
        self.notice_other_writers();
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

    /// Changes the caller's own password; all of their sessions end, this one included.
    pub fn change_password(&self, token: &str, current: &str, new: &str) -> Result<MessageBody> {
        let caller = self.principal(token)?;
        let normalized = password::check_rules(&self.config.password, new, &caller.username)?;
        let stored = self
            .store
            .user_by_id(&caller.id)?
            .ok_or_else(|| Error::Unauthenticated(msg::INVALID_TOKEN.into()))?;
        if !self
            .hashing
            .verify(&password::normalize(current), Some(&stored.password_hash))?
        {
            return Err(Error::Unauthenticated(
                "Current password is incorrect".into(),
            ));
        }
        let hash = self.hashing.hash(&normalized)?;
        let now = self.now_ms();
        self.store.update_user(&caller.id, &mut |user| {
            user.password_hash.clone_from(&hash);
            user.updated_at_ms = now;
            Ok(UpdateEffects {
                revoke_sessions: true,
            })
        })?;
        self.cache.invalidate();
        Ok(MessageBody {
            message: "Password changed successfully",
        })
    }
}
