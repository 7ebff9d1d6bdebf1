//! The SSO doors outside `/api/v1`: `GET /proxy-login` (an authenticating proxy's headers) and the
//! OIDC routes. They answer as Dagu does: redirects to the host's `/login` and `/setup` pages,
//! plain-text refusals for the proxy. The token travels in the URL fragment (`#token=`), which
//! browsers never send to a server, so it reaches no log and no `Referer`.

use super::{Request, Response};
use crate::error::Error;
use crate::model::{AuthProvider, SsoIdentity};
use crate::netaddr::is_trusted_peer;
use crate::service::{Engine, SsoSession, SsoSignIn};
use crate::sso::proxy::{HeaderProblem, read_identity};

pub const PROXY_LOGIN: &str = "/proxy-login";
pub const OIDC_LOGIN: &str = "/oidc-login";
pub const OIDC_CALLBACK: &str = "/oidc-callback";
/// The paths `dispatch` may answer (OIDC's only when configured): the only ones whose refusals are
/// plain text, as Dagu's are.
pub const DOORS: [&str; 3] = [PROXY_LOGIN, OIDC_LOGIN, OIDC_CALLBACK];

/// The browser carries a sign-in's secrets from `/oidc-login` to `/oidc-callback` in these
/// cookies: HttpOnly (no script reads them), SameSite=Lax (sent on the provider's top-level
/// redirect back, not on cross-site subrequests), for 120 seconds, and used once.
const STATE_COOKIE: &str = "oidc_state";
const NONCE_COOKIE: &str = "oidc_nonce";
const PKCE_COOKIE: &str = "oidc_pkce";
const RETURN_COOKIE: &str = "oidc_return";
const COOKIE_SECONDS: u32 = 120;

/// Answers a request for one of the SSO paths; `None` for any other path.
pub fn dispatch(engine: &Engine, request: &Request<'_>) -> Option<Response> {
    let (path, query) = request.path.split_once('?').unwrap_or((request.path, ""));
    match path {
        PROXY_LOGIN => Some(proxy_login(engine, request)),
        OIDC_LOGIN if engine.config().oidc.is_some() => Some(oidc_login(engine, request, query)),
        OIDC_CALLBACK if engine.config().oidc.is_some() => {
            Some(oidc_callback(engine, request, query))
        }
        _ => None,
    }
}

fn oidc_login(engine: &Engine, request: &Request<'_>, query: &str) -> Response {
    if !request.method.eq_ignore_ascii_case("GET") {
        return Response::method_not_allowed();
    }
    match engine.setup_required() {
        Ok(true) => return redirect("/setup"),
        Ok(false) => {}
        Err(e) => return login_error(&format!("Authentication failed: {}", public(&e))),
    }
    let authorization = match engine.oidc_authorize() {
        Ok(authorization) => authorization,
        Err(message) => return login_error(&message),
    };
    // Only a path on this site: anything else would make the sign-in an open redirect.
    let return_to = query_value(query, "redirect")
        .filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
        .unwrap_or_else(|| "/".into());
    let secure = secure_cookies(engine);
    let mut response = redirect(&authorization.url);
    for (name, value) in [
        (STATE_COOKIE, authorization.state.as_str()),
        (NONCE_COOKIE, authorization.nonce.as_str()),
        (PKCE_COOKIE, authorization.pkce_verifier.as_str()),
        (RETURN_COOKIE, &query_escape(&return_to)),
    ] {
        response.headers.push((
            "Set-Cookie".into(),
            cookie(name, value, COOKIE_SECONDS, secure),
        ));
    }
    response
}

fn oidc_callback(engine: &Engine, request: &Request<'_>, query: &str) -> Response {
    if !request.method.eq_ignore_ascii_case("GET") {
        return Response::method_not_allowed();
    }
    let mut response = match engine.setup_required() {
        Ok(true) => redirect("/setup"),
        Ok(false) => match finish_oidc(engine, request, query) {
            Ok(session) => signed_in(&session),
            Err(message) => login_error(&message),
        },
        Err(e) => login_error(&format!("Authentication failed: {}", public(&e))),
    };
    let secure = secure_cookies(engine);
    for name in [STATE_COOKIE, NONCE_COOKIE, PKCE_COOKIE, RETURN_COOKIE] {
        response
            .headers
            .push(("Set-Cookie".into(), cookie(name, "", 0, secure)));
    }
    response
}

fn finish_oidc(engine: &Engine, request: &Request<'_>, query: &str) -> Result<SsoSession, String> {
    use crate::sso::oidc::{EXCHANGE_FAILED, NONCE_MISMATCH, STATE_MISMATCH, STATE_NOT_FOUND};
    use subtle::ConstantTimeEq;

    let expected = request_cookie(request, STATE_COOKIE).ok_or(STATE_NOT_FOUND)?;
    let state = query_value(query, "state").unwrap_or_default();
    if state.is_empty() || !bool::from(state.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(STATE_MISMATCH.into());
    }
    if let Some(error) = query_value(query, "error") {
        let description = query_value(query, "error_description").unwrap_or(error);
        return Err(format!("Authentication failed: {description}"));
    }
    let code = query_value(query, "code").ok_or(EXCHANGE_FAILED)?;
    let nonce = request_cookie(request, NONCE_COOKIE).ok_or(NONCE_MISMATCH)?;
    let verifier = request_cookie(request, PKCE_COOKIE).ok_or(STATE_NOT_FOUND)?;
    let client_ip = request.real_client_ip(engine);
    engine.oidc_sign_in(&code, &nonce, &verifier, &client_ip)
}

