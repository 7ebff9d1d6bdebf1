//! SSO sign-in: an identity an OpenID provider or a trusted proxy vouched for becomes a session of
//! an ordinary user, found by its identity, provisioned at its first sign-in, and re-mapped to a
//! role and workspaces at every later one unless `skip_org_role_sync`. The doors (`http`) only
//! gather the identity; every rule is here.

use serde_json::json;

use super::Engine;
use super::audit::{Actor, Event};
use super::wire::{LoginResponse, ManagedProviders};
use crate::error::{Error, Result};
use crate::model::{AuthProvider, SsoIdentity, UserRecord, validate_username};
use crate::sso::oidc::Authorization;
use crate::sso::provisioning::{
    AUTO_SIGNUP_DISABLED, EMAIL_NOT_ALLOWED, EMAIL_REQUIRED, NO_ROLE_FOUND, USER_DISABLED,
    candidate, username_bases,
};
use crate::sso::{Assignment, Provisioning, RoleMapping, SSO_FEATURE, groups_in_claims};
use crate::store::UpdateEffects;

/// Dagu's refusal without the `sso` licence feature.
pub const SSO_LICENSE_REQUIRED: &str = "SSO requires an active Dagu license";
/// SSO never creates the first user: that one is the admin, made by setup.
pub const SETUP_REQUIRED: &str = "initial setup is required before signing in with SSO";
/// Numbered candidates tried per username base before the next base.
const MAX_SUFFIX: usize = 99;

/// An identity a provider vouched for, with what it says about the person.
#[derive(Debug, Clone)]
pub struct SsoSignIn<'a> {
    pub identity: SsoIdentity,
    pub email: Option<&'a str>,
    pub preferred_username: Option<&'a str>,
    pub groups: Vec<String>,
    /// Every claim (OIDC), for `role_attribute_path`; null for the proxy.
    pub claims: serde_json::Value,
    pub client_ip: &'a str,
}

/// A signed-in SSO user, and whether this sign-in created them (Dagu's `?welcome=true`).
#[derive(Debug, Clone)]
pub struct SsoSession {
    pub login: LoginResponse,
    pub new_user: bool,
}

impl Engine {
    /// The licence gate of both SSO doors.
    pub fn require_sso_license(&self) -> Result<()> {
        match self.config.has_feature(SSO_FEATURE) {
            true => Ok(()),
            false => Err(Error::Forbidden(SSO_LICENSE_REQUIRED.into())),
        }
    }

    /// Signs in the user behind `sign_in` under `provisioning`. Refusals are `Forbidden` with
    /// Dagu's words, which the OIDC door shows on its login page.
    pub fn sso_sign_in(
        &self,
        provisioning: &Provisioning,
        sign_in: SsoSignIn<'_>,
    ) -> Result<SsoSession> {
        self.require_sso_license()?;
        if self.store.user_count()? == 0 {
            return Err(Error::Forbidden(SETUP_REQUIRED.into()));
        }
        if provisioning.email_required {
            let email = sign_in.email.filter(|email| !email.trim().is_empty());
            let email = email.ok_or_else(|| self.refuse(&sign_in, None, EMAIL_REQUIRED))?;
            if !provisioning.email_allowed(email.trim(), &sign_in.claims) {
                return Err(self.refuse(&sign_in, None, EMAIL_NOT_ALLOWED));
            }
        }
        let mapping = &provisioning.mapping;
        let (user, new_user) = match self.store.user_by_sso_identity(&sign_in.identity)? {
            Some(user) => (self.returning(mapping, &sign_in, user)?, false),
            None if !provisioning.auto_signup => {
                return Err(self.refuse(&sign_in, None, AUTO_SIGNUP_DISABLED));
            }
            None => {
                let assigned = mapping
                    .assign(&sign_in.groups, &sign_in.claims)
                    .ok_or_else(|| self.refuse(&sign_in, None, NO_ROLE_FOUND))?;
                self.provision(mapping, &sign_in, assigned)?
            }
        };
        let actor = Actor::account(&user, sign_in.client_ip);
        let details = json!({"auth_provider": sign_in.identity.provider.as_str()});
        let entry = self.audit_entry(&actor, Event::user("login", &user.id).details(details));
        let login = self.start_session(user, Some(&entry))?;
        Ok(SsoSession { login, new_user })
    }

