//! When a principal's use was last queued for the store. API keys (`lastUsedAt`) and sessions
//! (`lastUsedAt`, the idle timeout) share it: a hot `authorize` only reads it, and at most one
//! caller per interval wins the right to queue a write.

use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug)]
pub struct UseStamp(AtomicI64);

impl UseStamp {
    pub fn new(at_ms: i64) -> Self {
        Self(AtomicI64::new(at_ms))
    }

    /// The last use queued (or read from the store when the entry was loaded).
    #[inline]
    pub fn at_ms(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }

    /// True for at most one caller per `interval_ms`, which then queues the use: the store sees
    /// one write per interval per principal, whatever the call rate.
    #[inline]
    pub fn due(&self, now_ms: i64, interval_ms: i64) -> bool {
        let last = self.at_ms();
        now_ms.saturating_sub(last) >= interval_ms
            && self
                .0
                .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }
}

/// A copy starts from the same time; it is a new entry in the cache, not the same one.
impl Clone for UseStamp {
    fn clone(&self) -> Self {
        Self::new(self.at_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_caller_per_interval_is_due() {
        let stamp = UseStamp::new(1_000);
        assert!(!stamp.due(1_500, 1_000), "inside the interval");
        assert!(stamp.due(2_000, 1_000));
        assert!(
            !stamp.due(2_000, 1_000),
            "the interval starts again at the winner's time"
        );
        assert_eq!(stamp.at_ms(), 2_000);
        assert!(UseStamp::new(i64::MIN / 2).due(0, 60_000), "never used");
    }
}
