//! The Engine: every operation with its rules. The C, Rust and HTTP layers only translate to and
//! from it.

mod apikeys;
mod audit;
mod auth;
mod backup;
mod cache;
mod maintenance;
mod operator;
mod packed_access;
mod session;
mod signin_limits;
mod users;

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;

pub use apikeys::{
    ApiKeyCreated, ApiKeyEnvelope, ApiKeysEnvelope, CreateApiKeyRequest, UpdateApiKeyRequest,
};
pub use audit::{AuditPage, AuditRequest};
pub use backup::{SERVER_LOCK_FILE, scheduled_name};
pub use operator::{ImportOutcome, OPERATOR, OperatorCommand};
pub use session::LoginResponse;
pub use users::{CreateUserRequest, UpdateUserRequest, UsersPage};

use crate::clock::{Clock, SystemClock, rfc3339};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::{Role, UserRecord, WorkspaceAccess, validate_username};
use crate::password::{self, PasswordHashing};
use crate::ratelimit::LoginLimiter;
use crate::store::{self, Store};
use crate::token::{self, ApiKeyDigest, TokenCodec};
use cache::PrincipalCache;
use maintenance::Maintenance;

/// How often the Engine asks the store whether another process wrote: the documented bound on how
/// long another host's revocation takes to reach this one.
pub(crate) const CROSS_PROCESS_REFRESH_MS: i64 = 1000;

/// The bearer credential of a call and where it came from (for the audit trail).
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    pub token: &'a str,
    pub client_ip: &'a str,
}

impl<'a> Credentials<'a> {
    pub fn new(token: &'a str, client_ip: &'a str) -> Self {
        Self { token, client_ip }
    }
}

/// A bare token: callers of the ABIs have no client address to give.
impl<'a> From<&'a str> for Credentials<'a> {
    fn from(token: &'a str) -> Self {
        Self {
            token,
            client_ip: "",
        }
    }
}

impl<'a> From<&'a String> for Credentials<'a> {
    fn from(token: &'a String) -> Self {
        Self::from(token.as_str())
    }
}

pub struct Engine {
    config: Config,
    store: Arc<dyn Store>,
    tokens: TokenCodec,
    key_digest: ApiKeyDigest,
    maintenance: Maintenance,
    hashing: PasswordHashing,
    limiter: LoginLimiter,
    clock: Arc<dyn Clock>,
    cache: PrincipalCache,
    last_change_check_ms: AtomicI64,
    last_change_counter: AtomicU64,
    /// When the store first failed to answer `change_counter`; `NO_OUTAGE` while it answers.
    outage_since_ms: AtomicI64,
    /// Bytes per user of the last full JSON list, to size the next one's buffer.
    user_json_bytes: AtomicUsize,
}

const NO_OUTAGE: i64 = i64::MIN;

impl Engine {
    pub fn open(config: Config) -> Result<Self> {
        Self::open_with_clock(config, Arc::new(SystemClock))
    }

