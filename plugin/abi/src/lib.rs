//! The contract between `libdagu_auth.so` and its hosts.
//!
//! Two faces share these numbers: the C ABI (`include/dagu_auth.h`, generated from the plugin) and the
//! Rust ABI (the abi_stable root module below). abi_stable is kept inside this crate, the plugin's
//! `sabi` module and the hosts' loaders, so it can be replaced without touching the Engine. The
//! statuses, actions, decisions and surfaces are the vocabulary crate's, re-exported here so a
//! host needs only this crate.

// `#[sabi_trait]` expands to impl blocks inside a const item; newer rustc warns about that pattern.
#![allow(non_local_definitions)]

use std::path::Path;

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::{LibraryError, RootModule, lib_header_from_path},
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, RResult, RStr, RString, RVec, Tuple2},
};
pub use dagu_auth_vocab::{DaguAuthAction, DaguAuthDecision, DaguAuthStatus, DaguAuthSurface};

/// Bumped when a function or type changes incompatibly; hosts refuse another major.
pub const ABI_VERSION_MAJOR: u32 = 1;
/// Bumped when something is appended; a host built against a lower minor still works.
pub const ABI_VERSION_MINOR: u32 = 5;

/// `(major << 16) | minor`, what `dagu_auth_abi_version()` returns.
pub const fn abi_version() -> u32 {
    (ABI_VERSION_MAJOR << 16) | ABI_VERSION_MINOR
}

/// Every status, in value order.
pub const ALL_STATUSES: [DaguAuthStatus; DaguAuthStatus::ALL.len()] = DaguAuthStatus::ALL;

/// An error crossing the Rust ABI: a `DaguAuthStatus` value and a human-readable message.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct AbiError {
    pub status: u32,
    pub message: RString,
}

impl AbiError {
    pub fn status(&self) -> Option<DaguAuthStatus> {
        DaguAuthStatus::from_u32(self.status)
    }
}

impl std::fmt::Display for AbiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.status().map_or("UNKNOWN_STATUS", DaguAuthStatus::name);
        write!(f, "{name}: {}", self.message)
    }
}

impl std::error::Error for AbiError {}

/// One HTTP request as the host received it. `path` includes the query string.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default)]
pub struct AbiHttpRequest {
    pub method: RString,
    pub path: RString,
    /// Every header line the client sent, `Host` included, a repeated one (`X-Forwarded-For`) as
    /// one entry per line: the origin check and the forwarded-for walk read them all.
    pub headers: RVec<Tuple2<RString, RString>>,
    pub body: RVec<u8>,
    pub client_ip: RString,
}

/// What [`Instance::authorize_request`] decides on: the twin of the C ABI's
/// `DaguAuthAuthorizeRequest` (ABI 1.4). abi_stable checks this struct's layout when the plugin
/// loads, so it never grows: a later input comes with a method of its own.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct AbiAuthorizeRequest<'a> {
    /// A session token or an API key.
    pub token: RStr<'a>,
    /// A `DaguAuthAction` value.
    pub action: u32,
    /// "" is the default workspace.
    pub workspace: RStr<'a>,
    /// A `DaguAuthSurface` value: where the credential arrived.
    pub surface: u32,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default)]
pub struct AbiHttpResponse {
    pub status: u16,
    pub headers: RVec<Tuple2<RString, RString>>,
    pub body: RVec<u8>,
}

