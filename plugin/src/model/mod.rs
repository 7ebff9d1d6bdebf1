//! Identity types and their validation rules. No I/O.

mod role;
mod user;
mod workspace;

pub use role::Role;
pub use user::{UserRecord, UserView, fold_username, validate_username};
pub use workspace::{Grant, WorkspaceAccess, validate_workspace_name};
