//! The session controls' answers: `GET /auth/sessions` and the bulk ends.

use serde::Serialize;

use crate::clock::rfc3339;

/// One of the caller's sessions, by its public id (never its token or jti).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: i64,
    pub expires_at_ms: i64,
    pub client_ip: String,
    pub user_agent: String,
    /// The session of the token that asked.
    pub current: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionBody<'a> {
    id: &'a str,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    client_ip: &'a str,
    user_agent: &'a str,
    current: bool,
}

serialize_as!(SessionInfo, |session| SessionBody {
    id: &session.id,
    created_at: rfc3339(session.created_at_ms),
    last_used_at: rfc3339(session.last_used_at_ms),
    expires_at: rfc3339(session.expires_at_ms),
    client_ip: &session.client_ip,
    user_agent: &session.user_agent,
    current: session.current,
});

/// `{"sessions": [Session]}`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionsEnvelope {
    pub sessions: Vec<SessionInfo>,
}

/// `{"ended": n}`: how many sessions a bulk end removed.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct EndedSessions {
    pub ended: u64,
}
