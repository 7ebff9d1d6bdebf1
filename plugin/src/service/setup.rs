//! The first admin: through setup (the API and the operator command) or from the configuration.

use serde_json::json;
use subtle::ConstantTimeEq;

use super::Engine;
use super::audit::{Actor, Event};
use super::wire::LoginResponse;
use crate::error::{Error, Result, msg};
use crate::model::{Role, UserRecord, WorkspaceAccess, validate_username};
use crate::password;

/// The answer to a missing or wrong setup code; the code itself is in the host's log.
pub const SETUP_CODE_REQUIRED: &str =
    "A setup code is required; the server printed it in its log when it started";

impl Engine {
    pub fn setup_required(&self) -> Result<bool> {
        Ok(self.store.user_count()? == 0)
    }

    /// Whether `POST /auth/setup` must carry the configured setup code: only while no user exists.
    pub fn setup_code_required(&self) -> Result<bool> {
        Ok(self.config.setup_code.is_some() && self.setup_required()?)
    }

    /// Refuses a setup over HTTP that does not carry the configured setup code. The ABIs' own
    /// `setup` calls are the host's, made in its own process, and need none.
    pub fn check_setup_code(&self, offered: Option<&str>) -> Result<()> {
        let Some(expected) = &self.config.setup_code else {
            return Ok(());
        };
        // Once a user exists the code means nothing; setup answers "already completed" as always.
        if !self.setup_required()? {
            return Ok(());
        }
        let matches = offered
            .map(str::trim)
            .is_some_and(|code| bool::from(code.as_bytes().ct_eq(expected.as_bytes())));
        match matches {
            true => Ok(()),
            false => Err(Error::Forbidden(SETUP_CODE_REQUIRED.into())),
        }
    }

    /// Creates the first admin and signs them in. Only while no user exists; of concurrent calls
    /// exactly one wins (the store checks and inserts in one transaction).
    pub fn setup(&self, username: &str, password: &str, client_ip: &str) -> Result<LoginResponse> {
        let user = self.create_first_admin(username, password, None, client_ip)?;
        self.start_session(user, None)
    }

    /// The rules of setup without a session; `operator` is recorded instead of the new admin when
    /// an operator ran it.
    pub(super) fn create_first_admin(
        &self,
        username: &str,
        password: &str,
        operator: Option<Actor<'_>>,
        client_ip: &str,
    ) -> Result<UserRecord> {
        let done = || Error::Forbidden(msg::SETUP_DONE.into());
        // Checked before the password so a finished installation reveals nothing else.
        if !self.setup_required()? {
            return Err(done());
        }
        // The password before the username, as Dagu checks them.
        let normalized = password::check_rules(&self.config.password, password, username)?;
        let username = validate_username(username).map_err(Error::BadRequest)?;
        let user = self.new_user(username, Role::Admin, WorkspaceAccess::all(), &normalized)?;
        if !self.store.insert_first_user(&user)? {
            return Err(done());
        }
        self.cache.invalidate();
        let actor = operator.unwrap_or_else(|| Actor::account(&user, client_ip));
        let details = json!({"target_user_id": user.id, "target_username": user.username});
        self.audit(
            &actor,
            Event::user("setup_admin", &user.id).details(details),
        );
        Ok(user)
    }

    /// The admin named in the configuration, created only when no user exists yet.
    pub(super) fn create_initial_admin(&self) -> Result<()> {
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
}
