//! What the two ABIs share. `capi` (C) and `sabi` (abi_stable) only translate their own argument
//! and result types; everything a door must do the same way in both lives here once:
//!
//! - [`DaguAuth`], the one instance type both hand out;
//! - [`panic_boundary`], the one place a panic is caught;
//! - [`CallError`], the one table from Engine errors to statuses;
//! - the JSON read from and written for callers, and the numbers `authorize` takes and gives.
//!
//! Nothing below `ffi` knows a status: the Engine answers [`crate::Error`], and only the doors map it.

mod call_error;
mod convert;
mod panic_boundary;

pub use call_error::{CallError, CallResult};
pub use convert::{authorize, from_json, json_text, query_from_json, to_json};
pub use panic_boundary::{call_boundary, http_boundary, panic_boundary};

use crate::config::Config;
use crate::error::Result;
use crate::service::Engine;

/// An open plugin instance. Opaque to C; shared by any number of threads.
pub struct DaguAuth {
    pub(crate) engine: Engine,
}

impl DaguAuth {
    /// Opens an instance from the configuration JSON, as `dagu_auth_open` and the Rust ABI's
    /// `open` both do.
    pub fn open(config_json: &str) -> Result<Self> {
        let engine = Engine::open(Config::from_json(config_json)?)?;
        Ok(Self { engine })
    }
}