    /// Which providers overwrite a user's role, and workspace access, at every sign-in.
    pub fn managed_providers(&self) -> ManagedProviders {
        let mut managed = ManagedProviders::default();
        if !self.config.has_feature(SSO_FEATURE) {
            return managed;
        }
        let providers = [
            (
                AuthProvider::Oidc,
                self.config.oidc.as_ref().map(|o| &o.provisioning),
            ),
            (
                AuthProvider::Proxy,
                self.config.proxy.as_ref().map(|p| &p.provisioning),
            ),
        ];
        for (provider, provisioning) in providers {
            let Some(mapping) = provisioning.map(|p| &p.mapping) else {
                continue;
            };
            if syncs_role(provider, mapping) {
                managed.role.push(provider);
                if provider == AuthProvider::Proxy || mapping.manages_workspace_access() {
                    managed.workspace_access.push(provider);
                }
            }
        }
        managed
    }

    /// A user an earlier sign-in provisioned: refused when disabled, else re-mapped when the
    /// provider manages roles. A strict mapping that no longer matches refuses the sign-in.
    fn returning(
        &self,
        mapping: &RoleMapping,
        sign_in: &SsoSignIn<'_>,
        user: UserRecord,
    ) -> Result<UserRecord> {
        if user.disabled {
            return Err(self.refuse(sign_in, Some(&user), USER_DISABLED));
        }
        if !syncs_role(sign_in.identity.provider, mapping) {
            return Ok(user);
        }
        let (role, access) = mapping
            .assign(&sign_in.groups, &sign_in.claims)
            .ok_or_else(|| self.refuse(sign_in, Some(&user), NO_ROLE_FOUND))?;
        if user.role == role && user.workspace_access == access {
            return Ok(user);
        }
        let now = self.now_ms();
        let synced = self.store.update_user(&user.id, &mut |stored| {
            stored.role = role;
            stored.workspace_access = access.clone();
            stored.updated_at_ms = now;
            Ok(UpdateEffects::default())
        });
        let synced = match synced {
            Ok(synced) => synced,
            // The last enabled admin keeps the role a sync would take away; the sign-in goes on,
            // as in Dagu, where a failed sync never blocks one.
            Err(Error::Conflict(_)) => return Ok(user),
            Err(e) => return Err(e),
        };
        self.cache.invalidate();
        let details = json!({
            "target_user_id": synced.id,
            "target_username": synced.username,
            "auth_provider": sign_in.identity.provider.as_str(),
            "old_role": user.role,
            "role": synced.role,
            "old_workspace_access": user.workspace_access,
            "workspace_access": synced.workspace_access,
        });
        let actor = Actor::account(&synced, sign_in.client_ip);
        self.audit(
            &actor,
            Event::user("sso_role_sync", &synced.id).details(details),
        );
        Ok(synced)
    }

