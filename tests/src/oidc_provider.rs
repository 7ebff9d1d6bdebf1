//! A real OpenID provider on loopback for the OIDC tests: panva's certified `oidc-provider` (npm),
//! run by `tests/oidc/provider.mjs`, one node process per [`OidcProvider`].
//!
//! ```no_run
//! use dagu_auth_tests::oidc_provider::{OidcAccount, OidcOptions, OidcProvider};
//!
//! let options = OidcOptions::new()
//!     .redirect_uri("http://127.0.0.1:8080/oidc-callback")
//!     .account(OidcAccount::new("alice", "alice@example.com").groups(&["admins"]));
//! let Some(provider) = OidcProvider::start_or_skip(options) else {
//!     return; // node or npm is missing, and DAGU_AUTH_REQUIRE_ALL is not 1
//! };
//! let _issuer = provider.issuer();
//! let _new_kid = provider.rotate_key();
//! ```
//!
//! Without a browser, [`OidcProvider::sign_in_over_http`] signs in at the provider's forms and
//! returns the redirect back with the code.
//!
//! The package is installed with `npm ci` into `tests/oidc/node_modules` the first time it is
//! missing or its version differs from the one `tests/oidc/package.json` pins.

mod install;
mod options;
mod relying_party;
mod sign_in;

pub use install::{node_or_skip, package_dir};
pub use options::{ACCOUNT_PASSWORD, OidcAccount, OidcOptions, SigningKey};
pub use relying_party::{CodeFlow, form, jwt_parts, query_pairs, query_param};

use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::http::{Client, Response};

/// How long node may take to print its ready line (it generates a 2048-bit RSA key first).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running provider, killed on drop. When the test is panicking, the drop prints its output.
pub struct OidcProvider {
    node: PathBuf,
    child: Option<Child>,
    issuer: String,
    port: u16,
    client_id: String,
    client_secret: String,
    admin_token: String,
    client: Client,
    // What node starts with; the admin calls that a restart keeps (accounts, redirect URIs)
    // write through to it.
    config: Mutex<Value>,
    config_path: PathBuf,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    // Holds the config file, the signing key file and the logs.
    _work: TempDir,
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

impl OidcProvider {
    /// Starts a provider, or returns `None` after printing why the calling test skips (see
    /// [`node_or_skip`]).
    pub fn start_or_skip(options: OidcOptions) -> Option<OidcProvider> {
        let node = node_or_skip()?;
        Some(OidcProvider::start_with(&node, options))
    }

    /// Starts a provider; panics when node is missing (for a second provider in a test that
    /// already has a first one).
    pub fn start(options: OidcOptions) -> OidcProvider {
        let node = node_or_skip().expect("the OIDC provider needs node and npm");
        OidcProvider::start_with(&node, options)
    }

    fn start_with(node: &Path, options: OidcOptions) -> OidcProvider {
        let work = tempfile::Builder::new()
            .prefix("dagu-auth-oidc-")
            .tempdir()
            .expect("create a temporary directory");
        // Another local process must not rotate keys or swap accounts under a test.
        let admin_token = format!("admin-{:016x}", RandomState::new().build_hasher().finish());
        // The provider rewrites this file on rotation, so a caller's own key file stays as it
        // was; a restart reads the current key back from it.
        let key_path = work.path().join("signing-key.jwk");
        if let Some(given) = &options.signing_key {
            fs::copy(given, &key_path)
                .unwrap_or_else(|e| panic!("copy the signing key {}: {e}", given.display()));
        }
        let config = json!({
            "host": "127.0.0.1",
            "port": options.port.unwrap_or(0),
            "issuer_path": options.issuer_path,
            "admin_token": admin_token,
            "client": {
                "client_id": options.client_id,
                "client_secret": options.client_secret,
                "redirect_uris": options.redirect_uris,
                "token_endpoint_auth_method": options.token_endpoint_auth_method,
            },
            "pkce_required": options.pkce_required,
            "claims_in_id_token": options.claims_in_id_token,
            "groups_claim": options.groups_claim,
            "groups_scope": options.groups_scope,
            "accounts": options.accounts.iter().map(OidcAccount::to_json).collect::<Vec<_>>(),
            "signing_key": key_path,
        });
        let mut provider = OidcProvider {
            node: node.to_path_buf(),
            child: None,
            issuer: String::new(),
            port: 0,
            client_id: options.client_id,
            client_secret: options.client_secret,
            admin_token,
            client: Client::new(String::new()),
            config: Mutex::new(config),
            config_path: work.path().join("config.json"),
            stdout_path: work.path().join("stdout.log"),
            stderr_path: work.path().join("stderr.log"),
            _work: work,
        };
        provider.spawn();
        provider
    }

    fn config(&self) -> MutexGuard<'_, Value> {
        self.config
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts node on the current config (fresh logs) and waits until it is ready.
    fn spawn(&mut self) {
        let config = self.config().to_string();
        fs::write(&self.config_path, config).expect("write the provider's config");
        let child = Command::new(&self.node)
            .arg(package_dir().join("provider.mjs"))
            .arg("--config")
            .arg(&self.config_path)
            .current_dir(package_dir())
            .stdin(Stdio::null())
            .stdout(File::create(&self.stdout_path).expect("create stdout.log"))
            .stderr(File::create(&self.stderr_path).expect("create stderr.log"))
            .spawn()
            .unwrap_or_else(|e| panic!("could not start node: {e}"));
        self.child = Some(child);
        self.wait_until_ready();
    }

    /// Stops the provider if it runs and starts it again on the same port, with the same
    /// issuer, client, accounts, redirect URIs and signing key. Sessions, codes, retired keys
    /// and the other switches start over, as after a real provider's restart without a
    /// database.
    pub fn restart(&mut self) {
        self.stop();
        self.config()["port"] = json!(self.port);
        self.spawn();
    }

