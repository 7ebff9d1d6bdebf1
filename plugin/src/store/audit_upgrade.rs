//! How the audit rows of schema 2 (`audit_events`: actor, target, detail) become Dagu's entries
//! (`audit_entries`), written once for both stores' migrations as a `SELECT` over the old table.
//! Nothing is dropped: the old id becomes both the order (`seq`) and the id (as text); the actor
//! becomes the user (resolved to a username where the account still exists); the target becomes
//! the resource; the detail stays as it was written, only `{}` becoming empty.
//!
//! - category: `api_key` for the key actions, `system` for backup and restore, `user` for the rest;
//! - action: `user_disable` and `user_enable` become `user_update` (their detail already says
//!   `isDisabled`), `rate_limited` becomes `login_failed` with `"reason":"rate_limited"` added;
//! - a sign-in attempt's actor was the name typed: it becomes the user only when it names an
//!   account, and stays in `resourceId` as recorded;
//! - the operator (`operator`) becomes the user named `operator` with source `cli`; every other
//!   entry came through the API: source `rest`, surface `rest_api`, credential `api_key` (with its
//!   id) for an `apikey:<id>` actor, `none` for setup and sign-in, else `jwt`;
//! - result: `failed` for failed and rate-limited sign-ins, `succeeded` for everything else.

/// The `SELECT` that yields each old row in the column order of
/// `seq, at, id, category, action, user_id, username, source, surface, result, correlation_id,
/// resource_type, resource_id, workspace, credential_id, credential_type, mcp_tool, details,
/// ip_address`.
macro_rules! audit_rows_of_schema_2 {
    () => {
        r#"
    SELECT e.id, e.at, CAST(e.id AS TEXT),
        CASE WHEN e.action IN ('api_key_create', 'api_key_update', 'api_key_delete') THEN 'api_key'
             WHEN e.action IN ('db_backup', 'db_restore') THEN 'system'
             ELSE 'user' END,
        CASE WHEN e.action IN ('user_disable', 'user_enable') THEN 'user_update'
             WHEN e.action = 'rate_limited' THEN 'login_failed'
             ELSE e.action END,
        CASE WHEN e.actor = 'operator' THEN ''
             WHEN e.action IN ('login_failed', 'rate_limited')
                 THEN COALESCE((SELECT u.id FROM users u WHERE u.username_folded = e.actor), '')
             ELSE e.actor END,
        CASE WHEN e.actor = 'operator' THEN 'operator'
             WHEN e.actor LIKE 'apikey:%'
                 THEN COALESCE('apikey:' || (SELECT k.name FROM api_keys k
                                             WHERE k.id = substr(e.actor, 8)), '')
             WHEN e.action IN ('login_failed', 'rate_limited')
                 THEN COALESCE((SELECT u.username FROM users u
                                WHERE u.username_folded = e.actor), '')
             ELSE COALESCE((SELECT u.username FROM users u WHERE u.id = e.actor), '') END,
        CASE WHEN e.actor = 'operator' THEN 'cli' ELSE 'rest' END,
        CASE WHEN e.actor = 'operator' THEN '' ELSE 'rest_api' END,
        CASE WHEN e.action IN ('login_failed', 'rate_limited') THEN 'failed'
             ELSE 'succeeded' END,
        '',
        CASE WHEN e.target = '' THEN ''
             WHEN e.action IN ('api_key_create', 'api_key_update', 'api_key_delete') THEN 'api_key'
             WHEN e.action IN ('db_backup', 'db_restore') THEN 'backup'
             ELSE 'user' END,
        e.target,
        '',
        CASE WHEN e.actor LIKE 'apikey:%' THEN substr(e.actor, 8) ELSE '' END,
        CASE WHEN e.actor LIKE 'apikey:%' THEN 'api_key'
             WHEN e.actor = 'operator'
                  OR e.action IN ('setup_admin', 'login', 'login_failed', 'rate_limited')
                 THEN 'none'
             ELSE 'jwt' END,
        '',
        CASE WHEN e.action = 'rate_limited' AND e.detail = '{}' THEN '{"reason":"rate_limited"}'
             WHEN e.action = 'rate_limited' THEN '{"reason":"rate_limited",' || substr(e.detail, 2)
             WHEN e.detail = '{}' THEN ''
             ELSE e.detail END,
        e.client_ip
    FROM audit_events e
"#
    };
}
