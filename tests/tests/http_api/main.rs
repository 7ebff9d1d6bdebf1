//! The plugin's HTTP API (`plugin/openapi.yaml`, README "Deliberate differences from Dagu"),
//! driven through a real `host-demo` with the plugin loaded through each ABI, and through the Go
//! host (`plugin/go/cmd/dagu-auth-host`, the C ABI through package daguauth). One rule per test;
//! every body runs once per host and ABI (`both_abis!`), so one test binary covers both faces and
//! the Go binding.
//!
//! One module per topic, named for the endpoints or the rule it covers; `fixtures` starts the
//! hosts. `api_keys` covers the rules of API keys a client meets over HTTP (surfaces, Dagu's
//! checks, owners), `audit` the audit trail in Dagu's shape; the rest of keys and the audit log
//! have suites of their own (plugin/tests). Elsewhere an admin API key is used only where no user
//! session can reach a rule (the last enabled admin deleted or disabled by somebody else).

/// `both_abis!(name)` turns `fn name(abi: Abi)` into the tests `name::rust_abi` and
/// `name::c_abi` (host-demo) and `name::go_host` (the Go host; it skips, saying why, without
/// `go`). Defined before the modules, so each of them can use it.
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

            #[test]
            $(#[$meta])*
            fn go_host() {
                if ::dagu_auth_tests::go::go_host().is_some() {
                    super::$name(Abi::Go)
                }
            }
        }
    };
}

mod fixtures;

mod api_keys;
mod audit;
mod auth_mode_none;
mod cross_site;
mod demo_dags;
mod errors;
mod last_admin;
mod license;
mod login;
mod mfa;
mod passwords;
mod responses;
mod revocation;
mod sessions;
mod setup;
mod unknown_fields;
mod users_create;
mod users_delete;
mod users_read;
mod users_update;
mod workspace_access;
