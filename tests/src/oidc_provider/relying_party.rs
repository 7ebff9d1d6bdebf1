//! The relying party's half of an authorization-code flow with PKCE, as the plugin runs it:
//! for the harness's own test and for tests and benchmarks that need the provider's answers
//! without the plugin (e.g. the token endpoint's own time).

use std::hash::{BuildHasher, Hasher, RandomState};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::OidcProvider;
use crate::http::Response;

/// One authorization request: its scope, state, nonce and PKCE verifier.
#[derive(Clone, Debug)]
pub struct CodeFlow {
    /// `openid email profile groups` unless changed.
    pub scope: String,
    /// A fresh `state`.
    pub state: String,
    /// A fresh `nonce`.
    pub nonce: String,
    /// A fresh PKCE `code_verifier` (its S256 challenge goes in the authorization URL).
    pub verifier: String,
}

impl Default for CodeFlow {
    fn default() -> Self {
        Self::new()
    }
}

/// A value no earlier request used. The standard library's hasher keys are random per
/// `RandomState`, which is enough for test values (the crate has no RNG of its own).
fn fresh_value(label: &str) -> String {
    let part = || RandomState::new().build_hasher().finish();
    format!("{label}-{:016x}{:016x}{:016x}", part(), part(), part())
}

impl CodeFlow {
    /// A flow with fresh state, nonce and verifier.
    pub fn new() -> CodeFlow {
        CodeFlow {
            scope: "openid email profile groups".to_owned(),
            state: fresh_value("state"),
            nonce: fresh_value("nonce"),
            verifier: fresh_value("verifier"),
        }
    }

    /// The same flow asking for `scope`.
    pub fn scope(mut self, scope: &str) -> CodeFlow {
        self.scope = scope.to_owned();
        self
    }

    /// The provider's authorization URL for this flow, coming back to `redirect_uri`.
    pub fn authorization_url(&self, provider: &OidcProvider, redirect_uri: &str) -> String {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()));
        let query = form(&[
            ("response_type", "code"),
            ("client_id", provider.client_id()),
            ("redirect_uri", redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        let endpoint = provider.endpoint_path("authorization_endpoint");
        format!("{}{endpoint}?{query}", provider.client().base_url())
    }

    /// Exchanges `code` at the token endpoint with the client secret (HTTP Basic) and this
    /// flow's verifier.
    pub fn exchange(&self, provider: &OidcProvider, redirect_uri: &str, code: &str) -> Response {
        let credentials = STANDARD.encode(format!(
            "{}:{}",
            provider.client_id(),
            provider.client_secret()
        ));
        let authorization = format!("Basic {credentials}");
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", &self.verifier),
        ]);
        provider.client().send(
            "POST",
            &provider.endpoint_path("token_endpoint"),
            &[
                ("Authorization", &authorization),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(body.as_bytes()),
        )
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `application/x-www-form-urlencoded` (also a URL query).
pub fn form(pairs: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect();
    encoded.join("&")
}

/// The decoded name/value pairs of a URL's query (`a=1&b=2`, or a whole URL with `?`).
pub fn query_pairs(url_or_query: &str) -> Vec<(String, String)> {
    let query = match url_or_query.split_once('?') {
        Some((_, query)) => query,
        None => url_or_query,
    };
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (percent_decode(name), percent_decode(value)))
        .collect()
}

/// The first value of `name` in decoded query pairs.
pub fn query_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The header and the claims of a JWT, decoded but not verified.
pub fn jwt_parts(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let mut decode = || {
        let part = parts.next().expect("a JWT part");
        let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url JWT part");
        serde_json::from_slice::<Value>(&bytes).expect("a JSON JWT part")
    };
    (decode(), decode())
}
