//! Password rules and argon2id hashing. Rules run before any hashing, so a rejected password costs
//! nothing.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordVerifier, Version};
use parking_lot::Mutex;
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

use crate::config::{Argon2Params, PasswordRules};
use crate::error::{Error, Result};
use crate::hashpool::{HashPool, HashingLimits};

/// The bundled list; its source and licence are in the file's header.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

pub fn common_password_count() -> usize {
    COMMON_PASSWORDS.len()
}

/// NFKC-normalises and checks a new password for `username`: length in code points, not the
/// username, not a common password. Returns the form that is hashed.
pub fn check_rules(rules: &PasswordRules, password: &str, username: &str) -> Result<String> {
    // NFKC of megabytes costs real time; no input this long in bytes can come back under the limit
    // (a code point is at most 4 bytes, and normalisation composes at most a few into one).
    if password.len() > rules.max_length.saturating_mul(16) {
        return Err(too_long(rules));
    }
    let normalized: String = password.nfkc().collect();
    let length = normalized.chars().count();
    if length < rules.min_length {
        return Err(Error::bad_request(format!(
            "password must be at least {} characters",
            rules.min_length
        )));
    }
    if length > rules.max_length {
        return Err(too_long(rules));
    }
    let folded = normalized.to_lowercase();
    if folded == username.trim().to_lowercase() {
        return Err(Error::bad_request(
            "password must not be the same as the username",
        ));
    }
    if COMMON_PASSWORDS.contains(folded.as_str()) {
        return Err(Error::bad_request(
            "password is too common: it is among the 10,000 most used passwords; choose another",
        ));
    }
    Ok(normalized)
}

fn too_long(rules: &PasswordRules) -> Error {
    Error::bad_request(format!(
        "password must be at most {} characters",
        rules.max_length
    ))
}

/// Normalises without checking rules: sign-in must accept whatever was valid when it was set.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

pub struct PasswordHashing {
    argon2: Argon2<'static>,
    params: Params,
    pool: HashPool,
    /// One argon2 work area per running hash, kept between hashes: a fresh 19 MiB allocation per
    /// sign-in made the allocator's footprint climb to ~2 GiB under a sign-in flood (soak run).
    /// The pool bounds how many exist at once.
    memory: Mutex<Vec<Vec<Block>>>,
    /// Verified against when the user does not exist, so unknown users cost one hash too.
    decoy_hash: String,
}

/// argon2's recommended salt length.
const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

