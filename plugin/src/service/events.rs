//! Security events as structured log lines on stderr, until the audit trail stores them. Never a
//! password, token or key: callers pass names, addresses and fixed reasons only.

use serde_json::json;

use super::Engine;
use crate::clock::rfc3339;

impl Engine {
    pub(super) fn security_event(
        &self,
        action: &str,
        subject: &str,
        client_ip: &str,
        reason: &str,
    ) {
        let line = json!({
            "time": rfc3339(self.now_ms()),
            "log": "dagu-auth.security",
            "action": action,
            "subject": subject,
            "clientIp": client_ip,
            "reason": reason,
        });
        eprintln!("{line}");
    }
}
