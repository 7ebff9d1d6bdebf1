//! Two-factor sign-in's building blocks, free of the Engine: the RFC 6238 codes, the keys that
//! seal TOTP secrets and digest recovery codes, and the making of recovery codes and sign-in
//! challenges. The rules (who must enrol, when a code counts) are in `service::mfa`.

mod keys;
pub mod totp;

pub use keys::{MfaKeys, normalize_recovery_code};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;
/// Characters a recovery code is made of: lowercase letters and digits without look-alikes
/// (0/o, 1/l), 5 bits each.
const RECOVERY_ALPHABET: &[u8; 32] = b"23456789abcdefghijkmnpqrstuvwxyz";
/// 10 characters, 50 bits: beyond guessing within any sign-in limit, short enough to type.
const RECOVERY_CHARS: usize = 10;

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no OS randomness: {e}")))?;
    Ok(bytes)
}

/// A fresh TOTP secret.
pub fn new_secret() -> Result<[u8; totp::SECRET_BYTES]> {
    random_bytes()
}

/// Fresh recovery codes, shown as `xxxxx-xxxxx`.
pub fn new_recovery_codes() -> Result<Vec<String>> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes: [u8; RECOVERY_CHARS] = random_bytes()?;
            let chars: String = bytes
                .iter()
                .map(|b| RECOVERY_ALPHABET[usize::from(b & 31)] as char)
                .collect();
            Ok(format!("{}-{}", &chars[..5], &chars[5..]))
        })
        .collect()
}

/// A sign-in challenge: the token handed to the client (`<user id>.<random>`, so the second step
/// finds its user) and the digest stored in its place.
pub fn new_challenge(user_id: &str) -> Result<(String, String)> {
    let random: [u8; 32] = random_bytes()?;
    let token = format!(
        "{user_id}.{}",
        data_encoding::BASE64URL_NOPAD.encode(&random)
    );
    let digest = challenge_digest(&token);
    Ok((token, digest))
}

pub fn challenge_digest(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

/// The user id a challenge token names, if it has the shape of one.
pub fn challenge_user(token: &str) -> Option<&str> {
    token
        .rsplit_once('.')
        .map(|(user, _)| user)
        .filter(|user| !user.is_empty())
}
