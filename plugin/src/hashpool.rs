//! A bound on concurrent argon2 work. Each hash takes ~19 MiB and ~12 ms of one core: at most
//! `max_concurrent` run at once, up to `max_queued` more wait, and the rest fail fast as
//! "unavailable" (HTTP 503) so a flood of sign-ins can neither exhaust memory nor starve `authorize`.

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    pub max_concurrent: usize,
    pub max_queued: usize,
}

impl Default for HashingLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            max_concurrent: cores,
            max_queued: 64 * cores,
        }
    }
}

#[derive(Default)]
struct Counts {
    running: usize,
    queued: usize,
}

pub struct HashPool {
    limits: HashingLimits,
    counts: Mutex<Counts>,
    freed: Condvar,
}

/// A slot to hash in; released on drop.
pub struct Permit<'a>(&'a HashPool);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.counts.lock().running -= 1;
        self.0.freed.notify_one();
    }
}

impl HashPool {
    pub fn new(limits: HashingLimits) -> Self {
        Self {
            limits,
            counts: Mutex::default(),
            freed: Condvar::new(),
        }
    }

    pub fn acquire(&self) -> Result<Permit<'_>> {
        let mut counts = self.counts.lock();
        if counts.running >= self.limits.max_concurrent {
            if counts.queued >= self.limits.max_queued {
                return Err(Error::Unavailable(
                    "Too many sign-ins in progress; retry shortly".into(),
                ));
            }
            counts.queued += 1;
            while counts.running >= self.limits.max_concurrent {
                self.freed.wait(&mut counts);
            }
            counts.queued -= 1;
        }
        counts.running += 1;
        Ok(Permit(self))
    }

    #[cfg(test)]
    fn running(&self) -> usize {
        self.counts.lock().running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_fails_fast_and_a_released_slot_is_reused() {
        let pool = HashPool::new(HashingLimits {
            max_concurrent: 1,
            max_queued: 0,
        });
        let first = pool.acquire().expect("free slot");
        assert!(matches!(pool.acquire(), Err(Error::Unavailable(_))));
        drop(first);
        assert!(pool.acquire().is_ok());
    }

    #[test]
    fn waiters_run_once_a_slot_frees_and_never_exceed_the_bound() {
        let pool = HashPool::new(HashingLimits {
            max_concurrent: 2,
            max_queued: 16,
        });
        let peak = Mutex::new(0usize);
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    let _permit = pool.acquire().expect("queued, not refused");
                    let mut peak = peak.lock();
                    *peak = (*peak).max(pool.running());
                    drop(peak);
                    std::thread::yield_now();
                });
            }
        });
        assert!(*peak.lock() <= 2);
        assert_eq!(pool.running(), 0);
    }
}