    pub fn open_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self> {
        let auth_dir = config.data_dir.join("auth");
        create_private_dir(&auth_dir)?;
        let store = store::open(&config.store, &auth_dir)?;
        let secret = match &config.token_secret {
            Some(secret) => secret.clone(),
            None => token::load_or_create_secret(&auth_dir)?,
        };
        let tokens = TokenCodec::new(&secret, config.token_ttl)?;
        let key_digest = ApiKeyDigest::new(&secret)?;
        let hashing = PasswordHashing::new(&config.argon2, config.hashing)?;
        let counter = store.change_counter()?;
        let maintenance = Maintenance::start(
            Arc::clone(&store),
            Arc::clone(&clock),
            config.audit_retention_days,
            config.backup.clone(),
        );
        let engine = Self {
            store,
            tokens,
            key_digest,
            maintenance,
            hashing,
            limiter: LoginLimiter::new(config.login_limits.clone()),
            cache: PrincipalCache::default(),
            last_change_check_ms: AtomicI64::new(clock.now_ms()),
            last_change_counter: AtomicU64::new(counter),
            outage_since_ms: AtomicI64::new(NO_OUTAGE),
            user_json_bytes: AtomicUsize::new(users::USER_JSON_BYTES_GUESS),
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

    /// The admin named in the configuration, created only when no user exists yet.
    fn create_initial_admin(&self) -> Result<()> {
        let Some(initial) = &self.config.initial_admin else {
            return Ok(());
        };
        if self.store.user_count()? > 0 {
            return Ok(());
        }
        let rejected = |e: Error| Error::invalid_config(format!("initial admin: {e}"));
        let username =
            validate_username(&initial.username).map_err(|e| rejected(Error::BadRequest(e)))?;
        let normalized = password::check_rules(&self.config.password, &initial.password, &username)
            .map_err(rejected)?;
        let user = self.new_user(username, Role::Admin, WorkspaceAccess::all(), &normalized)?;
        self.store.insert_first_user(&user)?;
        self.cache.invalidate();
        Ok(())
    }

    fn new_user(
        &self,
        username: String,
        role: Role,
        access: WorkspaceAccess,
        normalized_password: &str,
    ) -> Result<UserRecord> {
        let now = self.now_ms();
        Ok(UserRecord {
            id: uuid::Uuid::new_v4().to_string(),
            username,
            role,
            workspace_access: access,
            password_hash: self.hashing.hash(normalized_password)?,
            disabled: false,
            created_at_ms: now,
            updated_at_ms: now,
        })
    }

    /// Drops cached principals when another process committed since the last look, at most once
    /// per `CROSS_PROCESS_REFRESH_MS`, so the hot path touches SQLite rarely.
    fn notice_other_writers(&self, now: i64) {
        let last = self.last_change_check_ms.load(Ordering::Relaxed);
        if now - last < CROSS_PROCESS_REFRESH_MS {
            return;
        }
        if self
            .last_change_check_ms
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        match self.store.change_counter() {
            Ok(counter) => {
                // After an outage anything may have changed, whatever the counter says.
                let outage = self.outage_since_ms.swap(NO_OUTAGE, Ordering::AcqRel) != NO_OUTAGE;
                if outage || counter != self.last_change_counter.load(Ordering::Acquire) {
                    self.cache.invalidate();
                    self.last_change_counter.store(counter, Ordering::Release);
                }
            }
            // On a storage error the cache is dropped (fail closed: every principal needs a fresh
            // read, which fails too), unless the configuration grants a grace period in which
            // principals already known keep their last known rights.
            Err(_) => {
                let since = match self.outage_since_ms.compare_exchange(
                    NO_OUTAGE,
                    now,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => now,
                    Err(since) => since,
                };
                let grace_ms = self.config.store.outage_grace().as_millis() as i64;
                if now.saturating_sub(since) >= grace_ms {
                    self.cache.invalidate();
                }
            }
        }
    }
}

/// `{"user": User}`: the body of `/auth/me`, user get, create and update.
#[derive(Debug, Clone)]
pub struct UserEnvelope(pub UserRecord);

impl Serialize for UserEnvelope {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            user: crate::model::UserView<'a>,
        }
        Body {
            user: self.0.view(),
        }
        .serialize(serializer)
    }
}

/// `{"users": [User]}`.
#[derive(Debug, Clone)]
pub struct UsersEnvelope(pub Vec<UserRecord>);

impl Serialize for UsersEnvelope {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            users: Vec<crate::model::UserView<'a>>,
        }
        Body {
            users: self.0.iter().map(UserRecord::view).collect(),
        }
        .serialize(serializer)
    }
}

/// `{"message": "..."}` for operations that only confirm.
#[derive(Debug, Clone, Serialize)]
pub struct MessageBody {
    pub message: &'static str,
}

fn create_private_dir(dir: &Path) -> Result<()> {
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).map_err(|e| {
            Error::Storage(format!(
                "cannot create the data folder {}: {e}",
                parent.display()
            ))
        })?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(Error::Storage(format!(
            "cannot create {}: {e}",
            dir.display()
        ))),
    }
}

pub(crate) fn expires_at(ms: i64) -> String {
    rfc3339(ms)
}
