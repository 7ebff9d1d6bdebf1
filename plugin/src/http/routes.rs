//! Path and method dispatch. Each route extracts its inputs, calls one Engine operation and renders
//! the result; every rule lives in the Engine.

use serde::Deserialize;

use super::{MAX_BODY_BYTES, Request, Response};
use crate::error::{Error, Result};
use crate::service::{Engine, UserEnvelope};

const PREFIX: &str = "/api/v1/";

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePassword {
    current_password: String,
    new_password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetPassword {
    new_password: String,
}

pub fn dispatch(engine: &Engine, request: &Request<'_>) -> Result<Response> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge("Request body exceeds 1 MiB".into()));
    }
    let path = request
        .path
        .split_once('?')
        .map_or(request.path, |(path, _)| path);
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Err(not_found());
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let token = request.bearer_token();
    let method = request.method.to_ascii_uppercase();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["auth", "setup"]) => Ok(Response::json(
            200,
            &serde_json::json!({ "setupRequired": engine.setup_required()? }),
        )),
        ("POST", ["auth", "setup"]) => {
            let body: Credentials = json_body(request)?;
            Ok(Response::json(
                200,
                &engine.setup(&body.username, &body.password)?,
            ))
        }
        ("POST", ["auth", "login"]) => {
            let body: Credentials = json_body(request)?;
            Ok(Response::json(
                200,
                &engine.login(
                    &body.username,
                    &body.password,
                    &request.real_client_ip(engine),
                )?,
            ))
        }
        ("POST", ["auth", "logout"]) => engine.logout(token).map(|()| Response::no_content()),
        ("GET", ["auth", "me"]) => {
            let user = engine.principal(token)?;
            Ok(Response::json(200, &UserEnvelope((*user).clone())))
        }
        ("POST", ["auth", "change-password"]) => {
            let body: ChangePassword = json_body(request)?;
            Ok(Response::json(
                200,
                &engine.change_password(token, &body.current_password, &body.new_password)?,
            ))
        }
        ("GET", ["users"]) => Ok(Response::json(200, &engine.list_users(token)?)),
        ("POST", ["users"]) => Ok(Response::json(
            201,
            &engine.create_user(token, json_body(request)?)?,
        )),
        ("GET", ["users", id]) => Ok(Response::json(200, &engine.get_user(token, id)?)),
        ("PATCH", ["users", id]) => Ok(Response::json(
            200,
            &engine.update_user(token, id, json_body(request)?)?,
        )),
        ("DELETE", ["users", id]) => engine
            .delete_user(token, id)
            .map(|()| Response::no_content()),
        ("POST", ["users", id, "reset-password"]) => {
            let body: ResetPassword = json_body(request)?;
            Ok(Response::json(
                200,
                &engine.reset_password(token, id, &body.new_password)?,
            ))
        }
        (
            _,
            [
                "auth",
                "setup" | "login" | "logout" | "me" | "change-password",
            ],
        )
        | (_, ["users"] | ["users", _] | ["users", _, "reset-password"]) => {
            Err(Error::MethodNotAllowed)
        }
        _ => Err(not_found()),
    }
}

fn not_found() -> Error {
    Error::NotFound("Not found".into())
}

fn json_body<'a, T: Deserialize<'a>>(request: &Request<'a>) -> Result<T> {
    if let Some(content_type) = request.header("content-type") {
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case("application/json") {
            return Err(Error::bad_request("Content-Type must be application/json"));
        }
    }
    Error::parse_json(request.body)
}
