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

    /// CLOCK_REALTIME_COARSE (the kernel's last tick, read without a hardware timer) plus one
    /// tick, so the reading leans ahead rather than behind: an expiry is honoured up to a tick
    /// (1-10 ms) early rather than late.
    #[cfg(target_os = "linux")]
    fn now_ms_coarse(&self) -> i64 {
        static TICK_MS: std::sync::OnceLock<Option<i64>> = std::sync::OnceLock::new();
        let tick_ms = TICK_MS.get_or_init(|| {
            coarse(libc::clock_getres)
                .map(|(secs, nanos)| secs * 1000 + (nanos + 999_999) / 1_000_000)
        });
        match (coarse(libc::clock_gettime), tick_ms) {
            (Some((secs, nanos)), Some(tick_ms)) => {
                secs.saturating_mul(1000) + nanos / 1_000_000 + tick_ms
            }
            _ => self.now_ms(),
        }
    }
}

/// Seconds and nanoseconds from `clock_gettime` or `clock_getres` on CLOCK_REALTIME_COARSE.
#[cfg(target_os = "linux")]
fn coarse(
    read: unsafe extern "C" fn(libc::clockid_t, *mut libc::timespec) -> libc::c_int,
) -> Option<(i64, i64)> {
    let mut value = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `value` is a valid, writable timespec; the call only writes it.
    match unsafe { read(libc::CLOCK_REALTIME_COARSE, &mut value) } {
        0 => Some((value.tv_sec, value.tv_nsec)),
        _ => None,
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

/// An RFC 3339 time (any offset, any fraction of a second) in milliseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within a few ticks either way (a tick is 1-10 ms; a virtual machine may deliver one late).
    #[test]
    fn the_coarse_clock_stays_within_a_few_ticks_of_the_precise_one() {
        for _ in 0..1000 {
            let before = SystemClock.now_ms();
            let coarse = SystemClock.now_ms_coarse();
            let after = SystemClock.now_ms();
            assert!(
                (before - 50..=after + 50).contains(&coarse),
                "{before} <= {coarse} <= {after}, give or take 50 ms"
            );
        }
    }

    #[test]
    fn rfc3339_round_trips_at_second_precision_and_reads_offsets_and_fractions() {
        let ms = 1_790_000_000_000;
        assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms));
        assert_eq!(parse_rfc3339("2026-09-21T16:13:20.5+02:00"), Some(ms + 500));
        assert_eq!(parse_rfc3339("2026-09-21"), None);
    }

    #[test]
    fn the_system_clock_agrees_with_chrono() {
        let ours = SystemClock.now_ms();
        let chrono = chrono::Utc::now().timestamp_millis();
        assert!((chrono - ours).abs() < 1000, "{ours} vs {chrono}");
    }
}
