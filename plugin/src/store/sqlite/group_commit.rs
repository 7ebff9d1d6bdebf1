//! The queue behind the SQLite store's group commit of audit entries: callers leave their entry
//! here with a ticket, and the caller that next holds the writer takes them all and settles
//! every ticket with the outcome of the one transaction that wrote them.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::model::AuditEntry;

/// Where a queued entry's outcome is left: empty until its transaction has ended.
type Slot = Mutex<Option<Result<()>>>;

#[derive(Default)]
pub struct Queue {
    waiting: Mutex<Vec<(AuditEntry, Arc<Slot>)>>,
}

/// A caller's claim on the outcome of the transaction that writes its entry.
pub struct Ticket(Arc<Slot>);

/// The entries one transaction writes, and the tickets it settles.
pub struct Batch {
    entries: Vec<AuditEntry>,
    slots: Vec<Arc<Slot>>,
}

impl Queue {
    pub fn push(&self, entry: AuditEntry) -> Ticket {
        let slot = Arc::new(Mutex::new(None));
        self.waiting.lock().push((entry, slot.clone()));
        Ticket(slot)
    }

    /// Everything queued, in arrival order. Call it holding the writer, so that no other
    /// caller can settle these tickets meanwhile.
    pub fn take(&self) -> Batch {
        let (entries, slots) = std::mem::take(&mut *self.waiting.lock())
            .into_iter()
            .unzip();
        Batch { entries, slots }
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
}

impl Drop for Batch {
    /// A batch dropped unsettled (its writer panicked) fails its callers rather than leaving
    /// them to report success for an entry nobody wrote.
    fn drop(&mut self) {
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
        let batch = queue.take();
        let ids: Vec<&str> = batch.entries().iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(queue.take().entries().is_empty(), "the queue is emptied");
        let failed = Err(Error::storage("disk full"));
        batch.settle(&failed);
        assert!(tickets.iter().all(|t| t.outcome() == Some(failed.clone())));
    }

    #[test]
    fn a_batch_dropped_unsettled_fails_its_tickets() {
        let queue = Queue::default();
        let ticket = queue.push(entry("a"));
        drop(queue.take());
        assert!(matches!(ticket.outcome(), Some(Err(Error::Storage(_)))));
    }
}
