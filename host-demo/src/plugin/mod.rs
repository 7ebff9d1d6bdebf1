//! The loaded dagu-auth plugin, behind one small interface whatever ABI reaches it.
//!
//! The host needs five operations: forward an HTTP request, authorize a token for an action in a
//! workspace, ask whether setup is still required, run an operator command for the command line,
//! and append its own events to the audit trail. Both backends ([`Backend`]) implement exactly those, so the server never knows which ABI
//! is in use. Plugin calls block (argon2 hashing takes tens of
//! milliseconds), so async code reaches them through [`LoadedPlugin::call`].

mod c_abi;
mod discover;
mod rust_abi;

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
pub use dagu_auth_abi::{DaguAuthAction, DaguAuthDecision, DaguAuthStatus};
use discover::discover;

use crate::config::{Abi, Config};

/// One HTTP request as the host received it, its parts moved from the server's request rather
/// than copied: each backend copies them once, into what its ABI takes. `path` keeps the query
/// string.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub client_ip: String,
}

/// The plugin's answer, in the types the server sends, so it is handed over without a copy.
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A request header as the text both ABIs take. HTTP allows a value to hold bytes that are not UTF-8; the
/// plugin reads only ASCII headers, so such bytes reach it replaced (U+FFFD) rather than failing
/// the request.
fn header_text(value: &HeaderValue) -> Cow<'_, str> {
    match value.to_str() {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(value.as_bytes()),
    }
}

/// An empty map for the `count` headers the plugin says it answered. The count is the plugin's to
/// report and `HeaderMap::with_capacity` panics past 32,768, so it only sizes the first allocation.
fn response_headers(count: usize) -> HeaderMap {
    HeaderMap::with_capacity(count.min(64))
}

/// Adds one header the plugin answered. One that is not valid HTTP is dropped and reported,
/// rather than failing the whole answer.
fn append_header(headers: &mut HeaderMap, name: &[u8], value: &[u8]) {
    match (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
        (Ok(name), Ok(value)) => {
            headers.append(name, value);
        }
        _ => crate::request_log::line(format_args!(
            "host-demo: dropped an invalid header `{}` from the plugin",
            String::from_utf8_lossy(name)
        )),
    }
}

/// A status the plugin returned instead of a value, with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// A `DaguAuthStatus` value; kept raw so a newer plugin's status is reported, not lost.
    pub status: u32,
    pub message: String,
}

impl PluginError {
    pub fn new(status: DaguAuthStatus, message: impl Into<String>) -> Self {
        Self {
            status: status as u32,
            message: message.into(),
        }
    }

    pub fn status(&self) -> Option<DaguAuthStatus> {
        DaguAuthStatus::from_u32(self.status)
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.status().map_or("UNKNOWN_STATUS", DaguAuthStatus::name);
        if self.message.is_empty() {
            write!(f, "{name} ({})", self.status)
        } else {
            write!(f, "{name}: {}", self.message)
        }
    }
}

impl std::error::Error for PluginError {}

/// The decision value `authorize` answered through either ABI. A value this host does not know (from
/// a newer plugin) is an error rather than a guess at what it allows.
fn decision_from(value: u32) -> Result<DaguAuthDecision, PluginError> {
    DaguAuthDecision::from_u32(value).ok_or_else(|| {
        PluginError::new(
            DaguAuthStatus::Internal,
            format!("unknown decision value {value}"),
        )
    })
}

/// What either ABI offers the host. Implementations must be callable from many threads at once
/// (include/dagu_auth.h: an instance is shareable; only close needs exclusive use, and that happens
/// on drop).
pub trait Backend: Send + Sync {
    fn handle_http(&self, request: &HttpRequest) -> Result<HttpResponse, PluginError>;
    fn authorize(
        &self,
        token: &str,
        action: DaguAuthAction,
        workspace: &str,
    ) -> Result<DaguAuthDecision, PluginError>;
    fn setup_required(&self) -> Result<bool, PluginError>;
    /// One operator command (ABI 1.2): answers its JSON result.
    fn operator(&self, command_json: &str) -> Result<String, PluginError>;
    /// One event of the host into the audit trail (ABI 1.4), caused by the bearer of `token`.
    fn audit_append(&self, token: &str, entry_json: &str) -> Result<(), PluginError>;
}

