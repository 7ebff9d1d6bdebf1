//! The Engine's one error type. It knows no door: each maps it once, the ABIs to a status in
//! `ffi::CallError`, HTTP to a status code and body in `http::response`.

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
    /// The password was right and the account has two-factor sign-in: the sign-in continues with
    /// `login_mfa`, this token and a code. Messages are what Dagu's UI, which knows nothing of a
    /// second step, shows.
    #[error("{MFA_REQUIRED}")]
    MfaRequired { mfa_token: String },
    /// The caller's role requires two-factor sign-in and they have not set it up: only enrolling
    /// (and `/auth/me`, signing out) is open to them.
    #[error("{MFA_ENROLLMENT_REQUIRED}")]
    MfaEnrollmentRequired,
    #[error("Too many failed sign-in attempts; retry in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("storage error: {0}")]
    Storage(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

const MFA_REQUIRED: &str =
    "Two-factor authentication required: enter the code from your authenticator app";
const MFA_ENROLLMENT_REQUIRED: &str =
    "Your role requires two-factor authentication: set it up before doing anything else";

impl Error {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::InvalidConfig(message.into())
    }

    pub fn storage(message: impl std::fmt::Display) -> Self {
        Self::Storage(message.to_string())
    }
}

/// Messages that several operations share, kept in one place so HTTP, C and Rust callers see the same
/// words.
pub mod msg {
    /// Every HTTP 500: storage and internal details name files and queries, so they go only to C
    /// and Rust callers.
    pub const UNEXPECTED_ERROR: &str = "An unexpected error occurred";
    pub const AUTH_REQUIRED: &str = "Authentication required";
    pub const INVALID_TOKEN: &str = "Invalid or expired token";
    pub const INVALID_CREDENTIALS: &str = "Invalid username or password";
    pub const INSUFFICIENT_PERMISSIONS: &str = "Insufficient permissions";
    pub const LICENSE_REQUIRED: &str = "User management requires a Dagu Pro license";
    pub const SETUP_DONE: &str = "Setup has already been completed";
    pub const USER_NOT_FOUND: &str = "User not found";
    pub const API_KEY_NOT_FOUND: &str = "API key not found";
    pub const API_KEY_NAME_TAKEN: &str = "API key with this name already exists";
    pub const USERNAME_TAKEN: &str = "Username already exists";
    /// Two names with one UTS #39 confusable skeleton ("аdmin" with a Cyrillic а, "admin").
    pub const USERNAME_CONFUSABLE: &str =
        "Username looks the same as an existing username; choose one that reads differently";
    /// Change or reset of an SSO user's password: the provider owns it.
    pub const PASSWORD_MANAGED: &str =
        "Password is managed by the authentication provider for this user";
    /// TOTP setup by an SSO user: the provider owns how they authenticate, and an SSO sign-in
    /// never asks for a code, so a factor set up here would protect nothing.
    pub const MFA_MANAGED: &str =
        "Two-factor authentication is managed by the authentication provider for this user";
    pub const LAST_ADMIN: &str = "Cannot remove, disable or demote the last enabled admin";
}
