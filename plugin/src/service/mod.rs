//! The Engine: every operation with its rules. The C, Rust and HTTP layers only translate to and
//! from it. This file builds and holds the Engine; each operation lives in the file named for it.

mod apikeys;
mod audit;
mod audit_append;
mod auth;
mod backup;
mod cache;
mod folders;
mod maintenance;
mod mfa;
mod operator;
mod session;
mod session_controls;
mod setup;
mod signin_limits;
mod sso;
mod users;
mod wire;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

pub use audit::OPERATOR;
pub use auth::Credentials;
pub use backup::{SERVER_LOCK_FILE, scheduled_name};
pub use session_controls::SignInOrigin;
pub use setup::SETUP_CODE_REQUIRED;
pub use sso::{SsoSession, SsoSignIn};
pub use wire::{
    ApiKeyCreated, ApiKeyEnvelope, ApiKeysEnvelope, AuditPage, AuditRequest, CreateApiKeyRequest,
    CreateUserRequest, EndedSessions, ImportOutcome, LoginResponse, ManagedProviders, MessageBody,
    OperatorCommand, SessionsEnvelope, UpdateApiKeyRequest, UpdateUserRequest, UserEnvelope,
    UsersEnvelope, UsersPage,
};
pub use wire::{RecoveryCodes, SignInStep, TotpSetup};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::Result;
use crate::mfa::MfaKeys;
use crate::password::PasswordHashing;
use crate::ratelimit::LoginLimiter;
use crate::store::{self, Store};
use crate::token::{self, ApiKeyDigest, TokenCodec};
use cache::{Freshness, PrincipalCache, RenderedLists};
use maintenance::{Maintenance, Sweeps};
use session_controls::SessionUse;

pub struct Engine {
    config: Config,
    store: Arc<dyn Store>,
    tokens: TokenCodec,
    key_digest: ApiKeyDigest,
    mfa_keys: MfaKeys,
    maintenance: Maintenance,
    hashing: PasswordHashing,
    limiter: LoginLimiter,
    clock: Arc<dyn Clock>,
    cache: PrincipalCache,
    /// User lists as last rendered, valid while `cache`'s generation stands.
    user_lists: RenderedLists,
    session_use: SessionUse,
    /// Bytes per user of the last full JSON list, to size the next one's buffer.
    user_json_bytes: AtomicUsize,
    /// The OpenID provider's client, when `oidc` is configured.
    oidc: Option<crate::sso::oidc::OidcClient>,
}

impl Engine {
    pub fn open(config: Config) -> Result<Self> {
        Self::open_with_clock(config, Arc::new(SystemClock))
    }

    pub fn open_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self> {
        let auth_dir = config.data_dir.join("auth");
        folders::create_private(&auth_dir, "the data folder")?;
        let store = store::open(&config.store, &auth_dir)?;
        let secret = match &config.token_secret {
            Some(secret) => secret.clone(),
            None => token::load_or_create_secret(&auth_dir)?,
        };
        let tokens = TokenCodec::new(&secret, config.token_ttl)?;
        let key_digest = ApiKeyDigest::new(&secret)?;
        let mfa_keys = MfaKeys::new(&secret)?;
        let hashing = PasswordHashing::new(&config.argon2, config.hashing)?;
        let freshness = Freshness::new(
            store.change_counter()?,
            clock.now_ms(),
            config.store.outage_grace(),
        );
        let session_use = SessionUse::new(config.token_idle_timeout);
        let maintenance = Maintenance::start(
            Arc::clone(&store),
            Arc::clone(&clock),
            Sweeps {
                audit_retention_days: config.audit_retention_days,
                idle_timeout_ms: session_use.idle_timeout_ms,
                backup: config.backup.clone(),
            },
        );
        let engine = Self {
            store,
            tokens,
            key_digest,
            mfa_keys,
            maintenance,
            hashing,
            limiter: LoginLimiter::new(config.login_limits.clone()),
            cache: PrincipalCache::new(freshness),
            user_lists: RenderedLists::default(),
            session_use,
            user_json_bytes: AtomicUsize::new(users::USER_JSON_BYTES_GUESS),
            oidc: config.oidc.clone().map(crate::sso::oidc::OidcClient::new),
            clock,
            config,
        };
        engine.create_initial_admin()?;
        Ok(engine)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
