//! Work kept off the request path: recording API key and session use, pruning the audit trail,
//! sweeping expired and idle sessions and taking scheduled backups. One background thread per instance; it ends
//! when the instance closes.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use crate::clock::Clock;
use crate::config::BackupSchedule;
use crate::store::{AUDIT_PRUNE_BATCH as PRUNE_BATCH, Store};

/// How often the thread wakes for periodic work even without key uses.
const TICK: Duration = Duration::from_secs(60);
/// Uses waiting to be written; past this, uses are dropped (lastUsedAt is advisory, and a dropped
/// session use can only end that session early by at most one touch interval).
const QUEUE: usize = 1024;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// One use of a credential, to be written to the store with the next batch.
enum Use {
    /// (key id, time)
    Key(String, i64),
    /// (session jti, time)
    Session(String, i64),
}

/// What the periodic pass sweeps besides expired sessions.
pub struct Sweeps {
    pub audit_retention_days: u32,
    /// Sessions unused for longer end; 0 keeps them until they expire.
    pub idle_timeout_ms: i64,
    pub backup: Option<BackupSchedule>,
}

pub struct Maintenance {
    sender: Mutex<Option<SyncSender<Use>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Maintenance {
    pub fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>, sweeps: Sweeps) -> Self {
        let (sender, receiver) = sync_channel(QUEUE);
        // If the thread cannot start, uses are simply not recorded: the idle timeout then reads
        // each session's sign-in time, which ends sessions early, never late.
        let thread = std::thread::Builder::new()
            .name("dagu-auth-maintenance".into())
            .spawn(move || run(receiver, store.as_ref(), clock.as_ref(), sweeps))
            .ok();
        Self {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(thread),
        }
    }

    /// Queues a key use without waiting; called at most once a minute per key.
    pub fn key_used(&self, key_id: &str, at_ms: i64) {
        self.queue(Use::Key(key_id.to_string(), at_ms));
    }

    /// Queues a session use without waiting; called at most once a touch interval per session.
    pub fn session_used(&self, jti: &str, at_ms: i64) {
        self.queue(Use::Session(jti.to_string(), at_ms));
    }

    fn queue(&self, used: Use) {
        if let Some(sender) = self.sender.lock().as_ref() {
            match sender.try_send(used) {
                Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }

    /// Stops the thread after it has written what is queued.
    pub fn stop(&self) {
        self.sender.lock().take();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(receiver: Receiver<Use>, store: &dyn Store, clock: &dyn Clock, sweeps: Sweeps) {
    let Sweeps {
        audit_retention_days: retention_days,
        idle_timeout_ms,
        backup,
    } = sweeps;
    let mut last_periodic = i64::MIN;
    let mut last_backup_error = None;
    loop {
        let mut uses = Vec::new();
        match receiver.recv_timeout(TICK) {
            Ok(first) => uses.push(first),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        // Read before the queue is drained: every use made up to `now` is then written before the
        // idle sweep below, which would otherwise end a session used just before it.
        let now = clock.now_ms();
        uses.extend(receiver.try_iter());
        let (mut key_uses, mut session_uses) = (Vec::new(), Vec::new());
        for used in uses {
            match used {
                Use::Key(id, at) => key_uses.push((id, at)),
                Use::Session(jti, at) => session_uses.push((jti, at)),
            }
        }
        // Failures here are retried by the next use or tick; they must never reach a caller.
        if !key_uses.is_empty() {
            let _ = store.touch_api_keys(&key_uses);
        }
        if !session_uses.is_empty() {
            let _ = store.touch_sessions(&session_uses);
        }
        // Saturating: the first pass starts from i64::MIN, where plain `-` overflows (a panic in
        // debug builds, a wrap that skipped the periodic work forever in release).
        if now.saturating_sub(last_periodic) >= TICK.as_millis() as i64 {
            last_periodic = now;
            let _ = store.delete_expired_sessions(now);
            if idle_timeout_ms > 0 {
                let _ = store.delete_idle_sessions(now.saturating_sub(idle_timeout_ms));
            }
            if retention_days > 0 {
                let cutoff = now - i64::from(retention_days) * DAY_MS;
                while let Ok(removed) = store.prune_audit(cutoff, PRUNE_BATCH) {
                    if removed < PRUNE_BATCH as u64 {
                        break;
                    }
                }
            }
            if let Some(schedule) = &backup {
                // Said once per distinct failure, not once a minute while it lasts.
                let error = super::backup::scheduled_backup(store, schedule, now)
                    .err()
                    .map(|e| e.to_string());
                if error.is_some() && error != last_backup_error {
                    let line = serde_json::json!({
                        "log": "dagu-auth.backup-failed",
                        "dir": schedule.dir,
                        "error": error,
                    });
                    crate::log::line(&line);
                }
                last_backup_error = error;
            }
        }
    }
}
