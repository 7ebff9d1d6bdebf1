//! A small HTTP client over ureq that hands back every status (4xx/5xx are answers, not errors).

use std::time::Duration;

use serde_json::Value;
use ureq::http;
use ureq::{Agent, SendBody};

/// Largest response body read.
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// One HTTP answer.
#[derive(Clone, Debug)]
pub struct Response {
    /// The method and path that produced it (for messages).
    pub request: String,
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `name=value` pairs of every Set-Cookie, joined as a browser sends them back.
    pub fn cookies_to_send_back(&self) -> String {
        self.headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, value)| value.split(';').next())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the status and body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: body of the {} answer is not JSON ({e}): {:?}",
                self.request,
                self.status,
                self.text()
            )
        })
    }

    /// Panics unless the status is `expected`, showing the body.
    #[track_caller]
    pub fn expect_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status,
            expected,
            "{}: expected status {expected}, got {} with body {:?}",
            self.request,
            self.status,
            self.text()
        );
        self
    }

    /// Panics unless the answer declares a JSON body.
    #[track_caller]
    pub fn expect_json_content_type(&self) -> &Self {
        let content_type = self.header("content-type").unwrap_or("");
        assert!(
            content_type
                .to_ascii_lowercase()
                .starts_with("application/json"),
            "{}: expected Content-Type application/json, got {content_type:?} (status {}, body {:?})",
            self.request,
            self.status,
            self.text()
        );
        self
    }
}

/// A client for one host (base URL like `http://127.0.0.1:1234`).
#[derive(Clone)]
pub struct Client {
    base_url: String,
    agent: Agent,
    health_agent: Agent,
}

fn agent(timeout: Duration) -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .proxy(None)
        .build()
        .new_agent()
}

impl Client {
    /// A client for `base_url`.
    pub fn new(base_url: String) -> Client {
        Client {
            base_url,
            agent: agent(Duration::from_secs(60)),
            health_agent: agent(Duration::from_secs(1)),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `base_url + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub(crate) fn health_status(&self) -> Result<u16, ureq::Error> {
        let response = self.health_agent.get(self.url("/api/v1/health")).call()?;
        Ok(response.status().as_u16())
    }

    /// Sends any request; transport failures are errors, every HTTP status is an answer.
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, ureq::Error> {
        let mut builder = http::Request::builder().method(method).uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = match body {
            Some(bytes) => self
                .agent
                .run(builder.body(bytes.to_vec()).map_err(ureq::Error::from)?)?,
            None => self
                .agent
                .run(builder.body(SendBody::none()).map_err(ureq::Error::from)?)?,
        };
        let (parts, mut body) = response.into_parts();
        let body = body.with_config().limit(MAX_RESPONSE_BYTES).read_to_vec()?;
        Ok(Response {
            request: format!("{method} {path}"),
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
        })
    }

    /// Sends any request with raw headers and body; panics on a transport failure.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        self.try_send(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: request failed: {e}"))
    }

    /// A request with an optional bearer token and optional JSON body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let bytes = body.map(|b| serde_json::to_vec(b).expect("serialize JSON"));
        self.send_as_bearer(method, path, token, bytes.as_deref())
    }

    /// A request with a bearer token and a raw body sent as `Content-Type: application/json`.
    pub fn send_raw_json(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> Response {
        self.send_as_bearer(method, path, token, Some(body))
    }

    /// `Authorization: Bearer` when there is a token, `Content-Type: application/json` when there
    /// is a body.
    fn send_as_bearer(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        json_body: Option<&[u8]>,
    ) -> Response {
        let authorization = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(value) = &authorization {
            headers.push(("Authorization", value));
        }
        if json_body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        self.send(method, path, &headers, json_body)
    }

    /// `GET path`.
    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request("GET", path, token, None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request("POST", path, token, Some(body))
    }

    /// `POST path` without a body.
    pub fn post_empty(&self, path: &str, token: Option<&str>) -> Response {
        self.request("POST", path, token, None)
    }

    /// `PUT path` with a JSON body.
    pub fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request("PUT", path, token, Some(body))
    }

    /// `PATCH path` with a JSON body.
    pub fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request("PATCH", path, token, Some(body))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request("DELETE", path, token, None)
    }
}