/// Why the plugin could not be brought up. Each variant reads as a complete sentence for the user.
#[derive(Debug)]
pub enum OpenError {
    /// No file at any of the places looked at.
    NotFound(Vec<PathBuf>),
    /// The file exists but could not be loaded or is the wrong ABI.
    Load { path: PathBuf, reason: String },
    /// The plugin loaded but refused the configuration (e.g. a rejected initial-admin password).
    Refused(PluginError),
    /// The host's configuration could not be turned into the plugin's (a data folder that is not
    /// UTF-8, for one).
    Config(String),
}

impl OpenError {
    /// Whether the operator fixes this in the configuration (the plugin's path included), rather
    /// than in the library or the data it opens.
    pub fn is_configuration(&self) -> bool {
        matches!(self, Self::NotFound(_) | Self::Config(_))
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(looked) => {
                write!(
                    f,
                    "cannot find the dagu-auth plugin (libdagu_auth.so); looked at:"
                )?;
                for path in looked {
                    write!(f, "\n  {}", path.display())?;
                }
                write!(
                    f,
                    "\nbuild it with `cargo build -p dagu-auth` or set DAGU_AUTH_PLUGIN"
                )
            }
            Self::Load { path, reason } => {
                write!(
                    f,
                    "cannot load the dagu-auth plugin {}: {reason}",
                    path.display()
                )
            }
            Self::Refused(e) => write!(f, "the dagu-auth plugin refused to start: {e}"),
            Self::Config(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for OpenError {}

/// The open plugin instance. Dropping it closes the instance; the library stays mapped.
pub struct LoadedPlugin {
    backend: Box<dyn Backend>,
    path: PathBuf,
    abi: Abi,
    version: String,
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("path", &self.path)
            .field("abi", &self.abi)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// Loads the library at `path` through `abi` and opens one instance with `config_json`.
    pub fn open(abi: Abi, path: &Path, config_json: &str) -> Result<Self, OpenError> {
        let (backend, version): (Box<dyn Backend>, String) = match abi {
            Abi::Rust => {
                let (backend, version) = rust_abi::RustAbiBackend::open(path, config_json)?;
                (Box::new(backend), version)
            }
            Abi::C => {
                let (backend, version) = c_abi::CAbiBackend::open(path, config_json)?;
                (Box::new(backend), version)
            }
        };
        Ok(Self {
            backend,
            path: path.to_owned(),
            abi,
            version,
        })
    }

    /// Loads the library the configuration names (`DAGU_AUTH_PLUGIN`), or else the first one found
    /// where cargo leaves it, and opens one instance with the configuration's plugin JSON.
    pub fn open_configured(config: &Config) -> Result<Self, OpenError> {
        let cwd = std::env::current_dir()
            .map_err(|e| OpenError::Config(format!("cannot read the working directory: {e}")))?;
        let exe = std::env::current_exe().ok();
        let path = discover(
            config.plugin_path.as_deref(),
            exe.as_deref(),
            &cwd,
            Path::is_file,
        )?;
        let open_json = config
            .plugin_open_json()
            .map_err(|e| OpenError::Config(e.to_string()))?;
        Self::open(config.abi, &path, &open_json)
    }

    /// Wraps any backend; lets tests drive the server without a built library.
    #[cfg(test)]
    pub fn from_backend(backend: Box<dyn Backend>, abi: Abi) -> Self {
        Self {
            backend,
            path: PathBuf::new(),
            abi,
            version: String::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn abi(&self) -> Abi {
        self.abi
    }

    /// The plugin's own version string (empty for test backends).
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn handle_http(&self, request: &HttpRequest) -> Result<HttpResponse, PluginError> {
        self.backend.handle_http(request)
    }

    pub fn authorize(
        &self,
        token: &str,
        action: DaguAuthAction,
        workspace: &str,
    ) -> Result<DaguAuthDecision, PluginError> {
        self.backend.authorize(token, action, workspace)
    }

    pub fn setup_required(&self) -> Result<bool, PluginError> {
        self.backend.setup_required()
    }

    /// Runs an operator command for the command line (no token; see `dagu_auth_operator`).
    pub fn operator(&self, command_json: &str) -> Result<String, PluginError> {
        self.backend.operator(command_json)
    }

    /// Records an event of the host in the plugin's audit trail (`dagu_auth_audit_append`).
    pub fn audit_append(&self, token: &str, entry_json: &str) -> Result<(), PluginError> {
        self.backend.audit_append(token, entry_json)
    }

    /// Runs `authorize` on the calling task: it answers from the plugin's memory in about a
    /// microsecond, less than a hop to the blocking pool costs (measured with wrk when this moved
    /// off the pool: GET /api/v1/dags went from 22.0k to 42.3k req/s; BENCHMARKS.md, "HTTP").
    /// Only cache misses read the store, for some microseconds.
    pub fn authorize_now(
        &self,
        token: &str,
        action: DaguAuthAction,
        workspace: &str,
    ) -> Result<DaguAuthDecision, PluginError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.authorize(token, action, workspace)
        }))
        .unwrap_or_else(|_| {
            Err(PluginError::new(
                DaguAuthStatus::Internal,
                "plugin call panicked",
            ))
        })
    }

    /// `handle_http` on the calling task, for the routes the plugin answers from memory (see
    /// `server::answers_from_memory`); a panic is an INTERNAL error, as on the pool.
    pub fn handle_http_now(&self, request: &HttpRequest) -> Result<HttpResponse, PluginError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle_http(request)))
            .unwrap_or_else(|_| {
                Err(PluginError::new(
                    DaguAuthStatus::Internal,
                    "plugin call panicked",
                ))
            })
    }

    /// Runs blocking plugin work off the async workers, so a burst of sign-ins (argon2) cannot
    /// stall unrelated requests. A panic inside becomes an INTERNAL error instead of killing the
    /// connection task.
    pub async fn call<T, F>(self: &Arc<Self>, work: F) -> Result<T, PluginError>
    where
        T: Send + 'static,
        F: FnOnce(&LoadedPlugin) -> Result<T, PluginError> + Send + 'static,
    {
        let plugin = Arc::clone(self);
        match tokio::task::spawn_blocking(move || work(&plugin)).await {
            Ok(result) => result,
            Err(e) => Err(PluginError::new(
                DaguAuthStatus::Internal,
                format!("plugin call did not complete: {e}"),
            )),
        }
    }
}