/// Dagu's failure: the login page shows `error`.
fn login_error(message: &str) -> Response {
    redirect(&format!("/login?error={}", query_escape(message)))
}

fn public(error: &Error) -> &'static str {
    match error {
        Error::Unavailable(_) => "the service is temporarily unavailable",
        _ => "an unexpected error occurred",
    }
}

/// Cookies are `Secure` when the site is served over https, as `clientUrl` says.
fn secure_cookies(engine: &Engine) -> bool {
    engine
        .config()
        .oidc
        .as_ref()
        .is_some_and(|oidc| oidc.client_url.starts_with("https://"))
}

fn cookie(name: &str, value: &str, max_age: u32, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn request_cookie(request: &Request<'_>, name: &str) -> Option<String> {
    request
        .header_lines("cookie")
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

fn query_value(query: &str, name: &str) -> Option<String> {
    super::routes::form_urlencoded_pairs(query)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

fn proxy_login(engine: &Engine, request: &Request<'_>) -> Response {
    let Some(settings) = &engine.config().proxy else {
        return text(404, "not found");
    };
    if !request.method.eq_ignore_ascii_case("GET") {
        let mut refused = text(405, "method not allowed");
        refused.headers.push(("Allow".into(), "GET".into()));
        return refused;
    }
    if request.path.contains('?') || !request.body.is_empty() {
        return text(400, "invalid request");
    }
    // Not in Dagu: the identity headers count only from a configured proxy. Anyone else could
    // name any user in them.
    if !is_trusted_peer(request.client_ip, &engine.config().trusted_proxies) {
        return text(403, "access denied");
    }
    match engine.setup_required() {
        Ok(true) => return redirect("/setup"),
        Ok(false) => {}
        Err(e) => return failure(&e),
    }
    if engine.require_sso_license().is_err() {
        return text(403, "access denied");
    }
    let user_lines: Vec<&str> = request.header_lines(&settings.user_header).collect();
    let group_lines: Vec<&str> = request.header_lines(&settings.groups_header).collect();
    let identity = match read_identity(&user_lines, &group_lines) {
        Ok(identity) => identity,
        Err(HeaderProblem::Missing) => return text(401, "proxy identity unavailable"),
        Err(HeaderProblem::Malformed) => return text(400, "invalid proxy identity"),
    };
    // A name that looks like an email offers its local part as the username, as OIDC does.
    let (preferred, email) = match identity.user.contains('@') {
        true => (None, Some(identity.user.as_str())),
        false => (Some(identity.user.as_str()), None),
    };
    let client_ip = request.real_client_ip(engine);
    let sign_in = SsoSignIn {
        identity: SsoIdentity {
            provider: AuthProvider::Proxy,
            issuer: settings.source.clone(),
            subject: identity.user.clone(),
        },
        email,
        preferred_username: preferred,
        groups: identity.groups,
        claims: serde_json::Value::Null,
        client_ip: &client_ip,
    };
    match engine.sso_sign_in(&settings.provisioning, sign_in) {
        Ok(session) => signed_in(&session),
        Err(Error::Forbidden(_)) => text(403, "access denied"),
        Err(e) => failure(&e),
    }
}

/// Dagu's success: the login page takes the token from the fragment.
pub(super) fn signed_in(session: &SsoSession) -> Response {
    let welcome = if session.new_user {
        "?welcome=true"
    } else {
        ""
    };
    redirect(&format!(
        "/login{welcome}#token={}",
        query_escape(&session.login.token)
    ))
}

/// A 500 or 503 whose detail goes to the log, never to the browser.
fn failure(error: &Error) -> Response {
    let logged = Response::error(error);
    text(logged.status, "authentication failed")
}

pub(super) fn redirect(location: &str) -> Response {
    Response {
        status: 302,
        headers: vec![
            ("Location".into(), location.into()),
            ("Content-Type".into(), "text/plain; charset=utf-8".into()),
            ("Referrer-Policy".into(), "no-referrer".into()),
            ("Pragma".into(), "no-cache".into()),
        ],
        body: Vec::new(),
    }
}

fn text(status: u16, message: &str) -> Response {
    Response {
        status,
        headers: vec![
            ("Content-Type".into(), "text/plain; charset=utf-8".into()),
            ("Referrer-Policy".into(), "no-referrer".into()),
            ("Pragma".into(), "no-cache".into()),
        ],
        body: format!("{message}\n").into_bytes(),
    }
}

/// Go's `url.QueryEscape`: unreserved bytes stay, a space is `+`, every other byte `%XX`.
pub(super) fn query_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                escaped.push(byte as char);
            }
            b' ' => escaped.push('+'),
            other => escaped.push_str(&format!("%{other:02X}")),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(
            query_escape("Authentication failed: state mismatch"),
            "Authentication+failed%3A+state+mismatch"
        );
        assert_eq!(query_escape("a.b-c_d~"), "a.b-c_d~");
    }
}
