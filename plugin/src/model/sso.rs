//! Who signed a user in: the plugin itself (a password) or an external identity (an OpenID
//! provider or an authenticating proxy), and the key that finds that identity again.

use std::fmt;
use std::str::FromStr;

/// Dagu's `UserAuthProvider` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthProvider {
    Builtin,
    Oidc,
    Proxy,
}

impl AuthProvider {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::Oidc => "oidc",
            Self::Proxy => "proxy",
        }
    }
}

impl fmt::Display for AuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthProvider {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Builtin, Self::Oidc, Self::Proxy]
            .into_iter()
            .find(|provider| provider.as_str() == text)
            .ok_or_else(|| format!("unknown auth provider {text:?}"))
    }
}

/// The external identity a user was provisioned from, and is found by at every later sign-in:
/// (issuer, subject) for OIDC, (source, user header value) for the proxy. Never an email or a
/// username, which the identity's owner may change to someone else's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SsoIdentity {
    /// `Oidc` or `Proxy`, never `Builtin`.
    pub provider: AuthProvider,
    /// The OIDC issuer URL, or the proxy's configured `source` label.
    pub issuer: String,
    pub subject: String,
}
