//! Session tokens: HS256 JWTs with Dagu's claims plus `jti`.
//!
//! Signing and verification are a pre-keyed HMAC and a minimal claims parse rather than a JWT crate:
//! verification runs on every `authorize` and costs ~0.4 us this way against ~1.4 us through
//! jsonwebtoken 11 (which also panics at run time when built without a crypto backend feature).
//! Only HS256 is accepted, so `alg: none` and algorithm confusion fail.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::MIN_SECRET_BYTES;
use crate::error::{Error, Result};
use crate::model::Role;

const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// Tolerated clock difference between hosts that share a secret.
const IAT_LEEWAY_SECS: i64 = 60;
const SECRET_FILE: &str = "token_secret";
/// HMAC-SHA256 output.
const SIGNATURE_BYTES: usize = 32;
/// Dagu's claims take ~250 bytes; longer payloads (long usernames) fall back to the heap.
const PAYLOAD_STACK_BYTES: usize = 768;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub uid: String,
    pub username: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported token algorithm")]
    Algorithm,
    #[error("bad token signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token issued in the future")]
    NotYetValid,
}

pub struct TokenCodec {
    mac: Hmac<Sha256>,
    header_b64: String,
    ttl: Duration,
}

/// The HMAC of a token that verified under our key: it stands for exactly one payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; SIGNATURE_BYTES]);

/// A token whose signature verified; its claims are not parsed yet.
pub struct Verified<'a> {
    pub signature: Signature,
    payload_b64: &'a str,
}

impl Verified<'_> {
    /// Parses the claims and checks them against the time.
    pub fn claims(&self, now_secs: i64) -> Result<Claims, TokenError> {
        let claims = parse_claims(self.payload_b64)?;
        check_times(claims.exp, claims.iat, now_secs)?;
        Ok(claims)
    }
}

/// Expiry and issue time, checked on every use (cached sessions included).
pub fn check_times(exp: i64, iat: i64, now_secs: i64) -> Result<(), TokenError> {
    if exp <= now_secs {
        return Err(TokenError::Expired);
    }
    if iat > now_secs + IAT_LEEWAY_SECS {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

impl TokenCodec {
    pub fn new(secret: &[u8], ttl: Duration) -> Result<Self> {
        let mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|e| Error::invalid_config(format!("token secret: {e}")))?;
        Ok(Self {
            mac,
            header_b64: B64.encode(HEADER_JSON),
            ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs claims; the caller fills `iat`, `exp` and `jti`.
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let payload = serde_json::to_vec(claims).map_err(|e| Error::Internal(e.to_string()))?;
        let signing_input = format!("{}.{}", self.header_b64, B64.encode(payload));
        let mut mac = self.mac.clone();
        mac.update(signing_input.as_bytes());
        let signature = B64.encode(mac.finalize().into_bytes());
        Ok(format!("{signing_input}.{signature}"))
    }

    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Claims, TokenError> {
        self.verify_signature(token)?.claims(now_secs)
    }

    /// The header and the signature, without parsing the claims: the `authorize` path.
    pub fn verify_signature<'a>(&self, token: &'a str) -> Result<Verified<'a>, TokenError> {
        // Two short scans (the header from the front, the signature from the back) rather than a
        // split over the whole token. Extra dots inside the payload need no check of their own:
        // the signing input is HMAC-verified, and we never sign one with a dot in it.
        let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = signing_input.split_once('.').ok_or(TokenError::Malformed)?;
        if header != self.header_b64 {
            check_header(header)?;
        }
        // Decoded on the stack: this runs on every token the cache does not know yet, and heap
        // buffers were a visible share of it.
        let mut expected = [0u8; SIGNATURE_BYTES];
        match B64.decode_slice(signature, &mut expected) {
            Ok(SIGNATURE_BYTES) => {}
            _ => return Err(TokenError::Malformed),
        }
        let mut mac = self.mac.clone();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&expected)
            .map_err(|_| TokenError::Signature)?;
        Ok(Verified {
            signature: Signature(expected),
            payload_b64: payload,
        })
    }
}

