//! Identity types and their validation rules. No I/O.

mod apikey;
mod audit;
#[cfg(test)]
pub(crate) mod fixtures;
mod mfa;
mod principal;
mod role;
mod sso;
mod user;
mod username;
mod workspace;

pub use apikey::{
    ApiKeyRecord, Attribution, INVALID_ATTRIBUTION, INVALID_SURFACE, SERVICE_ACCOUNT,
    SURFACE_NOT_ALLOWED, Surfaces, USER_OWNED, display_prefix, generate_key, looks_like_api_key,
    surface_name, validate_key_description, validate_key_name,
};
pub use audit::{AuditEntry, AuditField, AuditListing, AuditQuery};
pub use mfa::{MfaChallenge, MfaState};
pub use principal::Principal;
pub use role::Role;
pub use sso::{AuthProvider, SsoIdentity};
pub use user::{UserRecord, fold_username, validate_username};
pub use username::{account_key, refused_name_key, sign_in_key, username_skeleton};
pub use workspace::{
    Grant, GrantInput, WorkspaceAccess, WorkspaceAccessInput, validate_workspace_name,
};