impl PasswordHashing {
    pub fn new(params: &Argon2Params, limits: HashingLimits) -> Result<Self> {
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(OUTPUT_BYTES),
        )
        .map_err(|e| Error::invalid_config(format!("argon2 parameters: {e}")))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut hashing = Self {
            argon2,
            params,
            pool: HashPool::new(limits),
            memory: Mutex::new(Vec::new()),
            decoy_hash: String::new(),
        };
        hashing.decoy_hash = hashing.hash("decoy password for unknown users")?;
        Ok(hashing)
    }

    /// Runs one hash for `account` inside the bounded pool, on a reused work area.
    fn with_memory<T>(
        &self,
        account: Option<&str>,
        work: impl FnOnce(&mut [Block]) -> T,
    ) -> Result<T> {
        let _permit = self.pool.acquire(account)?;
        let reused = self.memory.lock().pop();
        let mut blocks = reused.unwrap_or_else(|| vec![Block::new(); self.params.block_count()]);
        let result = work(&mut blocks);
        self.memory.lock().push(blocks);
        Ok(result)
    }

    /// Hashes an already normalised password into a salted PHC string.
    pub fn hash(&self, normalized: &str) -> Result<String> {
        let failed =
            |e: &dyn std::fmt::Display| Error::Internal(format!("password hashing failed: {e}"));
        let mut salt = [0u8; SALT_BYTES];
        getrandom::fill(&mut salt).map_err(|e| failed(&e))?;
        let mut output = [0u8; OUTPUT_BYTES];
        self.with_memory(None, |blocks| {
            self.argon2.hash_password_into_with_memory(
                normalized.as_bytes(),
                &salt,
                &mut output,
                blocks,
            )
        })?
        .map_err(|e| failed(&e))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| failed(&e))?,
            salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
            hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Constant-work check: a `None` hash (unknown user) still computes one hash and fails.
    /// Bcrypt hashes imported from Dagu verify too, until [`is_legacy_hash`] says to replace them.
    pub fn verify(&self, normalized: &str, stored: Option<&str>) -> Result<bool> {
        self.verify_inner(normalized, stored, None)
    }

    /// [`Self::verify`] for a password check against `account` (the account key, or the name tried
    /// for an unknown user): the work counts against that account's share of the pool, so one
    /// account's flood cannot keep other accounts' checks waiting.
    pub fn verify_for(
        &self,
        account: &str,
        normalized: &str,
        stored: Option<&str>,
    ) -> Result<bool> {
        self.verify_inner(normalized, stored, Some(account))
    }

    fn verify_inner(
        &self,
        normalized: &str,
        stored: Option<&str>,
        account: Option<&str>,
    ) -> Result<bool> {
        let hash = stored.unwrap_or(&self.decoy_hash);
        let matches = match is_legacy_hash(hash) {
            // Dagu hashed the raw bytes; bcrypt refuses (rather than truncates) over 72 bytes,
            // and no such password can have been stored by Dagu.
            true => {
                let _permit = self.pool.acquire(account)?;
                bcrypt::verify(normalized.as_bytes(), hash).unwrap_or(false)
            }
            false => self.verify_argon2(normalized, hash, account)?,
        };
        Ok(matches && stored.is_some())
    }

    /// Hashes made with the current parameters reuse a work area; others (older parameters) let
    /// argon2 allocate its own.
    fn verify_argon2(&self, normalized: &str, hash: &str, account: Option<&str>) -> Result<bool> {
        let Ok(phc) = PasswordHash::new(hash) else {
            return Ok(false);
        };
        let current = phc.algorithm == Algorithm::Argon2id.ident()
            && Params::try_from(&phc).is_ok_and(|params| params == self.params);
        let (Some(salt), Some(expected), true) = (&phc.salt, &phc.hash, current) else {
            let _permit = self.pool.acquire(account)?;
            return Ok(self
                .argon2
                .verify_password(normalized.as_bytes(), hash)
                .is_ok());
        };
        let mut output = [0u8; OUTPUT_BYTES];
        let computed = self.with_memory(account, |blocks| {
            self.argon2.hash_password_into_with_memory(
                normalized.as_bytes(),
                salt.as_ref(),
                &mut output,
                blocks,
            )
        })?;
        Ok(computed.is_ok() && bool::from(output.as_slice().ct_eq(expected.as_bytes())))
    }
}

