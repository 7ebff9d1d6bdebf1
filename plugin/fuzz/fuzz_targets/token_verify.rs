//! Session token parsing: any text is a verified token or a TokenError, never a panic. Inputs that
//! verify must carry the claims the signer wrote (the corpus has tokens of this secret).
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use dagu_auth::token::TokenCodec;
use libfuzzer_sys::fuzz_target;

/// The secret the seed tokens in corpus/token_verify were signed with.
const SECRET: &[u8] = b"fuzz-secret-0123456789abcdef-0123456789";
/// 2026-01-01T00:00:00Z, inside the seed tokens' validity.
const NOW_SECS: i64 = 1_767_225_600;

fn codec() -> &'static TokenCodec {
    static CODEC: OnceLock<TokenCodec> = OnceLock::new();
    CODEC
        .get_or_init(|| TokenCodec::new(SECRET, Duration::from_secs(3600)).expect("a valid secret"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(claims) = codec().verify(token, NOW_SECS) {
        assert!(claims.exp > NOW_SECS && claims.sub == claims.uid && !claims.jti.is_empty());
        // What verifies must re-sign to a token that verifies the same way.
        let again = codec().sign(&claims).expect("re-sign");
        assert_eq!(codec().verify(&again, NOW_SECS).ok(), Some(claims));
    }
});