/// `error: cause: cause ...`; libloading 0.9 shows only "dlsym failed" at the top, and the real
/// cause (the missing symbol, the file that is not a library) only in its `source()` chain.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their source in their own message; don't print it twice.
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_count_past_what_a_header_map_can_hold_only_sizes_the_first_allocation() {
        // Unbounded, `HeaderMap::with_capacity` panics at these counts.
        for count in [40_000, usize::MAX] {
            let mut headers = response_headers(count);
            append_header(&mut headers, b"Content-Type", b"application/json");
            assert_eq!(headers.len(), 1);
        }
    }

    #[test]
    fn a_header_that_is_not_http_is_dropped_and_the_rest_kept() {
        let mut headers = HeaderMap::new();
        append_header(&mut headers, b"Content-Type", b"application/json");
        append_header(&mut headers, b"bad header", b"x");
        append_header(&mut headers, b"X-Bad-Value", b"line\nbreak");
        append_header(&mut headers, b"Set-Cookie", b"a=1");
        append_header(&mut headers, b"Set-Cookie", b"b=2");
        assert_eq!(headers.len(), 3, "{headers:?}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers.get_all("set-cookie").iter().count(), 2);
    }

    #[test]
    fn a_request_header_that_is_not_text_reaches_the_plugin_replaced() {
        let value = HeaderValue::from_bytes(b"caf\xe9").expect("a valid header value");
        assert_eq!(header_text(&value), "caf\u{fffd}");
        assert!(matches!(
            header_text(&HeaderValue::from_static("plain")),
            Cow::Borrowed("plain")
        ));
    }

    #[derive(Debug)]
    struct Outer(Inner);
    #[derive(Debug)]
    struct Inner;

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("dlsym failed")
        }
    }
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("undefined symbol: dagu_auth_open")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    impl std::error::Error for Inner {}

    #[test]
    fn error_chain_shows_the_real_cause() {
        assert_eq!(
            error_chain(&Outer(Inner)),
            "dlsym failed: undefined symbol: dagu_auth_open"
        );
    }

    #[test]
    fn plugin_error_names_its_status() {
        let e = PluginError::new(DaguAuthStatus::Unauthenticated, "Invalid token");
        assert_eq!(e.to_string(), "UNAUTHENTICATED: Invalid token");
        let unknown = PluginError {
            status: 99,
            message: String::new(),
        };
        assert_eq!(unknown.to_string(), "UNKNOWN_STATUS (99)");
    }

    #[test]
    fn not_found_lists_every_place_looked_at() {
        let text = OpenError::NotFound(vec![
            "/a/libdagu_auth.so".into(),
            "/b/libdagu_auth.so".into(),
        ])
        .to_string();
        assert!(
            text.contains("\n  /a/libdagu_auth.so\n  /b/libdagu_auth.so"),
            "{text}"
        );
        assert!(text.contains("DAGU_AUTH_PLUGIN"), "{text}");
    }
}