    /// Creates the user for a new identity under the first free username. When another host
    /// creates the same identity at the same moment, the unique identity index lets one insert
    /// win and this sign-in goes on as that user.
    fn provision(
        &self,
        mapping: &RoleMapping,
        sign_in: &SsoSignIn<'_>,
        (role, access): Assignment,
    ) -> Result<(UserRecord, bool)> {
        let bases = username_bases(
            sign_in.preferred_username,
            sign_in.email,
            &sign_in.identity.subject,
        );
        let now = self.now_ms();
        for base in &bases {
            for n in 1..=MAX_SUFFIX {
                let Ok(username) = validate_username(&candidate(base, n)) else {
                    break;
                };
                if self.store.user_by_username(&username)?.is_some() {
                    continue;
                }
                let user = UserRecord {
                    id: uuid::Uuid::new_v4().to_string(),
                    username,
                    role,
                    workspace_access: access.clone(),
                    // No password: `login` never matches an SSO user's.
                    password_hash: String::new(),
                    disabled: false,
                    created_at_ms: now,
                    updated_at_ms: now,
                    mfa: Default::default(),
                    sso: Some(sign_in.identity.clone()),
                };
                match self.store.insert_user(&user) {
                    Ok(()) => {
                        self.cache.invalidate();
                        self.audit_provisioned(&user, sign_in);
                        return Ok((user, true));
                    }
                    Err(Error::AlreadyExists(_)) => {
                        if let Some(winner) = self.store.user_by_sso_identity(&sign_in.identity)? {
                            return Ok((self.returning(mapping, sign_in, winner)?, false));
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Err(Error::Conflict(format!(
            "no free username for {:?}",
            bases.first().map(String::as_str).unwrap_or_default()
        )))
    }

    fn audit_provisioned(&self, user: &UserRecord, sign_in: &SsoSignIn<'_>) {
        let details = json!({
            "target_user_id": user.id,
            "target_username": user.username,
            "role": user.role,
            "workspace_access": user.workspace_access,
            "auth_provider": sign_in.identity.provider.as_str(),
        });
        let actor = Actor::account(user, sign_in.client_ip);
        self.audit(
            &actor,
            Event::user("user_create", &user.id).details(details),
        );
    }

    /// `login_failed` with the reason, then the refusal the person sees.
    fn refuse(&self, sign_in: &SsoSignIn<'_>, user: Option<&UserRecord>, reason: &str) -> Error {
        let (actor, id) = match user {
            Some(user) => (Actor::account(user, sign_in.client_ip), user.id.as_str()),
            None => (Actor::nobody(sign_in.client_ip), ""),
        };
        let details = json!({
            "reason": reason,
            "auth_provider": sign_in.identity.provider.as_str(),
        });
        self.audit(
            &actor,
            Event::user("login_failed", id).failed().details(details),
        );
        Error::Forbidden(reason.into())
    }
}

/// Dagu's rule: a proxy re-syncs roles unless told not to; OIDC only when its mapping says more
/// than the default role, so an admin's edits to a user of a bare OIDC setup are kept.
fn syncs_role(provider: AuthProvider, mapping: &RoleMapping) -> bool {
    !mapping.skip_org_role_sync && (provider == AuthProvider::Proxy || mapping.is_configured())
}

impl Engine {
    /// The start of an OIDC sign-in: the provider's URL and what the browser must bring back.
    /// Refusals are the messages `/login?error=` shows.
    pub fn oidc_authorize(&self) -> std::result::Result<Authorization, String> {
        let client = self
            .oidc
            .as_ref()
            .ok_or_else(|| OIDC_NOT_CONFIGURED.to_string())?;
        self.require_sso_license().map_err(|e| e.to_string())?;
        client.authorize().map_err(String::from)
    }

    /// The end of an OIDC sign-in: the code exchanged, the ID token checked against `nonce`,
    /// userinfo read, and the person provisioned and signed in.
    pub fn oidc_sign_in(
        &self,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
        client_ip: &str,
    ) -> std::result::Result<SsoSession, String> {
        let client = self
            .oidc
            .as_ref()
            .ok_or_else(|| OIDC_NOT_CONFIGURED.to_string())?;
        self.require_sso_license().map_err(|e| e.to_string())?;
        let verified = client.finish(code, nonce, pkce_verifier)?;
        let settings = client.settings();
        let claims = &verified.claims;
        let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
        let sign_in = SsoSignIn {
            identity: SsoIdentity {
                provider: AuthProvider::Oidc,
                issuer: settings.issuer.clone(),
                subject: verified.subject.clone(),
            },
            email: text("email"),
            preferred_username: text("preferred_username"),
            groups: groups_in_claims(claims, &settings.groups_claim),
            claims: claims.clone(),
            client_ip,
        };
        match self.sso_sign_in(&settings.provisioning, sign_in) {
            Ok(session) => Ok(session),
            Err(Error::Forbidden(message)) => Err(message),
            Err(e) => Err(format!("Authentication failed: {}", public_message(&e))),
        }
    }

    /// What a login page offers besides the password form: a button per configured SSO door,
    /// with its label and the path it starts at. Public: it names no user and no secret.
    pub fn sso_buttons(&self) -> serde_json::Value {
        let oidc = self
            .config
            .oidc
            .as_ref()
            .map(|oidc| json!({"buttonLabel": oidc.button_label, "loginPath": "/oidc-login"}));
        let proxy =
            self.config.proxy.as_ref().map(
                |proxy| json!({"buttonLabel": proxy.button_label, "loginPath": "/proxy-login"}),
            );
        json!({"oidc": oidc, "proxy": proxy})
    }
}

/// What a person may read of an unexpected failure: never a database's or a file's detail.
fn public_message(error: &Error) -> &'static str {
    match error {
        Error::Unavailable(_) => "the service is temporarily unavailable",
        _ => "an unexpected error occurred",
    }
}

const OIDC_NOT_CONFIGURED: &str = "OIDC is not configured";
