//! Session controls: a user lists their own sessions and ends one or all the others; an admin
//! ends every session of a user (the password and the user's API keys stay). Beside them, what the
//! idle timeout reads: each session's last use, batched like API keys' `lastUsedAt`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::audit::{Actor, Event};
use super::wire::{EndedSessions, SessionInfo, SessionsEnvelope};
use super::{Credentials, Engine};
use crate::error::{Error, Result, msg};
use crate::model::{Principal, UserRecord, looks_like_api_key};
use crate::store::Session;

/// A session's last use is written at most this often while no idle timeout is set.
const TOUCH_INTERVAL_MS: i64 = 60 * 1000;
/// With an idle timeout, a tenth of it (at least a second): a session then ends between the
/// timeout minus one interval and the timeout after its last use, on whichever host it is next used.
const TOUCH_SHARE_OF_IDLE: i64 = 10;
const MIN_TOUCH_INTERVAL_MS: i64 = 1000;
/// Longer user agents are cut: the column is shown in a list, not parsed.
const MAX_USER_AGENT_CHARS: usize = 256;
/// An address longer than any IPv6 text (with a zone) is not one.
const MAX_CLIENT_IP_CHARS: usize = 64;
/// Hex digits of a session's public id (64 bits of a SHA-256).
const SESSION_ID_HEX: usize = 16;

/// The idle timeout and how often a session's use is written, fixed at open.
#[derive(Debug, Clone, Copy)]
pub struct SessionUse {
    /// 0: no idle timeout.
    pub idle_timeout_ms: i64,
    pub touch_interval_ms: i64,
}

impl SessionUse {
    pub fn new(idle_timeout: Duration) -> Self {
        let idle_timeout_ms = i64::try_from(idle_timeout.as_millis()).unwrap_or(i64::MAX);
        let touch_interval_ms = match idle_timeout_ms {
            0 => TOUCH_INTERVAL_MS,
            idle => (idle / TOUCH_SHARE_OF_IDLE).clamp(MIN_TOUCH_INTERVAL_MS, TOUCH_INTERVAL_MS),
        };
        Self {
            idle_timeout_ms,
            touch_interval_ms,
        }
    }

    /// Whether a session row, as the store has it, is still good at `now_ms`.
    fn live(&self, session: &Session, now_ms: i64) -> bool {
        session.expires_at_ms > now_ms && !self.idle(session.last_used_at_ms, now_ms)
    }

    pub(super) fn idle(&self, last_used_at_ms: i64, now_ms: i64) -> bool {
        self.idle_timeout_ms > 0 && now_ms.saturating_sub(last_used_at_ms) > self.idle_timeout_ms
    }
}

/// Where a sign-in came from, recorded on its session.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignInOrigin<'a> {
    pub client_ip: &'a str,
    /// The request's `User-Agent` as sent; it is cleaned before it is stored.
    pub user_agent: &'a str,
}

impl<'a> SignInOrigin<'a> {
    pub fn new(client_ip: &'a str, user_agent: &'a str) -> Self {
        Self {
            client_ip,
            user_agent,
        }
    }

    /// The session row's fields: bounded, and without control characters, so a user agent cannot
    /// forge lines in a log or a terminal that shows the list.
    pub(super) fn recorded(&self) -> (String, String) {
        (
            printable(self.client_ip, MAX_CLIENT_IP_CHARS),
            printable(self.user_agent, MAX_USER_AGENT_CHARS),
        )
    }
}

