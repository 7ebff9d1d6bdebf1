//! The C ABI: `extern "C"` functions over the Engine, declared in `include/dagu_auth.h`.
//!
//! The header's preamble (written in `plugin/cbindgen.toml`) states the conventions every function
//! keeps; each function's comment adds its own NULL and ownership rules. Each body reads the same
//! way: one of the shapes in [`call`] (the panic boundary, the output pointer, the instance), the
//! arguments through [`args`], one Engine call, and its answer. Functions without a status run
//! behind the same boundary (`ffi::panic_boundary`) and fall back to a documented value.

mod args;
mod call;

// The topics, in the header's order: cbindgen writes modules in the order they are declared, and
// rustfmt sorts `mod` lines only within a block, hence one block each.
mod instance;

mod strings;

mod sessions;

mod users;

mod keys;

mod audit;

mod operator;

mod http;

mod mfa;

#[cfg(feature = "test-hooks")]
mod test_hooks;

pub use crate::ffi::DaguAuth;
pub use audit::{dagu_auth_audit_append, dagu_auth_audit_list};
pub use http::{
    DaguAuthHttpHeader, DaguAuthHttpRequest, DaguAuthHttpResponse, dagu_auth_handle_http,
    dagu_auth_http_response_free,
};
pub use instance::{
    DAGU_AUTH_ABI_VERSION_MAJOR, DAGU_AUTH_ABI_VERSION_MINOR, dagu_auth_abi_version,
    dagu_auth_close, dagu_auth_open, dagu_auth_status_name, dagu_auth_version,
};
pub use keys::{
    dagu_auth_api_key_create, dagu_auth_api_key_delete, dagu_auth_api_key_get,
    dagu_auth_api_key_list, dagu_auth_api_key_update,
};
pub use mfa::{
    dagu_auth_login_mfa, dagu_auth_recovery_codes_regenerate, dagu_auth_sign_in,
    dagu_auth_totp_confirm, dagu_auth_totp_disable, dagu_auth_totp_setup, dagu_auth_user_mfa_reset,
};
pub use operator::dagu_auth_operator;
pub use sessions::{
    DaguAuthAuthorizeRequest, dagu_auth_authenticate, dagu_auth_authenticate_from,
    dagu_auth_authorize, dagu_auth_authorize_n, dagu_auth_authorize_request, dagu_auth_logout,
    dagu_auth_session_end, dagu_auth_session_end_others, dagu_auth_session_list, dagu_auth_setup,
    dagu_auth_setup_required, dagu_auth_user_end_sessions, dagu_auth_verify,
};
pub use strings::dagu_auth_string_free;
#[cfg(feature = "test-hooks")]
pub use test_hooks::dagu_auth_test_panic;
pub use users::{
    dagu_auth_change_password, dagu_auth_user_create, dagu_auth_user_delete, dagu_auth_user_get,
    dagu_auth_user_list, dagu_auth_user_reset_password, dagu_auth_user_update,
};
