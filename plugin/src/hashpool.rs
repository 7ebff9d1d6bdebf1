//! A bound on concurrent argon2 work. Each hash takes ~19 MiB and ~12 ms of one core: at most
//! `max_concurrent` run at once, up to `max_queued` more wait, and the rest fail fast as
//! "unavailable" (HTTP 503) so a flood of sign-ins can neither exhaust memory nor starve `authorize`.
//!
//! Fairness between accounts: each account (the key a caller hashes for) holds at most
//! `max_concurrent` places, running or waiting, and waiters are served in arrival order. One account
//! flooding sign-in or change-password therefore keeps at most one round of hashes ahead of anyone
//! else; its extra attempts are refused at once as rate limited (HTTP 429) instead of filling the
//! queue that other accounts' sign-ins need.

use std::collections::{HashMap, VecDeque};

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

/// Seconds an account over its share is told to wait: about one round of hashes.
const SHARE_RETRY_AFTER_SECS: u64 = 1;

#[derive(Default)]
struct Counts {
    running: usize,
    /// Tickets of the waiters, oldest first.
    waiting: VecDeque<u64>,
    next_ticket: u64,
    /// Places (running or waiting) held per account.
    held: HashMap<String, usize>,
}

impl Counts {
    fn hold(&mut self, account: Option<&str>) {
        if let Some(account) = account {
            *self.held.entry(account.to_string()).or_default() += 1;
        }
    }

    fn release(&mut self, account: &str) {
        if let Some(held) = self.held.get_mut(account) {
            *held -= 1;
            if *held == 0 {
                self.held.remove(account);
            }
        }
    }
}

pub struct HashPool {
    limits: HashingLimits,
    counts: Mutex<Counts>,
    freed: Condvar,
}

/// A slot to hash in; released on drop.
pub struct Permit<'a> {
    pool: &'a HashPool,
    account: Option<String>,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut counts = self.pool.counts.lock();
        counts.running -= 1;
        if let Some(account) = &self.account {
            counts.release(account);
        }
        drop(counts);
        // Every waiter checks whether it is now first in line; only that one proceeds.
        self.pool.freed.notify_all();
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

    /// The places one account may hold at once.
    fn share(&self) -> usize {
        self.limits.max_concurrent.max(1)
    }

    /// A slot to hash in, waiting in line if all are busy. Work for an `account` (a password
    /// check) counts against its share; work for none (an admin setting a password) does not.
    pub fn acquire(&self, account: Option<&str>) -> Result<Permit<'_>> {
        let mut counts = self.counts.lock();
        let free = counts.running < self.limits.max_concurrent && counts.waiting.is_empty();
        if !free {
            if counts.waiting.len() >= self.limits.max_queued {
                return Err(Error::Unavailable(
                    "Too many sign-ins in progress; retry shortly".into(),
                ));
            }
            // Checked only when there is a line to wait in: an account can always use an idle
            // pool, and holds at most `share` places once others may be waiting.
            let held = account.map_or(0, |account| counts.held.get(account).copied().unwrap_or(0));
            if held >= self.share() {
                return Err(Error::RateLimited {
                    retry_after_secs: SHARE_RETRY_AFTER_SECS,
                });
            }
            let ticket = counts.next_ticket;
            counts.next_ticket += 1;
            counts.waiting.push_back(ticket);
            counts.hold(account);
            while counts.waiting.front() != Some(&ticket)
                || counts.running >= self.limits.max_concurrent
            {
                self.freed.wait(&mut counts);
            }
            counts.waiting.pop_front();
            counts.running += 1;
            drop(counts);
            // The next in line may fit too (several slots freed while this one waited).
            self.freed.notify_all();
            return Ok(self.permit(account));
        }
        counts.running += 1;
        counts.hold(account);
        Ok(self.permit(account))
    }

    fn permit(&self, account: Option<&str>) -> Permit<'_> {
        Permit {
            pool: self,
            account: account.map(str::to_string),
        }
    }

    #[cfg(test)]
    fn running(&self) -> usize {
        self.counts.lock().running
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.counts.lock().waiting.len()
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
        let first = pool.acquire(Some("a")).expect("free slot");
        assert!(matches!(
            pool.acquire(Some("b")),
            Err(Error::Unavailable(_))
        ));
        drop(first);
        assert!(pool.acquire(Some("b")).is_ok());
    }

    #[test]
    fn waiters_run_once_a_slot_frees_and_never_exceed_the_bound() {
        let pool = HashPool::new(HashingLimits {
            max_concurrent: 2,
            max_queued: 16,
        });
        let peak = Mutex::new(0usize);
        std::thread::scope(|scope| {
            for i in 0..16 {
                let (pool, peak) = (&pool, &peak);
                scope.spawn(move || {
                    let _permit = pool
                        .acquire(Some(&format!("user{i}")))
                        .expect("queued, not refused");
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

    /// Waits until `n` callers are in line.
    fn until_waiting(pool: &HashPool, n: usize) {
        while pool.waiting() < n {
            std::thread::yield_now();
        }
    }

    #[test]
    fn one_account_flooding_the_pool_cannot_keep_another_accounts_sign_in_waiting() {
        let pool = HashPool::new(HashingLimits {
            max_concurrent: 1,
            max_queued: 64,
        });
        let served = Mutex::new(Vec::new());
        let running = pool
            .acquire(Some("flood"))
            .expect("the flood may use an idle pool");
        // The flood's share is used up: 30 more attempts are refused without queueing.
        let refused = (0..30)
            .filter(|_| matches!(pool.acquire(Some("flood")), Err(Error::RateLimited { .. })))
            .count();
        assert_eq!(refused, 30);
        assert_eq!(
            pool.waiting(),
            0,
            "the refused flood holds no place in line"
        );
        std::thread::scope(|scope| {
            let (pool_ref, served_ref) = (&pool, &served);
            scope.spawn(move || {
                let _permit = pool_ref
                    .acquire(Some("victim"))
                    .expect("admitted to the line");
                served_ref.lock().push("victim");
            });
            until_waiting(&pool, 1);
            drop(running);
            // The flood comes back at once for the freed slot but is behind the victim in line.
            scope.spawn(move || {
                let _permit = pool_ref
                    .acquire(Some("flood"))
                    .expect("within its share again");
                served_ref.lock().push("flood");
            });
        });
        assert_eq!(served.lock().first(), Some(&"victim"));
    }

    #[test]
    fn waiters_are_served_in_arrival_order() {
        let pool = HashPool::new(HashingLimits {
            max_concurrent: 1,
            max_queued: 8,
        });
        let order = Mutex::new(Vec::new());
        let holder = pool.acquire(Some("holder")).expect("free slot");
        std::thread::scope(|scope| {
            for i in 0..4 {
                let (pool, order) = (&pool, &order);
                scope.spawn(move || {
                    let _permit = pool.acquire(Some(&format!("user{i}"))).expect("queued");
                    order.lock().push(i);
                });
                until_waiting(pool, i + 1);
            }
            drop(holder);
        });
        assert_eq!(*order.lock(), vec![0, 1, 2, 3]);
    }
}
