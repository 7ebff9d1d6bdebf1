use serde::Serialize;

use crate::clock::rfc3339;

/// One entry of the append-only audit trail. `detail` never holds a password, token or key.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Assigned by the store; increases with every entry (the pagination cursor).
    pub id: i64,
    pub at_ms: i64,
    pub action: String,
    /// A user id, `apikey:<id>`, or a username for sign-in attempts.
    pub actor: String,
    pub target: String,
    pub client_ip: String,
    pub detail: serde_json::Value,
}

impl Serialize for AuditEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            id: i64,
            timestamp: String,
            action: &'a str,
            actor: &'a str,
            target: &'a str,
            client_ip: &'a str,
            detail: &'a serde_json::Value,
        }
        Body {
            id: self.id,
            timestamp: rfc3339(self.at_ms),
            action: &self.action,
            actor: &self.actor,
            target: &self.target,
            client_ip: &self.client_ip,
            detail: &self.detail,
        }
        .serialize(serializer)
    }
}

/// Filters for listing the trail, newest first. `before_id` is the keyset cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub before_id: Option<i64>,
    pub limit: usize,
}