    /// Waits for `READY <issuer> <kid>` on stdout.
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let stdout = read_lossy(&self.stdout_path);
            if let Some(issuer) = stdout
                .lines()
                .find_map(|line| line.strip_prefix("READY "))
                .and_then(|rest| rest.split(' ').next())
            {
                self.issuer = issuer.to_owned();
                let authority = issuer.trim_start_matches("http://");
                let host_port = authority.split('/').next().unwrap_or_default();
                self.port = host_port
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| panic!("no port in the issuer {issuer}"));
                self.client = Client::new(format!("http://{host_port}"));
                return;
            }
            let child = self.child.as_mut().expect("the provider is running");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                panic!("the OIDC provider exited ({status}):\n{}", self.output());
            }
            assert!(
                Instant::now() < deadline,
                "the OIDC provider was not ready within {START_TIMEOUT:?}:\n{}",
                self.output()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The issuer URL, e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The client's id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client's secret.
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// A client for the provider's origin (`http://127.0.0.1:<port>`); paths include the
    /// issuer path.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The issuer's path (`""` unless [`OidcOptions::issuer_path`] was set).
    fn issuer_path(&self) -> &str {
        self.issuer
            .strip_prefix(self.client.base_url())
            .unwrap_or_default()
    }

    /// The path (from the origin, query included) of a discovery entry such as
    /// `token_endpoint`.
    pub fn endpoint_path(&self, name: &str) -> String {
        let discovery = self.discovery();
        let url = discovery[name]
            .as_str()
            .unwrap_or_else(|| panic!("discovery names no {name}"));
        url.strip_prefix(self.client.base_url())
            .unwrap_or_else(|| panic!("{name} {url} is not on the provider's origin"))
            .to_owned()
    }

    /// `GET <issuer>/.well-known/openid-configuration`.
    pub fn discovery(&self) -> Value {
        let path = format!("{}/.well-known/openid-configuration", self.issuer_path());
        self.client.get(&path, None).expect_status(200).json()
    }

    /// The `kid`s the JWKS publishes.
    pub fn jwks_kids(&self) -> Vec<String> {
        let jwks = self
            .client
            .get(&format!("{}/jwks", self.issuer_path()), None)
            .expect_status(200)
            .json();
        let keys = jwks["keys"].as_array().cloned().unwrap_or_default();
        keys.iter()
            .filter_map(|key| key["kid"].as_str().map(str::to_owned))
            .collect()
    }

    fn admin(&self, route: &str, body: &Value) -> Response {
        let authorization = format!("Bearer {}", self.admin_token);
        let bytes = body.to_string();
        let headers = [
            ("Authorization", authorization.as_str()),
            ("Content-Type", "application/json"),
        ];
        let response = self.client.send(
            "POST",
            &format!("/__admin/{route}"),
            &headers,
            Some(bytes.as_bytes()),
        );
        response.expect_status(200);
        response
    }

    /// Signs with a new key from now on, and publishes only that key; returns its `kid`.
    pub fn rotate_key(&self) -> String {
        self.rotate(false)
    }

    /// Signs with a new key from now on, and keeps publishing the previous ones too; returns
    /// the new `kid`.
    pub fn rotate_key_keeping_previous(&self) -> String {
        self.rotate(true)
    }

    fn rotate(&self, keep_previous: bool) -> String {
        let answer = self.admin("rotate", &json!({"keep_previous": keep_previous}));
        let kid = answer.json()["kid"].as_str().map(str::to_owned);
        kid.expect("the rotation names the new kid")
    }

    /// Chooses the key that signs the ID tokens issued from now on.
    pub fn sign_with(&self, key: SigningKey) {
        self.admin("sign-with", &json!({"key": key.wire_name()}));
    }

    /// Writes `claims` (a JSON object) over every ID token the token endpoint issues from now
    /// on, re-signed with the signing key; a `null` removes the claim, `{}` ends the overrides.
    /// E.g. `json!({"nonce": "other"})`, `json!({"aud": "someone-else"})`, or an `exp` in the
    /// past.
    pub fn set_id_token_claims(&self, claims: Value) {
        self.admin("id-token-claims", &json!({ "claims": claims }));
    }

    /// Replaces the accounts (e.g. to move one to other groups before the next sign-in).
    pub fn set_accounts(&self, accounts: &[OidcAccount]) {
        let accounts: Vec<Value> = accounts.iter().map(OidcAccount::to_json).collect();
        self.admin("accounts", &json!({"accounts": accounts}));
        self.config()["accounts"] = json!(accounts);
    }

    /// Makes every browser sign in (and consent) again at its next authorization request, as a
    /// fresh browser would; without this the provider remembers the sign-in and comes straight
    /// back with a code.
    pub fn forget_sessions(&self) {
        self.admin("forget-sessions", &json!({}));
    }

    /// Replaces the client's redirect URIs (e.g. once the host's port is known).
    pub fn set_redirect_uris(&self, uris: &[&str]) {
        self.admin("redirect-uris", &json!({"redirect_uris": uris}));
        self.config()["client"]["redirect_uris"] = json!(uris);
    }

    /// Delays every answer of the provider (not of the admin routes) by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.admin("delay", &json!({"ms": ms}));
    }

    /// Stops the provider (it no longer answers; the port is free again).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What node printed so far (stdout, then stderr).
    pub fn output(&self) -> String {
        format!(
            "--- oidc-provider stdout ---\n{}--- oidc-provider stderr ---\n{}",
            read_lossy(&self.stdout_path),
            read_lossy(&self.stderr_path)
        )
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!("OIDC provider {}:\n{}", self.issuer, self.output());
        }
    }
}
