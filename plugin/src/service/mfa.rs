//! Two-factor sign-in: setting up TOTP, the second step of a sign-in, recovery codes, turning it
//! off, an admin's reset, and the gate that keeps a user whose role requires it to enrolling.
//!
//! Every change to a user's two-factor state runs inside the store's update of that user, so a
//! code used on one host is refused on every other (the last used step and the spent recovery
//! codes are in the same row, written in the same transaction that checked them).

use std::sync::Arc;

use serde_json::json;
use subtle::ConstantTimeEq;

use super::audit::{Actor, Event};
use super::session_controls::SignInOrigin;
use super::wire::{LoginResponse, MessageBody, RecoveryCodes, SignInStep, TotpSetup};
use super::{Credentials, Engine};
use crate::error::{Error, Result, msg};
use crate::mfa::{self, totp};
use crate::model::{MfaChallenge, MfaState, Principal, UserRecord, fold_username};
use crate::password;
use crate::store::UpdateEffects;

/// The issuer authenticator apps show beside the account name.
const ISSUER: &str = "Dagu";
/// How long the second step of a sign-in may take.
const CHALLENGE_TTL_MS: i64 = 5 * 60 * 1000;
const INVALID_CODE: &str = "Invalid authentication code";
const INVALID_CHALLENGE: &str = "Two-factor sign-in expired or invalid; sign in again";
const ALREADY_ON: &str = "Two-factor authentication is already on; turn it off first";

/// Which second factor a code was.
#[derive(Clone, Copy)]
enum Factor {
    Totp,
    RecoveryCode,
}

impl Factor {
    fn name(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
        }
    }
}

impl Engine {
    /// True while `user`'s role requires two-factor sign-in and they have not set it up: their
    /// session is then good only for enrolling, `/auth/me` and signing out. A user an SSO
    /// sign-in created is not held: the provider owns how they authenticate, second factor
    /// included, as it owns their password.
    pub(super) fn mfa_enrollment_pending(&self, user: &UserRecord) -> bool {
        !user.mfa.enabled
            && user.sso.is_none()
            && self.config.mfa_required_roles.contains(&user.role)
    }

