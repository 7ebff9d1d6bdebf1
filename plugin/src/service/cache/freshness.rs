//! When the cache must forget: other processes' writes, noticed through the store's change counter.
//!
//! Writes in this process invalidate the cache themselves. Another process (a second host on the
//! same data folder or database) is noticed only by asking the store, and asking on every
//! `authorize` would put the store back on the hot path; so the question is asked at most once per
//! [`CROSS_PROCESS_REFRESH_MS`], by whichever caller gets there first.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::error::Result;

/// How often the store is asked whether another process wrote: the documented bound on how long
/// another host's revocation takes to reach this one (the README says 0.2 seconds). One cheap
/// query five times a second per host; at 1 s the delay's p99 was too long for a revocation.
const CROSS_PROCESS_REFRESH_MS: i64 = 200;

/// `outage_since_ms` while the store answers.
const NO_OUTAGE: i64 = i64::MIN;

pub struct Freshness {
    last_check_ms: AtomicI64,
    last_counter: AtomicU64,
    /// When the store first failed to answer; `NO_OUTAGE` while it answers.
    outage_since_ms: AtomicI64,
    /// How long principals already known keep their rights while the store cannot answer.
    outage_grace_ms: i64,
}

impl Freshness {
    /// `counter` is the store's change counter as read at `now_ms`.
    pub fn new(counter: u64, now_ms: i64, outage_grace: Duration) -> Self {
        Self {
            last_check_ms: AtomicI64::new(now_ms),
            last_counter: AtomicU64::new(counter),
            outage_since_ms: AtomicI64::new(NO_OUTAGE),
            outage_grace_ms: i64::try_from(outage_grace.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Whether cached principals must be dropped at `now_ms`. Inside the refresh interval this is
    /// one atomic load; `change_counter` is called by at most one caller per interval.
    #[inline]
    pub fn stale(&self, now_ms: i64, change_counter: impl FnOnce() -> Result<u64>) -> bool {
        let last = self.last_check_ms.load(Ordering::Relaxed);
        if now_ms - last < CROSS_PROCESS_REFRESH_MS {
            return false;
        }
        if self
            .last_check_ms
            .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        self.stale_given(now_ms, change_counter())
    }

    /// Whether the store failed to answer at the last look (cached principals may be living on
    /// the outage grace).
    pub fn in_outage(&self) -> bool {
        self.outage_since_ms.load(Ordering::Acquire) != NO_OUTAGE
    }

    fn stale_given(&self, now_ms: i64, counter: Result<u64>) -> bool {
        match counter {
            Ok(counter) => {
                // After an outage anything may have changed, whatever the counter says.
                let outage = self.outage_since_ms.swap(NO_OUTAGE, Ordering::AcqRel) != NO_OUTAGE;
                let changed = self.last_counter.swap(counter, Ordering::AcqRel) != counter;
                outage || changed
            }
            // On a storage error the cache is dropped (fail closed: every principal needs a fresh
            // read, which fails too), unless the configuration grants a grace period in which
            // principals already known keep their last known rights.
            Err(_) => {
                let since = match self.outage_since_ms.compare_exchange(
                    NO_OUTAGE,
                    now_ms,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => now_ms,
                    Err(since) => since,
                };
                now_ms.saturating_sub(since) >= self.outage_grace_ms
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    const GRACE: Duration = Duration::from_secs(30);

    fn down() -> Result<u64> {
        Err(Error::Unavailable("the store is down".into()))
    }

    #[test]
    fn the_store_is_asked_at_most_once_per_refresh_interval() {
        let freshness = Freshness::new(1, 0, Duration::ZERO);
        let asked = std::cell::Cell::new(0);
        let ask = || {
            asked.set(asked.get() + 1);
            Ok(2)
        };
        assert!(!freshness.stale(CROSS_PROCESS_REFRESH_MS - 1, ask));
        assert_eq!(asked.get(), 0);
        assert!(freshness.stale(CROSS_PROCESS_REFRESH_MS, ask));
        assert!(!freshness.stale(CROSS_PROCESS_REFRESH_MS + 1, ask));
        assert_eq!(asked.get(), 1);
    }

    #[test]
    fn a_moved_change_counter_makes_the_cache_stale_once() {
        let freshness = Freshness::new(7, 0, Duration::ZERO);
        assert!(!freshness.stale(1_000, || Ok(7)), "nothing changed");
        assert!(freshness.stale(2_000, || Ok(8)), "another process wrote");
        assert!(!freshness.stale(3_000, || Ok(8)), "already noticed");
    }

    #[test]
    fn without_a_grace_period_an_outage_makes_the_cache_stale_at_once() {
        let freshness = Freshness::new(7, 0, Duration::ZERO);
        assert!(freshness.stale(1_000, down));
    }

    #[test]
    fn within_the_grace_period_known_principals_are_kept_and_dropped_after_it() {
        let freshness = Freshness::new(7, 0, GRACE);
        assert!(!freshness.stale(1_000, down), "the outage begins");
        assert!(!freshness.stale(30_000, down), "still inside the grace");
        assert!(freshness.stale(31_000, down), "the grace is over");
    }

    #[test]
    fn the_first_answer_after_an_outage_makes_the_cache_stale_whatever_the_counter() {
        let freshness = Freshness::new(7, 0, GRACE);
        assert!(!freshness.in_outage());
        assert!(!freshness.stale(1_000, down));
        assert!(freshness.in_outage());
        assert!(freshness.stale(2_000, || Ok(7)));
        assert!(!freshness.stale(3_000, || Ok(7)), "the outage is over");
        assert!(!freshness.in_outage());
    }
}
