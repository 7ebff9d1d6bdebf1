//! Helpers that speak the plugin's HTTP API (`plugin/openapi.yaml`): sign-in, users, and the checks
//! every answer must pass (error shape, User shape, no secrets).

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::http::{Client, Response};

/// The admin created by [`setup_admin`].
pub const ADMIN_USERNAME: &str = "admin";
/// Its password (long, not a common one).
pub const ADMIN_PASSWORD: &str = "Adm1n-Pass-7731-kite";
/// The password [`create_user`] gives every user.
pub const USER_PASSWORD: &str = "Us3r-Pass-4242-lamp";
/// A second good password.
pub const OTHER_PASSWORD: &str = "N3w-Pass-9090-river";
/// The value of `WWW-Authenticate` on every 401.
pub const BEARER_CHALLENGE: &str = "Bearer realm=\"restricted\"";
/// A user id that exists nowhere.
pub const UNKNOWN_ID: &str = "00000000-0000-4000-8000-000000000000";

/// `/api/v1/users/{id}`.
pub fn user_path(id: &str) -> String {
    format!("/api/v1/users/{id}")
}

/// `POST /auth/setup` with the given credentials.
pub fn setup(client: &Client, username: &str, password: &str) -> Response {
    client.post(
        "/api/v1/auth/setup",
        None,
        &json!({"username": username, "password": password}),
    )
}

