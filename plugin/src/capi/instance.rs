//! The library and its instances: version checks, status names, open and close.

use std::ffi::{CStr, c_char};

use dagu_auth_vocab::DaguAuthStatus;

use super::args::{out_param, required_str};
use super::call::{c_call, c_free};
use crate::ffi::{DaguAuth, panic_boundary};

/// The ABI major version this header describes; a library with another major is incompatible.
pub const DAGU_AUTH_ABI_VERSION_MAJOR: u32 = 1;
/// The ABI minor version this header describes; libraries with a higher minor only add things.
pub const DAGU_AUTH_ABI_VERSION_MINOR: u32 = 5;

/// The ABI version of this library: `(major << 16) | minor`. Compare the major with
/// `DAGU_AUTH_ABI_VERSION_MAJOR` before calling anything else.
#[unsafe(no_mangle)]
pub extern "C" fn dagu_auth_abi_version() -> u32 {
    panic_boundary(|| 0, dagu_auth_abi::abi_version)
}

/// The plugin's release version, e.g. "0.1.0". Static: never NULL, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn dagu_auth_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    panic_boundary(|| c"unknown".as_ptr(), || VERSION.as_ptr().cast())
}

/// A static name for a status, e.g. "NOT_FOUND"; "UNKNOWN_STATUS" for values this library does not
/// know. Never NULL, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn dagu_auth_status_name(status: u32) -> *const c_char {
    const UNKNOWN: &CStr = c"UNKNOWN_STATUS";
    let name = || DaguAuthStatus::from_u32(status).map_or(UNKNOWN, DaguAuthStatus::c_name);
    panic_boundary(|| UNKNOWN, name).as_ptr()
}

/// Opens an instance from a JSON configuration (see the README, "Plugin configuration").
/// On OK `*instance_out` holds an instance to close with `dagu_auth_close`. Statuses:
/// INVALID_UTF8, INVALID_CONFIG (bad JSON or values, or a rejected initial admin), STORAGE (data
/// folder or database unusable).
///
/// The licence: `licenseFeatures` is empty unless the configuration names features. Without
/// `"rbac"`, creating, updating and deleting users answers FORBIDDEN (the first admin's setup,
/// sign-in, authorize, listing users, password resets and API keys still work); without `"audit"`,
/// `dagu_auth_audit_list` answers FORBIDDEN; with no feature at all, at most 2 API keys exist.
///
/// # Safety
/// Required: `config_json`, `instance_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_open(
    config_json: *const c_char,
    instance_out: *mut *mut DaguAuth,
    error_out: *mut *mut c_char,
) -> DaguAuthStatus {
    // SAFETY: the contract above (`config_json`, `instance_out`).
    unsafe {
        c_call(error_out, || {
            let out = out_param(instance_out)?;
            let config_json = required_str(config_json, "config_json")?;
            *out = Box::into_raw(Box::new(DaguAuth::open(config_json)?));
            Ok(())
        })
    }
}

/// Closes an instance and frees it. NULL is ignored. No other call may use the instance at the same
/// time or afterwards.
///
/// # Safety
/// `instance` is NULL or from `dagu_auth_open`, closed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_close(instance: *mut DaguAuth) {
    // SAFETY: from `Box::into_raw` in `dagu_auth_open`, and closed once per the contract.
    c_free(instance, |instance| {
        drop(unsafe { Box::from_raw(instance) })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_version_macros_match_the_abi_crate() {
        assert_eq!(
            DAGU_AUTH_ABI_VERSION_MAJOR,
            dagu_auth_abi::ABI_VERSION_MAJOR
        );
        assert_eq!(
            DAGU_AUTH_ABI_VERSION_MINOR,
            dagu_auth_abi::ABI_VERSION_MINOR
        );
        assert_eq!(
            dagu_auth_abi_version(),
            (DAGU_AUTH_ABI_VERSION_MAJOR << 16) | DAGU_AUTH_ABI_VERSION_MINOR
        );
    }

    #[test]
    fn soname_major_in_build_rs_matches_the_abi() {
        let build_rs = include_str!("../../build.rs");
        let expected = format!("const ABI_VERSION_MAJOR: u32 = {DAGU_AUTH_ABI_VERSION_MAJOR};");
        assert!(build_rs.contains(&expected), "build.rs must say {expected}");
    }

    #[test]
    fn every_status_has_its_name_and_unknown_values_a_fixed_one() {
        let name = |status: u32| {
            // SAFETY: a static C string.
            unsafe { CStr::from_ptr(dagu_auth_status_name(status)) }
                .to_str()
                .map(String::from)
        };
        for status in DaguAuthStatus::ALL {
            assert_eq!(name(status as u32), Ok(status.name().to_string()));
        }
        let count = DaguAuthStatus::ALL.len() as u32;
        assert_eq!(name(count), Ok("UNKNOWN_STATUS".into()));
        assert_eq!(name(u32::MAX), Ok("UNKNOWN_STATUS".into()));
    }
}
