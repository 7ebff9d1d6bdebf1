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
        Error::Unauthenticated(_) => DaguAuthStatus::Unauthenticated,
        Error::Forbidden(_) => DaguAuthStatus::Forbidden,
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
        let text = || "m".to_string();
        let cases = [
            (Error::BadRequest(text()), DaguAuthStatus::BadRequest),
            (Error::InvalidJson(text()), DaguAuthStatus::InvalidJson),
            (
                Error::Unauthenticated(text()),
                DaguAuthStatus::Unauthenticated,
            ),
            (Error::Forbidden(text()), DaguAuthStatus::Forbidden),
            (Error::NotFound(text()), DaguAuthStatus::NotFound),
            (Error::AlreadyExists(text()), DaguAuthStatus::AlreadyExists),
            (Error::Conflict(text()), DaguAuthStatus::Conflict),
            (
                Error::RateLimited {
                    retry_after_secs: 3,
                },
                DaguAuthStatus::RateLimited,
            ),
            (
                Error::PayloadTooLarge(text()),
                DaguAuthStatus::PayloadTooLarge,
            ),
            (Error::InvalidConfig(text()), DaguAuthStatus::InvalidConfig),
            (Error::Storage(text()), DaguAuthStatus::Storage),
            (Error::Unavailable(text()), DaguAuthStatus::Unavailable),
            (Error::Internal(text()), DaguAuthStatus::Internal),
        ];
        for (error, status) in cases {
            let message = error.to_string();
            assert_eq!(CallError::from(error), CallError::new(status, message));
        }
    }
}
