//! Time is a parameter of the Engine so that expiry is tested without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;

    /// The time at a few milliseconds' resolution, for expiry checks on the `authorize` path where
    /// a precise read was ~6 % of the call (perf); expiries are whole seconds.
    fn now_ms_coarse(&self) -> i64 {
        self.now_ms()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    /// Straight from `SystemTime`: `chrono::Utc::now()` builds a calendar date first, which showed
    /// up in `authorize` profiles (two reads per call).
    fn now_ms(&self) -> i64 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// CLOCK_REALTIME_COARSE: the kernel's last tick (1-10 ms old), read without a hardware timer.
    fn now_ms_coarse(&self) -> i64 {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid, writable timespec; the call only writes it.
        match unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) } {
            0 => now.tv_sec.saturating_mul(1000) + now.tv_nsec / 1_000_000,
            _ => self.now_ms(),
        }
    }
}

/// A clock the tests move by hand.
#[derive(Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(ms: i64) -> Self {
        Self(Arc::new(AtomicI64::new(ms)))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// RFC 3339 in UTC with second precision, as Dagu renders times.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_clock_is_within_a_tick_of_the_precise_one() {
        let precise = SystemClock.now_ms();
        let coarse = SystemClock.now_ms_coarse();
        assert!((precise - coarse).abs() < 100, "{precise} vs {coarse}");
    }

    #[test]
    fn the_system_clock_agrees_with_chrono() {
        let ours = SystemClock.now_ms();
        let chrono = chrono::Utc::now().timestamp_millis();
        assert!((chrono - ours).abs() < 1000, "{ours} vs {chrono}");
    }
}
