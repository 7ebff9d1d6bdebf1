//! Just enough of the W3C WebDriver protocol to drive Debian's headless Chromium through
//! `chromedriver`, over the harness's blocking HTTP client (no async runtime in the tests).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use dagu_auth_tests::Client;
use dagu_auth_tests::host::free_port;
use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long to wait for a page to show an element or reach a URL.
const WAIT: Duration = Duration::from_secs(15);

/// One Chromium session; the browser and the driver end on drop.
pub struct Browser {
    driver: Child,
    client: Client,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium. As root Chromium needs `--no-sandbox`; the
    /// `--disable-*` and `--no-first-run` flags keep it from reaching the network or updating itself
    /// (the test machine may have no network), and a fresh profile folder keeps runs independent.
    pub fn start(chromium: &Path, chromedriver: &Path) -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let client = Client::new(format!("http://127.0.0.1:{port}"));
        let deadline = Instant::now() + WAIT;
        while !client
            .try_send("GET", "/status", &[], None)
            .is_ok_and(|r| r.status == 200 && r.json()["value"]["ready"] == true)
        {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let mut browser = Browser {
            driver,
            client,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.command("POST", "/session", Some(&capabilities));
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser
    }

    /// Sends one command; panics with the driver's message when it fails.
    fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let response = self.try_command(method, path, body);
        response.unwrap_or_else(|error| panic!("{method} {path}: {error}"))
    }

    fn try_command(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let response = self.client.request(method, path, None, body);
        let value = response.json()["value"].clone();
        match response.status {
            200 => Ok(value),
            _ => Err(format!("{} {}", value["error"], value["message"])),
        }
    }

    fn session_path(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    fn element_path(&self, element: &str, path: &str) -> String {
        self.session_path(&format!("/element/{element}{path}"))
    }

    pub fn goto(&self, url: &str) {
        self.command(
            "POST",
            &self.session_path("/url"),
            Some(&json!({"url": url})),
        );
    }

    pub fn current_url(&self) -> String {
        let url = self.command("GET", &self.session_path("/url"), None);
        url.as_str().unwrap_or_default().to_string()
    }

    /// Waits until the current URL's path (with query) starts with `prefix`.
    pub fn wait_for_path(&self, prefix: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.current_url();
            let path = url.splitn(4, '/').nth(3).map(|p| format!("/{p}"));
            if path.is_some_and(|p| p.starts_with(prefix)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "still at {url}, expected {prefix}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn find(&self, css: &str) -> Option<String> {
        let body = json!({"using": "css selector", "value": css});
        let found = self
            .try_command("POST", &self.session_path("/element"), Some(&body))
            .ok()?;
        found[ELEMENT_KEY].as_str().map(str::to_string)
    }

    fn displayed(&self, element: &str) -> bool {
        self.try_command("GET", &self.element_path(element, "/displayed"), None)
            .is_ok_and(|v| v == true)
    }

    /// Waits until an element matching `css` is shown; returns its reference.
    pub fn wait_for(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(element) = self.find(css).filter(|e| self.displayed(e)) {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "{css} did not appear at {}",
                self.current_url()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until nothing matching `css` is shown.
    pub fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while self.find(css).is_some_and(|e| self.displayed(&e)) {
            assert!(Instant::now() < deadline, "{css} is still shown");
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn is_shown(&self, css: &str) -> bool {
        self.find(css).is_some_and(|e| self.displayed(&e))
    }

    pub fn click(&self, css: &str) {
        let element = self.wait_for(css);
        self.command(
            "POST",
            &self.element_path(&element, "/click"),
            Some(&json!({})),
        );
    }

    /// Replaces the content of an input.
    pub fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css);
        self.command(
            "POST",
            &self.element_path(&element, "/clear"),
            Some(&json!({})),
        );
        let keys = json!({"text": text});
        self.command("POST", &self.element_path(&element, "/value"), Some(&keys));
    }

    /// Picks an option of a `<select>` by value, as a user would with the keyboard or mouse.
    pub fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"));
    }

    pub fn text(&self, css: &str) -> String {
        let element = self.wait_for(css);
        let text = self.command("GET", &self.element_path(&element, "/text"), None);
        text.as_str().unwrap_or_default().to_string()
    }

    /// Waits until the element's text contains `expected`; returns the text.
    pub fn wait_for_text(&self, css: &str, expected: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text(css);
            if text.contains(expected) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} says {text:?}, expected {expected:?}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn script(&self, source: &str) -> Value {
        let body = json!({"script": source, "args": []});
        self.command("POST", &self.session_path("/execute/sync"), Some(&body))
    }

    pub fn resize(&self, width: u32, height: u32) {
        let rect = json!({"width": width, "height": height});
        self.command("POST", &self.session_path("/window/rect"), Some(&rect));
    }

    /// Saves a PNG of the viewport to `dir/name.png`.
    pub fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        let encoded = self.command("GET", &self.session_path("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("base64 screenshot");
        std::fs::create_dir_all(dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.try_command("DELETE", &self.session_path(""), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
