//! Harness for the cross-boundary tests of dagu-auth.
//!
//! - [`artifacts`]: the workspace, its target dir and profile; builds `host-demo` and
//!   `libdagu_auth.so` once per test process ([`ensure_built`]).
//! - [`host`]: runs a `host-demo` per test with the plugin loaded through either ABI, or the Go
//!   host.
//! - [`go`]: the `go` tool offline, and the Go programs it builds.
//! - [`http`]: a client that returns every status as an answer.
//! - [`api`]: helpers and contract checks for the plugin's HTTP API (`plugin/openapi.yaml`).
//! - [`cli`]: runs host-demo's operator commands, at a pipe or at a terminal.
//! - [`native`]: C and Go callers: external tools, the installed-library layout, the
//!   `test-hooks` build of the plugin.
//! - [`oath`]: TOTP codes from `oathtool`, for the two-factor tests.
//! - [`oidc_provider`]: a real OpenID provider (npm `oidc-provider`) on loopback.

pub mod api;
pub mod artifacts;
pub mod cli;
pub mod go;
pub mod host;
pub mod http;
pub mod native;
pub mod oath;
pub mod oidc_provider;

pub use artifacts::{Artifacts, ensure_built, profile, profile_dir, target_dir, workspace_root};
pub use host::{Abi, HostDemo, HostOptions, StartError};
pub use http::{Client, Response};
