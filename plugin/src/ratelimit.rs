//! Failed sign-in limits per client IP and per account. Time is passed in; no clock, no I/O.
//!
//! Per IP: at most `max_failures` in a sliding window, then 429 until the oldest failure leaves it.
//! An account's failures count against its address only until the account is over its own limit:
//! past that the account's throttle holds its guesses back, so one person mistyping their own
//! password twenty times does not lock out everyone behind the same NAT. Reaching the IP limit
//! therefore takes failures on several accounts (with the defaults, at least four), which is what
//! a password spray from one address looks like.
//! Per account: past `max_failures` in the window, one attempt per `throttle` interval. A throttle
//! rather than a lock: an attacker slows guessing to a crawl but cannot keep the owner out for more
//! than a few seconds at a time. A successful sign-in clears the account's record.
//! Second-factor codes of one account are checked one at a time (see [`LoginLimiter::code_turn`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;

use parking_lot::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimit {
    pub max_failures: u32,
    pub window_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_ip: WindowLimit,
    pub per_account: WindowLimit,
    /// Minimum gap between attempts on an account once it is over its limit.
    pub account_throttle_ms: i64,
    pub exempt_loopback: bool,
    /// Keys tracked per table; past this, the stalest are forgotten.
    pub max_tracked_keys: usize,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_ip: WindowLimit {
                max_failures: 20,
                window_ms: 5 * 60 * 1000,
            },
            per_account: WindowLimit {
                max_failures: 5,
                window_ms: 15 * 60 * 1000,
            },
            account_throttle_ms: 5 * 1000,
            exempt_loopback: false,
            max_tracked_keys: 100_000,
        }
    }
}

/// Failure times of one key, oldest first, at most `max_failures` of them.
pub(crate) type FailureTimes = VecDeque<i64>;

pub struct LoginLimiter {
    limits: LoginLimits,
    by_ip: Mutex<HashMap<String, FailureTimes>>,
    by_account: Mutex<HashMap<String, FailureTimes>>,
    /// Accounts with a second-factor code being checked right now.
    checking_code: Mutex<HashSet<String>>,
}

/// An account's turn to have a code checked; the next check may start once this is dropped.
pub struct CodeTurn<'a> {
    limiter: &'a LoginLimiter,
    account: String,
}

impl Drop for CodeTurn<'_> {
    fn drop(&mut self) {
        self.limiter.checking_code.lock().remove(&self.account);
    }
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            by_ip: Mutex::default(),
            by_account: Mutex::default(),
            checking_code: Mutex::default(),
        }
    }

    /// The limit is checked before an attempt and its failure recorded after, so attempts that
    /// overlap all pass the check. A password's hashing pool holds each account to a few places at
    /// once; a code costs nothing to send and milliseconds to check, so codes of one account are
    /// checked one at a time: each check then sees every failure before it. `None` while another
    /// code of the account is being checked.
    pub fn code_turn(&self, account: &str) -> Option<CodeTurn<'_>> {
        let fresh = self.checking_code.lock().insert(account.to_string());
        fresh.then(|| CodeTurn {
            limiter: self,
            account: account.to_string(),
        })
    }

    /// `Err(seconds)` when this attempt must wait; checked before any password hashing.
    pub fn check(&self, ip: &str, account: &str, now_ms: i64) -> Result<(), u64> {
        let ip_wait = match self.ip_limited(ip) {
            true => window_wait(self.by_ip.lock().get(ip), self.limits.per_ip, now_ms),
            false => 0,
        };
        let account_wait = throttle_wait(
            self.by_account.lock().get(account),
            self.limits.per_account,
            self.limits.account_throttle_ms,
            now_ms,
        );
        retry_after(ip_wait.max(account_wait))
    }

    pub fn record_failure(&self, ip: &str, account: &str, now_ms: i64) {
        let account_over_its_limit = {
            let by_account = self.by_account.lock();
            over_limit(by_account.get(account), self.limits.per_account, now_ms)
        };
        if self.ip_limited(ip) && !account_over_its_limit {
            self.remember(&self.by_ip, ip, self.limits.per_ip, now_ms);
        }
        self.remember(&self.by_account, account, self.limits.per_account, now_ms);
    }

    pub fn record_success(&self, account: &str) {
        self.by_account.lock().remove(account);
    }

    /// A caller that gives no address (a C host passing NULL) is not lumped with every other such
    /// caller under one key: only the per-account limit applies to it.
    pub(crate) fn ip_limited(&self, ip: &str) -> bool {
        if ip.is_empty() {
            return false;
        }
        let loopback = ip.parse::<IpAddr>().is_ok_and(|addr| addr.is_loopback());
        !(self.limits.exempt_loopback && loopback)
    }

    fn remember(
        &self,
        table: &Mutex<HashMap<String, FailureTimes>>,
        key: &str,
        limit: WindowLimit,
        now_ms: i64,
    ) {
        let mut table = table.lock();
        if !table.contains_key(key) && table.len() >= self.limits.max_tracked_keys {
            forget_stalest(&mut table, limit, now_ms, self.limits.max_tracked_keys);
        }
        let failures = table.entry(key.to_string()).or_default();
        failures.push_back(now_ms);
        while failures.len() > limit.max_failures.max(1) as usize {
            failures.pop_front();
        }
    }
}

