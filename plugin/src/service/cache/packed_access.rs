//! A user's role and workspace grants packed into one allocation, for the session cache.
//!
//! Deciding a hot `authorize` from the user record cost a cache miss for the record, one for its
//! grant vector and one per grant name compared (perf at 100,000 users: over half of the call).
//! Packed, the whole decision reads the cache entry and one buffer.

use dagu_auth_vocab::{DaguAuthAction as Action, DaguAuthDecision as Decision};

use crate::model::{Role, UserRecord};
use crate::policy;

#[derive(Debug, Clone)]
pub struct PackedAccess {
    role: Role,
    all: bool,
    disabled: bool,
    /// Per grant: the role (`Role as u8`), the name's length (u32, little-endian), the name.
    grants: Box<[u8]>,
}

const LEN_BYTES: usize = 4;

impl PackedAccess {
    pub fn of(user: &UserRecord) -> Self {
        let access = &user.workspace_access;
        let size = access
            .grants
            .iter()
            .map(|g| 1 + LEN_BYTES + g.workspace.len())
            .sum();
        let mut grants = Vec::with_capacity(size);
        for grant in &access.grants {
            grants.push(grant.role as u8);
            // A name longer than u32::MAX bytes cannot be stored: it would not fit in memory twice.
            let len = u32::try_from(grant.workspace.len()).unwrap_or(u32::MAX);
            grants.extend_from_slice(&len.to_le_bytes());
            grants.extend_from_slice(grant.workspace.as_bytes());
        }
        Self {
            role: user.role,
            all: access.all,
            disabled: user.disabled,
            grants: grants.into_boxed_slice(),
        }
    }

    pub fn disabled(&self) -> bool {
        self.disabled
    }

    pub fn decide(&self, action: Action, workspace: &str) -> Decision {
        policy::decide_with(
            self.role,
            self.all,
            |w| self.grant_for(w),
            action,
            workspace,
        )
    }

    fn grant_for(&self, workspace: &str) -> Option<Role> {
        let mut rest = &self.grants[..];
        while let [role, a, b, c, d, tail @ ..] = rest {
            let len = usize::try_from(u32::from_le_bytes([*a, *b, *c, *d])).ok()?;
            let (name, after) = tail.split_at_checked(len)?;
            if name == workspace.as_bytes() {
                return role_from_u8(*role);
            }
            rest = after;
        }
        None
    }
}

/// Unknown values cannot occur (we packed them); if one did, the workspace stays invisible.
fn role_from_u8(value: u8) -> Option<Role> {
    Role::ALL.into_iter().find(|role| *role as u8 == value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{self, ACTIONS};

    fn user_with(role: Role, all: bool, grants: &[(&str, Role)]) -> UserRecord {
        let mut access = fixtures::scoped(grants);
        access.all = all;
        fixtures::user(role, access)
    }

    /// Every role, action and workspace (granted, a prefix or extension of a grant, unknown,
    /// default) is decided exactly as `policy::decide` decides it from the record.
    #[test]
    fn packed_decisions_equal_the_policy_on_the_record() {
        let grant_sets: [&[(&str, Role)]; 4] = [
            &[],
            &[("ops", Role::Developer)],
            &[
                ("ops", Role::Viewer),
                ("ops-eu", Role::Admin),
                ("qa", Role::Operator),
            ],
            &[("a", Role::Manager), ("", Role::Admin)],
        ];
        let workspaces = [
            "", "ops", "op", "ops-e", "ops-eu", "ops-eu-1", "qa", "a", "nope",
        ];
        let mut compared = 0;
        for role in Role::ALL {
            for all in [false, true] {
                for grants in grant_sets {
                    let record = user_with(role, all, grants);
                    let packed = PackedAccess::of(&record);
                    for action in ACTIONS {
                        for workspace in workspaces {
                            let expected = policy::decide(
                                record.role,
                                &record.workspace_access,
                                action,
                                workspace,
                            );
                            assert_eq!(
                                packed.decide(action, workspace),
                                expected,
                                "{role:?} all={all} {grants:?} {action:?} {workspace:?}"
                            );
                            compared += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(compared, 5 * 2 * 4 * 5 * 9);
    }

    #[test]
    fn the_disabled_flag_is_carried() {
        let mut record = user_with(Role::Viewer, true, &[]);
        assert!(!PackedAccess::of(&record).disabled());
        record.disabled = true;
        assert!(PackedAccess::of(&record).disabled());
    }

    #[test]
    fn every_role_survives_packing() {
        for role in Role::ALL {
            assert_eq!(role_from_u8(role as u8), Some(role));
        }
        assert_eq!(role_from_u8(200), None);
    }
}
