//! Sessions: signing in (with the sign-in limits), signing out, and changing one's own password,
//! which ends every session of the account.

use serde_json::json;

use super::audit::{Actor, Event};
use super::session_controls::SignInOrigin;
use super::wire::{LoginResponse, MessageBody};
use super::{Credentials, Engine};
use crate::error::{Error, Result, msg};
use crate::model::{AuditEntry, Principal, UserRecord, fold_username, sign_in_key};
use crate::password;
use crate::store::{Session, UpdateEffects};
use crate::token::Claims;

/// Characters of an impossible username the sign-in limiter keys on.
const MAX_LIMITED_NAME_CHARS: usize = 64;
/// A sign-in password this long in bytes cannot be valid under any rule set; it is not hashed.
const MAX_SIGN_IN_PASSWORD_BYTES: usize = 4 * 1024;

impl Engine {
    /// Signs in. Unknown user, wrong password and disabled account answer the same error after the
    /// same work: one password hash. Failures count against the client IP and the account.
    pub fn login(&self, username: &str, password: &str, client_ip: &str) -> Result<LoginResponse> {
        self.login_from(username, password, SignInOrigin::new(client_ip, ""))
    }

    /// [`Engine::login`], with the user agent recorded on the session for its owner's list.
    pub fn login_from(
        &self,
        username: &str,
        password: &str,
        origin: SignInOrigin<'_>,
    ) -> Result<LoginResponse> {
        let client_ip = origin.client_ip;
        // A name no account can have is looked up as nobody; it is still limited (by its first
        // characters) and audited (without the name).
        let (account, possible) = match sign_in_key(username) {
            Some(key) => (key, true),
            None => (
                username
                    .chars()
                    .take(MAX_LIMITED_NAME_CHARS)
                    .collect::<String>()
                    .to_lowercase(),
                false,
            ),
        };
        let now_ms = self.now_ms();
        if let Err(retry_after_secs) = self.sign_in_wait(client_ip, &account, now_ms)? {
            // Named only when the name is an account's; a failed read records the attempt unnamed.
            let aimed_at = match possible {
                true => self.store.user_by_username(&account).ok().flatten(),
                false => None,
            };
            let details = json!({"reason": "rate_limited", "retry_after_secs": retry_after_secs});
            self.audit_failed_sign_in(aimed_at.as_ref(), client_ip, details);
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
        // An SSO user has no password here: the decoy hash is verified instead, so the answer is
        // the generic refusal after the same work, and names no account.
        let stored = user
            .as_ref()
            .filter(|u| u.sso.is_none())
            .map(|u| u.password_hash.as_str());
        let matches = self.hashing.verify_for(&account, &candidate, stored)?;
        // Dagu's reasons: a disabled account is named only once the password matched.
        let refusal = match &user {
            None => "invalid_credentials",
            Some(_) if !matches => "invalid_credentials",
            Some(user) if user.disabled => "account_disabled",
            Some(_) => "",
        };
        match (user, refusal) {
            (Some(mut user), "") => {
                if legacy
                    && let Some(upgraded) =
                        self.upgrade_legacy_hash(&user.id, password, &user.password_hash)
                {
                    user.password_hash = upgraded;
                }
                // The failures are cleared only once the second factor is right too.
                if user.mfa_enabled() {
                    return Err(self.mfa_challenge(&user, client_ip));
                }
                self.sign_in_succeeded(&account);
                let actor = Actor::account(&user, client_ip);
                let entry = self.audit_entry(&actor, Event::user("login", &user.id));
                self.start_session_from(user, Some(&entry), origin)
            }
            (user, _) => {
                self.sign_in_failed(client_ip, &account, now_ms)?;
                let details = json!({"reason": refusal});
                self.audit_failed_sign_in(user.as_ref(), client_ip, details);
                Err(Error::Unauthenticated(msg::INVALID_CREDENTIALS.into()))
            }
        }
    }

    /// `login_failed`, naming the account only when the name typed is one: a password typed into
    /// the username box must never land in the trail.
    fn audit_failed_sign_in(
        &self,
        account: Option<&UserRecord>,
        client_ip: &str,
        details: serde_json::Value,
    ) {
        let (actor, id) = match account {
            Some(user) => (Actor::account(user, client_ip), user.id.as_str()),
            None => (Actor::nobody(client_ip), ""),
        };
        let event = Event::user("login_failed", id).failed().details(details);
        self.audit(&actor, event);
    }

    /// Replaces the imported bcrypt hash `verified` with argon2id once the password is known, and
    /// answers the hash the session is to be checked against (`Store::insert_sign_in`). Only
    /// `verified` itself is replaced, never a newer hash; a newer one counts when this password
    /// verifies against it (another sign-in of the same password upgraded first), and not when
    /// the password was changed meanwhile. Best effort: a failure leaves the bcrypt hash, which
    /// keeps working, and is retried at the next sign-in.
    fn upgrade_legacy_hash(&self, id: &str, password: &str, verified: &str) -> Option<String> {
        let normalized = password::normalize(password);
        let mut replaced = false;
        let upgraded = self.hashing.hash(&normalized).and_then(|hash| {
            let stored = self.store.update_user(id, &mut |user| {
                replaced = user.password_hash == verified;
                if replaced {
                    user.password_hash.clone_from(&hash);
                }
                Ok(UpdateEffects::default())
            })?;
            Ok((hash, stored.password_hash))
        });
        match upgraded {
            Ok((hash, _)) if replaced => Some(hash),
            Ok((_, newer)) => {
                let same_password = self.hashing.verify(&normalized, Some(&newer));
                same_password.is_ok_and(|same| same).then_some(newer)
            }
            Err(error) => {
                let line = json!({"log": "dagu-auth.rehash-failed", "user": id, "error": error.to_string()});
                crate::log::line(&line);
                None
            }
        }
    }

    /// Signs `user` in; `entry`, if any, is recorded in the same transaction as the session, and
    /// its client address on the session.
    pub(super) fn start_session(
        &self,
        user: UserRecord,
        entry: Option<&AuditEntry>,
    ) -> Result<LoginResponse> {
        let client_ip = entry.map_or("", |entry| entry.ip_address.as_str());
        self.start_session_from(user, entry, SignInOrigin::new(client_ip, ""))
    }

    /// [`Engine::start_session`], recording where the sign-in came from.
    pub(super) fn start_session_from(
        &self,
        mut user: UserRecord,
        entry: Option<&AuditEntry>,
        origin: SignInOrigin<'_>,
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
        let (client_ip, user_agent) = origin.recorded();
        let session = Session {
            jti: claims.jti,
            user_id: user.id.clone(),
            created_at_ms: now_ms,
            expires_at_ms: exp * 1000,
            last_used_at_ms: now_ms,
            client_ip,
            user_agent,
        };
        let current = match entry {
            Some(entry) => self
                .store
                .insert_sign_in(&session, entry, &user.password_hash)?,
            None => self.store.insert_session(&session).map(|()| true)?,
        };
        // The password changed, or the account was disabled or deleted, while signing in. Not a
        // guess (what was checked was right when it was checked), so not counted as one.
        if !current {
            let actor = Actor::account(&user, origin.client_ip);
            let details = json!({"reason": "account_changed"});
            let event = Event::user("login_failed", &user.id).failed();
            self.audit(&actor, event.details(details));
            return Err(Error::Unauthenticated(msg::INVALID_CREDENTIALS.into()));
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
        let (user, jti) = self.session_of(
            caller,
            "An API key cannot sign out; delete the key instead",
            |caller| self.principal_during_enrollment(caller),
        )?;
        self.store.delete_session(&jti)?;
        self.cache.invalidate();
        let actor = Actor::session(&user, caller.client_ip);
        self.audit(&actor, Event::user("logout", &user.id));
        Ok(())
    }

    /// Changes the caller's own password; all of their sessions end, this one included. The
    /// current password is checked before the new one's rules, as in Dagu. That check is a
    /// password guess like a sign-in: it counts against the same per-account limit (a stolen
    /// session must not become an unlimited oracle for the password) and every failure is audited.
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
        let actor = Actor::session(&user, caller.client_ip);
        let account = fold_username(&user.username);
        let now_ms = self.now_ms();
        if let Err(retry_after_secs) = self.sign_in_wait(caller.client_ip, &account, now_ms)? {
            let details = json!({"reason": "rate_limited", "retry_after_secs": retry_after_secs});
            let event = Event::user("password_change", &user.id).failed();
            self.audit(&actor, event.details(details));
            return Err(Error::RateLimited { retry_after_secs });
        }
        let stored = self
            .store
            .user_by_id(&user.id)?
            .ok_or_else(|| Error::Unauthenticated(msg::INVALID_TOKEN.into()))?;
        if stored.sso.is_some() {
            return Err(Error::Forbidden(msg::PASSWORD_MANAGED.into()));
        }
        let current_matches = self.hashing.verify_for(
            &account,
            &password::normalize(current),
            Some(&stored.password_hash),
        )?;
        if !current_matches {
            self.sign_in_failed(caller.client_ip, &account, now_ms)?;
            let details = json!({"reason": "invalid_credentials"});
            let event = Event::user("password_change", &user.id).failed();
            self.audit(&actor, event.details(details));
            return Err(Error::Unauthenticated(
                "Current password is incorrect".into(),
            ));
        }
        self.sign_in_succeeded(&account);
        let normalized = password::check_rules(&self.config.password, new, &user.username)?;
        self.set_password(&user.id, &normalized)?;
        self.audit(&actor, Event::user("password_change", &user.id));
        Ok(MessageBody {
            message: "Password changed successfully",
        })
    }
}
