//! The one-line-per-request log, written by a thread of its own: a write to stderr per request
//! cost the request path a syscall under the stderr lock (measured with plugin/benches/http_load.sh).
//! Lines are batched while requests arrive faster than they can be written, and flushed as soon as
//! the queue is empty, so the log never lags an idle server.

use std::io::{BufWriter, Write};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, Sender, channel};

static SENDER: OnceLock<Option<Sender<String>>> = OnceLock::new();

/// Queues one line; written to stderr by the log thread (or directly if it could not start).
pub fn line(text: String) {
    let sender = SENDER.get_or_init(|| {
        let (sender, receiver) = channel();
        std::thread::Builder::new()
            .name("request-log".into())
            .spawn(move || write_lines(receiver))
            .ok()
            .map(|_| sender)
    });
    let unsent = match sender {
        Some(sender) => sender.send(text).err().map(|e| e.0),
        None => Some(text),
    };
    if let Some(text) = unsent {
        eprintln!("{text}");
    }
}

fn write_lines(receiver: Receiver<String>) {
    let mut out = BufWriter::new(std::io::stderr());
    while let Ok(first) = receiver.recv() {
        // A failed write to stderr has nowhere to be reported; the next line tries again.
        let _ = writeln!(out, "{first}");
        for more in receiver.try_iter() {
            let _ = writeln!(out, "{more}");
        }
        let _ = out.flush();
    }
}
