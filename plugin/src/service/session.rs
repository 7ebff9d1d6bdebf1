//! Sessions: signing in (with the sign-in limits), signing out, and changing one's own password,
//! which ends every session of the account.

use serde_json::json;

use super::audit::Actor;
use super::wire::{LoginResponse, MessageBody};
use super::{Credentials, Engine};
use crate::error::{Error, Result, msg};
use crate::model::{
    AuditEvent, Principal, UserRecord, fold_username, looks_like_api_key, validate_username,
};
use crate::password;
use crate::store::{Session, UpdateEffects};
use crate::token::Claims;

/// Characters of an impossible username kept in the audit trail and the limiter.
const MAX_AUDITED_NAME_CHARS: usize = 64;
/// A sign-in password this long in bytes cannot be valid under any rule set; it is not hashed.
const MAX_SIGN_IN_PASSWORD_BYTES: usize = 4 * 1024;

impl Engine {
    /// Signs in. Unknown user, wrong password and disabled account answer the same error after the
    /// same work: one password hash. Failures count against the client IP and the account.
    pub fn login(&self, username: &str, password: &str, client_ip: &str) -> Result<LoginResponse> {
        // A name no account can have is looked up as nobody; it is still limited and audited, but
        // only its first characters are kept.
        let (account, possible) = match validate_username(username) {
            Ok(valid) => (fold_username(&valid), true),
            Err(_) => (
                username
                    .chars()
                    .take(MAX_AUDITED_NAME_CHARS)
                    .collect::<String>()
                    .to_lowercase(),
                false,
            ),
        };
        // Attempts are recorded under the account they aim at, whoever makes them.
        let attempt = Actor::new(&account, client_ip);
        let now_ms = self.now_ms();
        if let Err(retry_after_secs) = self.sign_in_wait(client_ip, &account, now_ms)? {
            let detail = json!({"retryAfterSecs": retry_after_secs});
            self.audit("rate_limited", &attempt, &account, detail);
            return Err(Error::RateLimited { retry_after_secs });
        }
        let user = match possible {
            true => self.store.user_by_username(&account)?,
            false => None,
        };
        let legacy = user
            .as_ref()
            .is_some_and(|u| password::is_legacy_hash(&u.password_hash));
        let candidate = match password.len() {
            // Dagu's bcrypt hashes were made from the password exactly as typed.
            0..=MAX_SIGN_IN_PASSWORD_BYTES if legacy => password.to_string(),
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
                self.sign_in_succeeded(&account);
                if legacy {
                    self.upgrade_legacy_hash(&user.id, password);
                }
                let actor = Actor::new(&user.id, client_ip);
                let event = self.audit_event("login", &actor, &user.id, json!({}));
                self.start_session(user, Some(&event))
            }
            _ => {
                self.sign_in_failed(client_ip, &account, now_ms)?;
                let detail = json!({"reason": refusal});
                self.audit("login_failed", &attempt, &account, detail);
                Err(Error::Unauthenticated(msg::INVALID_CREDENTIALS.into()))
            }
        }
    }

    /// Replaces an imported bcrypt hash with argon2id once the password is known. Best effort: a
    /// failure leaves the bcrypt hash, which keeps working, and is retried at the next sign-in.
    fn upgrade_legacy_hash(&self, id: &str, password: &str) {
        let upgraded = self
            .hashing
            .hash(&password::normalize(password))
            .and_then(|hash| {
                self.store.update_user(id, &mut |user| {
                    // Only the hash that was just verified is replaced, never a newer one.
                    if password::is_legacy_hash(&user.password_hash) {
                        user.password_hash.clone_from(&hash);
                    }
                    Ok(UpdateEffects::default())
                })
            });
        if let Err(error) = upgraded {
            let line =
                json!({"log": "dagu-auth.rehash-failed", "user": id, "error": error.to_string()});
            eprintln!("{line}");
        }
    }

    /// Signs `user` in; `event`, if any, is recorded in the same transaction as the session.
    pub(super) fn start_session(
        &self,
        mut user: UserRecord,
        event: Option<&AuditEvent>,
    ) -> Result<LoginResponse> {
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
        let session = Session {
            jti: claims.jti,
            user_id: user.id.clone(),
            created_at_ms: now_ms,
            expires_at_ms: exp * 1000,
        };
        match event {
            Some(event) => self.store.insert_session_audited(&session, event)?,
            None => self.store.insert_session(&session)?,
        }
        user.password_hash.clear();
        Ok(LoginResponse {
            token,
            expires_at_ms: exp * 1000,
            user,
        })
    }

    /// Ends the session of a session token; it fails from the next call on.
    pub fn logout<'a>(&self, caller: impl Into<Credentials<'a>>) -> Result<()> {
        let caller = caller.into();
        if looks_like_api_key(caller.token) {
            return Err(Error::bad_request(
                "An API key cannot sign out; delete the key instead",
            ));
        }
        let Principal::User(user) = self.principal(caller)? else {
            return Err(Error::Internal(
                "a session token resolved to an API key".into(),
            ));
        };
        // The token was verified just above; parsed once more here for its session id (sign-out is
        // rare, so the cache does not carry it).
        let claims = self
            .tokens
            .verify(caller.token, self.now_ms().div_euclid(1000))
            .map_err(|_| Error::Unauthenticated(msg::INVALID_TOKEN.into()))?;
        self.store.delete_session(&claims.jti)?;
        self.cache.invalidate();
        let actor = Actor::new(&user.id, caller.client_ip);
        self.audit("logout", &actor, &user.id, json!({}));
        Ok(())
    }

    /// Changes the caller's own password; all of their sessions end, this one included. The
    /// current password is checked before the new one's rules, as in Dagu.
    pub fn change_password<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        current: &str,
        new: &str,
    ) -> Result<MessageBody> {
        let caller = caller.into();
        let Principal::User(user) = self.principal(caller)? else {
            return Err(Error::bad_request("API keys have no password to change"));
        };
        let stored = self
            .store
            .user_by_id(&user.id)?
            .ok_or_else(|| Error::Unauthenticated(msg::INVALID_TOKEN.into()))?;
        if !self
            .hashing
            .verify(&password::normalize(current), Some(&stored.password_hash))?
        {
            return Err(Error::Unauthenticated(
                "Current password is incorrect".into(),
            ));
        }
        let normalized = password::check_rules(&self.config.password, new, &user.username)?;
        self.set_password(&user.id, &normalized)?;
        let actor = Actor::new(&user.id, caller.client_ip);
        self.audit("password_change", &actor, &user.id, json!({}));
        Ok(MessageBody {
            message: "Password changed successfully",
        })
    }
}
