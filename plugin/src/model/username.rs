//! Usernames under PRECIS (RFC 8265) and UTS #39, so two accounts cannot read alike.
//!
//! - The stored form is UsernameCasePreserved: width-mapped and NFC, case kept for display.
//! - The account key (unique, and what sign-in looks up) is UsernameCaseMapped: the same, lower
//!   case. NFC and NFD spellings and fullwidth forms of one name share one key.
//! - Format, bidi-control, unassigned and symbol characters are refused (the IdentifierClass of
//!   RFC 8264), as is a mix of writing directions the Bidi Rule forbids.
//! - The confusable skeleton (UTS #39) of the key is unique as well, so "аdmin" with a Cyrillic
//!   "а" cannot sit beside "admin".
//!
//! RFC 8265 allows no space inside a username, but lets an application build a name of several
//! space-separated parts, each under the profile (its section 3.5). Dagu accepts names with
//! spaces, so each part is prepared on its own and runs of spaces become one.
//!
//! The folding itself is the crates' (`precis-profiles`, `unicode-security`), not written here.

use precis_profiles::precis_core::Error as PrecisError;
use precis_profiles::precis_core::profile::PrecisFastInvocation;
use precis_profiles::{UsernameCaseMapped, UsernameCasePreserved};

const MAX_USERNAME_CHARS: usize = 64;

