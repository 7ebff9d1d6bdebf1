//! The plugin's own HTTP client for the OpenID provider: blocking, since it runs on the host's
//! request thread, and bounded, so a slow or dead provider costs that thread at most
//! `CALL_TIMEOUT` per call and never touches `authorize`, which shares nothing with it.

use std::time::Duration;

use openidconnect::{HttpRequest, HttpResponse, SyncHttpClient};

/// The whole of one call: connect, send, and read the answer.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Discovery documents, key sets and token answers are a few KB; this bounds a hostile one.
const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("the identity provider could not be reached: {0}")]
pub struct Unreachable(String);

#[derive(Clone)]
pub struct Outbound {
    agent: ureq::Agent,
}

impl Outbound {
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(CALL_TIMEOUT))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            // The OIDC client reads error answers itself (`error`, `error_description`).
            .http_status_as_error(false)
            // A provider's endpoints answer directly; a redirect would be followed with the
            // client secret to wherever it points.
            .max_redirects(0)
            .build();
        Self {
            agent: config.into(),
        }
    }

    /// A GET with a bearer token (userinfo), answered as status and body.
    pub fn get_bearer(&self, url: &str, token: &str) -> Result<(u16, Vec<u8>), Unreachable> {
        let request = openidconnect::http::Request::get(url)
            .header("Authorization", format!("Bearer {token}"))
            .header("Accept", "application/json")
            .body(Vec::new())
            .map_err(|e| Unreachable(e.to_string()))?;
        let answer = self.call(request)?;
        Ok((answer.status().as_u16(), answer.into_body()))
    }
}

impl Default for Outbound {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncHttpClient for Outbound {
    type Error = Unreachable;

    fn call(&self, request: HttpRequest) -> Result<HttpResponse, Unreachable> {
        let (parts, body) = request.into_parts();
        let sent = match body.is_empty() {
            true => self
                .agent
                .run(openidconnect::http::Request::from_parts(parts, ())),
            false => self
                .agent
                .run(openidconnect::http::Request::from_parts(parts, body)),
        };
        let (parts, mut body) = sent.map_err(|e| Unreachable(e.to_string()))?.into_parts();
        let bytes = body
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .map_err(|e| Unreachable(e.to_string()))?;
        Ok(HttpResponse::from_parts(parts, bytes))
    }
}
