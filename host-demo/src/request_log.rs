//! The one-line-per-request log, written by a thread of its own.
//!
//! A request appends its line to a shared buffer and returns; the log thread writes the buffer out
//! every `FLUSH_INTERVAL`. Writing to stderr on the request path cost a syscall under the stderr
//! lock, and waking a writer thread per line (a channel) cost a futex wake and a context switch per
//! request: ~15 % of host-demo's CPU under wrk (perf, plugin/benches/http_load.sh). The price is
//! that a line appears up to one interval after its request.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

const FLUSH_INTERVAL: Duration = Duration::from_millis(20);
/// If stderr stops draining, lines past this are counted and dropped rather than held.
const MAX_PENDING_BYTES: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    text: String,
    dropped: u64,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    text: String::new(),
    dropped: 0,
});
static WRITER: OnceLock<bool> = OnceLock::new();

/// Queues one line; written to stderr by the log thread (or directly if it could not start). The
/// way to log while serving: a write to stderr that fails (a full disk, a closed pipe) is dropped,
/// where `eprintln!` would panic the request's task.
pub fn line(text: std::fmt::Arguments<'_>) {
    let started = *WRITER.get_or_init(|| {
        std::thread::Builder::new()
            .name("request-log".into())
            .spawn(write_periodically)
            .is_ok()
    });
    if !started {
        let _ = writeln!(std::io::stderr(), "{text}");
        return;
    }
    PENDING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(text);
}

impl Pending {
    /// Formats straight into the buffer: no string per line.
    fn push(&mut self, line: std::fmt::Arguments<'_>) {
        if self.text.len() >= MAX_PENDING_BYTES {
            self.dropped += 1;
            return;
        }
        // Writing into a String cannot fail.
        let _ = writeln!(self.text, "{line}");
    }
}

/// Writes whatever is queued; called by the log thread and once more at shutdown. stderr is locked
/// before the buffer is taken, so the last flush waits for a batch the log thread is still writing
/// rather than finding the buffer empty and letting the process exit first.
pub fn flush() {
    let mut out = std::io::stderr().lock();
    let taken = std::mem::take(&mut *PENDING.lock().unwrap_or_else(PoisonError::into_inner));
    if taken.text.is_empty() && taken.dropped == 0 {
        return;
    }
    // A failed write to stderr has nowhere to be reported; the next flush tries again.
    let _ = out.write_all(taken.text.as_bytes());
    if taken.dropped > 0 {
        let _ = writeln!(
            out,
            "host-demo: {} request log lines dropped (stderr is not draining)",
            taken.dropped
        );
    }
    let _ = out.flush();
}

fn write_periodically() {
    loop {
        std::thread::sleep(FLUSH_INTERVAL);
        flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_queued_one_per_line_and_the_cap_counts_what_it_drops() {
        let mut pending = Pending::default();
        pending.push(format_args!("GET /a 200 {:.1}ms 127.0.0.1", 0.12));
        pending.push(format_args!("GET /b 401 0.1ms 127.0.0.1"));
        assert_eq!(
            pending.text,
            "GET /a 200 0.1ms 127.0.0.1\nGET /b 401 0.1ms 127.0.0.1\n"
        );
        pending.text = "x".repeat(MAX_PENDING_BYTES);
        pending.push(format_args!("GET /c 200 0.1ms 127.0.0.1"));
        assert_eq!(
            (pending.text.len(), pending.dropped),
            (MAX_PENDING_BYTES, 1)
        );
    }
}
