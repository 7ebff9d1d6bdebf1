//! The audit trail in Dagu's shape: one [`AuditEntry`] per event, found again by [`AuditQuery`].

/// One entry of the append-only audit trail, field for field Dagu's `AuditEntry`. Optional fields
/// are empty strings when unset (and then left out of every answer). `details` never holds a
/// password, token or key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEntry {
    /// The store's insertion order, which breaks ties between equal timestamps (and numbered the
    /// entries written before ids were UUIDs). 0 until stored.
    pub seq: i64,
    /// A UUID; entries from before the Dagu shape keep their old number, written out.
    pub id: String,
    pub at_ms: i64,
    pub category: String,
    pub action: String,
    /// Who acted; both empty for a failed sign-in that named no account, `""` and `operator` or
    /// `system` for the command line and the plugin itself.
    pub user_id: String,
    pub username: String,
    /// `rest`, `mcp` or `cli`.
    pub source: String,
    /// `rest_api` or `mcp`.
    pub surface: String,
    /// `succeeded`, `failed`, `denied`, `received` or `started`.
    pub result: String,
    pub correlation_id: String,
    pub resource_type: String,
    pub resource_id: String,
    pub workspace: String,
    /// The API key's id when the event came through one.
    pub credential_id: String,
    /// `jwt` (a session token), `api_key`, or `none`.
    pub credential_type: String,
    pub mcp_tool: String,
    /// A JSON object as text, or empty.
    pub details: String,
    pub ip_address: String,
}

impl AuditEntry {
    /// Every text field in one fixed order (`id`, then Dagu's fields from `category` to
    /// `ipAddress`): the order the stores write their columns in and the CSV export its cells.
    pub fn texts(&self) -> [&str; 17] {
        [
            &self.id,
            &self.category,
            &self.action,
            &self.user_id,
            &self.username,
            &self.source,
            &self.surface,
            &self.result,
            &self.correlation_id,
            &self.resource_type,
            &self.resource_id,
            &self.workspace,
            &self.credential_id,
            &self.credential_type,
            &self.mcp_tool,
            &self.details,
            &self.ip_address,
        ]
    }
}

/// A field of [`AuditEntry`] that listings filter on by exact match, named as Dagu's query
/// parameters name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditField {
    Category,
    Action,
    Source,
    Surface,
    Result,
    CorrelationId,
    ResourceType,
    ResourceId,
    Workspace,
    CredentialId,
    CredentialType,
    McpTool,
    IpAddress,
    UserId,
}

impl AuditField {
    pub const ALL: &[AuditField] = &[
        AuditField::Category,
        AuditField::Action,
        AuditField::Source,
        AuditField::Surface,
        AuditField::Result,
        AuditField::CorrelationId,
        AuditField::ResourceType,
        AuditField::ResourceId,
        AuditField::Workspace,
        AuditField::CredentialId,
        AuditField::CredentialType,
        AuditField::McpTool,
        AuditField::IpAddress,
        AuditField::UserId,
    ];

    /// The query parameter (and JSON field) that filters on this field.
    pub const fn param(self) -> &'static str {
        match self {
            Self::Category => "category",
            Self::Action => "action",
            Self::Source => "source",
            Self::Surface => "surface",
            Self::Result => "result",
            Self::CorrelationId => "correlationId",
            Self::ResourceType => "resourceType",
            Self::ResourceId => "resourceId",
            Self::Workspace => "workspace",
            Self::CredentialId => "credentialId",
            Self::CredentialType => "credentialType",
            Self::McpTool => "mcpTool",
            Self::IpAddress => "ipAddress",
            Self::UserId => "userId",
        }
    }

    pub fn from_param(param: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|field| field.param() == param)
    }

    pub fn of(self, entry: &AuditEntry) -> &str {
        match self {
            Self::Category => &entry.category,
            Self::Action => &entry.action,
            Self::Source => &entry.source,
            Self::Surface => &entry.surface,
            Self::Result => &entry.result,
            Self::CorrelationId => &entry.correlation_id,
            Self::ResourceType => &entry.resource_type,
            Self::ResourceId => &entry.resource_id,
            Self::Workspace => &entry.workspace,
            Self::CredentialId => &entry.credential_id,
            Self::CredentialType => &entry.credential_type,
            Self::McpTool => &entry.mcp_tool,
            Self::IpAddress => &entry.ip_address,
            Self::UserId => &entry.user_id,
        }
    }
}

/// Which entries a listing wants, newest first (by time, then by `seq`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Exact matches, at most one per field; an empty value is never here (it means no filter).
    pub filters: Vec<(AuditField, String)>,
    /// Inclusive bounds in milliseconds.
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Only entries older than this (time, seq) position: the cursor of a previous page.
    pub before: Option<(i64, i64)>,
    pub offset: u64,
    pub limit: u64,
}

/// A page of a listing and how many entries match in all, before the cursor, offset and limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditListing {
    pub entries: Vec<AuditEntry>,
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_found_by_its_parameter_name() {
        for &field in AuditField::ALL {
            assert_eq!(AuditField::from_param(field.param()), Some(field));
        }
        assert_eq!(AuditField::from_param("actor"), None);
    }
}
