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

mod relying_party;
mod sign_in;

pub use relying_party::{CodeFlow, form, jwt_parts, query_pairs, query_param};

use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tempfile::TempDir;

use crate::http::{Client, Response};
use crate::native::{require_all, tool_or_skip};
use crate::workspace_root;

/// How long node may take to print its ready line (it generates a 2048-bit RSA key first).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The oldest node that oidc-provider (8.x) supports.
const MIN_NODE_MAJOR: u32 = 18;
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

    fn to_json(&self) -> Value {
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

/// How an [`OidcProvider`] starts.
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
    fn wire_name(self) -> &'static str {
        match self {
            SigningKey::Published => "signing",
            SigningKey::Foreign => "foreign",
            SigningKey::ForeignWithPublishedKid => "foreign-same-kid",
        }
    }
}

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

/// `tests/oidc`.
pub fn package_dir() -> PathBuf {
    workspace_root().join("tests/oidc")
}

/// `node`, after `npm ci` if the pinned package is not installed; `None` after printing why the
/// calling test skips. Under [`require_all`] a missing or too old node, or a failed install,
/// panics instead.
pub fn node_or_skip() -> Option<PathBuf> {
    let node = tool_or_skip("node", "nodejs")?;
    let npm = tool_or_skip("npm", "npm")?;
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = INSTALLED.get_or_init(|| {
        check_node_version(&node)?;
        install_package(&npm)
    });
    match ready {
        Ok(()) => Some(node),
        Err(reason) => {
            assert!(
                !require_all(),
                "{reason}, and DAGU_AUTH_REQUIRE_ALL=1 requires the OIDC provider"
            );
            println!("skipped: {reason}; set DAGU_AUTH_REQUIRE_ALL=1 to make this a failure");
            None
        }
    }
}

fn check_node_version(node: &Path) -> Result<(), String> {
    let output = Command::new(node)
        .arg("--version")
        .output()
        .map_err(|e| format!("`node --version` failed: {e}"))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(major) if major >= MIN_NODE_MAJOR => Ok(()),
        _ => Err(format!(
            "node {version:?} is older than {MIN_NODE_MAJOR}, which oidc-provider needs"
        )),
    }
}

/// The `version` field of a `package.json`, or a dependency's pinned version in it.
fn read_version(package_json: &Path, dependency: Option<&str>) -> Option<String> {
    let text = fs::read(package_json).ok()?;
    let manifest: Value = serde_json::from_slice(&text).ok()?;
    let version = match dependency {
        Some(name) => &manifest["dependencies"][name],
        None => &manifest["version"],
    };
    version.as_str().map(str::to_owned)
}

fn install_package(npm: &Path) -> Result<(), String> {
    let dir = package_dir();
    let pinned = read_version(&dir.join("package.json"), Some("oidc-provider"))
        .ok_or("tests/oidc/package.json pins no oidc-provider version")?;
    let installed_manifest = dir.join("node_modules/oidc-provider/package.json");
    if read_version(&installed_manifest, None).as_deref() == Some(pinned.as_str()) {
        return Ok(());
    }
    // One install at a time within this process; `npm ci` replaces node_modules as a whole.
    static INSTALL: Mutex<()> = Mutex::new(());
    let _guard = INSTALL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let output = Command::new(npm)
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run `npm ci` in {}: {e}", dir.display()))?;
    if !output.status.success() {
        return Err(format!(
            "`npm ci` in {} failed ({}): {}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
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

    fn config(&self) -> std::sync::MutexGuard<'_, Value> {
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
