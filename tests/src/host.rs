//! Running `host-demo` as a child process with the plugin loaded, one per test.

use std::fmt;
use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::artifacts::{Artifacts, ensure_built};
use crate::http::Client;

/// How long `host-demo` may take to answer its health check.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a host that was asked to stop may take before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Which of the plugin's two ABIs the host loads it through, and so which host runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    /// The abi_stable root module, in host-demo.
    Rust,
    /// The `extern "C"` functions, in host-demo.
    C,
    /// The `extern "C"` functions through package daguauth (`plugin/go`), in the Go host
    /// (`plugin/go/cmd/dagu-auth-host`), which reads host-demo's environment.
    Go,
}

impl Abi {
    /// The value of `DAGU_AUTH_BUILTIN_ABI`.
    pub fn env_value(self) -> &'static str {
        match self {
            Abi::Rust => "rust",
            Abi::C | Abi::Go => "c",
        }
    }

    /// The host program and its arguments.
    fn program(self, artifacts: &Artifacts) -> Command {
        match self {
            Abi::Rust | Abi::C => Command::new(&artifacts.host_demo),
            Abi::Go => {
                let host = crate::go::go_host().expect("the Go host needs `go` (golang-go)");
                let mut command = Command::new(host);
                command
                    .arg("-web")
                    .arg(crate::workspace_root().join("host-demo/static"));
                command
            }
        }
    }
}

/// What a `host-demo` is started with. Unset options are left out of its environment, so the
/// host's defaults apply.
#[derive(Clone, Debug)]
pub struct HostOptions {
    /// `DAGU_AUTH_BUILTIN_ABI`.
    pub abi: Abi,
    /// `DAGU_AUTH_MODE` (`builtin` when unset).
    pub mode: Option<String>,
    /// `DAGU_LICENSE_FEATURES`; `Some("")` means unlicensed, `None` the default (`rbac,audit`).
    pub license_features: Option<String>,
    /// `DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME`.
    pub initial_admin_username: Option<String>,
    /// `DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD`.
    pub initial_admin_password: Option<String>,
    /// `DAGU_AUTH_TOKEN_TTL` (a Go duration).
    pub token_ttl: Option<String>,
    /// `DAGU_AUTH_TOKEN_SECRET`.
    pub token_secret: Option<String>,
    /// `DAGU_DATA_DIR`; a fresh temporary directory when unset.
    pub data_dir: Option<PathBuf>,
    /// Any further environment variables.
    pub env: Vec<(String, String)>,
    /// stderr on `/dev/full`, where every write fails, instead of a log file.
    pub stderr_unwritable: bool,
}

impl HostOptions {
    /// Defaults: builtin mode, default license, no initial admin, fresh data dir.
    pub fn new(abi: Abi) -> Self {
        HostOptions {
            abi,
            mode: None,
            license_features: None,
            initial_admin_username: None,
            initial_admin_password: None,
            token_ttl: None,
            token_secret: None,
            data_dir: None,
            env: Vec::new(),
            stderr_unwritable: false,
        }
    }

    /// Points the host's stderr at `/dev/full`: every write to it fails (nothing is captured).
    pub fn stderr_unwritable(mut self) -> Self {
        self.stderr_unwritable = true;
        self
    }

    /// Sets `DAGU_AUTH_MODE`.
    pub fn mode(mut self, mode: &str) -> Self {
        self.mode = Some(mode.to_owned());
        self
    }

    /// Sets `DAGU_LICENSE_FEATURES` (`""` = unlicensed).
    pub fn license_features(mut self, features: &str) -> Self {
        self.license_features = Some(features.to_owned());
        self
    }

    /// Sets both initial admin variables.
    pub fn initial_admin(mut self, username: &str, password: &str) -> Self {
        self.initial_admin_username = Some(username.to_owned());
        self.initial_admin_password = Some(password.to_owned());
        self
    }

    /// Sets `DAGU_AUTH_TOKEN_TTL`.
    pub fn token_ttl(mut self, ttl: &str) -> Self {
        self.token_ttl = Some(ttl.to_owned());
        self
    }

    /// Uses `dir` as `DAGU_DATA_DIR` (it outlives the host, e.g. to restart on it).
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Why a `host-demo` did not come up.
#[derive(Debug)]
pub enum StartError {
    /// It exited before answering its health check.
    Exited {
        /// Its exit status.
        status: ExitStatus,
        /// Its stdout and stderr.
        output: String,
    },
    /// It did not answer its health check within [`START_TIMEOUT`] (it was killed).
    Timeout {
        /// Its stdout and stderr.
        output: String,
    },
}

impl StartError {
    /// What the host printed.
    pub fn output(&self) -> &str {
        match self {
            StartError::Exited { output, .. } | StartError::Timeout { output } => output,
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Exited { status, output } => {
                write!(f, "host-demo exited during start-up ({status}):\n{output}")
            }
            StartError::Timeout { output } => write!(
                f,
                "host-demo did not answer GET /api/v1/health within {START_TIMEOUT:?}:\n{output}"
            ),
        }
    }
}

/// A running `host-demo`, killed (and waited for) on drop. When the test is panicking, the
/// drop prints the host's output.
pub struct HostDemo {
    child: Option<Child>,
    port: u16,
    client: Client,
    data_dir: PathBuf,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    // Holds the logs and, unless one was given, the data dir; removed last.
    _work: TempDir,
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Sends SIGTERM, waits up to [`STOP_TIMEOUT`], then kills.
/// How the child ended: `None` when it had to be killed.
fn stop_child(child: &mut Child) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

impl HostDemo {
    /// Starts a host and waits for its health check; panics with its output when it fails.
    pub fn start(options: HostOptions) -> HostDemo {
        match HostDemo::try_start(options) {
            Ok(host) => host,
            Err(error) => panic!("{error}"),
        }
    }