fn printable(text: &str, max_chars: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The id a session is listed and ended by: a digest of its jti, so the list hands out nothing a
/// token is checked against.
pub(super) fn public_session_id(jti: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hasher = Sha256::new();
    hasher.update(b"dagu-auth/session-id/v1\0");
    hasher.update(jti.as_bytes());
    let mut id = String::with_capacity(SESSION_ID_HEX);
    for byte in hasher.finalize().iter().take(SESSION_ID_HEX / 2) {
        id.push(HEX[usize::from(byte >> 4)] as char);
        id.push(HEX[usize::from(byte & 0x0f)] as char);
    }
    id
}

impl Engine {
    /// The caller's own sessions that are still good, the current one first, then the most
    /// recently used. `lastUsedAt` is as the store has it (see [`SessionUse`]), except for the
    /// current session, which is in use now.
    pub fn list_sessions<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
    ) -> Result<SessionsEnvelope> {
        let (user, current) = self.caller_session(caller.into())?;
        let now_ms = self.now_ms();
        let mut sessions: Vec<SessionInfo> = self
            .store
            .sessions_of_user(&user.id)?
            .into_iter()
            .filter(|session| self.session_use.live(session, now_ms))
            .map(|session| {
                let is_current = session.jti == current;
                SessionInfo {
                    id: public_session_id(&session.jti),
                    created_at_ms: session.created_at_ms,
                    last_used_at_ms: match is_current {
                        true => now_ms,
                        false => session.last_used_at_ms,
                    },
                    expires_at_ms: session.expires_at_ms,
                    client_ip: session.client_ip,
                    user_agent: session.user_agent,
                    current: is_current,
                }
            })
            .collect();
        sessions.sort_by_key(|s| (!s.current, std::cmp::Reverse(s.last_used_at_ms)));
        Ok(SessionsEnvelope { sessions })
    }

    /// Ends one of the caller's own sessions (the current one too, which is a sign-out).
    /// NOT_FOUND for an id that is not one of theirs.
    pub fn end_session<'a>(&self, caller: impl Into<Credentials<'a>>, id: &str) -> Result<()> {
        let caller = caller.into();
        let (user, current) = self.caller_session(caller)?;
        let session = self
            .store
            .sessions_of_user(&user.id)?
            .into_iter()
            .find(|session| public_session_id(&session.jti) == id)
            .ok_or_else(|| Error::NotFound("Session not found".into()))?;
        self.store.delete_session(&session.jti)?;
        self.cache.invalidate();
        let details = json!({"session_id": id, "current": session.jti == current});
        let event = Event::user("session_end", &user.id).details(details);
        self.audit(&Actor::session(&user, caller.client_ip), event);
        Ok(())
    }

    /// Ends every session of the caller but the one making this call.
    pub fn end_other_sessions<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
    ) -> Result<EndedSessions> {
        let caller = caller.into();
        let (user, current) = self.caller_session(caller)?;
        let ended = self
            .store
            .delete_sessions_of_user(&user.id, Some(&current))?;
        self.cache.invalidate();
        let event = Event::user("session_end_others", &user.id).details(json!({"ended": ended}));
        self.audit(&Actor::session(&user, caller.client_ip), event);
        Ok(EndedSessions { ended })
    }

    /// Ends every session of user `id`, as an admin. The password stays, and so do API keys the
    /// user owns: a key is a credential of its own, deleted on its own.
    pub fn end_user_sessions<'a>(
        &self,
        caller: impl Into<Credentials<'a>>,
        id: &str,
    ) -> Result<EndedSessions> {
        let caller = caller.into();
        let admin = self.admin(caller)?;
        let target = self
            .store
            .user_by_id(id)?
            .ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()))?;
        let ended = self.store.delete_sessions_of_user(id, None)?;
        self.cache.invalidate();
        let details = json!({
            "target_user_id": id,
            "target_username": target.username,
            "ended": ended,
        });
        let event = Event::user("user_sessions_end", id).details(details);
        self.audit(&Actor::caller(&admin, caller.client_ip), event);
        Ok(EndedSessions { ended })
    }

    /// The signed-in user behind a session token and that session's jti. An API key has no
    /// sessions: BAD_REQUEST, as for sign-out.
    fn caller_session(&self, caller: Credentials<'_>) -> Result<(Arc<UserRecord>, String)> {
        self.session_of(
            caller,
            "An API key has no sessions; sign in to manage sessions",
            |caller| self.principal(caller),
        )
    }

    /// The user behind a session token, as `resolve` lets them through, and the session's jti.
    /// An API key gets BAD_REQUEST with `api_key_refusal`. Shared by sign-out and the session
    /// controls, which differ only in the refusal and in whether the enrolment gate holds.
    pub(super) fn session_of<'a>(
        &self,
        caller: Credentials<'a>,
        api_key_refusal: &str,
        resolve: impl FnOnce(Credentials<'a>) -> Result<Principal>,
    ) -> Result<(Arc<UserRecord>, String)> {
        if looks_like_api_key(caller.token) {
            return Err(Error::bad_request(api_key_refusal));
        }
        let Principal::User(user) = resolve(caller)? else {
            return Err(Error::Internal(
                "a session token resolved to an API key".into(),
            ));
        };
        // Verified just above; parsed again for its jti, which the cache does not hand out (the
        // session controls and sign-out are rare).
        let claims = self
            .tokens
            .verify(caller.token, self.now_ms().div_euclid(1000))
            .map_err(|_| Error::Unauthenticated(msg::INVALID_TOKEN.into()))?;
        Ok((user, claims.jti))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_touch_interval_is_a_tenth_of_the_idle_timeout_within_bounds() {
        assert_eq!(SessionUse::new(Duration::ZERO).touch_interval_ms, 60_000);
        let half_hour = SessionUse::new(Duration::from_secs(1800));
        assert_eq!(half_hour.touch_interval_ms, 60_000);
        assert_eq!(half_hour.idle_timeout_ms, 1_800_000);
        assert_eq!(
            SessionUse::new(Duration::from_secs(120)).touch_interval_ms,
            12_000
        );
        assert_eq!(
            SessionUse::new(Duration::from_secs(2)).touch_interval_ms,
            1_000
        );
    }

    #[test]
    fn recorded_user_agents_are_bounded_and_printable() {
        let long = "x".repeat(1000);
        let (ip, agent) = SignInOrigin::new("10.0.0.1\n", &long).recorded();
        assert_eq!(ip, "10.0.0.1");
        assert_eq!(agent.chars().count(), MAX_USER_AGENT_CHARS);
        let (_, forged) = SignInOrigin::new("", "curl/8\r\nX-Injected: 1\u{1b}[2J").recorded();
        assert_eq!(forged, "curl/8X-Injected: 1[2J");
    }

    #[test]
    fn a_session_id_is_stable_and_is_not_its_jti() {
        let jti = "0b6f3d2c-1111-4a4a-8b8b-0123456789ab";
        let id = public_session_id(jti);
        assert_eq!(id, public_session_id(jti));
        assert_eq!(id.len(), SESSION_ID_HEX);
        assert!(!jti.contains(&id));
        assert_ne!(id, public_session_id("another"));
    }
}
