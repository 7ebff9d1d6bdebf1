//! The plugin's one way to say something a caller cannot be answered with: a JSON line on stderr.
//!
//! `eprintln!` panics when stderr cannot be written (a full disk behind a redirect, a closed
//! pipe). A panic while logging would escape the panic boundary's fallback and abort a Rust host,
//! so a line that cannot be written is dropped instead: the log is best effort, the answer is not.

use std::io::Write;

/// Writes `line` and a newline to stderr, ignoring a failed write.
pub fn line(line: &serde_json::Value) {
    write_line(&mut std::io::stderr().lock(), line);
}

fn write_line(out: &mut impl Write, line: &serde_json::Value) {
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_that_cannot_be_written_is_dropped_without_a_panic() {
        write_line(&mut Full, &serde_json::json!({"log": "dagu-auth.test"}));
        let mut written = Vec::new();
        write_line(&mut written, &serde_json::json!({"log": "dagu-auth.test"}));
        assert_eq!(written, b"{\"log\":\"dagu-auth.test\"}\n");
    }
}