/// One open plugin instance. JSON in and out has the shapes of the HTTP API (`plugin/openapi.yaml`),
/// and every method keeps the rules of its C twin in `include/dagu_auth.h`.
///
/// A panic inside the plugin never unwinds into the host: a method answers `Err` with the PANIC
/// status, and [`Instance::handle_http`] answers HTTP 500, as its C twin does.
#[sabi_trait]
pub trait Instance: Send + Sync {
    fn setup_required(&self) -> RResult<bool, AbiError>;
    /// Returns a LoginResponse.
    fn setup(&self, username: RStr<'_>, password: RStr<'_>) -> RResult<RString, AbiError>;
    /// Returns a LoginResponse.
    fn authenticate(
        &self,
        username: RStr<'_>,
        password: RStr<'_>,
        client_ip: RStr<'_>,
    ) -> RResult<RString, AbiError>;
    /// Returns the principal as `{"user": User}`.
    fn verify(&self, token: RStr<'_>) -> RResult<RString, AbiError>;
    /// `action` and the returned decision are `DaguAuthAction` / `DaguAuthDecision` values.
    fn authorize(
        &self,
        token: RStr<'_>,
        action: u32,
        workspace: RStr<'_>,
    ) -> RResult<u32, AbiError>;
    fn logout(&self, token: RStr<'_>) -> RResult<(), AbiError>;
    /// The `UsersListResponse` of `GET /users`, as `dagu_auth_user_list` answers it.
    fn user_list(&self, token: RStr<'_>) -> RResult<RString, AbiError>;
    fn user_get(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<RString, AbiError>;
    fn user_create(&self, token: RStr<'_>, request_json: RStr<'_>) -> RResult<RString, AbiError>;
    fn user_update(
        &self,
        token: RStr<'_>,
        id: RStr<'_>,
        request_json: RStr<'_>,
    ) -> RResult<RString, AbiError>;
    fn user_delete(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<(), AbiError>;
    fn user_reset_password(
        &self,
        token: RStr<'_>,
        id: RStr<'_>,
        new_password: RStr<'_>,
    ) -> RResult<(), AbiError>;
    fn change_password(
        &self,
        token: RStr<'_>,
        current_password: RStr<'_>,
        new_password: RStr<'_>,
    ) -> RResult<(), AbiError>;
    /// Answers every endpoint of `plugin/openapi.yaml`; never fails, errors are HTTP responses.
    /// A panic inside the plugin answers HTTP 500 with the body
    /// `{"code":"internal_error","message":"An unexpected error occurred"}`, the same answer
    /// `dagu_auth_handle_http` gives, so a host forwards it unchanged.
    #[sabi(last_prefix_field)]
    fn handle_http(&self, request: &AbiHttpRequest) -> AbiHttpResponse;

    // ABI 1.1: API keys and the audit trail. Check `abi_version()` minor >= 1 before calling.
    /// `{"apiKeys": [APIKey]}`.
    fn api_key_list(&self, token: RStr<'_>) -> RResult<RString, AbiError>;
    /// `{"apiKey": APIKey}`.
    fn api_key_get(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<RString, AbiError>;
    /// `{"apiKey": APIKey, "key": "dagu_..."}`.
    fn api_key_create(&self, token: RStr<'_>, request_json: RStr<'_>)
    -> RResult<RString, AbiError>;
    /// `{"apiKey": APIKey}`.
    fn api_key_update(
        &self,
        token: RStr<'_>,
        id: RStr<'_>,
        request_json: RStr<'_>,
    ) -> RResult<RString, AbiError>;
    fn api_key_delete(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<(), AbiError>;
    /// `query_json` may be empty; answers `{"entries": [AuditEntry], "total", "nextCursor"?}`
    /// (Dagu's shape since ABI 1.4; `{"events", "nextCursor"?}` before).
    fn audit_list(&self, token: RStr<'_>, query_json: RStr<'_>) -> RResult<RString, AbiError>;

    // ABI 1.2: operator commands. Check `abi_version()` minor >= 2 before calling.
    /// One operator command without a token (`dagu_auth_operator`): for a host's command line,
    /// whose user can already open the data folder. Answers the command's JSON result.
    fn operator(&self, command_json: RStr<'_>) -> RResult<RString, AbiError>;

    // ABI 1.4: the host's events in the audit trail. Check `abi_version()` minor >= 4 before calling.
    /// Appends an event of the host (`dagu_auth_audit_append`): `token` is the credential that
    /// caused it, or empty for the host itself.
    fn audit_append(&self, token: RStr<'_>, entry_json: RStr<'_>) -> RResult<(), AbiError>;

    // ABI 1.4: authorize on a surface. Check `abi_version()` minor >= 4 before calling.
    /// `authorize` for a credential that arrived on `request.surface`; the other methods mean
    /// REST. An API key that does not allow the surface is `Err` with the FORBIDDEN status and the
    /// message "API key is not allowed for this surface"; an unknown surface is BAD_REQUEST.
    fn authorize_request(&self, request: &AbiAuthorizeRequest<'_>) -> RResult<u32, AbiError>;

    // ABI 1.5: session controls. Check `abi_version()` minor >= 5 before calling.
    /// `authenticate`, recording the client's `User-Agent` (may be empty) on the session.
    fn authenticate_from(
        &self,
        username: RStr<'_>,
        password: RStr<'_>,
        client_ip: RStr<'_>,
        user_agent: RStr<'_>,
    ) -> RResult<RString, AbiError>;
    /// The caller's own sessions: `{"sessions": [Session]}` (`dagu_auth_session_list`).
    fn session_list(&self, token: RStr<'_>) -> RResult<RString, AbiError>;
    /// Ends one of the caller's own sessions by its listed id.
    fn session_end(&self, token: RStr<'_>, session_id: RStr<'_>) -> RResult<(), AbiError>;
    /// Ends every session of the caller but this one: `{"ended": n}`.
    fn session_end_others(&self, token: RStr<'_>) -> RResult<RString, AbiError>;
    /// As an admin, ends every session of user `id` (password and API keys stay): `{"ended": n}`.
    fn user_end_sessions(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<RString, AbiError>;

    // ABI 1.5: two-factor sign-in. Check `abi_version()` minor >= 5 before calling. Each keeps
    // the rules of its C twin in `include/dagu_auth.h`; `authenticate` answers a user with
    // two-factor sign-in UNAUTHENTICATED (message only), `sign_in` reports the second step.
    /// A LoginResponse, or `{"code": "mfa_required", "message", "mfaToken"}`.
    fn sign_in(
        &self,
        username: RStr<'_>,
        password: RStr<'_>,
        client_ip: RStr<'_>,
    ) -> RResult<RString, AbiError>;
    /// The second step: a LoginResponse.
    fn login_mfa(
        &self,
        mfa_token: RStr<'_>,
        code: RStr<'_>,
        client_ip: RStr<'_>,
    ) -> RResult<RString, AbiError>;
    /// `{"secret", "otpauthUrl"}`.
    fn totp_setup(&self, token: RStr<'_>) -> RResult<RString, AbiError>;
    /// `{"recoveryCodes": [...]}`.
    fn totp_confirm(&self, token: RStr<'_>, code: RStr<'_>) -> RResult<RString, AbiError>;
    fn totp_disable(
        &self,
        token: RStr<'_>,
        current_password: RStr<'_>,
        code: RStr<'_>,
    ) -> RResult<(), AbiError>;
    /// `{"recoveryCodes": [...]}`.
    fn recovery_codes_regenerate(
        &self,
        token: RStr<'_>,
        code: RStr<'_>,
    ) -> RResult<RString, AbiError>;
    fn user_mfa_reset(&self, token: RStr<'_>, user_id: RStr<'_>) -> RResult<(), AbiError>;
}

/// An owned instance; dropping it closes the instance.
pub type InstanceBox = Instance_TO<'static, RBox<()>>;

/// The root module exported by `libdagu_auth.so`.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = DaguAuthModRef)))]
#[sabi(missing_field(panic))]
pub struct DaguAuthMod {
    pub abi_version: extern "C" fn() -> u32,
    pub version: extern "C" fn() -> RStr<'static>,
    /// Opens one instance from the configuration JSON (the same as `dagu_auth_open`).
    #[sabi(last_prefix_field)]
    pub open: extern "C" fn(config_json: RStr<'_>) -> RResult<InstanceBox, AbiError>,
}

impl RootModule for DaguAuthModRef {
    declare_root_module_statics! {DaguAuthModRef}
    const BASE_NAME: &'static str = "dagu_auth";
    const NAME: &'static str = "dagu_auth";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Loads the plugin at `path` with abi_stable's layout check, then checks the ABI major version.
///
/// Goes through `lib_header_from_path` rather than `RootModule::load_from_file`, which caches one
/// module per process and would hand back the first library for any later path.
pub fn load_plugin(path: &Path) -> Result<DaguAuthModRef, LoadError> {
    let module = lib_header_from_path(path)
        .and_then(|header| header.init_root_module::<DaguAuthModRef>())
        .map_err(LoadError::Library)?;
    let found = module.abi_version()();
    if found >> 16 != ABI_VERSION_MAJOR {
        return Err(LoadError::AbiMajor { found });
    }
    Ok(module)
}

#[derive(Debug)]
pub enum LoadError {
    Library(LibraryError),
    AbiMajor { found: u32 },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Library(e) => write!(f, "cannot load the dagu-auth plugin: {e}"),
            Self::AbiMajor { found } => write!(
                f,
                "the dagu-auth plugin has ABI {}.{}, this host needs {}.x",
                found >> 16,
                found & 0xffff,
                ABI_VERSION_MAJOR
            ),
        }
    }
}

impl std::error::Error for LoadError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_version_packs_major_and_minor() {
        assert_eq!(abi_version() >> 16, ABI_VERSION_MAJOR);
        assert_eq!(abi_version() & 0xffff, ABI_VERSION_MINOR);
    }
}
