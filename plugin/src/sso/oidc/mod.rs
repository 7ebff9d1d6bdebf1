//! The OpenID Connect authorization code flow, client side, through the `openidconnect` crate:
//! discovery (cached), the authorization URL with state, nonce and PKCE (S256), the code exchange
//! with the client secret, the ID token's checks (signature from the provider's key set, `iss`,
//! `aud`, `exp`, `nonce`), with the key set fetched again when a token names an unknown key, and
//! then userinfo. What the flow yields is an identity for the Engine to provision and sign in.

mod outbound;

use std::time::{Duration, Instant};

use base64::Engine as _;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};
use parking_lot::Mutex;
use serde_json::Value;

pub use outbound::{CALL_TIMEOUT, Outbound};

use super::OidcSettings;

/// Dagu's messages on `/login?error=`.
pub const STATE_NOT_FOUND: &str = "Authentication failed: state not found";
pub const STATE_MISMATCH: &str = "Authentication failed: state mismatch";
pub const EXCHANGE_FAILED: &str = "Authentication failed: could not exchange token";
pub const NO_ID_TOKEN: &str = "Authentication failed: no ID token";
pub const INVALID_TOKEN: &str = "Authentication failed: invalid token";
pub const NONCE_MISMATCH: &str = "Authentication failed: nonce mismatch";
/// Ours: discovery, the key set or userinfo could not be read.
pub const PROVIDER_UNAVAILABLE: &str =
    "Authentication failed: the identity provider is unavailable";

/// Discovery is read again after this, so a provider's changed endpoints are picked up.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The start of a sign-in: where to send the browser, and what it must bring back.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What the provider vouched for, ID token claims over userinfo's.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    pub subject: String,
    pub claims: Value,
}

struct Discovered {
    metadata: CoreProviderMetadata,
    fetched: Instant,
}

pub struct OidcClient {
    settings: OidcSettings,
    http: Outbound,
    discovered: Mutex<Option<Discovered>>,
}

impl OidcClient {
    pub fn new(settings: OidcSettings) -> Self {
        Self {
            settings,
            http: Outbound::new(),
            discovered: Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}/oidc-callback", self.settings.client_url)
    }

    /// The provider's authorization URL for a new sign-in.
    pub fn authorize(&self) -> Result<Authorization, &'static str> {
        let metadata = self.metadata()?;
        let client = self.client(metadata)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.settings.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges `code`, checks the ID token against `nonce`, and reads userinfo.
    pub fn finish(
        &self,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<VerifiedIdentity, &'static str> {
        let metadata = self.metadata()?;
        let client = self.client(metadata.clone())?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|_| EXCHANGE_FAILED)?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request(&self.http)
            .map_err(|_| EXCHANGE_FAILED)?;
        let id_token = tokens.id_token().ok_or(NO_ID_TOKEN)?;
        let nonce = Nonce::new(nonce.to_string());
        let verified = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.subject().to_string(),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // The provider may have rotated its keys since the key set was read.
                let metadata = self.refetch_jwks().ok_or(INVALID_TOKEN)?;
                let client = self.client(metadata)?;
                let claims = id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(verification_message)?;
                claims.subject().to_string()
            }
            Err(e) => return Err(verification_message(e)),
        };
        // Verified above; read once more as JSON for every claim, the custom ones included.
        let mut claims = jwt_payload(&id_token.to_string()).ok_or(INVALID_TOKEN)?;
        if let Some(endpoint) = metadata.userinfo_endpoint() {
            let userinfo =
                self.userinfo(endpoint.url().as_str(), tokens.access_token().secret())?;
            // The ID token's claims win; userinfo for another subject is ignored (OIDC Core 5.3.2).
            if userinfo.get("sub").and_then(Value::as_str) == Some(verified.as_str()) {
                claims = merged(userinfo, claims);
            }
        }
        Ok(VerifiedIdentity {
            subject: verified,
            claims,
        })
    }

    fn userinfo(&self, url: &str, access_token: &str) -> Result<Value, &'static str> {
        let (status, body) = self
            .http
            .get_bearer(url, access_token)
            .map_err(|_| PROVIDER_UNAVAILABLE)?;
        match status {
            200 => Ok(serde_json::from_slice(&body).unwrap_or(Value::Null)),
            _ => Err(PROVIDER_UNAVAILABLE),
        }
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
    ) -> Result<
        openidconnect::core::CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        &'static str,
    > {
        let redirect = RedirectUrl::new(self.redirect_uri()).map_err(|_| PROVIDER_UNAVAILABLE)?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// The provider's metadata and key set, discovered at most once per `METADATA_TTL`. The lock
    /// is never held across a request: two sign-ins may both discover, and the later one's
    /// answer is kept.
    fn metadata(&self) -> Result<CoreProviderMetadata, &'static str> {
        if let Some(known) = self.discovered.lock().as_ref()
            && known.fetched.elapsed() < METADATA_TTL
        {
            return Ok(known.metadata.clone());
        }
        let issuer =
            IssuerUrl::new(self.settings.issuer.clone()).map_err(|_| PROVIDER_UNAVAILABLE)?;
        let metadata = CoreProviderMetadata::discover(&issuer, &self.http)
            .map_err(|_| PROVIDER_UNAVAILABLE)?;
        *self.discovered.lock() = Some(Discovered {
            metadata: metadata.clone(),
            fetched: Instant::now(),
        });
        Ok(metadata)
    }

    /// The metadata with the key set fetched again. Not rate limited: an ID token reaches the
    /// check only from the provider's own token endpoint (the back channel, with the client
    /// secret), so only the provider can make this run, once per sign-in at most.
    fn refetch_jwks(&self) -> Option<CoreProviderMetadata> {
        let metadata = self.discovered.lock().as_ref()?.metadata.clone();
        let jwks = CoreJsonWebKeySet::fetch(metadata.jwks_uri(), &self.http).ok()?;
        let metadata = metadata.set_jwks(jwks);
        if let Some(known) = self.discovered.lock().as_mut() {
            known.metadata = metadata.clone();
        }
        Some(metadata)
    }
}

fn verification_message(error: ClaimsVerificationError) -> &'static str {
    match error {
        ClaimsVerificationError::InvalidNonce(_) => NONCE_MISMATCH,
        _ => INVALID_TOKEN,
    }
}

/// The claims of a compact JWT, read without checking it (the caller has).
fn jwt_payload(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `over`'s claims on top of `under`'s.
fn merged(under: Value, over: Value) -> Value {
    match (under, over) {
        (Value::Object(mut base), Value::Object(top)) => {
            base.extend(top);
            Value::Object(base)
        }
        (_, over) => over,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn id_token_claims_win_over_userinfo() {
        let claims = merged(
            json!({"sub": "1", "email": "u@x", "groups": ["a"]}),
            json!({"sub": "1", "email": "t@x"}),
        );
        assert_eq!(claims, json!({"sub": "1", "email": "t@x", "groups": ["a"]}));
    }

    #[test]
    fn the_payload_of_a_compact_jwt_is_read() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"s"}"#);
        assert_eq!(
            jwt_payload(&format!("h.{payload}.sig")),
            Some(json!({"sub": "s"}))
        );
        assert_eq!(jwt_payload("not-a-jwt"), None);
    }
}
