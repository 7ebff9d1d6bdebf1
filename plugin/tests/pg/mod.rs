//! PostgreSQL for tests: a private schema per test in the database named by
//! `DAGU_AUTH_TEST_POSTGRES_URL`, and a TCP relay that can be cut to fake an outage.
//!
//! Without that variable (or in a build without the `postgres` feature) a test skips with the
//! reason printed, and fails instead under `DAGU_AUTH_REQUIRE_ALL=1`.

#![allow(dead_code)]

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use parking_lot::Mutex;

pub const URL_VAR: &str = "DAGU_AUTH_TEST_POSTGRES_URL";

/// Skips (returns `None`) or, when every tool is required, fails.
pub fn skip(reason: &str) -> Option<Schema> {
    if std::env::var("DAGU_AUTH_REQUIRE_ALL").is_ok_and(|v| v == "1") {
        panic!("DAGU_AUTH_REQUIRE_ALL=1 but the PostgreSQL test cannot run: {reason}");
    }
    eprintln!("skipped: {reason}");
    None
}

/// A schema of its own in the test database, dropped when the test ends.
pub struct Schema {
    admin_url: String,
    pub name: String,
    /// The test database's URL with `search_path` set to this schema.
    pub url: String,
}

/// A fresh schema, or `None` (after saying why) when no server is configured.
pub fn schema() -> Option<Schema> {
    if !cfg!(feature = "postgres") {
        return skip("dagu-auth was built without the `postgres` feature");
    }
    let Some(admin_url) = std::env::var(URL_VAR).ok().filter(|u| !u.is_empty()) else {
        return skip(&format!(
            "{URL_VAR} is not set (a PostgreSQL URL for tests)"
        ));
    };
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "dagu_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but PostgreSQL is unreachable: {e}"));
    admin
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .expect("create a test schema");
    let url = with_param(&admin_url, &format!("options=-csearch_path%3D{name}"));
    Some(Schema {
        admin_url,
        name,
        url,
    })
}

impl Schema {
    /// The schema's URL with one more query parameter (`application_name=...`).
    pub fn url_with(&self, param: &str) -> String {
        with_param(&self.url, param)
    }

    /// Runs SQL in this schema as the test's own administrator.
    pub fn execute(&self, sql: &str) {
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls).expect("connect");
        client.batch_execute(sql).expect("test SQL runs");
    }

    /// Ends every server connection that carries `application_name`.
    pub fn terminate(&self, application_name: &str) -> i64 {
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls).expect("connect");
        let row = client
            .query_one(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = $1",
                &[&application_name],
            )
            .expect("terminate backends");
        row.get(0)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

fn with_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

/// A TCP relay to the test server: `cut` closes every connection and refuses new ones (an
/// outage), `restore` accepts again on the same port.
pub struct Relay {
    pub port: u16,
    target: String,
    up: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    /// Relays to the host and port of `url` (a `postgres://` URL).
    pub fn to(url: &str) -> Relay {
        let config: postgres::Config = url.parse().expect("a PostgreSQL URL");
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "127.0.0.1".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a relay port");
        let relay = Relay {
            port: listener.local_addr().expect("relay address").port(),
            target: format!("{host}:{port}"),
            up: Arc::new(AtomicBool::new(true)),
            streams: Arc::default(),
        };
        relay.serve(listener);
        relay
    }

    /// `url` with its host and port replaced by the relay's.
    pub fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let credentials = authority
            .rsplit_once('@')
            .map(|(c, _)| format!("{c}@"))
            .unwrap_or_default();
        format!("{scheme}://{credentials}127.0.0.1:{}/{path}", self.port)
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for stream in self.streams.lock().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    fn serve(&self, listener: TcpListener) {
        let (up, streams, target) = (
            Arc::clone(&self.up),
            Arc::clone(&self.streams),
            self.target.clone(),
        );
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let pairs = [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ];
                streams.lock().extend([client, server]);
                for pair in pairs {
                    if let (Ok(mut from), Ok(mut to)) = pair {
                        thread::spawn(move || {
                            let _ = io::copy(&mut from, &mut to);
                            let _ = to.shutdown(Shutdown::Both);
                        });
                    }
                }
            }
        });
    }
}
