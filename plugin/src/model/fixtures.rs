//! The records unit tests start from, built one way for every test in the crate.

use dagu_auth_vocab::DaguAuthAction as Action;
use dagu_auth_vocab::DaguAuthSurface as Surface;

use super::{ApiKeyRecord, Attribution, Grant, Role, Surfaces, UserRecord, WorkspaceAccess};

/// Every action, in the order of the role table.
pub const ACTIONS: [Action; 5] = [
    Action::View,
    Action::Execute,
    Action::Write,
    Action::Audit,
    Action::Admin,
];

/// `alice` (id `u1`) with `role` and `access`, enabled, with a password hash that is not empty.
pub fn user(role: Role, access: WorkspaceAccess) -> UserRecord {
    UserRecord {
        sso: None,
        id: "u1".into(),
        username: "alice".into(),
        role,
        workspace_access: access,
        password_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        disabled: false,
        created_at_ms: 0,
        updated_at_ms: 1_000,
        mfa: Default::default(),
    }
}

/// The key `k1` (digest `digest-k1`) with `role` and `access`, created by `u1`, never used.
pub fn api_key(role: Role, access: WorkspaceAccess) -> ApiKeyRecord {
    ApiKeyRecord {
        id: "k1".into(),
        name: "deploy".into(),
        description: String::new(),
        role,
        workspace_access: access,
        key_prefix: "dagu_abcdef".into(),
        digest: "digest-k1".into(),
        created_at_ms: 0,
        updated_at_ms: 1_000,
        created_by: "u1".into(),
        last_used_at_ms: None,
        expires_at_ms: None,
        allowed_surfaces: Surfaces::of(&[Surface::RestApi]),
        attribution: Attribution::ServiceAccount {
            name: "deploy".into(),
            migrated: false,
        },
    }
}

/// Access to the named workspaces only, each with its role.
pub fn scoped(grants: &[(&str, Role)]) -> WorkspaceAccess {
    WorkspaceAccess {
        all: false,
        grants: grants
            .iter()
            .map(|(workspace, role)| Grant {
                workspace: (*workspace).into(),
                role: *role,
            })
            .collect(),
    }
}