/// A bcrypt hash as Dagu stores them: verified at sign-in, then re-hashed with argon2id.
pub fn is_legacy_hash(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|prefix| hash.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> PasswordRules {
        PasswordRules::default()
    }

    fn cheap() -> PasswordHashing {
        let params = Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        PasswordHashing::new(&params, HashingLimits::default()).expect("params")
    }

    #[test]
    fn passwords_shorter_than_eight_code_points_are_refused() {
        assert!(check_rules(&rules(), "zq-4k7p", "alice").is_err());
        assert!(check_rules(&rules(), "zq-4k7p9", "alice").is_ok());
    }

    #[test]
    fn length_counts_code_points_not_bytes() {
        // Eight two-byte characters: 16 bytes but 8 code points.
        assert!(check_rules(&rules(), "éééééééé", "alice").is_ok());
        assert!(check_rules(&rules(), &"é".repeat(256), "alice").is_ok());
        assert!(check_rules(&rules(), &"é".repeat(257), "alice").is_err());
    }

    #[test]
    fn the_common_password_list_has_ten_thousand_entries() {
        assert_eq!(common_password_count(), 10_000);
    }

    #[test]
    fn common_passwords_are_refused_case_insensitively_with_a_reason() {
        for common in ["password1", "PassWord1", "iloveyou", "qwerty123"] {
            let error = check_rules(&rules(), common, "alice").expect_err(common);
            assert!(error.to_string().contains("too common"), "{error}");
        }
    }

    #[test]
    fn the_username_is_refused_as_a_password() {
        let error = check_rules(&rules(), "Alice.Smith", "alice.smith").expect_err("refused");
        assert!(error.to_string().contains("username"), "{error}");
    }

    #[test]
    fn megabyte_passwords_are_refused_without_normalising_them() {
        let error = check_rules(&rules(), &"x".repeat(10 << 20), "alice").expect_err("too long");
        assert!(error.to_string().contains("at most 256"), "{error}");
    }

    #[test]
    fn passwords_are_nfkc_normalised_before_counting() {
        // U+FB01 (the "fi" ligature) is one code point that NFKC turns into two.
        let ligatures = "\u{FB01}".repeat(4);
        assert_eq!(
            check_rules(&rules(), &ligatures, "alice"),
            Ok("fi".repeat(4))
        );
    }

    #[test]
    fn equivalent_unicode_forms_verify_against_each_other() {
        let hashing = cheap();
        let composed = check_rules(&rules(), "caf\u{e9}-password", "alice").expect("valid");
        let hash = hashing.hash(&composed).expect("hash");
        assert!(
            hashing
                .verify(&normalize("cafe\u{301}-password"), Some(&hash))
                .expect("verify")
        );
    }

    #[test]
    fn hashes_are_salted_argon2id_phc_strings() {
        let hashing = cheap();
        let first = hashing.hash("correct horse").expect("hash");
        let second = hashing.hash("correct horse").expect("hash");
        assert!(first.starts_with("$argon2id$v=19$"));
        assert_ne!(first, second);
        assert!(
            hashing
                .verify("correct horse", Some(&first))
                .expect("verify")
        );
        assert!(!hashing.verify("wrong horse", Some(&first)).expect("verify"));
    }

    #[test]
    fn dagu_bcrypt_hashes_verify_by_their_prefix() {
        let hashing = cheap();
        let hash = bcrypt::hash("dagu-password", 4).expect("bcrypt");
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let variant = format!("{prefix}{}", &hash[4..]);
            assert!(is_legacy_hash(&variant));
            assert!(
                hashing
                    .verify("dagu-password", Some(&variant))
                    .expect("verify")
            );
            assert!(
                !hashing
                    .verify("other-password", Some(&variant))
                    .expect("verify")
            );
        }
        assert!(!is_legacy_hash(&hashing.hash("x").expect("hash")));
    }

    #[test]
    fn hashes_made_with_other_parameters_still_verify() {
        let old = PasswordHashing::new(
            &Argon2Params {
                memory_kib: 32,
                iterations: 2,
                parallelism: 1,
            },
            HashingLimits::default(),
        )
        .expect("params");
        let hash = old.hash("an older password").expect("hash");
        assert!(
            cheap()
                .verify("an older password", Some(&hash))
                .expect("verify")
        );
        assert!(
            !cheap()
                .verify("another password", Some(&hash))
                .expect("verify")
        );
    }

    #[test]
    fn our_hashes_verify_with_the_reference_implementation() {
        let hashing = cheap();
        let hash = hashing.hash("interoperable").expect("hash");
        assert!(
            Argon2::default()
                .verify_password(b"interoperable", hash.as_str())
                .is_ok()
        );
    }

    #[test]
    fn unknown_users_never_verify() {
        assert!(
            !cheap()
                .verify("decoy password for unknown users", None)
                .expect("verify")
        );
    }
}
