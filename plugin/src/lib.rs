//! dagu-auth: Dagu's builtin authentication and user management as a loadable plugin.
//!
//! One [`Engine`] holds all behaviour; `capi` (the C ABI), `sabi` (the abi_stable Rust ABI) and
//! `http` (the Dagu-compatible HTTP API) translate to and from it. What the two ABIs share (the
//! instance, the panic boundary, the status table) is `ffi`; below it nothing knows a status.

// Writing to stderr goes through `log::line`, which cannot panic; the print macros can.
#![deny(clippy::print_stderr, clippy::print_stdout)]

pub mod capi;
pub mod clock;
pub mod config;
pub mod error;
pub mod ffi;
pub mod hashpool;
pub mod http;
pub mod log;
pub mod mfa;
pub mod model;
pub mod netaddr;
pub mod origin;
pub mod password;
pub mod policy;
pub mod ratelimit;
pub mod sabi;
pub mod service;
pub mod sso;
pub mod store;
pub mod token;

pub use config::Config;
pub use error::{Error, Result};
pub use service::Engine;

/// The plugin's release, as both ABIs report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
