//! What error answers leave out (a 500's file names and queries, a 503's database address and OS
//! error), written to stderr as one JSON line, the way the plugin reports everything else it
//! cannot return. The same detail is written at most once a minute, so a flood of refused
//! requests during an outage cannot flood the log.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::Error;

const REPEAT_AFTER: Duration = Duration::from_secs(60);

/// The detail last written, and when.
static LAST: Mutex<Option<(String, Instant)>> = Mutex::new(None);

pub fn hidden_detail(status: u16, error: &Error) {
    let detail = error.to_string();
    if !first_in_a_while(&detail, Instant::now()) {
        return;
    }
    let line =
        serde_json::json!({"log": "dagu-auth.http-error", "status": status, "error": detail});
    crate::log::line(&line);
}

fn first_in_a_while(detail: &str, now: Instant) -> bool {
    let mut last = LAST.lock();
    if let Some((text, at)) = last.as_ref()
        && text == detail
        && now.saturating_duration_since(*at) < REPEAT_AFTER
    {
        return false;
    }
    *last = Some((detail.to_owned(), now));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_detail_is_written_once_a_minute() {
        let start = Instant::now();
        let detail = "error_log test: the database at 192.0.2.1:5432 is unreachable";
        assert!(first_in_a_while(detail, start));
        assert!(!first_in_a_while(detail, start + Duration::from_secs(59)));
        assert!(first_in_a_while(detail, start + Duration::from_secs(61)));
        assert!(first_in_a_while(
            "another detail",
            start + Duration::from_secs(62)
        ));
    }
}
