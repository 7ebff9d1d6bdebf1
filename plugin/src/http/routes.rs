//! Path and method dispatch. Each route extracts its inputs, calls one Engine operation and renders
//! the result; every rule lives in the Engine. A route that reads a body gets it through
//! `checks::json_body`, which authenticates the caller first.

use dagu_auth_vocab::DaguAuthAction as Action;
use serde::Deserialize;

use super::checks::{self, Sender};
use super::{MAX_BODY_BYTES, Request, Response};
use crate::error::{Error, Result};
use crate::service::{AuditRequest, Credentials, Engine, SignInOrigin};

const PREFIX: &str = "/api/v1/";
/// The OpenAPI 3 document of these routes, served at `GET /api/v1/openapi.yaml`.
const OPENAPI: &str = include_str!("../../openapi.yaml");

/// The answer, or the refusal sent instead; `?` turns an Engine error into its refusal.
type Answer = std::result::Result<Response, Response>;

#[derive(Deserialize)]
struct SignIn {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Setup {
    username: String,
    password: String,
    /// Not in Dagu's API: the code a host prints in its log when setup over the network needs one.
    setup_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePassword {
    current_password: String,
    new_password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignInSecondStep {
    mfa_token: String,
    code: String,
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DisableTotp {
    current_password: String,
    code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetPassword {
    new_password: String,
}

pub fn dispatch(engine: &Engine, request: &Request<'_>) -> Answer {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge("Request body exceeds 1 MiB".into()).into());
    }
    let (path, query) = request.path.split_once('?').unwrap_or((request.path, ""));
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Err(not_found().into());
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let client_ip = request.real_client_ip(engine);
    let caller = Credentials::new(request.bearer_token(), &client_ip);
    let method = request.method.to_ascii_uppercase();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["auth", "setup"]) => {
            let mut status = serde_json::json!({ "setupRequired": engine.setup_required()? });
            if engine.setup_code_required()? {
                status["setupCodeRequired"] = true.into();
            }
            Ok(Response::json(200, &status))
        }
        ("POST", ["auth", "setup"]) => {
            let body: Setup = checks::json_body(engine, caller, Sender::Anyone, request)?;
            engine.check_setup_code(body.setup_code.as_deref())?;
            Ok(Response::json(
                200,
                &engine.setup(&body.username, &body.password, &client_ip)?,
            ))
        }
        ("POST", ["auth", "login"]) => {
            let body: SignIn = checks::json_body(engine, caller, Sender::Anyone, request)?;
            let user_agent = request.header("user-agent").unwrap_or("");
            let origin = SignInOrigin::new(&client_ip, user_agent);
            Ok(Response::json(
                200,
                &engine.login_from(&body.username, &body.password, origin)?,
            ))
        }
        ("POST", ["auth", "login", "mfa"]) => {
            let body: SignInSecondStep =
                checks::json_body(engine, caller, Sender::Anyone, request)?;
            let user_agent = request.header("user-agent").unwrap_or("");
            let origin = SignInOrigin::new(&client_ip, user_agent);
            Ok(Response::json(
                200,
                &engine.login_mfa_from(&body.mfa_token, &body.code, origin)?,
            ))
        }
        // Reads no body, as sign-out.
        ("POST", ["auth", "mfa", "totp", "setup"]) => {
            Ok(Response::json(200, &engine.start_totp_setup(caller)?))
        }
        ("POST", ["auth", "mfa", "totp", "confirm"]) => {
            let body: Code = checks::json_body(engine, caller, Sender::Enrolling, request)?;
            Ok(Response::json(
                200,
                &engine.confirm_totp(caller, &body.code)?,
            ))
        }
        ("DELETE", ["auth", "mfa", "totp"]) => {
            let body: DisableTotp = checks::json_body(engine, caller, Sender::Enrolling, request)?;
            Ok(Response::json(
                200,
                &engine.disable_totp(caller, &body.current_password, &body.code)?,
            ))
        }
        ("POST", ["auth", "mfa", "recovery-codes"]) => {
            let body: Code = checks::json_body(engine, caller, Sender::Enrolling, request)?;
            Ok(Response::json(
                200,
                &engine.regenerate_recovery_codes(caller, &body.code)?,
            ))
        }
        ("DELETE", ["users", id, "mfa"]) => {
            engine.reset_mfa(caller, id)?;
            Ok(Response::no_content())
        }
        ("POST", ["auth", "logout"]) => {
            engine.logout(caller)?;
            Ok(Response::no_content())
        }
        ("GET", ["auth", "sso"]) => Ok(Response::json(200, &engine.sso_buttons())),
        // Open while two-factor setup is pending, so a client can tell who must enrol.
        ("GET", ["auth", "me"]) => Ok(Response::json(
            200,
            &engine.principal_during_enrollment(caller)?,
        )),
        ("POST", ["auth", "change-password"]) => {
            let body: ChangePassword =
                checks::json_body(engine, caller, Sender::SignedIn, request)?;
            Ok(Response::json(
                200,
                &engine.change_password(caller, &body.current_password, &body.new_password)?,
            ))
        }
        ("GET", ["auth", "sessions"]) => Ok(Response::json(200, &engine.list_sessions(caller)?)),
        ("DELETE", ["auth", "sessions"]) => {
            Ok(Response::json(200, &engine.end_other_sessions(caller)?))
        }
        ("DELETE", ["auth", "sessions", id]) => {
            engine.end_session(caller, id)?;
            Ok(Response::no_content())
        }
        ("DELETE", ["users", id, "sessions"]) => {
            Ok(Response::json(200, &engine.end_user_sessions(caller, id)?))
        }
        ("GET", ["users"]) => Ok(users(engine, caller, query)?),
        ("POST", ["users"]) => {
            let body = checks::json_body(engine, caller, Sender::Admin, request)?;
            Ok(Response::json(201, &engine.create_user(caller, body)?))
        }
        ("GET", ["users", id]) => Ok(Response::json(200, &engine.get_user(caller, id)?)),
        ("PATCH", ["users", id]) => {
            let body = checks::json_body(engine, caller, Sender::Admin, request)?;
            Ok(Response::json(200, &engine.update_user(caller, id, body)?))
        }
        ("DELETE", ["users", id]) => {
            engine.delete_user(caller, id)?;
            Ok(Response::no_content())
        }
        ("POST", ["users", id, "reset-password"]) => {
            let body: ResetPassword = checks::json_body(engine, caller, Sender::Admin, request)?;
            Ok(Response::json(
                200,
                &engine.reset_password(caller, id, &body.new_password)?,
            ))
        }
        ("GET", ["api-keys"]) => Ok(Response::json(200, &engine.list_api_keys(caller)?)),
        ("POST", ["api-keys"]) => {
            let body = checks::json_body(engine, caller, Sender::Admin, request)?;
            Ok(Response::json(201, &engine.create_api_key(caller, body)?))
        }
        ("GET", ["api-keys", id]) => Ok(Response::json(200, &engine.get_api_key(caller, id)?)),
        ("PATCH", ["api-keys", id]) => {
            let body = checks::json_body(engine, caller, Sender::Admin, request)?;
            Ok(Response::json(
                200,
                &engine.update_api_key(caller, id, body)?,
            ))
        }
        ("DELETE", ["api-keys", id]) => {
            engine.delete_api_key(caller, id)?;
            Ok(Response::no_content())
        }
        ("GET", ["audit"]) => Ok(audit(engine, caller, query)?),
        ("GET", ["openapi.yaml"]) => Ok(Response {
            status: 200,
            headers: vec![("Content-Type".into(), "application/yaml".into())],
            body: OPENAPI.as_bytes().to_vec(),
        }),
        (
            _,
            [
                "auth",
                "setup" | "login" | "logout" | "me" | "change-password" | "sessions" | "sso",
            ],
        )
        | (_, ["auth", "sessions", _] | ["users", _, "sessions"])
        | (
            _,
            ["users" | "api-keys"]
            | ["users" | "api-keys", _]
            | ["users", _, "reset-password" | "mfa"]
            | ["auth", "login", "mfa"]
            | ["auth", "mfa", "totp" | "recovery-codes"]
            | ["auth", "mfa", "totp", "setup" | "confirm"]
            | ["audit" | "openapi.yaml"],
        ) => Ok(Response::method_not_allowed()),
        _ => Err(not_found().into()),
    }
}

/// `GET /users`: the whole list as Dagu answers it, or a page when `limit` or `cursor` is given.
fn users(engine: &Engine, caller: Credentials<'_>, query: &str) -> Result<Response> {
    let (mut limit, mut cursor, mut paged) = (None, None, false);
    for (key, value) in form_urlencoded_pairs(query) {
        match key.as_str() {
            "limit" => {
                paged = true;
                let Ok(number) = value.parse() else {
                    // Who may not list users learns nothing about the parameters first.
                    engine.caller_allowed(caller, Action::Admin)?;
                    return Err(Error::bad_request("limit must be a number"));
                };
                limit = Some(number);
            }
            "cursor" => {
                paged = true;
                cursor = Some(value);
            }
            _ => {}
        }
    }
    match paged {
        true => Ok(Response::json_body(
            200,
            engine.list_users_page_json(caller, limit, cursor.as_deref())?,
        )),
        false => Ok(Response::json_body(200, engine.list_users_json(caller)?)),
    }
}

/// `GET /audit` with Dagu's parameters (filters, `startTime`, `endTime`, `limit`, `offset`), our
/// `cursor`, and `format=csv` for a CSV page.
fn audit(engine: &Engine, caller: Credentials<'_>, query: &str) -> Result<Response> {
    let mut request = AuditRequest::default();
    let mut csv = false;
    for (key, value) in form_urlencoded_pairs(query) {
        if key == "format" {
            csv = value.eq_ignore_ascii_case("csv");
        } else {
            // Any other name (Dagu's `remoteNode`, say) is ignored, as Dagu ignores it.
            request.set_param(&key, value);
        }
    }
    let page = engine.list_audit(caller, request)?;
    if !csv {
        return Ok(Response::json(200, &page));
    }
    let mut headers = vec![
        (
            "Content-Type".to_string(),
            "text/csv; charset=utf-8".to_string(),
        ),
        ("X-Total-Count".to_string(), page.total.to_string()),
    ];
    if let Some(cursor) = &page.next_cursor {
        headers.push(("X-Next-Cursor".into(), cursor.clone()));
    }
    Ok(Response {
        status: 200,
        headers,
        body: page.to_csv().into_bytes(),
    })
}

/// Splits `a=1&b=x%20y` into decoded pairs; malformed escapes are kept as written.
pub(super) fn form_urlencoded_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn not_found() -> Error {
    Error::NotFound("Not found".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_percent_escapes_and_plus() {
        let pairs: Vec<_> =
            form_urlencoded_pairs("actor=a%20b&action=login+x&bad=%zz&flag").collect();
        assert_eq!(
            pairs,
            [
                ("actor".into(), "a b".into()),
                ("action".into(), "login x".into()),
                ("bad".into(), "%zz".into()),
                ("flag".into(), String::new())
            ]
        );
    }
}
