//! The Engine's one error type. Each boundary maps it once: to a C/Rust ABI status here, to an HTTP
//! status in `http::response`.

use dagu_auth_abi::DaguAuthStatus;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    /// A JSON argument did not parse or had the wrong shape (a 400 over HTTP).
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Too many failed sign-in attempts; retry in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The path exists but not with this method (HTTP only).
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("storage error: {0}")]
    Storage(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// Parses a JSON request body or argument.
    pub fn parse_json<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T> {
        serde_json::from_slice(bytes).map_err(|e| Self::InvalidJson(e.to_string()))
    }

    /// Renders an Engine result for the ABI layers, which hand out JSON strings.
    pub fn to_json(value: &impl serde::Serialize) -> Result<String> {
        serde_json::to_string(value).map_err(|e| Self::Internal(e.to_string()))
    }

    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::InvalidConfig(message.into())
    }

    pub fn storage(message: impl std::fmt::Display) -> Self {
        Self::Storage(message.to_string())
    }

    pub fn status(&self) -> DaguAuthStatus {
        match self {
            Self::BadRequest(_) => DaguAuthStatus::BadRequest,
            Self::InvalidJson(_) => DaguAuthStatus::InvalidJson,
            Self::Unauthenticated(_) => DaguAuthStatus::Unauthenticated,
            Self::Forbidden(_) => DaguAuthStatus::Forbidden,
            Self::NotFound(_) => DaguAuthStatus::NotFound,
            Self::AlreadyExists(_) => DaguAuthStatus::AlreadyExists,
            Self::Conflict(_) => DaguAuthStatus::Conflict,
            Self::RateLimited { .. } => DaguAuthStatus::RateLimited,
            Self::PayloadTooLarge(_) => DaguAuthStatus::PayloadTooLarge,
            Self::MethodNotAllowed => DaguAuthStatus::BadRequest,
            Self::InvalidConfig(_) => DaguAuthStatus::InvalidConfig,
            Self::Storage(_) => DaguAuthStatus::Storage,
            Self::Unavailable(_) => DaguAuthStatus::Unavailable,
            Self::Internal(_) => DaguAuthStatus::Internal,
        }
    }
}

/// Messages that several operations share, kept in one place so HTTP, C and Rust callers see the same
/// words (HTTP_API.md).
pub mod msg {
    pub const AUTH_REQUIRED: &str = "Authentication required";
    pub const INVALID_TOKEN: &str = "Invalid or expired token";
    pub const INVALID_CREDENTIALS: &str = "Invalid username or password";
    pub const INSUFFICIENT_PERMISSIONS: &str = "Insufficient permissions";
    pub const LICENSE_REQUIRED: &str = "User management requires a Dagu Pro license";
    pub const SETUP_DONE: &str = "Setup has already been completed";
    pub const USER_NOT_FOUND: &str = "User not found";
    pub const API_KEY_NOT_FOUND: &str = "API key not found";
    pub const USERNAME_TAKEN: &str = "Username already exists";
    pub const LAST_ADMIN: &str = "Cannot remove, disable or demote the last enabled admin";
}
