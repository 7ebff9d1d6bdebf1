//! The queue behind the SQLite store's group commit of audit entries: callers leave their entry
//! here with a ticket; one of them at a time leads, takes every waiting entry and writes them in
//! one transaction, then settles each ticket with its outcome and wakes the others. Those whose
//! entry was written return; of the rest (arrived meanwhile), one leads the next batch. Waiting
//! callers sleep on a condition variable rather than queueing for the writer one by one.

use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::model::AuditEntry;

/// Where a queued entry's outcome is left: empty until its transaction has ended.
type Slot = Mutex<Option<Result<()>>>;

#[derive(Default)]
pub struct Queue {
    state: Mutex<State>,
    settled: Condvar,
}

#[derive(Default)]
struct State {
    waiting: Vec<(AuditEntry, Arc<Slot>)>,
    /// Whether a caller is writing a batch now.
    leading: bool,
}

/// A caller's claim on the outcome of the transaction that writes its entry.
pub struct Ticket(Arc<Slot>);

/// The entries one transaction writes, and the tickets it settles.
pub struct Batch {
    entries: Vec<AuditEntry>,
    slots: Vec<Arc<Slot>>,
}

/// The lead, held while a batch is written; handed on (and the waiting woken) when dropped,
/// also when the writing panicked.
pub struct Lead<'a> {
    queue: &'a Queue,
    pub batch: Batch,
}

impl Queue {
    pub fn push(&self, entry: AuditEntry) -> Ticket {
        let slot = Arc::new(Mutex::new(None));
        self.state.lock().waiting.push((entry, slot.clone()));
        Ticket(slot)
    }

    /// Waits until the ticket is settled (`Err` with its outcome) or nobody leads (`Ok` with
    /// the lead and every waiting entry, the ticket's among them).
    pub fn wait_or_lead(&self, ticket: &Ticket) -> std::result::Result<Lead<'_>, Result<()>> {
        let mut state = self.state.lock();
        loop {
            if let Some(outcome) = ticket.outcome() {
                return Err(outcome);
            }
            if !state.leading {
                state.leading = true;
                let (entries, slots) = std::mem::take(&mut state.waiting).into_iter().unzip();
                return Ok(Lead {
                    queue: self,
                    batch: Batch { entries, slots },
                });
            }
            self.settled.wait(&mut state);
        }
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        self.batch.fail_unsettled();
        self.queue.state.lock().leading = false;
        self.queue.settled.notify_all();
    }
}

impl Ticket {
    /// The outcome, once a transaction holding the entry has ended.
    pub fn outcome(&self) -> Option<Result<()>> {
        self.0.lock().clone()
    }
}

impl Batch {
    pub fn entries(&self) -> &[AuditEntry] {
        &self.entries
    }

    /// Gives every ticket of the batch the transaction's outcome.
    pub fn settle(&self, outcome: &Result<()>) {
        for slot in &self.slots {
            *slot.lock() = Some(outcome.clone());
        }
    }

    /// A batch left unsettled (its writer panicked) fails its callers rather than leaving them
    /// to report success for an entry nobody wrote.
    fn fail_unsettled(&self) {
        for slot in &self.slots {
            let mut slot = slot.lock();
            if slot.is_none() {
                *slot = Some(Err(Error::storage(
                    "the audit entry's write was interrupted; it was not recorded",
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> AuditEntry {
        AuditEntry {
            id: id.into(),
            ..AuditEntry::default()
        }
    }

    #[test]
    fn one_batch_takes_every_waiting_entry_in_arrival_order_and_settles_each_ticket() {
        let queue = Queue::default();
        let tickets = [queue.push(entry("a")), queue.push(entry("b"))];
        assert!(tickets.iter().all(|t| t.outcome().is_none()));
        let Ok(lead) = queue.wait_or_lead(&tickets[0]) else {
            panic!("nobody leads, so the caller does")
        };
        let ids: Vec<&str> = lead.batch.entries().iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let failed = Err(Error::storage("disk full"));
        lead.batch.settle(&failed);
        drop(lead);
        assert!(tickets.iter().all(|t| t.outcome() == Some(failed.clone())));
        assert_eq!(
            queue.wait_or_lead(&tickets[1]).err(),
            Some(failed),
            "a settled ticket returns its outcome without leading"
        );
    }

    #[test]
    fn a_lead_dropped_unsettled_fails_its_tickets_and_hands_the_lead_on() {
        let queue = Queue::default();
        let ticket = queue.push(entry("a"));
        drop(queue.wait_or_lead(&ticket));
        assert!(matches!(ticket.outcome(), Some(Err(Error::Storage(_)))));
        let next = queue.push(entry("b"));
        assert!(queue.wait_or_lead(&next).is_ok(), "the lead is free again");
    }
}
