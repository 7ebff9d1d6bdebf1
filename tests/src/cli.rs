//! Runs `host-demo` subcommands as real processes (the operator CLI), for the CLI tests.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::api::{ADMIN_PASSWORD, ADMIN_USERNAME};
use crate::ensure_built;
use crate::native::tool_or_skip;

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

/// `command` with the environment of a host-demo run on `data_dir`, nothing from the caller's
/// `DAGU_*`.
fn on_data_dir(mut command: Command, data_dir: &Path) -> Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DAGU_") {
            command.env_remove(&name);
        }
    }
    command
        .current_dir(data_dir)
        .env("DAGU_DATA_DIR", data_dir)
        .env("DAGU_AUTH_PLUGIN", &ensure_built().plugin);
    command
}

/// Runs `host-demo ARGS` on `data_dir`, feeding `stdin`, with nothing from the caller's `DAGU_*`.
pub fn cli(data_dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut command = on_data_dir(Command::new(&ensure_built().host_demo), data_dir);
    let mut child = command
        .args(args)
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

/// `host-demo setup --password-stdin` on `data_dir`: creates the first admin ([`ADMIN_USERNAME`],
/// [`ADMIN_PASSWORD`]) as an operator would from the shell; panics unless it exits 0.
#[track_caller]
pub fn cli_setup_admin(data_dir: &Path) -> Run {
    cli(
        data_dir,
        &["setup", "--username", ADMIN_USERNAME, "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    )
    .ok()
}

/// How long one prompt may take to appear.
const PROMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `host-demo ARGS` at a terminal (a pseudo-terminal from util-linux `script`) and types each
/// answer of `dialogue` only after its prompt has appeared, as a person would: typed earlier, the
/// terminal would echo it before the program could turn echo off. `stdout` is everything the
/// terminal showed. `None` (after a printed reason) when `script` is not installed.
pub fn cli_at_terminal(data_dir: &Path, args: &[&str], dialogue: &[(&str, &str)]) -> Option<Run> {
    let script = tool_or_skip("script", "bsdutils")?;
    let line = std::iter::once(ensure_built().host_demo.to_string_lossy().into_owned())
        .chain(args.iter().map(|arg| (*arg).to_owned()))
        .map(|word| format!("'{}'", word.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = on_data_dir(Command::new(script), data_dir);
    let mut child = command
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script");
    let (screen, reader) = Screen::watch(&mut child);
    let mut keyboard = child.stdin.take().expect("stdin");
    let mut seen = 0;
    for (prompt, answer) in dialogue {
        seen = screen.wait_for(prompt, seen);
        if prompt.to_ascii_lowercase().contains("password") {
            wait_until_echo_is_off(child.id());
        }
        writeln!(keyboard, "{answer}").expect("type an answer");
        keyboard.flush().expect("flush");
    }
    drop(keyboard);
    let status = child.wait().expect("wait for script");
    reader.join().expect("terminal reader");
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).ok();
    }
    Some(Run {
        code: status.code().unwrap_or(-1),
        stdout: screen.text(),
        stderr,
    })
}

/// A password prompt appears before the prompter turns the terminal's echo off, so typing as soon as
/// it shows can race the prompter (seen on a loaded machine) and put the password on screen, as no
/// person typing could. Waits until the pseudo-terminal of the `script` child says `-echo`.
fn wait_until_echo_is_off(script_pid: u32) {
    let deadline = Instant::now() + PROMPT_TIMEOUT;
    while Instant::now() < deadline {
        if let Some(terminal) = terminal_of_descendant(script_pid) {
            let settings = Command::new("stty")
                .arg("-F")
                .arg(&terminal)
                .output()
                .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
                .unwrap_or_default();
            if settings.split_whitespace().any(|flag| flag == "-echo") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the terminal's echo was not turned off within {PROMPT_TIMEOUT:?}");
}

/// The pseudo-terminal (`/dev/pts/N`) that a process started under `script` reads from.
fn terminal_of_descendant(script_pid: u32) -> Option<std::path::PathBuf> {
    let entries = std::fs::read_dir("/proc").ok()?;
    entries.flatten().find_map(|entry| {
        let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
        // `pid (comm) state ppid ...`: comm may hold spaces, so read after the last ')'.
        let ppid: u32 = stat
            .rsplit(')')
            .next()?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        let stdin = std::fs::read_link(entry.path().join("fd/0")).ok()?;
        let is_ours = ppid == script_pid || is_child_of(ppid, script_pid);
        (is_ours && stdin.starts_with("/dev/pts")).then_some(stdin)
    })
}

fn is_child_of(pid: u32, parent: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse::<u32>()
                .ok()
        })
        == Some(parent)
}

/// What the terminal has shown so far, filled by a reader thread.
#[derive(Clone, Default)]
struct Screen(Arc<(Mutex<Vec<u8>>, Condvar)>);

impl Screen {
    fn watch(child: &mut Child) -> (Self, std::thread::JoinHandle<()>) {
        let screen = Screen::default();
        let mut out = child.stdout.take().expect("stdout");
        let filled = screen.clone();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(read @ 1..) = out.read(&mut chunk) {
                let (text, shown) = &*filled.0;
                text.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(&chunk[..read]);
                shown.notify_all();
            }
        });
        (screen, reader)
    }

    /// Waits until `prompt` appears after byte `from`; returns where it ends.
    #[track_caller]
    fn wait_for(&self, prompt: &str, from: usize) -> usize {
        let deadline = Instant::now() + PROMPT_TIMEOUT;
        let (text, shown) = &*self.0;
        let mut text = text.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let found = text[from.min(text.len())..]
                .windows(prompt.len())
                .position(|window| window == prompt.as_bytes());
            if let Some(at) = found {
                return from + at + prompt.len();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no prompt {prompt:?} within {PROMPT_TIMEOUT:?}; the terminal showed:\n{}",
                String::from_utf8_lossy(&text)
            );
            text = shown
                .wait_timeout(text, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.0.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }
}
