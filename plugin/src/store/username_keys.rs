//! Account keys and confusable skeletons of stored usernames (see `model::username`), for both
//! stores: the columns a user row is written with, the refusal a clash earns, the re-keying of
//! rows stored before the rules, and what `db verify` says about the rows that clash.
//!
//! Re-keying never merges or renames anyone. Rows are taken oldest first; the first to claim a
//! key or skeleton owns it. A later row whose new key is taken keeps its old key (or, if even
//! that is taken, one no name can fold to), so it can no longer be signed into by name; one whose
//! skeleton is taken gets none. Both stay listed, and `db verify` names them until an admin
//! renames one of the pair.

use std::collections::HashSet;

use crate::error::{Error, msg};
use crate::model::{account_key, fold_username, refused_name_key, username_skeleton};

/// The skeleton a user row is written with.
pub fn skeleton_of(username: &str) -> String {
    username_skeleton(&fold_username(username))
}

/// A user insert or rename whose name reads like an existing user's.
pub fn username_confusable() -> Error {
    Error::AlreadyExists(msg::USERNAME_CONFUSABLE.into())
}

/// A stored user before re-keying: id, username and the key it was stored under.
pub struct StoredName {
    pub id: String,
    pub username: String,
    pub old_key: String,
}

/// The columns a row is re-keyed to.
#[derive(Debug, PartialEq, Eq)]
pub struct Rekeyed {
    pub id: String,
    pub key: String,
    /// `None` when an older row already owns the skeleton.
    pub skeleton: Option<String>,
}

/// The key of a row that lost both its new key and its old one: U+0001 is refused in usernames,
/// so no name folds to it, and the id keeps it unique.
fn orphan_key(id: &str) -> String {
    format!("\u{1}{id}")
}

/// New keys and skeletons for `rows`, given oldest first.
pub fn rekey(rows: &[StoredName]) -> Vec<Rekeyed> {
    let new_keys: Vec<String> = rows
        .iter()
        .map(|row| fold_username(&row.username))
        .collect();
    let mut keys = HashSet::new();
    let winners: Vec<bool> = new_keys
        .iter()
        .map(|key| keys.insert(key.clone()))
        .collect();
    let mut skeletons = HashSet::new();
    rows.iter()
        .zip(new_keys)
        .zip(winners)
        .map(|((row, new_key), won)| {
            let key = match won {
                true => new_key,
                false if keys.insert(row.old_key.clone()) => row.old_key.clone(),
                false => orphan_key(&row.id),
            };
            let skeleton = username_skeleton(&fold_username(&row.username));
            Rekeyed {
                id: row.id.clone(),
                key,
                skeleton: skeletons.insert(skeleton.clone()).then_some(skeleton),
            }
        })
        .collect()
}

/// How every username problem starts, so a restore can tell them from damage.
const PROBLEM_PREFIX: &str = "username of user ";

/// What `db verify` reports about one stored user: a name the rules refuse, a key that is not
/// the name's (an older row owns it), a missing skeleton (an older row reads alike).
pub fn problems(id: &str, username: &str, key: &str, skeleton: Option<&str>) -> Vec<String> {
    // One PRECIS pass per name (`fold_username` is this key, or the old fold when it fails), and
    // no text built for a clean row: `db verify` runs this for every user.
    let checked = account_key(username);
    let folded = match &checked {
        Ok(folded) => folded.clone(),
        Err(_) => refused_name_key(username),
    };
    if checked.is_ok() && key == folded && skeleton.is_some() {
        return Vec::new();
    }
    let about = format!("{PROBLEM_PREFIX}{id} (\"{}\")", username.escape_debug());
    let mut problems = Vec::new();
    if let Err(why) = checked {
        problems.push(format!(
            "{about} breaks the username rules ({why}); rename it"
        ));
    }
    if key != folded {
        problems.push(format!(
            "{about} folds to another user's account key, so it cannot sign in by name; rename \
             one of them"
        ));
    }
    if skeleton.is_none() {
        problems.push(format!(
            "{about} reads like another user's (UTS #39 confusable); rename one of them"
        ));
    }
    problems
}

/// A problem [`problems`] reports: left by the migration to the username rules, for an admin to
/// settle by renaming. It does not make a backup unfit to restore (the live database it was
/// taken from has it too).
pub fn is_username_problem(problem: &str) -> bool {
    problem.starts_with(PROBLEM_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: &str, username: &str) -> StoredName {
        StoredName {
            id: id.into(),
            username: username.into(),
            old_key: username.trim().to_lowercase(),
        }
    }

    #[test]
    fn problems_compare_a_stored_key_with_what_fold_username_gives() {
        // Accepted and refused names alike (`problems` folds a refused one itself).
        for name in [
            "Alice",
            " bob ",
            "a\u{200B}b",
            "\u{1F600}x",
            "ADMIN\u{0301}",
        ] {
            let folded = fold_username(name);
            assert!(
                problems("1", name, &folded, Some("s"))
                    .iter()
                    .all(|p| !p.contains("folds"))
            );
            let wrong = format!("{folded}-other");
            assert!(
                problems("1", name, &wrong, Some("s"))
                    .iter()
                    .any(|p| p.contains("folds"))
            );
        }
    }

    #[test]
    fn the_oldest_row_owns_a_key_and_later_clashes_keep_their_rows_unmerged() {
        let rows = [
            stored("1", "admin"),
            stored("2", "ａｄｍｉｎ"),
            stored("3", "\u{430}dmin"),
            stored("4", "bob"),
        ];
        let rekeyed = rekey(&rows);
        assert_eq!(rekeyed.len(), 4, "no row is dropped");
        assert_eq!(rekeyed[0].key, "admin");
        assert_eq!(rekeyed[0].skeleton, Some(skeleton_of("admin")));
        assert_eq!(rekeyed[1].key, "ａｄｍｉｎ", "keeps its old key");
        assert_eq!(rekeyed[1].skeleton, None);
        assert_eq!(rekeyed[2].key, "\u{430}dmin");
        assert_eq!(rekeyed[2].skeleton, None);
        assert_eq!(rekeyed[3].skeleton, Some(skeleton_of("bob")));
        for (row, new) in rows.iter().zip(&rekeyed) {
            let flagged =
                !problems(&row.id, &row.username, &new.key, new.skeleton.as_deref()).is_empty();
            assert_eq!(flagged, ["2", "3"].contains(&row.id.as_str()), "{}", row.id);
        }
    }

    #[test]
    fn a_row_whose_old_key_is_taken_too_gets_a_key_no_name_folds_to() {
        let rows = [
            stored("1", "jos\u{E9}"),
            stored("2", "jose\u{301}"),
            StoredName {
                id: "3".into(),
                username: "JOSE\u{301}".into(),
                old_key: "jose\u{301}x".into(),
            },
        ];
        let keys: Vec<String> = rekey(&rows).into_iter().map(|r| r.key).collect();
        assert_eq!(keys[0], "jos\u{E9}");
        assert_eq!(keys[1], "jose\u{301}");
        assert_eq!(keys[2], "jose\u{301}x");
        let clash = [stored("1", "a"), stored("2", "A"), stored("3", "Ａ")];
        let keys: Vec<String> = rekey(&clash).into_iter().map(|r| r.key).collect();
        assert_eq!(keys, ["a", orphan_key("2").as_str(), "ａ"]);
    }
}