/// Decodes and checks a payload whose signature verified.
fn parse_claims(payload_b64: &str) -> Result<Claims, TokenError> {
    let mut stack = [0u8; PAYLOAD_STACK_BYTES];
    let heap;
    let payload = match B64.decode_slice(payload_b64, &mut stack) {
        Ok(len) => &stack[..len],
        Err(_) => {
            heap = B64.decode(payload_b64).map_err(|_| TokenError::Malformed)?;
            &heap[..]
        }
    };
    let claims: Claims = serde_json::from_slice(payload).map_err(|_| TokenError::Malformed)?;
    if claims.sub != claims.uid || claims.jti.is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(claims)
}

/// The keyed digest API keys are stored and looked up by. Keyed with a value derived from the token
/// secret, so a copy of the database alone cannot even confirm a guessed key; hosts that share the
/// secret share the digests. Rotating the secret therefore also retires every API key.
pub struct ApiKeyDigest {
    mac: Hmac<Sha256>,
}

impl ApiKeyDigest {
    pub fn new(secret: &[u8]) -> Result<Self> {
        let mut derive = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|e| Error::invalid_config(format!("token secret: {e}")))?;
        derive.update(b"dagu-auth/api-key-digest/v1");
        let key = derive.finalize().into_bytes();
        let mac =
            Hmac::<Sha256>::new_from_slice(&key).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Self { mac })
    }

    /// Lowercase hex of HMAC-SHA256(derived key, api key).
    pub fn digest(&self, api_key: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(api_key.as_bytes());
        // By table rather than `format!` per byte: this runs on every API-key `authorize`.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(2 * SIGNATURE_BYTES);
        for byte in mac.finalize().into_bytes() {
            hex.push(HEX[usize::from(byte >> 4)] as char);
            hex.push(HEX[usize::from(byte & 0x0f)] as char);
        }
        hex
    }
}

/// Another host may encode the same header differently; only the algorithm matters.
fn check_header(header_b64: &str) -> Result<(), TokenError> {
    #[derive(Deserialize)]
    struct Header {
        alg: String,
    }
    let bytes = B64.decode(header_b64).map_err(|_| TokenError::Malformed)?;
    let header: Header = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    match header.alg.as_str() {
        "HS256" => Ok(()),
        _ => Err(TokenError::Algorithm),
    }
}