    /// Starts a host and waits for its health check (retrying with another port when the
    /// chosen one was taken in the meantime).
    pub fn try_start(options: HostOptions) -> Result<HostDemo, StartError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match HostDemo::start_once(&options) {
                Err(StartError::Exited { output, .. })
                    if attempt < 3 && output.to_lowercase().contains("address already in use") =>
                {
                    continue;
                }
                result => return result,
            }
        }
    }

    fn start_once(options: &HostOptions) -> Result<HostDemo, StartError> {
        let artifacts = ensure_built();
        let work = tempfile::Builder::new()
            .prefix("dagu-auth-host-")
            .tempdir()
            .expect("create a temporary directory");
        let data_dir = match &options.data_dir {
            Some(dir) => dir.clone(),
            None => work.path().join("data"),
        };
        fs::create_dir_all(&data_dir).expect("create the data dir");
        let stdout_path = work.path().join("stdout.log");
        let stderr_path = work.path().join("stderr.log");
        // A caller that must know the port before the start (an OIDC redirect URI names it)
        // sets DAGU_PORT itself; the client has to talk to that port then.
        let port = options
            .env
            .iter()
            .rev()
            .find(|(name, _)| name == "DAGU_PORT")
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or_else(free_port);

        let mut command = options.abi.program(artifacts);
        command.current_dir(work.path());
        // Nothing from the caller's environment may change what is tested.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("DAGU_") {
                command.env_remove(&name);
            }
        }
        command
            .env("DAGU_HOST", "127.0.0.1")
            .env("DAGU_PORT", port.to_string())
            .env("DAGU_DATA_DIR", &data_dir)
            .env(
                "DAGU_AUTH_MODE",
                options.mode.as_deref().unwrap_or("builtin"),
            )
            .env("DAGU_AUTH_BUILTIN_ABI", options.abi.env_value())
            .env("DAGU_AUTH_PLUGIN", &artifacts.plugin);
        let optional = [
            ("DAGU_LICENSE_FEATURES", &options.license_features),
            (
                "DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME",
                &options.initial_admin_username,
            ),
            (
                "DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD",
                &options.initial_admin_password,
            ),
            ("DAGU_AUTH_TOKEN_TTL", &options.token_ttl),
            ("DAGU_AUTH_TOKEN_SECRET", &options.token_secret),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                command.env(name, value);
            }
        }
        for (name, value) in &options.env {
            command.env(name, value);
        }
        let stderr = match options.stderr_unwritable {
            true => fs::OpenOptions::new().write(true).open("/dev/full"),
            false => File::create(&stderr_path),
        };
        command
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).expect("create stdout.log"))
            .stderr(stderr.expect("open the host's stderr"));
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not spawn {command:?}: {e}"));

        let mut host = HostDemo {
            child: Some(child),
            port,
            client: Client::new(format!("http://127.0.0.1:{port}")),
            data_dir,
            stdout_path,
            stderr_path,
            _work: work,
        };
        host.wait_until_healthy()?;
        Ok(host)
    }

    fn wait_until_healthy(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let child = self.child.as_mut().expect("child is running");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(StartError::Exited {
                    status,
                    output: self.output(),
                });
            }
            if self
                .client
                .health_status()
                .is_ok_and(|status| status == 200)
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                if let Some(mut child) = self.child.take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                return Err(StartError::Timeout {
                    output: self.output(),
                });
            }
            thread::sleep(Duration::from_millis(25));
        }
    }

    /// The HTTP client bound to this host.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The port the host listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data dir the host was started with.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// What the host printed so far (stdout, then stderr).
    pub fn output(&self) -> String {
        format!(
            "--- host-demo stdout ---\n{}--- host-demo stderr ---\n{}",
            read_lossy(&self.stdout_path),
            read_lossy(&self.stderr_path)
        )
    }

    /// Stops the host with SIGTERM and answers how it exited; `None` when it did not stop in time
    /// and was killed.
    pub fn stop_status(mut self) -> Option<ExitStatus> {
        self.child
            .take()
            .and_then(|mut child| stop_child(&mut child))
    }

    /// Stops the host (SIGTERM, then SIGKILL) and returns its output.
    pub fn stop(mut self) -> String {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
        self.output()
    }
}

impl std::ops::Deref for HostDemo {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for HostDemo {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
        if thread::panicking() {
            eprintln!("host-demo on port {}:\n{}", self.port, self.output());
        }
    }
}
