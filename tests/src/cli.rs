//! Runs `host-demo` subcommands as real processes (the operator CLI), for the CLI tests.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::ensure_built;

/// What one run of `host-demo` printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Self {
        self.code(0)
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `host-demo ARGS` on `data_dir`, feeding `stdin`, with nothing from the caller's `DAGU_*`.
pub fn cli(data_dir: &Path, args: &[&str], stdin: &str) -> Run {
    let artifacts = ensure_built();
    let mut command = Command::new(&artifacts.host_demo);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DAGU_") {
            command.env_remove(&name);
        }
    }
    let mut child = command
        .args(args)
        .current_dir(data_dir)
        .env("DAGU_DATA_DIR", data_dir)
        .env("DAGU_AUTH_PLUGIN", &artifacts.plugin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run host-demo");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("wait for host-demo");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
