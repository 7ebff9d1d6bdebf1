//! Signing in: the answer of setup and login.

use serde::Serialize;

use super::users::UserView;
use crate::clock::rfc3339;
use crate::model::UserRecord;

/// `{"token": "...", "expiresAt": "...", "user": User}`.
#[derive(Debug, Clone)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at_ms: i64,
    pub user: UserRecord,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginBody<'a> {
    token: &'a str,
    expires_at: String,
    user: UserView<'a>,
}

serialize_as!(LoginResponse, |login| LoginBody {
    token: &login.token,
    expires_at: rfc3339(login.expires_at_ms),
    user: UserView::of(&login.user),
});
