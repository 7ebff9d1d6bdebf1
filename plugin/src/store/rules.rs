//! The rules both stores enforce, and the refusals both answer with, written once. A store reads
//! what a rule needs inside the transaction that makes the change (SQLite under `BEGIN
//! IMMEDIATE`, PostgreSQL under an advisory lock), so no other writer can slip in between the
//! check and the change; what the rule then decides is decided here.

use crate::error::{Error, msg};

/// The enabled admins, in either dialect: SQLite keeps `disabled` as 0 or 1, PostgreSQL as a
/// boolean, and `NOT` reads both.
pub const COUNT_ENABLED_ADMINS: &str =
    "SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled";

/// The last enabled admin cannot be disabled, demoted or deleted. Only a change that takes an
/// enabled admin out of that state can break the rule, so only then does `count_enabled_admins`
/// run (it scans every user: 25 ms per update at 100,000 users, BENCHMARKS.md). It counts in the
/// change's own transaction, after the change; `is_enabled_admin` is false for a deleted user.
pub fn keep_an_enabled_admin<E: From<Error>>(
    was_enabled_admin: bool,
    is_enabled_admin: bool,
    count_enabled_admins: impl FnOnce() -> std::result::Result<u64, E>,
) -> std::result::Result<(), E> {
    if !was_enabled_admin || is_enabled_admin {
        return Ok(());
    }
    match count_enabled_admins()? {
        0 => Err(Error::Conflict(msg::LAST_ADMIN.into()).into()),
        _ => Ok(()),
    }
}

/// The licence's cap on API keys. `count_keys` counts the existing keys in the transaction that
/// adds one, and runs only when there is a cap.
pub fn room_for_a_key<E: From<Error>>(
    max_keys: Option<u64>,
    count_keys: impl FnOnce() -> std::result::Result<u64, E>,
) -> std::result::Result<(), E> {
    match max_keys {
        Some(max) if count_keys()? >= max => Err(Error::Forbidden(format!(
            "Community edition supports up to {max} API keys. Delete an existing key or configure a \
             license to create more."
        ))
        .into()),
        _ => Ok(()),
    }
}

/// A user insert or rename that clashed with the unique folded username.
pub fn username_taken() -> Error {
    Error::AlreadyExists(msg::USERNAME_TAKEN.into())
}

/// An API key insert or rename that clashed with a unique column (the name; a digest clash is
/// too unlikely to answer apart).
pub fn key_name_taken() -> Error {
    Error::AlreadyExists(msg::API_KEY_NAME_TAKEN.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Result;

    fn never_counted() -> Result<u64> {
        panic!("counted although the rule could not be broken")
    }

    fn counted(n: u64) -> impl FnOnce() -> Result<u64> {
        move || Ok(n)
    }

    fn last_admin() -> Result<()> {
        Err(Error::Conflict(msg::LAST_ADMIN.into()))
    }

    #[test]
    fn taking_the_last_enabled_admin_out_of_that_state_is_refused() {
        assert_eq!(keep_an_enabled_admin(true, false, counted(0)), last_admin());
    }

    #[test]
    fn taking_an_enabled_admin_out_is_allowed_while_another_remains() {
        assert_eq!(keep_an_enabled_admin(true, false, counted(1)), Ok(()));
    }

    #[test]
    fn a_change_that_leaves_every_enabled_admin_one_counts_nothing() {
        assert_eq!(keep_an_enabled_admin(true, true, never_counted), Ok(()));
        assert_eq!(keep_an_enabled_admin(false, true, never_counted), Ok(()));
        assert_eq!(keep_an_enabled_admin(false, false, never_counted), Ok(()));
    }

    #[test]
    fn the_key_cap_refuses_the_key_that_would_exceed_it() {
        assert_eq!(room_for_a_key(Some(2), counted(1)), Ok(()));
        assert!(matches!(
            room_for_a_key(Some(2), counted(2)),
            Err(Error::Forbidden(message)) if message == "Community edition supports up to 2 API \
                keys. Delete an existing key or configure a license to create more."
        ));
    }

    #[test]
    fn without_a_cap_keys_are_not_counted() {
        assert_eq!(room_for_a_key(None, never_counted), Ok(()));
    }
}