    /// The signed-in user behind a session token, let through the enrolment gate. API keys have
    /// no second factor.
    pub fn principal_during_enrollment<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
    ) -> Result<Principal> {
        self.principal_gated(caller.into(), false)
    }

    fn enrolling_user(&self, caller: Credentials<'_>) -> Result<Arc<UserRecord>> {
        match self.principal_during_enrollment(caller)? {
            Principal::User(user) => Ok(user),
            Principal::ApiKey(_) => Err(Error::bad_request(
                "API keys have no two-factor authentication",
            )),
        }
    }

    /// Starts TOTP setup: a new secret, shown once as base32 and as an `otpauth://` URI. Sign-in
    /// asks for codes only after `confirm_totp`; starting again replaces an unconfirmed secret.
    pub fn start_totp_setup<'a>(&self, caller: impl Into<Credentials<'a>>) -> Result<TotpSetup> {
        let caller = caller.into();
        let user = self.enrolling_user(caller)?;
        if user.sso.is_some() {
            return Err(Error::Forbidden(msg::MFA_MANAGED.into()));
        }
        if user.mfa.enabled {
            return Err(Error::Conflict(ALREADY_ON.into()));
        }
        let secret = mfa::new_secret()?;
        let sealed = self.mfa_keys.seal(&user.id, &secret)?;
        self.store.update_user(&user.id, &mut |record| {
            if record.mfa.enabled {
                return Err(Error::Conflict(ALREADY_ON.into()));
            }
            record.mfa = MfaState {
                sealed_secret: sealed.clone(),
                ..MfaState::default()
            };
            Ok(UpdateEffects::default())
        })?;
        self.cache.invalidate();
        let actor = Actor::session(&user, caller.client_ip);
        self.audit(&actor, Event::user("mfa_setup", &user.id));
        Ok(TotpSetup {
            secret: totp::secret_base32(&secret),
            otpauth_url: totp::otpauth_uri(ISSUER, &user.username, &secret),
        })
    }

    /// Fresh recovery codes, to show once, and the digests the store keeps of them.
    fn new_recovery_codes(&self) -> Result<(Vec<String>, Vec<String>)> {
        let codes = mfa::new_recovery_codes()?;
        let digests = codes
            .iter()
            .map(|code| self.mfa_keys.recovery_digest(code))
            .collect();
        Ok((codes, digests))
    }

    /// Confirms the secret of `start_totp_setup` with a code from it: from now on sign-in asks
    /// for a code. Answers the recovery codes, which are shown this once.
    pub fn confirm_totp<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        code: &str,
    ) -> Result<RecoveryCodes> {
        let caller = caller.into();
        let user = self.enrolling_user(caller)?;
        // A secret started before SSO users were refused setup is not turned on either.
        if user.sso.is_some() {
            return Err(Error::Forbidden(msg::MFA_MANAGED.into()));
        }
        let (codes, digests) = self.new_recovery_codes()?;
        let now_ms = self.now_ms();
        let confirmed = self.store.update_user(&user.id, &mut |record| {
            if record.mfa.enabled {
                return Err(Error::Conflict(ALREADY_ON.into()));
            }
            if record.mfa.sealed_secret.is_empty() {
                return Err(Error::bad_request("Start two-factor setup first"));
            }
            let secret = self.mfa_keys.open(&record.id, &record.mfa.sealed_secret)?;
            let step = totp::matching_step(&secret, code, now_ms, record.mfa.last_step)
                .ok_or_else(|| Error::bad_request(INVALID_CODE))?;
            record.mfa.enabled = true;
            record.mfa.last_step = step;
            record.mfa.recovery_digests.clone_from(&digests);
            Ok(UpdateEffects::default())
        });
        let actor = Actor::session(&user, caller.client_ip);
        if let Err(error) = confirmed {
            let details = json!({"reason": error.to_string()});
            let event = Event::user("mfa_enable", &user.id)
                .failed()
                .details(details);
            self.audit(&actor, event);
            return Err(error);
        }
        self.cache.invalidate();
        self.audit(&actor, Event::user("mfa_enable", &user.id));
        Ok(RecoveryCodes {
            recovery_codes: codes,
        })
    }

    /// Turns two-factor sign-in off; needs the password and a code (TOTP or recovery), and wrong
    /// ones count against the account's sign-in limit as at sign-in.
    pub fn disable_totp<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        current_password: &str,
        code: &str,
    ) -> Result<MessageBody> {
        let caller = caller.into();
        let user = self.enrolling_user(caller)?;
        self.with_second_factor(
            caller,
            &user,
            "mfa_disable",
            code,
            Some(current_password),
            |mfa| {
                *mfa = MfaState::default();
            },
        )?;
        Ok(MessageBody {
            message: "Two-factor authentication turned off",
        })
    }

    /// New recovery codes in place of the old ones, for a code (TOTP or recovery).
    pub fn regenerate_recovery_codes<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        code: &str,
    ) -> Result<RecoveryCodes> {
        let caller = caller.into();
        let user = self.enrolling_user(caller)?;
        let (codes, digests) = self.new_recovery_codes()?;
        self.with_second_factor(caller, &user, "mfa_recovery_codes", code, None, |mfa| {
            mfa.recovery_digests.clone_from(&digests);
        })?;
        Ok(RecoveryCodes {
            recovery_codes: codes,
        })
    }

    /// Checks the sign-in limit, the password (if given) and a code of the signed-in `user`, then
    /// applies `change` in the same transaction that spent the code. Failures are counted and
    /// audited as `action`.
    fn with_second_factor(
        &self,
        caller: Credentials<'_>,
        user: &UserRecord,
        action: &str,
        code: &str,
        password_to_check: Option<&str>,
        mut change: impl FnMut(&mut MfaState),
    ) -> Result<()> {
        let actor = Actor::session(user, caller.client_ip);
        let account = fold_username(&user.username);
        let now_ms = self.now_ms();
        let refused = Event::user(action, &user.id).failed();
        let _turn = self.code_turn(&actor, refused, &account, now_ms)?;
        if let Some(password) = password_to_check {
            let stored = self
                .store
                .user_by_id(&user.id)?
                .map(|record| record.password_hash);
            let matches = self
                .hashing
                .verify(&password::normalize(password), stored.as_deref())?;
            if !matches {
                return self.second_factor_failed(&actor, user, action, &account, now_ms);
            }
        }
        let mut wrong_code = false;
        let updated = self.store.update_user(&user.id, &mut |record| {
            if !record.mfa.enabled {
                return Err(Error::bad_request("Two-factor authentication is not on"));
            }
            match self.spend_code(record, code, now_ms)? {
                Some(_) => {
                    change(&mut record.mfa);
                    Ok(UpdateEffects::default())
                }
                None => {
                    wrong_code = true;
                    Err(Error::Unauthenticated(INVALID_CODE.into()))
                }
            }
        });
        match updated {
            Err(_) if wrong_code => {
                self.second_factor_failed(&actor, user, action, &account, now_ms)
            }
            Err(error) => Err(error),
            Ok(_) => {
                self.cache.invalidate();
                self.sign_in_succeeded(&account);
                self.audit(&actor, Event::user(action, &user.id));
                Ok(())
            }
        }
    }

    fn second_factor_failed(
        &self,
        actor: &Actor<'_>,
        user: &UserRecord,
        action: &str,
        account: &str,
        now_ms: i64,
    ) -> Result<()> {
        self.sign_in_failed(actor.client_ip, account, now_ms)?;
        let details = json!({"reason": "invalid_credentials"});
        self.audit(
            actor,
            Event::user(action, &user.id).failed().details(details),
        );
        Err(Error::Unauthenticated(
            "Invalid password or authentication code".into(),
        ))
    }

    /// Takes `code` as a TOTP code not used before, or as an unused recovery code, and records
    /// it as used in `user`; `None` when it is neither.
    fn spend_code(&self, user: &mut UserRecord, code: &str, now_ms: i64) -> Result<Option<Factor>> {
        let secret = self.mfa_keys.open(&user.id, &user.mfa.sealed_secret)?;
        if let Some(step) = totp::matching_step(&secret, code, now_ms, user.mfa.last_step) {
            user.mfa.last_step = step;
            return Ok(Some(Factor::Totp));
        }
        let digest = self.mfa_keys.recovery_digest(code);
        let spent = user
            .mfa
            .recovery_digests
            .iter()
            .position(|stored| bool::from(stored.as_bytes().ct_eq(digest.as_bytes())));
        Ok(spent.map(|index| {
            user.mfa.recovery_digests.remove(index);
            Factor::RecoveryCode
        }))
    }

    /// The first step of a two-factor sign-in passed (the password was right): a challenge is
    /// stored in place of a session, and its token goes back to the client.
    pub(super) fn mfa_challenge(&self, user: &UserRecord, client_ip: &str) -> Error {
        let issued = mfa::new_challenge(&user.id).and_then(|(token, digest)| {
            let expires_at_ms = self.now_ms() + CHALLENGE_TTL_MS;
            self.store.update_user(&user.id, &mut |record| {
                record.mfa.challenge = Some(MfaChallenge {
                    digest: digest.clone(),
                    expires_at_ms,
                });
                Ok(UpdateEffects::default())
            })?;
            Ok(token)
        });
        match issued {
            Ok(mfa_token) => {
                self.cache.invalidate();
                let actor = Actor::account(user, client_ip);
                self.audit(&actor, Event::user("mfa_challenge", &user.id));
                Error::MfaRequired { mfa_token }
            }
            Err(error) => error,
        }
    }

    /// `login`, with the second step an answer rather than an error: what the ABIs' sign-in of
    /// ABI 1.5 returns, so a host learns of the step without parsing an error message.
    pub fn sign_in(&self, username: &str, password: &str, client_ip: &str) -> Result<SignInStep> {
        match self.login(username, password, client_ip) {
            Ok(login) => Ok(SignInStep::SignedIn(Box::new(login))),
            Err(error @ Error::MfaRequired { .. }) => {
                let message = error.to_string();
                let Error::MfaRequired { mfa_token } = error else {
                    return Err(error);
                };
                Ok(SignInStep::MfaRequired { message, mfa_token })
            }
            Err(error) => Err(error),
        }
    }

    /// The second step of a sign-in: the token of the first and a TOTP or recovery code. The
    /// token is good once and for a few minutes; wrong codes count against the account's limit.
    pub fn login_mfa(&self, mfa_token: &str, code: &str, client_ip: &str) -> Result<LoginResponse> {
        self.login_mfa_from(mfa_token, code, SignInOrigin::new(client_ip, ""))
    }

    /// [`Engine::login_mfa`], with the user agent recorded on the session for its owner's list.
    pub fn login_mfa_from(
        &self,
        mfa_token: &str,
        code: &str,
        origin: SignInOrigin<'_>,
    ) -> Result<LoginResponse> {
        let client_ip = origin.client_ip;
        let invalid = || Error::Unauthenticated(INVALID_CHALLENGE.into());
        let user_id = mfa::challenge_user(mfa_token).ok_or_else(invalid)?;
        let user = self.store.user_by_id(user_id)?.ok_or_else(invalid)?;
        let account = fold_username(&user.username);
        let actor = Actor::account(&user, client_ip);
        let now_ms = self.now_ms();
        let digest = mfa::challenge_digest(mfa_token);
        let answerable = |record: &UserRecord| {
            let live = record.mfa.challenge.as_ref().is_some_and(|challenge| {
                challenge.expires_at_ms > now_ms
                    && bool::from(challenge.digest.as_bytes().ct_eq(digest.as_bytes()))
            });
            live && record.mfa.enabled && !record.disabled
        };
        // Checked before the account's turn is taken, and again in the transaction: a token that
        // only names the user (ids are in tokens and the trail) must not hold their codes back.
        if !answerable(&user) {
            let event = Event::user("login_failed", &user.id).failed();
            self.audit(
                &actor,
                event.details(json!({"reason": "invalid_mfa_token"})),
            );
            return Err(invalid());
        }
        let refused = Event::user("login_failed", &user.id).failed();
        let _turn = self.code_turn(&actor, refused, &account, now_ms)?;
        let mut wrong_code = false;
        let mut factor = Factor::Totp;
        let signed_in = self.store.update_user(&user.id, &mut |record| {
            if !answerable(record) {
                return Err(invalid());
            }
            match self.spend_code(record, code, now_ms)? {
                Some(used) => {
                    factor = used;
                    record.mfa.challenge = None;
                    Ok(UpdateEffects::default())
                }
                None => {
                    wrong_code = true;
                    Err(Error::Unauthenticated(INVALID_CODE.into()))
                }
            }
        });
        match signed_in {
            Ok(record) => {
                self.cache.invalidate();
                self.sign_in_succeeded(&account);
                let details = json!({"mfa": factor.name()});
                let entry =
                    self.audit_entry(&actor, Event::user("login", &user.id).details(details));
                self.start_session_from(record, Some(&entry), origin)
            }
            Err(error) => {
                if wrong_code {
                    self.sign_in_failed(client_ip, &account, now_ms)?;
                }
                let reason = match wrong_code {
                    true => "invalid_mfa_code",
                    false => "invalid_mfa_token",
                };
                let event = Event::user("login_failed", &user.id).failed();
                self.audit(&actor, event.details(json!({"reason": reason})));
                Err(error)
            }
        }
    }

    /// An admin turns another user's two-factor sign-in off (a lost phone): every session of that
    /// user ends, and they sign in with the password alone until they set it up again (at once,
    /// if their role requires it).
    pub fn reset_mfa<'a>(&self, caller: impl Into<Credentials<'a>>, id: &str) -> Result<()> {
        let caller = caller.into();
        let admin = self.admin(caller)?;
        let actor = Actor::caller(&admin, caller.client_ip);
        if actor.user_id == id {
            return Err(Error::Forbidden(
                "Turn your own two-factor authentication off with your password and a code".into(),
            ));
        }
        let updated = self.store.update_user(id, &mut |record| {
            record.mfa = MfaState::default();
            Ok(UpdateEffects {
                revoke_sessions: true,
            })
        })?;
        self.cache.invalidate();
        let details = json!({"target_user_id": id, "target_username": updated.username});
        self.audit(&actor, Event::user("mfa_reset", id).details(details));
        Ok(())
    }
}
