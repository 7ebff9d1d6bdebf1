//! What an [`OidcProvider`](super::OidcProvider) starts with: its accounts, its client and its
//! claims, and the keys its ID tokens can be signed with.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

/// The password of every [`OidcAccount`] unless set otherwise.
pub const ACCOUNT_PASSWORD: &str = "Provider-Pass-7272-lantern";

/// One account of the provider, signing in at its login form with `username` and `password`.
#[derive(Clone, Debug)]
pub struct OidcAccount {
    /// The `sub` claim.
    pub sub: String,
    /// What is typed into the provider's login form.
    pub username: String,
    /// What is typed into the provider's login form.
    pub password: String,
    /// The `email` claim, left out when `None`.
    pub email: Option<String>,
    /// The `email_verified` claim.
    pub email_verified: bool,
    /// The `preferred_username` claim, left out when `None`.
    pub preferred_username: Option<String>,
    /// The `name` claim, left out when `None`.
    pub name: Option<String>,
    /// The groups claim (named by [`OidcOptions::groups_claim`]), left out when `None`.
    pub groups: Option<Vec<String>>,
    /// Further claims, granted with the `profile` scope (e.g. for `role_attribute_path`).
    pub extra_claims: Map<String, Value>,
}

impl OidcAccount {
    /// An account with `sub` `sub-<username>`, [`ACCOUNT_PASSWORD`], a verified `email`,
    /// `preferred_username` and `name` equal to `username`, and no groups.
    pub fn new(username: &str, email: &str) -> Self {
        OidcAccount {
            sub: format!("sub-{username}"),
            username: username.to_owned(),
            password: ACCOUNT_PASSWORD.to_owned(),
            email: Some(email.to_owned()),
            email_verified: true,
            preferred_username: Some(username.to_owned()),
            name: Some(username.to_owned()),
            groups: None,
            extra_claims: Map::new(),
        }
    }

    /// Sets the groups claim.
    pub fn groups(mut self, groups: &[&str]) -> Self {
        self.groups = Some(groups.iter().map(|g| (*g).to_owned()).collect());
        self
    }

    /// Sets the `sub` claim.
    pub fn subject(mut self, sub: &str) -> Self {
        self.sub = sub.to_owned();
        self
    }

    /// Sets or removes the `email` claim.
    pub fn email(mut self, email: Option<&str>) -> Self {
        self.email = email.map(str::to_owned);
        self
    }

    /// Sets or removes the `preferred_username` claim.
    pub fn preferred_username(mut self, name: Option<&str>) -> Self {
        self.preferred_username = name.map(str::to_owned);
        self
    }

    /// Adds a claim granted with the `profile` scope.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.extra_claims.insert(name.to_owned(), value);
        self
    }

    pub(super) fn to_json(&self) -> Value {
        json!({
            "sub": self.sub,
            "username": self.username,
            "password": self.password,
            "email": self.email,
            "email_verified": self.email_verified,
            "preferred_username": self.preferred_username,
            "name": self.name,
            "groups": self.groups,
            "claims": self.extra_claims,
        })
    }
}

/// How an [`OidcProvider`](super::OidcProvider) starts.
#[derive(Clone, Debug)]
pub struct OidcOptions {
    /// The port on 127.0.0.1; any free one when `None`.
    pub port: Option<u16>,
    /// A path under which the provider lives (e.g. `/realms/test`, as Keycloak's issuers have).
    pub issuer_path: String,
    /// The one confidential client.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Where the provider may send the browser back to (exact match).
    pub redirect_uris: Vec<String>,
    /// `client_secret_basic` (default) or `client_secret_post`.
    pub token_endpoint_auth_method: String,
    /// Whether an authorization request without an S256 `code_challenge` is refused.
    pub pkce_required: bool,
    /// Whether the ID token carries the scopes' claims (default), or only `sub` and the
    /// protocol claims, leaving email, groups and the rest to userinfo.
    pub claims_in_id_token: bool,
    /// The name of the groups claim (`groups` by default).
    pub groups_claim: String,
    /// The scope that grants the groups claim: `groups` by default, `profile` for a relying
    /// party that asks only for Dagu's default scopes (`openid profile email`).
    pub groups_scope: String,
    /// The accounts.
    pub accounts: Vec<OidcAccount>,
    /// A private RSA key as a JWK file (copied; rotation never writes it); a fresh key when
    /// `None`.
    pub signing_key: Option<PathBuf>,
}

impl Default for OidcOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OidcOptions {
    /// Client `dagu-auth-test` with a fixed secret, PKCE required, claims in the ID token, no
    /// redirect URIs and no accounts yet.
    pub fn new() -> Self {
        OidcOptions {
            port: None,
            issuer_path: String::new(),
            client_id: "dagu-auth-test".to_owned(),
            client_secret: "dagu-auth-test-secret-0123456789".to_owned(),
            redirect_uris: Vec::new(),
            token_endpoint_auth_method: "client_secret_basic".to_owned(),
            pkce_required: true,
            claims_in_id_token: true,
            groups_claim: "groups".to_owned(),
            groups_scope: "groups".to_owned(),
            accounts: Vec::new(),
            signing_key: None,
        }
    }

    /// Adds a redirect URI.
    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.redirect_uris.push(uri.to_owned());
        self
    }

    /// Adds an account.
    pub fn account(mut self, account: OidcAccount) -> Self {
        self.accounts.push(account);
        self
    }

    /// Listens on `port` (e.g. to come back where a stopped provider was).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Serves the issuer under `path` (starting with `/`).
    pub fn issuer_path(mut self, path: &str) -> Self {
        self.issuer_path = path.to_owned();
        self
    }

    /// Sets the groups claim's name.
    pub fn groups_claim(mut self, name: &str) -> Self {
        self.groups_claim = name.to_owned();
        self
    }

    /// Grants the groups claim with `scope` instead of the `groups` scope.
    pub fn groups_scope(mut self, scope: &str) -> Self {
        self.groups_scope = scope.to_owned();
        self
    }

    /// Leaves email, groups and the other scope claims to userinfo.
    pub fn claims_only_in_userinfo(mut self) -> Self {
        self.claims_in_id_token = false;
        self
    }
}

/// Which key signs the ID tokens the token endpoint issues. The JWKS publishes the provider's
/// own key whichever is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningKey {
    /// The provider's own, published key.
    Published,
    /// A key of a second provider, under its own `kid`, which the JWKS does not list.
    Foreign,
    /// A second provider's key under the published key's `kid`: only the signature check can
    /// tell.
    ForeignWithPublishedKid,
}

impl SigningKey {
    pub(super) fn wire_name(self) -> &'static str {
        match self {
            SigningKey::Published => "signing",
            SigningKey::Foreign => "foreign",
            SigningKey::ForeignWithPublishedKid => "foreign-same-kid",
        }
    }
}
