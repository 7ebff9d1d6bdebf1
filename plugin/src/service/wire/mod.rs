//! Every JSON document the Engine reads or answers: request bodies, answers and the objects in
//! them (User, APIKey, audit entries), in the shapes of plugin/openapi.yaml.
//!
//! One style throughout: requests derive `Deserialize`; records never derive `Serialize` (a
//! `UserRecord` holds a password hash), so an answer that holds records serialises as a derived
//! body of borrowed views, declared with [`serialize_as!`]; an answer built for one reply borrows
//! what it shows and derives `Serialize` itself.

/// `impl Serialize for $answer` as the body `$body` built from `$this`, so each answer's JSON
/// shape is one derived struct.
macro_rules! serialize_as {
    ($answer:ty, |$this:ident| $body:expr) => {
        impl serde::Serialize for $answer {
            fn serialize<S: serde::Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                let $this = self;
                serde::Serialize::serialize(&$body, serializer)
            }
        }
    };
}

mod apikeys;
mod audit;
mod mfa;
mod operator;
mod session;
mod session_list;
mod users;

use serde::Serialize;

pub use apikeys::{
    ApiKeyCreated, ApiKeyEnvelope, ApiKeysEnvelope, CreateApiKeyRequest, UpdateApiKeyRequest,
};
pub use audit::{AuditAppendRequest, AuditPage, AuditRequest};
pub use mfa::{RecoveryCodes, SignInStep, TotpSetup};
pub(super) use operator::{BackupAnswer, DaguUser, DeletedUser, ImportAnswer, VerifyAnswer};
pub use operator::{ImportOutcome, OperatorCommand};
pub use session::LoginResponse;
pub use session_list::{EndedSessions, SessionInfo, SessionsEnvelope};
pub(super) use users::OperatorUsers;
pub(super) use users::write_user_list;
pub use users::{
    CreateUserRequest, ManagedProviders, UpdateUserRequest, UserEnvelope, UsersEnvelope, UsersPage,
};

/// `{"message": "..."}` for operations that only confirm.
#[derive(Debug, Clone, Serialize)]
pub struct MessageBody {
    pub message: &'static str,
}
