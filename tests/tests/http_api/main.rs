//! The plugin's HTTP API (`plugin/openapi.yaml`, README "Deliberate differences from Dagu"),
//! driven through a real `host-demo` with the plugin loaded through each ABI. One rule per test;
//! every body runs once per ABI (`both_abis!`), so one test binary covers both faces.
//!
//! One module per topic, named for the endpoints or the rule it covers; `fixtures` starts the
//! hosts. `api_keys` covers the rules of API keys a client meets over HTTP (surfaces, Dagu's
//! checks, owners); the rest of keys and the audit log have suites of their own (plugin/tests).
//! Elsewhere an admin API key is used only where no user session can reach a rule (the last
//! enabled admin deleted or disabled by somebody else).

/// `both_abis!(name)` turns `fn name(abi: Abi)` into the tests `name::rust_abi` and
/// `name::c_abi`. Defined before the modules, so each of them can use it.
macro_rules! both_abis {
    ($(#[$meta:meta])* $name:ident) => {
        mod $name {
            use ::dagu_auth_tests::Abi;

            #[test]
            $(#[$meta])*
            fn rust_abi() {
                super::$name(Abi::Rust)
            }

            #[test]
            $(#[$meta])*
            fn c_abi() {
                super::$name(Abi::C)
            }
        }
    };
}

mod fixtures;

mod api_keys;
mod auth_mode_none;
mod demo_dags;
mod errors;
mod last_admin;
mod license;
mod login;
mod passwords;
mod responses;
mod revocation;
mod sessions;
mod setup;
mod users_create;
mod users_delete;
mod users_read;
mod users_update;
mod workspace_access;
