//! The contract between `libdagu_auth.so` and its hosts.
//!
//! Two faces share these numbers: the C ABI (`include/dagu_auth.h`, generated from the plugin) and the
//! Rust ABI (the abi_stable root module below). abi_stable is kept inside this crate, the plugin's
//! `sabi` module and the hosts' loaders, so it can be replaced without touching the Engine.

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

/// Bumped when a function or type changes incompatibly; hosts refuse another major.
pub const ABI_VERSION_MAJOR: u32 = 1;
/// Bumped when something is appended; a host built against a lower minor still works.
pub const ABI_VERSION_MINOR: u32 = 3;

/// `(major << 16) | minor`, what `dagu_auth_abi_version()` returns.
pub const fn abi_version() -> u32 {
    (ABI_VERSION_MAJOR << 16) | ABI_VERSION_MINOR
}

/// Result of every operation. Values are explicit and only ever appended.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaguAuthStatus {
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A string argument was not valid UTF-8 (or held an interior NUL where that is impossible).
    InvalidUtf8 = 2,
    /// A JSON argument did not parse or had the wrong shape.
    InvalidJson = 3,
    /// The request broke a validation rule (HTTP 400).
    BadRequest = 4,
    /// The token or credentials were missing, invalid, expired or revoked (HTTP 401).
    Unauthenticated = 5,
    /// Authenticated but not allowed, or unlicensed (HTTP 403).
    Forbidden = 6,
    NotFound = 7,
    AlreadyExists = 8,
    /// The change would break an invariant, e.g. remove the last enabled admin (HTTP 409).
    Conflict = 9,
    RateLimited = 10,
    PayloadTooLarge = 11,
    /// `open` was given a configuration it refuses.
    InvalidConfig = 12,
    /// The database could not be read or written.
    Storage = 13,
    Internal = 14,
    /// A panic was caught at the boundary; the instance is still usable.
    Panic = 15,
    /// A versioned argument (`struct_size`, ABI version) is not one this library knows.
    UnsupportedVersion = 16,
    /// Overloaded (hashing queue or database busy); retry later (HTTP 503).
    Unavailable = 17,
}

/// Every status, in value order.
pub const ALL_STATUSES: [DaguAuthStatus; 18] = [
    DaguAuthStatus::Ok,
    DaguAuthStatus::NullArgument,
    DaguAuthStatus::InvalidUtf8,
    DaguAuthStatus::InvalidJson,
    DaguAuthStatus::BadRequest,
    DaguAuthStatus::Unauthenticated,
    DaguAuthStatus::Forbidden,
    DaguAuthStatus::NotFound,
    DaguAuthStatus::AlreadyExists,
    DaguAuthStatus::Conflict,
    DaguAuthStatus::RateLimited,
    DaguAuthStatus::PayloadTooLarge,
    DaguAuthStatus::InvalidConfig,
    DaguAuthStatus::Storage,
    DaguAuthStatus::Internal,
    DaguAuthStatus::Panic,
    DaguAuthStatus::UnsupportedVersion,
    DaguAuthStatus::Unavailable,
];

impl DaguAuthStatus {
    /// Maps an integer from outside; never transmutes.
    pub fn from_u32(value: u32) -> Option<Self> {
        ALL_STATUSES.get(value as usize).copied()
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::NullArgument => "NULL_ARGUMENT",
            Self::InvalidUtf8 => "INVALID_UTF8",
            Self::InvalidJson => "INVALID_JSON",
            Self::BadRequest => "BAD_REQUEST",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::InvalidConfig => "INVALID_CONFIG",
            Self::Storage => "STORAGE",
            Self::Internal => "INTERNAL",
            Self::Panic => "PANIC",
            Self::UnsupportedVersion => "UNSUPPORTED_VERSION",
            Self::Unavailable => "UNAVAILABLE",
        }
    }
}

/// What a principal wants to do (HTTP_API.md, "Roles and workspace access").
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaguAuthAction {
    View = 1,
    Execute = 2,
    Write = 3,
    Audit = 4,
    Admin = 5,
}

impl DaguAuthAction {
    pub fn from_u32(value: u32) -> Option<Self> {
        match value {
            1 => Some(Self::View),
            2 => Some(Self::Execute),
            3 => Some(Self::Write),
            4 => Some(Self::Audit),
            5 => Some(Self::Admin),
            _ => None,
        }
    }
}

/// The answer of `authorize` for an authenticated principal.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaguAuthDecision {
    Allow = 1,
    /// The workspace is visible to the principal but its role there is too low (HTTP 403).
    Forbidden = 2,
    /// The principal has no role in that workspace: hosts answer 404 so it cannot be discovered.
    NotVisible = 3,
}

impl DaguAuthDecision {
    pub fn from_u32(value: u32) -> Option<Self> {
        match value {
            1 => Some(Self::Allow),
            2 => Some(Self::Forbidden),
            3 => Some(Self::NotVisible),
            _ => None,
        }
    }
}

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
    pub headers: RVec<Tuple2<RString, RString>>,
    pub body: RVec<u8>,
    pub client_ip: RString,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default)]
pub struct AbiHttpResponse {
    pub status: u16,
    pub headers: RVec<Tuple2<RString, RString>>,
    pub body: RVec<u8>,
}

/// One open plugin instance. JSON in and out has the shapes of HTTP_API.md.
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
    /// Answers every endpoint of HTTP_API.md; never fails, errors are HTTP responses.
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
    /// `query_json` may be empty; answers `{"events": [...], "nextCursor"?}`.
    fn audit_list(&self, token: RStr<'_>, query_json: RStr<'_>) -> RResult<RString, AbiError>;

    // ABI 1.2: operator commands. Check `abi_version()` minor >= 2 before calling.
    /// One operator command without a token (`dagu_auth_operator`): for a host's command line,
    /// whose user can already open the data folder. Answers the command's JSON result.
    fn operator(&self, command_json: RStr<'_>) -> RResult<RString, AbiError>;
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
    fn status_values_are_their_index_and_round_trip() {
        for (index, status) in ALL_STATUSES.iter().enumerate() {
            assert_eq!(*status as u32, index as u32);
            assert_eq!(DaguAuthStatus::from_u32(index as u32), Some(*status));
        }
        assert_eq!(DaguAuthStatus::from_u32(ALL_STATUSES.len() as u32), None);
    }

    #[test]
    fn unknown_action_and_decision_values_map_to_none() {
        assert_eq!(DaguAuthAction::from_u32(0), None);
        assert_eq!(DaguAuthAction::from_u32(6), None);
        assert_eq!(DaguAuthDecision::from_u32(0), None);
        assert_eq!(DaguAuthDecision::from_u32(u32::MAX), None);
    }

    #[test]
    fn abi_version_packs_major_and_minor() {
        assert_eq!(abi_version() >> 16, ABI_VERSION_MAJOR);
        assert_eq!(abi_version() & 0xffff, ABI_VERSION_MINOR);
    }
}
