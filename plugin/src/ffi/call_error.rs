//! Why a call through either ABI failed: a status and a message. The statuses are the doors' words;
//! the Engine's errors become them in [`status_of`], the one table both ABIs use.

use dagu_auth_vocab::DaguAuthStatus;

use crate::error::Error;

/// A failed call as both ABIs report it: the C ABI as the returned status and `*error_out`, the
/// Rust ABI as an `AbiError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub status: DaguAuthStatus,
    pub message: String,
}

pub type CallResult<T> = Result<T, CallError>;

impl CallError {
    pub fn new(status: DaguAuthStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl From<Error> for CallError {
    fn from(error: Error) -> Self {
        Self::new(status_of(&error), error.to_string())
    }
}

/// The one table from Engine errors to ABI statuses (HTTP keeps its own, in `http::response`).
fn status_of(error: &Error) -> DaguAuthStatus {
    match error {
        Error::BadRequest(_) => DaguAuthStatus::BadRequest,
        Error::InvalidJson(_) => DaguAuthStatus::InvalidJson,
        Error::Unauthenticated(_) | Error::MfaRequired { .. } => DaguAuthStatus::Unauthenticated,
        Error::Forbidden(_) | Error::MfaEnrollmentRequired => DaguAuthStatus::Forbidden,
        Error::NotFound(_) => DaguAuthStatus::NotFound,
        Error::AlreadyExists(_) => DaguAuthStatus::AlreadyExists,
        Error::Conflict(_) => DaguAuthStatus::Conflict,
        Error::RateLimited { .. } => DaguAuthStatus::RateLimited,
        Error::PayloadTooLarge(_) => DaguAuthStatus::PayloadTooLarge,
        Error::InvalidConfig(_) => DaguAuthStatus::InvalidConfig,
        Error::Storage(_) => DaguAuthStatus::Storage,
        Error::Unavailable(_) => DaguAuthStatus::Unavailable,
        Error::Internal(_) => DaguAuthStatus::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_error_has_its_status_and_keeps_its_message() {
        use DaguAuthStatus as S;
        let m = || "m".to_string();
        let rate_limited = Error::RateLimited {
            retry_after_secs: 3,
        };
        let cases = [
            (Error::BadRequest(m()), S::BadRequest),
            (Error::InvalidJson(m()), S::InvalidJson),
            (Error::Unauthenticated(m()), S::Unauthenticated),
            (Error::Forbidden(m()), S::Forbidden),
            (Error::NotFound(m()), S::NotFound),
            (Error::AlreadyExists(m()), S::AlreadyExists),
            (Error::Conflict(m()), S::Conflict),
            (rate_limited, S::RateLimited),
            (Error::PayloadTooLarge(m()), S::PayloadTooLarge),
            (Error::InvalidConfig(m()), S::InvalidConfig),
            (Error::Storage(m()), S::Storage),
            (Error::Unavailable(m()), S::Unavailable),
            (Error::Internal(m()), S::Internal),
            (Error::MfaRequired { mfa_token: m() }, S::Unauthenticated),
            (Error::MfaEnrollmentRequired, S::Forbidden),
        ];
        for (error, status) in cases {
            let message = error.to_string();
            assert_eq!(CallError::from(error), CallError::new(status, message));
        }
    }
}