/// Creates the first admin ([`ADMIN_USERNAME`]) through setup; returns its token.
#[track_caller]
pub fn setup_admin(client: &Client) -> String {
    setup_admin_login(client)["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// Creates the first admin through setup; returns the LoginResponse.
#[track_caller]
pub fn setup_admin_login(client: &Client) -> Value {
    let response = setup(client, ADMIN_USERNAME, ADMIN_PASSWORD);
    response.expect_status(200);
    response.json()
}

/// `POST /auth/login`.
pub fn login(client: &Client, username: &str, password: &str) -> Response {
    client.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": username, "password": password}),
    )
}

/// Signs in and returns the token; panics unless the answer is 200.
#[track_caller]
pub fn login_token(client: &Client, username: &str, password: &str) -> String {
    let response = login(client, username, password);
    response.expect_status(200);
    response.json()["token"]
        .as_str()
        .expect("token in LoginResponse")
        .to_owned()
}

/// `POST /users` with a raw request body.
pub fn create_user_with(client: &Client, token: &str, body: &Value) -> Response {
    client.post("/api/v1/users", Some(token), body)
}

/// The create-user request body (password [`USER_PASSWORD`]).
pub fn new_user(username: &str, role: &str, workspace_access: Option<Value>) -> Value {
    let mut body = json!({"username": username, "password": USER_PASSWORD, "role": role});
    if let Some(access) = workspace_access {
        body["workspaceAccess"] = access;
    }
    body
}

/// Creates a user with [`USER_PASSWORD`]; returns the User; panics unless 201.
#[track_caller]
pub fn create_user(
    client: &Client,
    admin_token: &str,
    username: &str,
    role: &str,
    workspace_access: Option<Value>,
) -> Value {
    let response = create_user_with(
        client,
        admin_token,
        &new_user(username, role, workspace_access),
    );
    response.expect_status(201);
    response.json()["user"].clone()
}

/// Creates a user and signs them in; returns (User, token).
#[track_caller]
pub fn create_user_and_login(
    client: &Client,
    admin_token: &str,
    username: &str,
    role: &str,
    workspace_access: Option<Value>,
) -> (Value, String) {
    let user = create_user(client, admin_token, username, role, workspace_access);
    let token = login_token(client, username, USER_PASSWORD);
    (user, token)
}

/// The `id` of a User.
#[track_caller]
pub fn id_of(user: &Value) -> String {
    user["id"]
        .as_str()
        .unwrap_or_else(|| panic!("user without id: {user}"))
        .to_owned()
}

/// `PATCH /users/{id}`.
pub fn update_user(client: &Client, token: &str, id: &str, body: &Value) -> Response {
    client.patch(&user_path(id), Some(token), body)
}

/// `PATCH /users/{id} {"isDisabled": true}`; panics unless 200.
#[track_caller]
pub fn disable_user(client: &Client, token: &str, id: &str) {
    update_user(client, token, id, &json!({"isDisabled": true})).expect_status(200);
}

/// `GET /auth/me` status with `token`.
pub fn me_status(client: &Client, token: &str) -> u16 {
    client.get("/api/v1/auth/me", Some(token)).status
}

/// `GET /auth/me` with `token`: the User; panics unless 200.
#[track_caller]
pub fn me(client: &Client, token: &str) -> Value {
    let response = client.get("/api/v1/auth/me", Some(token));
    response.expect_status(200);
    response.json()["user"].clone()
}

/// `GET /users/{id}`: the User; panics unless 200.
#[track_caller]
pub fn get_user(client: &Client, token: &str, id: &str) -> Value {
    let response = client.get(&user_path(id), Some(token));
    response.expect_status(200);
    response.json()["user"].clone()
}

/// `GET /users`: every User; panics unless 200 with a `users` array.
#[track_caller]
pub fn list_users(client: &Client, token: &str) -> Vec<Value> {
    let response = client.get("/api/v1/users", Some(token));
    response.expect_status(200);
    response.json()["users"]
        .as_array()
        .unwrap_or_else(|| panic!("GET /users without a users array: {}", response.text()))
        .clone()
}

/// The usernames of `users`, in their order.
#[track_caller]
pub fn usernames(users: &[Value]) -> Vec<String> {
    users
        .iter()
        .map(|u| u["username"].as_str().expect("username").to_owned())
        .collect()
}

/// `POST /auth/change-password` as the holder of `token`.
pub fn change_password(client: &Client, token: &str, current: &str, new: &str) -> Response {
    client.post(
        "/api/v1/auth/change-password",
        Some(token),
        &json!({"currentPassword": current, "newPassword": new}),
    )
}

/// `POST /users/{id}/reset-password` as the holder of `token`.
pub fn reset_password(client: &Client, token: &str, id: &str, new: &str) -> Response {
    client.post(
        &format!("{}/reset-password", user_path(id)),
        Some(token),
        &json!({"newPassword": new}),
    )
}

/// `GET /auth/setup`: whether the first admin is still to be created; panics unless 200.
#[track_caller]
pub fn setup_required(client: &Client) -> bool {
    let response = client.get("/api/v1/auth/setup", None);
    response.expect_status(200);
    response.json()["setupRequired"]
        .as_bool()
        .unwrap_or_else(|| panic!("setupRequired is not a bool: {}", response.text()))
}

/// The grants of a WorkspaceAccess as a set of (workspace, role).
#[track_caller]
pub fn grant_set(access: &Value) -> BTreeSet<(String, String)> {
    access["grants"]
        .as_array()
        .expect("grants")
        .iter()
        .map(|g| {
            (
                g["workspace"].as_str().expect("workspace").to_owned(),
                g["role"].as_str().expect("role").to_owned(),
            )
        })
        .collect()
}

/// `{"all": true, "grants": []}`.
pub fn all_workspaces() -> Value {
    json!({"all": true, "grants": []})
}

/// Scoped access with the given (workspace, role) grants.
pub fn scoped(grants: &[(&str, &str)]) -> Value {
    let grants: Vec<Value> = grants
        .iter()
        .map(|(workspace, role)| json!({"workspace": workspace, "role": role}))
        .collect();
    json!({"all": false, "grants": grants})
}

/// Creates an admin API key (only used where no user session can act, see the last-admin
/// tests); returns the key.
#[track_caller]
pub fn create_admin_api_key(client: &Client, admin_token: &str, name: &str) -> String {
    let response = client.post(
        "/api/v1/api-keys",
        Some(admin_token),
        &json!({"name": name, "role": "admin", "allowedSurfaces": ["rest_api"], "attributionClass": "service_account"}),
    );
    response.expect_status(201);
    response.json()["key"]
        .as_str()
        .expect("key in the create-API-key answer")
        .to_owned()
}

/// Checks the error contract: `status`, a JSON body that is exactly `{code, message}`, the
/// code, and on a 401 the bearer challenge (on a 429 `Retry-After`). Returns the message.
#[track_caller]
pub fn assert_error_shape(response: &Response, status: u16, code: &str) -> String {
    response.expect_status(status);
    response.expect_json_content_type();
    let body = response.json();
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("{}: error body is not an object: {body}", response.request));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["code", "message"],
        "{}: error body must be exactly {{code, message}}: {body}",
        response.request
    );
    assert_eq!(
        body["code"], code,
        "{}: error code of {body}",
        response.request
    );
    let message = body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: message is not a string: {body}", response.request));
    assert!(
        !message.is_empty(),
        "{}: empty error message",
        response.request
    );
    if status == 401 {
        assert_eq!(
            response.header("www-authenticate"),
            Some(BEARER_CHALLENGE),
            "{}: a 401 must carry the bearer challenge",
            response.request
        );
    }
    if status == 429 {
        assert!(
            response.header("retry-after").is_some(),
            "{}: a 429 must carry Retry-After",
            response.request
        );
    }
    message.to_owned()
}

/// [`assert_error_shape`] and the exact message.
#[track_caller]
pub fn assert_error(response: &Response, status: u16, code: &str, message: &str) {
    let actual = assert_error_shape(response, status, code);
    assert_eq!(actual, message, "{}: error message", response.request);
}

/// [`assert_error_shape`] and a message starting with `prefix`.
#[track_caller]
pub fn assert_error_prefix(response: &Response, status: u16, code: &str, prefix: &str) {
    let actual = assert_error_shape(response, status, code);
    assert!(
        actual.starts_with(prefix),
        "{}: error message {actual:?} should start with {prefix:?}",
        response.request
    );
}

