//! Where failed sign-ins are counted. One host: in memory (`ratelimit::LoginLimiter`). Several
//! hosts on a shared store: in the store, so an attacker who spreads guesses over the hosts gets
//! no more attempts than against one. The arithmetic (window per IP, throttle per account) is the
//! same pure code either way; only where the failure times come from differs.

use serde_json::json;

use super::Engine;
use super::audit::{Actor, Event};
use crate::error::{Error, Result};
use crate::ratelimit::{
    CodeTurn, FailureTimes, WindowLimit, over_limit, retry_after, throttle_wait, window_wait,
};
use crate::store::{LimitScope, LoginFailureLog};

/// Seconds a code waits while another code of its account is being checked: one check takes
/// milliseconds.
const CODE_BEING_CHECKED_RETRY_AFTER_SECS: u64 = 1;

impl Engine {
    /// `Ok(Err(seconds))` when this attempt must wait; checked before any password hashing.
    pub(super) fn sign_in_wait(
        &self,
        ip: &str,
        account: &str,
        now_ms: i64,
    ) -> Result<Result<(), u64>> {
        let Some(log) = self.store.shared_login_failures() else {
            return Ok(self.limiter.check(ip, account, now_ms));
        };
        let limits = &self.config.login_limits;
        let ip_wait = match self.limiter.ip_limited(ip) {
            true => {
                let failures = recent(log, LimitScope::Ip, ip, limits.per_ip, now_ms)?;
                window_wait(Some(&failures), limits.per_ip, now_ms)
            }
            false => 0,
        };
        let failures = recent(
            log,
            LimitScope::Account,
            account,
            limits.per_account,
            now_ms,
        )?;
        let account_wait = throttle_wait(
            Some(&failures),
            limits.per_account,
            limits.account_throttle_ms,
            now_ms,
        );
        Ok(retry_after(ip_wait.max(account_wait)))
    }

    /// [`Self::sign_in_wait`] for a second-factor code: the account's turn
    /// ([`crate::ratelimit::LoginLimiter::code_turn`]), to be held until the answer's failure, if
    /// any, is recorded. Another code of the account still being checked is a one-second wait. A
    /// wait is audited as `refused` and answered 429. On a shared store each host takes turns of
    /// its own, so at most one code per host overlaps.
    pub(super) fn code_turn(
        &self,
        actor: &Actor<'_>,
        refused: Event<'_>,
        account: &str,
        now_ms: i64,
    ) -> Result<CodeTurn<'_>> {
        let turn = match self.limiter.code_turn(account) {
            None => Err(CODE_BEING_CHECKED_RETRY_AFTER_SECS),
            Some(turn) => self
                .sign_in_wait(actor.client_ip, account, now_ms)?
                .map(|()| turn),
        };
        turn.map_err(|retry_after_secs| {
            let details = json!({"reason": "rate_limited", "retry_after_secs": retry_after_secs});
            self.audit(actor, refused.details(details));
            Error::RateLimited { retry_after_secs }
        })
    }

    /// A failure that cannot be recorded fails the sign-in as well (fail closed): an uncounted
    /// guess is exactly what the limit exists to prevent. It counts against the address only
    /// while the account is within its own limit (`ratelimit` says why).
    pub(super) fn sign_in_failed(&self, ip: &str, account: &str, now_ms: i64) -> Result<()> {
        let Some(log) = self.store.shared_login_failures() else {
            self.limiter.record_failure(ip, account, now_ms);
            return Ok(());
        };
        let limits = &self.config.login_limits;
        let mut keys = vec![(LimitScope::Account, account)];
        if self.limiter.ip_limited(ip) {
            let failures = recent(
                log,
                LimitScope::Account,
                account,
                limits.per_account,
                now_ms,
            )?;
            if !over_limit(Some(&failures), limits.per_account, now_ms) {
                keys.push((LimitScope::Ip, ip));
            }
        }
        let longest = limits.per_ip.window_ms.max(limits.per_account.window_ms);
        log.record_login_failure(&keys, now_ms, now_ms.saturating_sub(longest))
    }

    /// Clears the account's failures. Best effort: if it fails, the owner is throttled a little
    /// longer, which is not worth refusing a correct password over.
    pub(super) fn sign_in_succeeded(&self, account: &str) {
        match self.store.shared_login_failures() {
            None => self.limiter.record_success(account),
            Some(log) => {
                let _ = log.clear_login_failures(LimitScope::Account, account);
            }
        }
    }
}

/// The newest failures of a key inside its window, as many as the limit looks at.
fn recent(
    log: &dyn LoginFailureLog,
    scope: LimitScope,
    key: &str,
    limit: WindowLimit,
    now_ms: i64,
) -> Result<FailureTimes> {
    let after_ms = now_ms.saturating_sub(limit.window_ms);
    let times =
        log.recent_login_failures(scope, key, after_ms, limit.max_failures.max(1) as usize)?;
    Ok(times.into())
}
