//! Operator commands through the C ABI (ABI 1.2). Same conventions as functions.rs.

use std::ffi::c_char;

use dagu_auth_abi::DaguAuthStatus;

use super::boundary::{DaguAuth, engine_of, guard, out_param, required_str, write_json};
use crate::error::Error;

/// Runs one operator command without a bearer token, for a host's command line: whoever can open
/// the data folder can already edit the database. `command_json` is one of
/// `{"command":"setup","username","password"}`, `{"command":"users.list"}`,
/// `{"command":"users.create","username","password","role","workspaceAccess"?}`,
/// `{"command":"users.reset_password","user","newPassword"}`,
/// `{"command":"users.set_disabled","user","disabled"}`, `{"command":"users.delete","user"}`,
/// `{"command":"import_dagu_users","users":[<Dagu user file>...]}`, `{"command":"db.backup","path"}`,
/// `{"command":"db.restore","path"}`, `{"command":"db.verify"}`; `user` is an id or a username.
/// The rules are the admin API's (validation, licence, last enabled admin, token revocation), and
/// the audit trail names the actor `operator`. INVALID_JSON for an unknown command.
///
/// # Safety
/// Pointers follow the conventions at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_operator(
    instance: *const DaguAuth,
    command_json: *const c_char,
    result_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    guard(error_out, || {
        let out = out_param(result_json_out, "result_json_out")?;
        // SAFETY: caller contract.
        let (engine, json) = unsafe {
            (
                engine_of(instance)?,
                required_str(command_json, "command_json")?,
            )
        };
        write_json(out, &engine.operator(Error::parse_json(json.as_bytes())?)?)
    })
}
