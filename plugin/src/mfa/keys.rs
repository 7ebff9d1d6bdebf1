//! Keys derived from the instance secret for two-factor data, so a copy of the database alone
//! reveals no TOTP secret and cannot confirm a guessed recovery code. Hosts that share the
//! instance secret share these keys; rotating the secret makes every enrolled user enrol again.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

const NONCE_BYTES: usize = 24;
/// What a sealed secret starts with, so a future format can be told apart.
const SEALED_PREFIX: &str = "v1:";

pub struct MfaKeys {
    cipher: XChaCha20Poly1305,
    recovery: Hmac<Sha256>,
}

impl MfaKeys {
    pub fn new(instance_secret: &[u8]) -> Result<Self> {
        let hkdf = Hkdf::<Sha256>::new(Some(b"dagu-auth/mfa"), instance_secret);
        let mut key = [0u8; 32];
        hkdf.expand(b"totp secret sealing v1", &mut key)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let cipher =
            XChaCha20Poly1305::new_from_slice(&key).map_err(|e| Error::Internal(e.to_string()))?;
        hkdf.expand(b"recovery code digest v1", &mut key)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let recovery =
            Hmac::<Sha256>::new_from_slice(&key).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Self { cipher, recovery })
    }

    /// `secret` encrypted for `user_id` (bound as associated data, so a sealed secret copied onto
    /// another user's row does not open), as text for a JSON column.
    pub fn seal(&self, user_id: &str, secret: &[u8]) -> Result<String> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)
            .map_err(|e| Error::Internal(format!("no OS randomness: {e}")))?;
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| Error::Internal("cannot seal a TOTP secret".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!(
            "{SEALED_PREFIX}{}",
            data_encoding::BASE64URL_NOPAD.encode(&bytes)
        ))
    }

    /// The secret `seal` made for `user_id`; an error (never the bytes) when it was sealed under
    /// another instance secret or for another user.
    pub fn open(&self, user_id: &str, sealed: &str) -> Result<Vec<u8>> {
        let unreadable = || {
            Error::Storage(format!(
                "the TOTP secret of user {user_id} cannot be opened (was the instance secret changed?)"
            ))
        };
        let text = sealed.strip_prefix(SEALED_PREFIX).ok_or_else(unreadable)?;
        let bytes = data_encoding::BASE64URL_NOPAD
            .decode(text.as_bytes())
            .map_err(|_| unreadable())?;
        if bytes.len() < NONCE_BYTES {
            return Err(unreadable());
        }
        let (nonce, body) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| unreadable())?;
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: body,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| unreadable())
    }

    /// Hex of HMAC-SHA256(derived key, normalized code). Recovery codes are random and long, so a
    /// keyed hash is enough; a slow password hash would only slow sign-in.
    pub fn recovery_digest(&self, code: &str) -> String {
        let mut mac = self.recovery.clone();
        mac.update(normalize_recovery_code(code).as_bytes());
        data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
    }
}

/// Recovery codes are typed by hand: case, spaces and dashes do not matter.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_user_and_instance() {
        let keys = MfaKeys::new(b"0123456789abcdef0123456789abcdef").expect("keys");
        let sealed = keys.seal("u1", b"secret bytes").expect("seal");
        assert!(!sealed.contains("secret"));
        assert_eq!(keys.open("u1", &sealed).expect("open"), b"secret bytes");
        assert!(keys.open("u2", &sealed).is_err());
        let other = MfaKeys::new(b"another instance secret, 32 bytes").expect("keys");
        assert!(other.open("u1", &sealed).is_err());
    }

    #[test]
    fn recovery_digests_ignore_case_and_separators() {
        let keys = MfaKeys::new(b"0123456789abcdef0123456789abcdef").expect("keys");
        assert_eq!(
            keys.recovery_digest("abcd-efgh-jk"),
            keys.recovery_digest(" ABCD EFGH JK ")
        );
        assert_ne!(keys.recovery_digest("abcd"), keys.recovery_digest("abce"));
    }
}