/// `Err(seconds)`, rounded up, when there is a wait.
pub(crate) fn retry_after(wait_ms: i64) -> Result<(), u64> {
    match wait_ms {
        ..=0 => Ok(()),
        wait_ms => Err(((wait_ms + 999) / 1000).max(1) as u64),
    }
}

/// Whether a key has reached its limit's failures inside the window.
pub(crate) fn over_limit(failures: Option<&FailureTimes>, limit: WindowLimit, now_ms: i64) -> bool {
    failures.is_some_and(|failures| {
        failures
            .iter()
            .filter(|at| now_ms - **at < limit.window_ms)
            .count()
            >= limit.max_failures as usize
    })
}

/// How long until the window has room again.
pub(crate) fn window_wait(failures: Option<&FailureTimes>, limit: WindowLimit, now_ms: i64) -> i64 {
    let Some(failures) = failures else { return 0 };
    let recent = failures
        .iter()
        .filter(|at| now_ms - **at < limit.window_ms)
        .count();
    match (recent >= limit.max_failures as usize, failures.front()) {
        (true, Some(oldest)) => (oldest + limit.window_ms - now_ms).max(0),
        _ => 0,
    }
}

/// Over the limit, an account waits `throttle_ms` after its latest failure.
pub(crate) fn throttle_wait(
    failures: Option<&FailureTimes>,
    limit: WindowLimit,
    throttle_ms: i64,
    now_ms: i64,
) -> i64 {
    let Some(failures) = failures else { return 0 };
    let recent = failures
        .iter()
        .filter(|at| now_ms - **at < limit.window_ms)
        .count();
    match (recent >= limit.max_failures as usize, failures.back()) {
        (true, Some(latest)) => (latest + throttle_ms - now_ms).max(0),
        _ => 0,
    }
}