/// Reads `<auth_dir>/token_secret`, creating it (0600, atomically) when missing.
pub fn load_or_create_secret(auth_dir: &Path) -> Result<Vec<u8>> {
    let path = auth_dir.join(SECRET_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => return secret_from_file(&path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::invalid_config(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no OS randomness: {e}")))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();

    // Write a private temp file, then hard-link it into place: link fails if another process won the
    // race, and then everyone uses the winner's secret.
    let temp = auth_dir.join(format!(".{SECRET_FILE}.{}", uuid::Uuid::new_v4()));
    let write = || -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(secret.as_bytes())?;
        file.sync_all()
    };
    let linked = write().and_then(|()| fs::hard_link(&temp, &path));
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(secret.into_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = fs::read_to_string(&path).map_err(|e| {
                Error::invalid_config(format!("cannot read {}: {e}", path.display()))
            })?;
            secret_from_file(&path, &text)
        }
        Err(e) => Err(Error::invalid_config(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

fn secret_from_file(path: &Path, text: &str) -> Result<Vec<u8>> {
    let secret = text.trim();
    if secret.len() < MIN_SECRET_BYTES {
        return Err(Error::invalid_config(format!(
            "{} holds a secret shorter than {MIN_SECRET_BYTES} bytes",
            path.display()
        )));
    }
    Ok(secret.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn codec() -> TokenCodec {
        TokenCodec::new(SECRET, Duration::from_secs(3600)).expect("codec")
    }

    fn claims(iat: i64, exp: i64) -> Claims {
        Claims {
            sub: "u1".into(),
            uid: "u1".into(),
            username: "alice".into(),
            role: Role::Admin,
            iat,
            exp,
            jti: "j1".into(),
        }
    }

    fn forge(header: &str, claims_json: &str, secret: &[u8]) -> String {
        let input = format!("{}.{}", B64.encode(header), B64.encode(claims_json));
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("key");
        mac.update(input.as_bytes());
        format!("{input}.{}", B64.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_signed_token_verifies_and_round_trips_its_claims() {
        let token = codec().sign(&claims(100, 200)).expect("sign");
        assert_eq!(codec().verify(&token, 150), Ok(claims(100, 200)));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let token = codec().sign(&claims(100, 200)).expect("sign");
        assert_eq!(codec().verify(&token, 200), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_verified_before_is_still_refused_once_expired() {
        let codec = codec();
        let token = codec.sign(&claims(100, 200)).expect("sign");
        assert!(codec.verify(&token, 150).is_ok());
        assert_eq!(codec.verify(&token, 200), Err(TokenError::Expired));
        assert_eq!(
            codec.verify(&token, 100 - IAT_LEEWAY_SECS - 1),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn a_verified_signature_on_another_payload_is_refused() {
        let codec = codec();
        let token = codec.sign(&claims(100, 200)).expect("sign");
        assert!(codec.verify(&token, 150).is_ok());
        let mut parts: Vec<&str> = token.split('.').collect();
        let other = B64.encode(serde_json::to_vec(&claims(100, 300)).expect("json"));
        parts[1] = &other;
        assert_eq!(
            codec.verify(&parts.join("."), 150),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn tokens_issued_in_the_future_are_refused() {
        let token = codec().sign(&claims(1000, 5000)).expect("sign");
        assert_eq!(
            codec().verify(&token, 1000 - IAT_LEEWAY_SECS - 1),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn tokens_signed_with_another_secret_are_refused() {
        let other = TokenCodec::new(
            b"another secret of at least 32 bytes!",
            Duration::from_secs(1),
        )
        .expect("codec");
        let token = other.sign(&claims(100, 200)).expect("sign");
        assert_eq!(codec().verify(&token, 150), Err(TokenError::Signature));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let body = serde_json::to_string(&claims(100, 200)).expect("json");
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode(&body));
        assert_eq!(codec().verify(&none, 150), Err(TokenError::Algorithm));
        let hs512 = forge(r#"{"alg":"HS512","typ":"JWT"}"#, &body, SECRET);
        assert_eq!(codec().verify(&hs512, 150), Err(TokenError::Algorithm));
    }

    #[test]
    fn a_differently_encoded_hs256_header_is_accepted() {
        let body = serde_json::to_string(&claims(100, 200)).expect("json");
        let token = forge(r#"{"typ":"JWT","alg":"HS256"}"#, &body, SECRET);
        assert!(codec().verify(&token, 150).is_ok());
    }

    #[test]
    fn tokens_missing_claims_are_refused() {
        let token = forge(HEADER_JSON, r#"{"sub":"u1","uid":"u1","exp":200}"#, SECRET);
        assert_eq!(codec().verify(&token, 150), Err(TokenError::Malformed));
    }

    #[test]
    fn tampered_payloads_are_refused() {
        let token = codec().sign(&claims(100, 200)).expect("sign");
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut elevated = claims(100, 200);
        elevated.username = "mallory".into();
        let payload = B64.encode(serde_json::to_vec(&elevated).expect("json"));
        parts[1] = &payload;
        assert_eq!(
            codec().verify(&parts.join("."), 150),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for junk in ["", "a", "a.b", "a.b.c.d", "...", "!!.@@.##"] {
            assert!(codec().verify(junk, 150).is_err(), "{junk}");
        }
    }

    #[test]
    fn api_key_digests_depend_on_the_key_and_the_secret() {
        let one = ApiKeyDigest::new(SECRET).expect("digest");
        let other = ApiKeyDigest::new(b"another secret of at least 32 bytes!").expect("digest");
        assert_eq!(one.digest("dagu_abc"), one.digest("dagu_abc"));
        assert_ne!(one.digest("dagu_abc"), one.digest("dagu_abd"));
        assert_ne!(one.digest("dagu_abc"), other.digest("dagu_abc"));
        assert_eq!(one.digest("dagu_abc").len(), 64);
    }

    #[test]
    fn secret_file_is_created_once_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create_secret(dir.path()).expect("create");
        let second = load_or_create_secret(dir.path()).expect("read");
        assert_eq!(first, second);
        assert_eq!(first.len(), 64);
        let mode = fs::metadata(dir.path().join(SECRET_FILE))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_short_secret_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(SECRET_FILE), "short").expect("write");
        assert!(matches!(
            load_or_create_secret(dir.path()),
            Err(Error::InvalidConfig(_))
        ));
    }
}
