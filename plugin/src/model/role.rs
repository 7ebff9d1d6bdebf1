use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Roles, highest first. The order is the privilege order (`Admin > Viewer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Developer,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Manager,
        Role::Developer,
        Role::Operator,
        Role::Viewer,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Developer => "developer",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| format!("invalid role: {text:?} (expected admin, manager, developer, operator or viewer)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
    }

    #[test]
    fn role_names_are_case_sensitive_like_dagu() {
        assert!("Admin".parse::<Role>().is_err());
        assert!("".parse::<Role>().is_err());
    }

    #[test]
    fn roles_are_ordered_by_privilege() {
        assert!(Role::Admin > Role::Manager);
        assert!(Role::Manager > Role::Developer);
        assert!(Role::Developer > Role::Operator);
        assert!(Role::Operator > Role::Viewer);
    }
}