/// Drops keys whose failures have all left the window; if none have, the one idle longest.
fn forget_stalest(
    table: &mut HashMap<String, FailureTimes>,
    limit: WindowLimit,
    now_ms: i64,
    max_keys: usize,
) {
    table.retain(|_, failures| {
        failures
            .back()
            .is_some_and(|latest| now_ms - latest < limit.window_ms)
    });
    if table.len() >= max_keys {
        let stalest = table
            .iter()
            .min_by_key(|(_, f)| f.back().copied())
            .map(|(key, _)| key.clone());
        if let Some(key) = stalest {
            table.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(LoginLimits {
            per_ip: WindowLimit {
                max_failures: 3,
                window_ms: 60_000,
            },
            per_account: WindowLimit {
                max_failures: 2,
                window_ms: 60_000,
            },
            account_throttle_ms: 5_000,
            exempt_loopback: false,
            max_tracked_keys: 4,
        })
    }

    #[test]
    fn an_ip_is_limited_after_its_failures_until_the_window_moves() {
        let limiter = limiter();
        for (i, account) in ["a", "b", "c"].into_iter().enumerate() {
            assert_eq!(limiter.check("10.0.0.1", account, i as i64), Ok(()));
            limiter.record_failure("10.0.0.1", account, i as i64);
        }
        assert_eq!(limiter.check("10.0.0.1", "d", 10), Err(60));
        assert_eq!(
            limiter.check("10.0.0.2", "d", 10),
            Ok(()),
            "other addresses are not affected"
        );
        assert_eq!(limiter.check("10.0.0.1", "d", 60_000), Ok(()));
    }

    #[test]
    fn an_account_is_throttled_not_locked() {
        let limiter = limiter();
        limiter.record_failure("10.0.0.1", "alice", 0);
        limiter.record_failure("10.0.0.2", "alice", 1_000);
        assert_eq!(limiter.check("10.0.0.3", "alice", 2_000), Err(4));
        // A few seconds later the owner may try again, even while the attack goes on.
        assert_eq!(limiter.check("10.0.0.3", "alice", 6_000), Ok(()));
        limiter.record_failure("10.0.0.4", "alice", 6_000);
        assert_eq!(limiter.check("10.0.0.3", "alice", 11_000), Ok(()));
    }

    /// Ten failures from `ip`, each on another account: more than the IP limit allows.
    fn fail_ten_accounts_from(limiter: &LoginLimiter, ip: &str) {
        for i in 0..10 {
            limiter.record_failure(ip, &format!("user{i}"), 0);
        }
    }

    #[test]
    fn callers_without_an_address_do_not_share_an_ip_limit() {
        let limiter = limiter();
        fail_ten_accounts_from(&limiter, "");
        assert_eq!(limiter.check("", "fresh", 1), Ok(()));
    }

    #[test]
    fn success_clears_the_account_record() {
        let limiter = limiter();
        limiter.record_failure("10.0.0.1", "alice", 0);
        limiter.record_failure("10.0.0.1", "alice", 0);
        limiter.record_success("alice");
        assert_eq!(limiter.check("10.0.0.9", "alice", 1), Ok(()));
    }

    #[test]
    fn loopback_is_exempt_from_the_ip_limit_only_when_configured() {
        let unconfigured = limiter();
        fail_ten_accounts_from(&unconfigured, "127.0.0.1");
        assert!(unconfigured.check("127.0.0.1", "fresh", 1).is_err());
        let mut limits = limiter().limits;
        limits.exempt_loopback = true;
        let limiter = LoginLimiter::new(limits);
        fail_ten_accounts_from(&limiter, "127.0.0.1");
        assert_eq!(limiter.check("127.0.0.1", "fresh", 1), Ok(()));
        assert_eq!(limiter.check("::1", "fresh", 1), Ok(()));
    }

    #[test]
    fn one_accounts_many_failures_do_not_limit_its_address() {
        let limiter = limiter();
        for at in 0..20 {
            limiter.record_failure("10.0.0.1", "alice", at * 6_000);
        }
        assert_eq!(
            limiter.check("10.0.0.1", "bob", 114_001),
            Ok(()),
            "alice's colleague behind the same address signs in"
        );
        assert!(
            limiter.check("10.0.0.1", "alice", 114_001).is_err(),
            "alice is throttled"
        );
    }

    #[test]
    fn failures_spread_over_accounts_still_limit_the_address() {
        let limiter = limiter();
        // Two failures each on two accounts: the first two of each count, three reach the limit.
        for account in ["a", "a", "a", "b", "b"] {
            limiter.record_failure("10.0.0.1", account, 0);
        }
        assert!(limiter.check("10.0.0.1", "c", 1).is_err());
    }

    #[test]
    fn tracked_keys_are_bounded() {
        let limiter = limiter();
        for i in 0..100 {
            limiter.record_failure(&format!("10.0.1.{i}"), &format!("user{i}"), i);
        }
        assert!(limiter.by_ip.lock().len() <= 4);
        assert!(limiter.by_account.lock().len() <= 4);
    }
}
