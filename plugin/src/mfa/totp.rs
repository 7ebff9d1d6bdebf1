//! RFC 6238 time-based one-time passwords as authenticator apps make them by default: HMAC-SHA1,
//! 6 digits, 30-second steps. The HMAC is the RustCrypto `hmac` crate's; only the truncation of
//! RFC 4226 section 5.3 is written here.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: usize = 6;
/// Steps either side of now a code is still taken from: clocks of phones drift, and a code typed
/// in the last seconds of its step arrives in the next one.
pub const SKEW_STEPS: i64 = 1;
/// 160 bits, the length RFC 4226 recommends and authenticator apps expect.
pub const SECRET_BYTES: usize = 20;

/// The step a Unix time in milliseconds falls in.
pub fn step_at(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000).div_euclid(STEP_SECONDS)
}

/// The code of `step`, zero-padded to six digits.
pub fn code_at(secret: &[u8], step: i64) -> String {
    // Any key length is valid for HMAC, so this never fails.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let word = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", word % 1_000_000)
}

/// The step within ±[`SKEW_STEPS`] of `now_ms` whose code is `code`, if any, and only if it is
/// later than `last_used_step` (a code is good once). Compared in constant time.
pub fn matching_step(secret: &[u8], code: &str, now_ms: i64, last_used_step: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(now_ms);
    let mut found = None;
    for step in now - SKEW_STEPS..=now + SKEW_STEPS {
        let matches = bool::from(code_at(secret, step).as_bytes().ct_eq(code.as_bytes()));
        if matches && step > last_used_step && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding, what `otpauth://` URIs and authenticator apps use.
pub fn secret_base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// The URI authenticator apps read from a QR code (Google's Key Uri Format).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let label = format!("{}:{}", uri_escape(issuer), uri_escape(account));
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        secret_base32(secret),
        uri_escape(issuer)
    )
}

fn uri_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column, last six digits.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (unix, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(secret, step_at(unix * 1000)), code);
        }
    }

    #[test]
    fn a_code_is_taken_one_step_either_side_and_never_again() {
        let secret = b"12345678901234567890";
        let now_ms = 1_234_567_890_000;
        let now = step_at(now_ms);
        for step in [now - 1, now, now + 1] {
            assert_eq!(
                matching_step(secret, &code_at(secret, step), now_ms, 0),
                Some(step)
            );
        }
        for step in [now - 2, now + 2] {
            assert_eq!(
                matching_step(secret, &code_at(secret, step), now_ms, 0),
                None
            );
        }
        assert_eq!(
            matching_step(secret, &code_at(secret, now), now_ms, now),
            None
        );
        assert_eq!(matching_step(secret, "12345", now_ms, 0), None);
    }

    #[test]
    fn the_uri_names_issuer_account_and_parameters() {
        let uri = otpauth_uri("Dagu", "ann smith", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Dagu:ann%20smith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Dagu\
             &algorithm=SHA1&digits=6&period=30"
        );
    }
}
