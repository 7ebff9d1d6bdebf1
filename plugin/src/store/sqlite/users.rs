//! User rows of the SQLite store.

use rusqlite::{Connection, ErrorCode, Row, Transaction, params};

use super::{count, select_one, sql_error};
use crate::error::{Error, Result, msg};
use crate::model::{SsoIdentity, UserRecord, fold_username};
use crate::store::layout::{self, USER_COLUMNS};
use crate::store::rules::{self, COUNT_ENABLED_ADMINS};
use crate::store::username_keys;
use crate::store::{UpdateEffects, UserChange};

/// Inserts `user` only while no user exists; `false` when someone was first.
pub fn insert_first(tx: &Transaction<'_>, user: &UserRecord) -> Result<bool> {
    if tx
        .query_row("SELECT COUNT(*) FROM users", [], count)
        .map_err(sql_error)?
        > 0
    {
        return Ok(false);
    }
    insert(tx, user)?;
    Ok(true)
}

pub fn insert(tx: &Transaction<'_>, user: &UserRecord) -> Result<()> {
    write(
        tx,
        &format!(
            "INSERT INTO users ({USER_COLUMNS}, username_folded, username_skeleton) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        user,
    )
}

pub fn select(
    conn: &Connection,
    column: &str,
    value: &str,
) -> rusqlite::Result<Option<Result<UserRecord>>> {
    select_one(
        conn,
        &format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = ?1"),
        value,
        |row| layout::user(row),
    )
}

/// One statement is one read transaction: in WAL mode it sees the database as of its first step
/// until it is reset, however long `visit` takes, and writers carry on.
pub fn walk(
    conn: &Connection,
    visit: &mut dyn FnMut(UserRecord) -> Result<()>,
) -> rusqlite::Result<Result<()>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY username_folded, id"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        if let Err(e) = layout::user(row).and_then(&mut *visit) {
            return Ok(Err(e));
        }
    }
    Ok(Ok(()))
}

/// Row-value keyset on the unique username index: a page costs the same at any depth.
pub fn page(
    conn: &Connection,
    after: Option<(&str, &str)>,
    limit: i64,
) -> rusqlite::Result<Result<Vec<UserRecord>>> {
    match after {
        Some((name, id)) => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE (username_folded, id) > (?1, ?2)
                 ORDER BY username_folded, id LIMIT ?3"
            ))?;
            collect(stmt.query_map(params![name, id, limit], decode)?)
        }
        None => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users ORDER BY username_folded, id LIMIT ?1"
            ))?;
            collect(stmt.query_map([limit], decode)?)
        }
    }
}

/// The columns a change may move; the parameter numbers are those of `write`. The folded
/// username and its skeleton are rewritten only by a rename, so a row that lost its key or
/// skeleton to an older one when usernames were re-keyed can still be changed (disabled, say)
/// before it is renamed. The SSO identity is written back as it was read: no change sets it.
const UPDATE: &str = "UPDATE users SET username = ?2, \
     username_folded = CASE WHEN username = ?2 THEN username_folded ELSE ?13 END, \
     username_skeleton = CASE WHEN username = ?2 THEN username_skeleton ELSE ?14 END, role = ?3, \
     workspace_access = ?4, password_hash = ?5, disabled = ?6, updated_at = ?8, mfa = ?9, \
     auth_provider = ?10, sso_issuer = ?11, sso_subject = ?12 WHERE id = ?1";

pub fn update(tx: &Transaction<'_>, id: &str, change: &mut UserChange<'_>) -> Result<UserRecord> {
    let mut user = existing(tx, id)?;
    let was_enabled_admin = user.is_enabled_admin();
    let effects: UpdateEffects = change(&mut user)?;
    write(tx, UPDATE, &user)?;
    if effects.revoke_sessions {
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])
            .map_err(sql_error)?;
    }
    rules::keep_an_enabled_admin(was_enabled_admin, user.is_enabled_admin(), || {
        count_enabled_admins(tx)
    })?;
    Ok(user)
}