/// A 400 `bad_request` whose message starts `invalid workspace access: `.
#[track_caller]
pub fn assert_invalid_workspace_access(response: &Response) {
    assert_error_prefix(response, 400, "bad_request", "invalid workspace access: ");
}

/// 401 "Authentication required".
#[track_caller]
pub fn assert_authentication_required(response: &Response) {
    assert_error(response, 401, "unauthorized", "Authentication required");
}

/// 403 "Insufficient permissions".
#[track_caller]
pub fn assert_insufficient_permissions(response: &Response) {
    assert_error(response, 403, "forbidden", "Insufficient permissions");
}

/// 401 "Invalid username or password".
#[track_caller]
pub fn assert_invalid_credentials(response: &Response) {
    assert_error(
        response,
        401,
        "unauthorized",
        "Invalid username or password",
    );
}

/// Fails when any key names a password, hash, salt or secret, or any string looks like a
/// PHC password hash, anywhere in `value`.
#[track_caller]
pub fn assert_no_secrets(value: &Value) {
    fn walk(value: &Value, path: &str, whole: &Value) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let lower = key.to_ascii_lowercase();
                    assert!(
                        !["password", "hash", "salt", "secret"]
                            .iter()
                            .any(|w| lower.contains(w)),
                        "secret-looking field {path}.{key} in {whole}"
                    );
                    walk(inner, &format!("{path}.{key}"), whole);
                }
            }
            Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    walk(inner, &format!("{path}[{i}]"), whole);
                }
            }
            Value::String(s) => assert!(
                !s.starts_with("$argon2") && !s.starts_with("$2a$") && !s.starts_with("$2b$"),
                "password hash at {path} in {whole}"
            ),
            _ => {}
        }
    }
    walk(value, "$", value);
}

/// Whether `s` is a (lower-case hex) UUID.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Checks a User object against the API's User schema: required fields and types, `isDisabled`
/// only when true, `authProvider` builtin, timestamps RFC 3339, no secrets.
#[track_caller]
pub fn assert_user_shape(user: &Value) {
    assert!(user.is_object(), "User is not an object: {user}");
    assert!(
        is_uuid(user["id"].as_str().unwrap_or("")),
        "User.id is not a UUID: {user}"
    );
    assert!(user["username"].is_string(), "User.username: {user}");
    assert!(
        ["admin", "manager", "developer", "operator", "viewer"]
            .contains(&user["role"].as_str().unwrap_or("")),
        "User.role: {user}"
    );
    let access = &user["workspaceAccess"];
    assert!(
        access["all"].is_boolean(),
        "User.workspaceAccess.all: {user}"
    );
    assert!(
        access["grants"].is_array(),
        "User.workspaceAccess.grants: {user}"
    );
    assert_eq!(user["authProvider"], "builtin", "User.authProvider: {user}");
    for field in ["createdAt", "updatedAt"] {
        let value = user[field].as_str().unwrap_or("");
        assert!(
            parse_rfc3339(value).is_some(),
            "User.{field} is not RFC 3339: {user}"
        );
    }
    match user.get("isDisabled") {
        None | Some(Value::Bool(true)) => {}
        Some(other) => panic!("isDisabled must be absent unless true, got {other} in {user}"),
    }
    assert_no_secrets(user);
}

/// Checks a LoginResponse: token, expiresAt in the future, a valid User.
#[track_caller]
pub fn assert_login_response(body: &Value) {
    assert!(
        body["token"].as_str().is_some_and(|t| !t.is_empty()),
        "LoginResponse.token: {body}"
    );
    let expires_at = body["expiresAt"].as_str().unwrap_or("");
    let expires = parse_rfc3339(expires_at)
        .unwrap_or_else(|| panic!("LoginResponse.expiresAt is not RFC 3339: {body}"));
    assert!(
        expires > unix_now(),
        "LoginResponse.expiresAt is in the past: {body}"
    );
    assert_user_shape(&body["user"]);
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Parses an RFC 3339 timestamp (`2024-05-01T12:00:00.123Z`, `...+02:00`) to Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(range)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &fraction[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let r = rest.as_bytes();
            if r.len() != 6 || !matches!(r[0], b'+' | b'-') || r[3] != b':' {
                return None;
            }
            let h: i64 = rest[1..3].parse().ok()?;
            let m: i64 = rest[4..6].parse().ok()?;
            let sign = if r[0] == b'+' { 1 } else { -1 };
            sign * (h * 3600 + m * 60)
        }
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:30:15.123456789+02:00"),
            Some(1_709_202_615)
        );
        assert_eq!(parse_rfc3339("2024-02-29 12:30:15Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn recognises_uuids() {
        assert!(is_uuid(UNKNOWN_ID));
        assert!(!is_uuid("not-a-uuid"));
    }

    #[test]
    #[should_panic(expected = "secret-looking field")]
    fn finds_password_fields() {
        assert_no_secrets(&json!({"user": {"passwordHash": "x"}}));
    }
}
