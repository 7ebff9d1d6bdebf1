//! dagu-auth: Dagu's builtin authentication and user management as a loadable plugin.
//!
//! One [`Engine`] holds all behaviour; `capi` (the C ABI), `sabi` (the abi_stable Rust ABI) and
//! `http` (the Dagu-compatible HTTP API) translate to and from it.

pub mod capi;
pub mod clock;
pub mod config;
pub mod error;
pub mod hashpool;
pub mod http;
pub mod model;
pub mod netaddr;
pub mod password;
pub mod policy;
pub mod ratelimit;
pub mod sabi;
pub mod service;
pub mod store;
pub mod token;

pub use config::Config;
pub use error::{Error, Result};
pub use service::Engine;

/// The plugin's release, as `dagu_auth_version()` reports it.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