/// Sessions go with the user (a foreign key, `ON DELETE CASCADE`); API keys stay, as in Dagu, and
/// no longer work (the Engine refuses a key whose owner is gone).
pub fn delete(
    tx: &Transaction<'_>,
    id: &str,
    check: &mut dyn FnMut(&UserRecord) -> Result<()>,
) -> Result<()> {
    let user = existing(tx, id)?;
    check(&user)?;
    tx.execute("DELETE FROM users WHERE id = ?1", [id])
        .map_err(sql_error)?;
    rules::keep_an_enabled_admin(user.is_enabled_admin(), false, || count_enabled_admins(tx))
}

fn existing(tx: &Transaction<'_>, id: &str) -> Result<UserRecord> {
    select(tx, "id", id)
        .map_err(sql_error)?
        .transpose()?
        .ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()))
}

/// Counted in the writing transaction, which `BEGIN IMMEDIATE` makes the only writer, so two
/// concurrent demotions cannot both pass the last-admin rule.
fn count_enabled_admins(tx: &Transaction<'_>) -> Result<u64> {
    tx.query_row(COUNT_ENABLED_ADMINS, [], count)
        .map_err(sql_error)
}

/// Rows straight into one vector: collecting the row results first would hold every user twice.
fn collect(
    rows: impl Iterator<Item = rusqlite::Result<Result<UserRecord>>>,
) -> rusqlite::Result<Result<Vec<UserRecord>>> {
    let mut users = Vec::new();
    for row in rows {
        match row? {
            Ok(user) => users.push(user),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(users))
}

/// Runs `sql` with every column of `user` bound: ?1 to ?12 `USER_COLUMNS`, ?13 the folded
/// username, ?14 its skeleton; SQLite lets a statement leave numbered parameters unused, so the
/// insert and the update share one list.
fn write(tx: &Transaction<'_>, sql: &str, user: &UserRecord) -> Result<()> {
    let (provider, issuer, subject) = layout::sso_columns(user);
    tx.execute(
        sql,
        params![
            user.id,
            user.username,
            user.role.as_str(),
            layout::access_json(&user.workspace_access)?,
            user.password_hash,
            user.disabled,
            user.created_at_ms,
            user.updated_at_ms,
            layout::mfa_column(user)?,
            provider,
            issuer,
            subject,
            fold_username(&user.username),
            username_keys::skeleton_of(&user.username),
        ],
    )
    .map_err(|e| unique_username(tx, user, e))?;
    Ok(())
}

/// The user an SSO identity signed in as, through the unique index on the identity.
pub fn by_sso_identity(
    conn: &Connection,
    identity: &SsoIdentity,
) -> rusqlite::Result<Option<Result<UserRecord>>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users \
         WHERE auth_provider = ?1 AND sso_issuer = ?2 AND sso_subject = ?3"
    ))?;
    let params = params![
        identity.provider.as_str(),
        identity.issuer,
        identity.subject
    ];
    let mut rows = stmt.query(params)?;
    Ok(rows.next()?.map(layout::user))
}

/// For rusqlite's row callbacks, whose own error type is only the driver's: the decoding's
/// verdict travels inside.
fn decode(row: &Row<'_>) -> rusqlite::Result<Result<UserRecord>> {
    Ok(layout::user(row))
}

/// SQLite may report either unique index first; a name whose key is taken is "taken" even when
/// its skeleton clashes too, so the key is looked at before answering "looks the same".
fn unique_username(tx: &Transaction<'_>, user: &UserRecord, e: rusqlite::Error) -> Error {
    if e.sqlite_error_code() != Some(ErrorCode::ConstraintViolation) {
        return sql_error(e);
    }
    if !e.to_string().contains("username_skeleton") {
        return rules::username_taken();
    }
    let key_taken = tx.query_row(
        "SELECT COUNT(*) FROM users WHERE username_folded = ?1 AND id <> ?2",
        params![fold_username(&user.username), user.id],
        count,
    );
    match key_taken {
        Ok(0) => username_keys::username_confusable(),
        Ok(_) => rules::username_taken(),
        Err(e) => sql_error(e),
    }
}
