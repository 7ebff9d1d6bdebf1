//! Operator commands for a host's command line (since ABI 1.2).

use std::ffi::c_char;

use dagu_auth_vocab::DaguAuthStatus;

use super::args::required_str;
use super::call::c_call_json;
use crate::ffi::{DaguAuth, from_json};

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
/// Required: `instance`, `command_json`, `result_json_out`. The caller frees `*result_json_out`
/// with `dagu_auth_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_operator(
    instance: *const DaguAuth,
    command_json: *const c_char,
    result_json_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`command_json`, `result_json_out`).
    unsafe {
        c_call_json(instance, result_json_out, error_out, |engine| {
            let command = from_json(required_str(command_json, "command_json")?)?;
            Ok(engine.operator(command)?)
        })
    }
}
