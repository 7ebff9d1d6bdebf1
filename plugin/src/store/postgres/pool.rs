//! A bounded pool of PostgreSQL connections, and the one place that tells a lost connection from an
//! ordinary SQL error.
//!
//! Small on purpose: connections are made on demand up to `max`, a caller waits at most
//! `ACQUIRE_TIMEOUT` for one, and a connection that broke is dropped rather than returned, so the
//! next caller gets a fresh one and the store recovers from a restart of the server by itself.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use postgres::error::SqlState;
use postgres::{Client, NoTls};

use crate::error::{Error, Result};

/// A caller waits this long for a free connection before hearing "busy".
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Unacknowledged data this old means the server is gone, even without a reset (a pulled cable).
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(10);
/// Lock waits (advisory locks included) and runaway statements end rather than hang a caller.
const SESSION_SETTINGS: &str = "SET lock_timeout = '5s'; SET statement_timeout = '15s'; \
     SET idle_in_transaction_session_timeout = '60s'";

pub struct Pool {
    config: postgres::Config,
    /// Host and port for messages; the URL itself may carry a password.
    target: String,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Client>,
    /// Connections in existence, idle or lent out.
    open: usize,
}

impl Pool {
    pub fn new(url: &str, max: usize) -> Result<Self> {
        let mut config: postgres::Config = url.parse().map_err(|e| {
            Error::invalid_config(format!("postgres.url is not a PostgreSQL URL: {e}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("dagu-auth");
        }
        Ok(Self {
            target: describe(&config),
            config,
            max: max.max(1),
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        })
    }

    /// A connection for one operation; `Unavailable` when the server cannot be reached or every
    /// connection stays busy.
    pub fn get(&self) -> Result<Conn<'_>> {
        let deadline = Instant::now() + ACQUIRE_TIMEOUT;
        let mut state = self.state.lock();
        loop {
            if let Some(client) = state.idle.pop() {
                if client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                return Ok(Conn::new(self, client));
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(client) => Ok(Conn::new(self, client)),
                    Err(error) => {
                        self.forget_one();
                        Err(error)
                    }
                };
            }
            if self.freed.wait_until(&mut state, deadline).timed_out() {
                return Err(Error::Unavailable(format!(
                    "all {} connections to the user database are busy; retry shortly",
                    self.max
                )));
            }
        }
    }

    fn connect(&self) -> Result<Client> {
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(|e| self.unreachable(&e))?;
        client
            .batch_execute(SESSION_SETTINGS)
            .map_err(|e| self.unreachable(&e))?;
        Ok(client)
    }

    fn forget_one(&self) {
        self.state.lock().open -= 1;
        self.freed.notify_one();
    }

    /// The error a caller sees for a failed PostgreSQL call.
    pub fn error(&self, e: &postgres::Error) -> Error {
        if connection_lost(e) {
            return self.unreachable(e);
        }
        match e.code() {
            Some(
                &SqlState::LOCK_NOT_AVAILABLE
                | &SqlState::QUERY_CANCELED
                | &SqlState::T_R_DEADLOCK_DETECTED
                | &SqlState::T_R_SERIALIZATION_FAILURE
                | &SqlState::TOO_MANY_CONNECTIONS,
            ) => Error::Unavailable("the user database is busy; retry shortly".into()),
            _ => Error::Storage(describe_error(e)),
        }
    }

    fn unreachable(&self, e: &postgres::Error) -> Error {
        Error::Unavailable(format!(
            "the user database (PostgreSQL at {}) is unreachable: {}; retry shortly",
            self.target,
            describe_error(e)
        ))
    }
}

/// A lent connection; it goes back to the pool on drop unless it broke.
pub struct Conn<'a> {
    pool: &'a Pool,
    client: Option<Client>,
    broken: bool,
}

impl<'a> Conn<'a> {
    fn new(pool: &'a Pool, client: Client) -> Self {
        Self {
            pool,
            client: Some(client),
            broken: false,
        }
    }

    pub fn client(&mut self) -> &mut Client {
        // Only `drop` takes the client out.
        self.client
            .as_mut()
            .expect("a lent connection holds its client")
    }

    /// Marks the connection as not worth keeping (its server went away).
    pub fn discard(&mut self) {
        self.broken = true;
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if self.broken || client.is_closed() {
            drop(client);
            self.pool.forget_one();
            return;
        }
        self.pool.state.lock().idle.push(client);
        self.pool.freed.notify_one();
    }
}

/// True when the connection itself failed (network, server restart, terminated backend), as
/// opposed to a statement the server refused.
pub fn connection_lost(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => matches!(
            *code,
            SqlState::ADMIN_SHUTDOWN
                | SqlState::CRASH_SHUTDOWN
                | SqlState::CANNOT_CONNECT_NOW
                | SqlState::CONNECTION_FAILURE
                | SqlState::CONNECTION_EXCEPTION
        ),
        // Errors without a SQLSTATE come from the client: I/O, connecting, timeouts.
        None => {
            std::error::Error::source(e).is_some_and(|source| source.is::<std::io::Error>())
                || e.to_string().starts_with("timeout")
        }
    }
}

/// The server's message with its detail, or the client error with its cause.
fn describe_error(e: &postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        (None, Some(source)) => format!("{e}: {source}"),
        (None, None) => e.to_string(),
    }
}

fn describe(config: &postgres::Config) -> String {
    use postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}
