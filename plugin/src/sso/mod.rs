//! Single sign-on under builtin auth: an OpenID provider or an authenticating reverse proxy
//! vouches for who someone is, and the Engine provisions and signs in an ordinary user for them.
//! This module holds what needs no store: the settings, the mapping from groups and claims to a
//! role and workspace access, the provisioning rules, the proxy's identity headers, and the OIDC
//! client flow (its only I/O: calls to the provider, bounded by timeouts).

mod jq;
mod mapping;
pub mod oidc;
pub mod provisioning;
pub mod proxy;

pub use jq::RoleAttributePath;
pub use mapping::{Assignment, RoleMapping, groups_in_claims};

/// The licence feature that unlocks both SSO doors, as in Dagu.
pub const SSO_FEATURE: &str = "sso";

/// Who may sign in through one provider, and with what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioning {
    /// Create a user at an identity's first sign-in (default true); otherwise only identities an
    /// earlier sign-in provisioned get in.
    pub auto_signup: bool,
    /// OIDC: the identity must carry an email, and it must pass `whitelist` / `allowed_domains`.
    pub email_required: bool,
    /// Exact email addresses admitted, case-insensitively.
    pub whitelist: Vec<String>,
    /// Email domains admitted, case-insensitively.
    pub allowed_domains: Vec<String>,
    pub mapping: RoleMapping,
}

impl Default for Provisioning {
    fn default() -> Self {
        Self {
            auto_signup: true,
            email_required: false,
            whitelist: Vec::new(),
            allowed_domains: Vec::new(),
            mapping: RoleMapping::default(),
        }
    }
}

/// `auth.oidc`: the authorization code flow against one OpenID provider.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcSettings {
    pub client_id: String,
    pub client_secret: String,
    /// This server's external base URL; the redirect URI is `<client_url>/oidc-callback`.
    pub client_url: String,
    pub issuer: String,
    pub scopes: Vec<String>,
    pub button_label: String,
    /// A dot path into the claims (Keycloak: `realm_access.roles`).
    pub groups_claim: String,
    pub provisioning: Provisioning,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<set>")
            .field("client_url", &self.client_url)
            .field("issuer", &self.issuer)
            .field("scopes", &self.scopes)
            .field("button_label", &self.button_label)
            .field("groups_claim", &self.groups_claim)
            .field("provisioning", &self.provisioning)
            .finish()
    }
}

/// `auth.proxy`: an authenticating reverse proxy that names the user in a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    /// Labels the identities: users are keyed by (source, user header value).
    pub source: String,
    pub button_label: String,
    pub user_header: String,
    /// Empty: no groups header.
    pub groups_header: String,
    pub provisioning: Provisioning,
}

pub const DEFAULT_OIDC_BUTTON_LABEL: &str = "Login with SSO";
pub const DEFAULT_PROXY_BUTTON_LABEL: &str = "Login with Proxy";
pub const DEFAULT_OIDC_SCOPES: [&str; 3] = ["openid", "profile", "email"];
pub const DEFAULT_GROUPS_CLAIM: &str = "groups";
pub const DEFAULT_PROXY_SOURCE: &str = "proxy";
pub const DEFAULT_PROXY_USER_HEADER: &str = "X-Forwarded-User";
pub const DEFAULT_PROXY_GROUPS_HEADER: &str = "X-Forwarded-Groups";
