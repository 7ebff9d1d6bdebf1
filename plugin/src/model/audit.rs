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