/// Trims and checks a username; returns the form to store (case kept, width-mapped, NFC).
pub fn validate_username(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("username is required".into());
    }
    if name.chars().count() > MAX_USERNAME_CHARS {
        return Err(format!(
            "username must be at most {MAX_USERNAME_CHARS} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("username must not contain control characters".into());
    }
    each_part(name, |part| {
        UsernameCasePreserved::enforce(part).map(|p| p.into_owned())
    })
}

/// The key usernames are unique under and matched by at sign-in. A name the rules refuse (one
/// stored before they applied, or one typed at sign-in) keys as it did before them: trimmed and
/// lower-cased. Such a key never equals a key of an accepted name, since it keeps the very
/// character the rules refuse.
pub fn fold_username(name: &str) -> String {
    account_key(name).unwrap_or_else(|_| refused_name_key(name))
}

/// The key of a name the rules refuse, as `fold_username` gives it: for a caller that already
/// ran the rules (`db verify`, once per stored user) and must not run them twice.
pub fn refused_name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The key to look a name typed at sign-in up by; `None` when no account can have it. A name the
/// rules refuse is still looked up under its old key, so an account stored before the rules
/// applied keeps signing in until it is renamed.
pub fn sign_in_key(typed: &str) -> Option<String> {
    let name = typed.trim();
    let possible = !name.is_empty()
        && name.chars().count() <= MAX_USERNAME_CHARS
        && !name.chars().any(char::is_control);
    possible.then(|| fold_username(name))
}

/// The account key of a name the rules accept; why not, otherwise.
pub fn account_key(name: &str) -> Result<String, String> {
    each_part(name.trim(), |part| {
        UsernameCaseMapped::enforce(part).map(|p| p.into_owned())
    })
}

/// The UTS #39 confusable skeleton of an account key: two names with one skeleton read alike.
pub fn username_skeleton(key: &str) -> String {
    unicode_security::skeleton(key).collect()
}

/// Applies a PRECIS profile to each space-separated part and joins the parts with one space.
fn each_part(
    name: &str,
    enforce: impl Fn(&str) -> Result<String, PrecisError>,
) -> Result<String, String> {
    let parts: Vec<String> = name
        .split(' ')
        .filter(|part| !part.is_empty())
        .map(|part| enforce(part).map_err(|error| refusal(part, &error)))
        .collect::<Result<_, _>>()?;
    if parts.is_empty() {
        return Err("username is required".into());
    }
    Ok(parts.join(" "))
}

fn refusal(part: &str, error: &PrecisError) -> String {
    match error {
        PrecisError::BadCodepoint(info) => format!(
            "username must not contain the character U+{:04X}: invisible, format, \
             direction-control, symbol and unassigned characters are not allowed in usernames",
            info.cp
        ),
        _ => format!(
            "username part \"{}\" is not allowed: usernames follow PRECIS (RFC 8265), which refuses \
             this mix of characters or writing directions",
            part.escape_debug()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_and_skeleton(name: &str) -> (String, String) {
        let stored = validate_username(name).expect("accepted");
        let key = account_key(&stored).expect("keyed");
        let skeleton = username_skeleton(&key);
        (key, skeleton)
    }

    #[test]
    fn format_and_direction_control_characters_are_refused_with_the_code_point() {
        for (name, cp) in [
            ("admin\u{200B}", "U+200B"),
            ("\u{202E}nimda", "U+202E"),
            ("ad\u{2060}min", "U+2060"),
            ("admin\u{FEFF}", "U+FEFF"),
        ] {
            let message = validate_username(name).expect_err(name);
            assert!(message.contains(cp), "{name:?}: {message}");
        }
    }

    #[test]
    fn symbols_and_unassigned_code_points_are_refused() {
        assert!(validate_username("bob\u{1F600}").is_err());
        assert!(validate_username("bob\u{0378}").is_err(), "unassigned");
    }

    #[test]
    fn fullwidth_nfd_and_case_variants_share_one_account_key() {
        let admin = key_and_skeleton("admin");
        assert_eq!(key_and_skeleton("ａｄｍｉｎ"), admin);
        assert_eq!(key_and_skeleton("ADMIN"), admin);
        let nfc = key_and_skeleton("jos\u{E9}");
        assert_eq!(key_and_skeleton("jose\u{301}"), nfc);
        assert_eq!(validate_username("jose\u{301}"), Ok("jos\u{E9}".into()));
        assert_eq!(
            validate_username("ＢＯＢ"),
            Ok("BOB".into()),
            "case kept for display"
        );
    }

    #[test]
    fn names_that_read_alike_share_a_skeleton() {
        let (latin_key, latin) = key_and_skeleton("admin");
        let (cyrillic_key, cyrillic) = key_and_skeleton("\u{430}dmin");
        assert_ne!(latin_key, cyrillic_key, "different names");
        assert_eq!(latin, cyrillic, "that read alike");
        assert_ne!(key_and_skeleton("alice").1, key_and_skeleton("bob").1);
    }

    #[test]
    fn names_dagu_users_have_stay_accepted() {
        for name in [
            "admin",
            "Alice",
            "bob.smith",
            "ops-team_1",
            "jane@example.com",
            "John Smith",
            "user+tag",
            "O'Brien",
            "Zoë",
            "Ярослав",
            "山田太郎",
            "محمد",
            "x",
        ] {
            assert!(
                validate_username(name).is_ok(),
                "{name}: {:?}",
                validate_username(name)
            );
        }
        assert_eq!(
            validate_username("  John   Smith "),
            Ok("John Smith".into())
        );
    }

    #[test]
    fn sign_in_looks_a_refused_name_up_under_its_old_key_and_an_impossible_one_not_at_all() {
        assert_eq!(sign_in_key("ａｄｍｉｎ").as_deref(), Some("admin"));
        assert_eq!(sign_in_key("Bob\u{1F600}").as_deref(), Some("bob\u{1F600}"));
        assert_eq!(sign_in_key("a\u{0}b"), None);
        assert_eq!(sign_in_key("  "), None);
        assert_eq!(sign_in_key(&"x".repeat(65)), None);
    }

    #[test]
    fn a_refused_name_keys_as_before_the_rules() {
        assert_eq!(fold_username(" Admin\u{200B} "), "admin\u{200B}");
        assert_eq!(fold_username(" Alice "), fold_username("ALICE"));
    }
}
