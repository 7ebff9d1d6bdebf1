//! The provisioning rules that need no store: whether an email is admitted, and the username a
//! new user is offered.

use super::Provisioning;

/// Dagu's refusals, shown to the person signing in (OIDC puts them in `/login?error=`).
pub const EMAIL_REQUIRED: &str = "email claim is required but not provided by identity provider";
pub const EMAIL_NOT_ALLOWED: &str = "your email domain is not authorized";
pub const AUTO_SIGNUP_DISABLED: &str =
    "automatic account creation is disabled, contact administrator";
pub const USER_DISABLED: &str = "your account has been disabled, contact administrator";
pub const NO_ROLE_FOUND: &str = "no valid role found from OIDC claims";

/// A username is at most this many characters; a suffix keeps within it.
const MAX_BASE_CHARS: usize = 48;

impl Provisioning {
    /// Either list admits; with neither set, everyone is admitted. Some providers let a person
    /// type any address and say so with `email_verified` in `claims`: such an address vouches for
    /// no domain, so the lists do not admit it. A provider that says nothing is taken at its word,
    /// as Dagu does.
    pub fn email_allowed(&self, email: &str, claims: &serde_json::Value) -> bool {
        if self.whitelist.is_empty() && self.allowed_domains.is_empty() {
            return true;
        }
        let unverified = matches!(
            claims.get("email_verified"),
            Some(said) if *said == false || *said == "false"
        );
        if unverified {
            return false;
        }
        let listed = self
            .whitelist
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(email));
        let domain = email.rsplit_once('@').map(|(_, domain)| domain);
        let domain_listed = domain.is_some_and(|domain| {
            self.allowed_domains
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(domain))
        });
        listed || domain_listed
    }
}

/// The names a new user is offered, best first: the provider's preferred username, else the
/// email's local part, lowercased with separators as `_` and anything else but `[a-z0-9_]`
/// dropped, as Dagu does; the identity's subject when neither leaves anything.
pub fn username_bases(preferred: Option<&str>, email: Option<&str>, subject: &str) -> Vec<String> {
    let local_part = email.and_then(|email| email.split_once('@').map(|(local, _)| local));
    let mut bases: Vec<String> = [preferred, local_part]
        .into_iter()
        .flatten()
        .map(sanitize)
        .filter(|base| !base.is_empty())
        .collect();
    bases.dedup();
    if bases.is_empty() {
        let short: String = sanitize(subject).chars().take(8).collect();
        bases.push(format!("user_{short}"));
    }
    bases
}

/// The `n`th candidate from `base`: the base itself, then `base2`, `base3`, ...
pub fn candidate(base: &str, n: usize) -> String {
    match n {
        0 | 1 => base.to_string(),
        n => format!("{base}{n}"),
    }
}

fn sanitize(raw: &str) -> String {
    let lowered = raw.to_lowercase();
    let kept: String = lowered
        .chars()
        .map(|c| match c {
            '.' | '-' | ' ' => '_',
            c => c,
        })
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    kept.trim_matches('_')
        .chars()
        .take(MAX_BASE_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn with_lists(whitelist: &[&str], domains: &[&str]) -> Provisioning {
        Provisioning {
            whitelist: whitelist.iter().map(|s| s.to_string()).collect(),
            allowed_domains: domains.iter().map(|s| s.to_string()).collect(),
            ..Provisioning::default()
        }
    }

    #[test]
    fn without_lists_every_email_is_allowed() {
        assert!(with_lists(&[], &[]).email_allowed("a@anywhere.test", &Value::Null));
    }

    #[test]
    fn an_address_the_provider_has_not_verified_is_admitted_by_no_list() {
        let rules = with_lists(&["boss@other.test"], &["example.com"]);
        for said in [json!(false), json!("false")] {
            let claims = json!({"email_verified": said});
            assert!(!rules.email_allowed("alice@example.com", &claims));
            assert!(!rules.email_allowed("boss@other.test", &claims));
            assert!(with_lists(&[], &[]).email_allowed("alice@example.com", &claims));
        }
        let verified = json!({"email_verified": true});
        assert!(rules.email_allowed("alice@example.com", &verified));
    }

    #[test]
    fn either_list_admits_and_nothing_else_does() {
        let rules = with_lists(&["Boss@Other.test"], &["example.com"]);
        assert!(rules.email_allowed("alice@EXAMPLE.com", &Value::Null));
        assert!(rules.email_allowed("boss@other.test", &Value::Null));
        assert!(!rules.email_allowed("eve@other.test", &Value::Null));
        assert!(!rules.email_allowed("eve@example.com.evil.test", &Value::Null));
        assert!(!rules.email_allowed("no-at-sign", &Value::Null));
    }

    #[test]
    fn the_preferred_username_comes_first_then_the_email_local_part() {
        assert_eq!(
            username_bases(Some("Alice.Smith"), Some("asmith@example.com"), "s1"),
            ["alice_smith", "asmith"]
        );
        assert_eq!(username_bases(None, Some("bob-x@e.com"), "s1"), ["bob_x"]);
        assert_eq!(
            username_bases(Some("!!"), None, "ABCDEFGHIJ"),
            ["user_abcdefgh"]
        );
    }

    #[test]
    fn candidates_carry_a_number_from_two() {
        assert_eq!(candidate("bob", 0), "bob");
        assert_eq!(candidate("bob", 2), "bob2");
    }
}
