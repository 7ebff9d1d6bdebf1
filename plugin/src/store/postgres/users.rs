//! User rows of the PostgreSQL store. Every check-then-act here holds the users advisory lock,
//! so two hosts cannot both pass a check that only one may pass.

use postgres::Client;
use postgres::error::SqlState;

use super::pool::Conn;
use super::{PgError, PgResult, bump_change_counter, count, lock, select_one};
use crate::error::{Error, Result, msg};
use crate::model::{SsoIdentity, UserRecord, fold_username};
use crate::store::layout::{self, USER_COLUMNS};
use crate::store::rules::{self, COUNT_ENABLED_ADMINS};
use crate::store::username_keys;
use crate::store::{UpdateEffects, UserChange};

/// The list order and keyset of `list_users`: byte order, as SQLite sorts, whatever the
/// database's collation. The index `users_in_list_order` has exactly these collations, so the
/// planner reads it in order instead of sorting the table for every page.
const USER_ORDER: &str = "username_folded COLLATE \"C\", id COLLATE \"C\"";
/// Rows per round trip of `walk`: a few hundred KB held at a time.
const WALK_BATCH: i32 = 1000;

/// Inserts `user` only while no user exists; `false` when someone was first.
pub fn insert_first(tx: &mut Client, user: &UserRecord) -> PgResult<bool> {
    lock_users(tx)?;
    if count(tx, "SELECT COUNT(*) FROM users")? > 0 {
        return Ok(false);
    }
    insert(tx, user)?;
    Ok(true)
}

pub fn insert(tx: &mut Client, user: &UserRecord) -> PgResult<()> {
    let (provider, issuer, subject) = layout::sso_columns(user);
    tx.execute(
        &format!(
            "INSERT INTO users ({USER_COLUMNS}, username_folded, username_skeleton) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ),
        &[
            &user.id,
            &user.username,
            &user.role.as_str(),
            &layout::access_json(&user.workspace_access)?,
            &user.password_hash,
            &user.disabled,
            &user.created_at_ms,
            &user.updated_at_ms,
            &layout::mfa_column(user)?,
            &provider,
            &issuer,
            &subject,
            &fold_username(&user.username),
            &username_keys::skeleton_of(&user.username),
        ],
    )
    .map_err(unique_username)?;
    Ok(())
}

/// The user an SSO identity signed in as, through the unique index on the identity.
pub fn by_sso_identity(
    client: &mut Client,
    identity: &SsoIdentity,
) -> PgResult<Option<UserRecord>> {
    let found = client.query_opt(
        &format!(
            "SELECT {USER_COLUMNS} FROM users \
             WHERE auth_provider = $1 AND sso_issuer = $2 AND sso_subject = $3"
        ),
        &[
            &identity.provider.as_str(),
            &identity.issuer,
            &identity.subject,
        ],
    )?;
    Ok(found.as_ref().map(layout::user).transpose()?)
}

pub fn select(client: &mut Client, column: &str, value: &str) -> PgResult<Option<UserRecord>> {
    select_one(
        client,
        &format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = $1"),
        value,
        layout::user,
    )
}

/// Row-value keyset on `users_in_list_order`: a page costs the same at any depth.
pub fn page(
    client: &mut Client,
    after: Option<(&str, &str)>,
    limit: i64,
) -> PgResult<Vec<UserRecord>> {
    let found = match after {
        Some((name, id)) => client.query(
            &format!(
                "SELECT {USER_COLUMNS} FROM users WHERE ({USER_ORDER}) > ($1, $2) \
                 ORDER BY {USER_ORDER} LIMIT $3"
            ),
            &[&name, &id, &limit],
        )?,
        None => client.query(
            &format!("SELECT {USER_COLUMNS} FROM users ORDER BY {USER_ORDER} LIMIT $1"),
            &[&limit],
        )?,
    };
    Ok(found.iter().map(layout::user).collect::<Result<_>>()?)
}

/// The whole list through one portal (the wire protocol's cursor) in a read-only transaction,
/// `WALK_BATCH` rows per round trip. One statement has one snapshot, so the list is consistent
/// at any isolation level and the server orders the table once. Keyset pages would each be a
/// statement of their own, consistent only under REPEATABLE READ.
pub fn walk(conn: &mut Conn<'_>, visit: &mut dyn FnMut(UserRecord) -> Result<()>) -> PgResult<()> {
    let mut tx = conn.client().build_transaction().read_only(true).start()?;
    let walked = walk_portal(&mut tx, visit);
    let ended = match walked {
        Ok(()) => tx.commit(),
        Err(_) => tx.rollback(),
    };
    match (walked, ended) {
        (Ok(()), ended) => Ok(ended?),
        (Err(error), Ok(())) => Err(error),
        // As in `PostgresStore::write`: a connection that may still be in the transaction is not
        // handed on.
        (Err(error), Err(_)) => {
            conn.discard();
            Err(error)
        }
    }
}

pub fn update(tx: &mut Client, id: &str, change: &mut UserChange<'_>) -> PgResult<UserRecord> {
    lock_users(tx)?;
    let mut user = existing(tx, id)?;
    let was_enabled_admin = user.is_enabled_admin();
    let effects: UpdateEffects = change(&mut user)?;
    // The key and skeleton change only with a rename (the SQLite store says why).
    tx.execute(
        "UPDATE users SET username = $2, \
         username_folded = CASE WHEN username = $2 THEN username_folded ELSE $3 END, \
         username_skeleton = CASE WHEN username = $2 THEN username_skeleton ELSE $10 END, \
         role = $4, workspace_access = $5, password_hash = $6, disabled = $7, updated_at = $8, \
         mfa = $9 \
         WHERE id = $1",
        &[
            &user.id,
            &user.username,
            &fold_username(&user.username),
            &user.role.as_str(),
            &layout::access_json(&user.workspace_access)?,
            &user.password_hash,
            &user.disabled,
            &user.updated_at_ms,
            &layout::mfa_column(&user)?,
            &username_keys::skeleton_of(&user.username),
        ],
    )
    .map_err(unique_username)?;
    if effects.revoke_sessions {
        tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&id])?;
    }
    rules::keep_an_enabled_admin(was_enabled_admin, user.is_enabled_admin(), || {
        count(tx, COUNT_ENABLED_ADMINS)
    })?;
    bump_change_counter(tx)?;
    Ok(user)
}

/// Sessions go with the user (a foreign key, `ON DELETE CASCADE`); API keys stay, as in Dagu, and
/// no longer work (the Engine refuses a key whose owner is gone).
pub fn delete(
    tx: &mut Client,
    id: &str,
    check: &mut dyn FnMut(&UserRecord) -> Result<()>,
) -> PgResult<()> {
    lock_users(tx)?;
    let user = existing(tx, id)?;
    check(&user)?;
    tx.execute("DELETE FROM users WHERE id = $1", &[&id])?;
    rules::keep_an_enabled_admin(user.is_enabled_admin(), false, || {
        count(tx, COUNT_ENABLED_ADMINS)
    })?;
    bump_change_counter(tx)
}

/// Held until the transaction ends.
fn lock_users(tx: &mut Client) -> PgResult<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock::USERS])?;
    Ok(())
}

fn existing(tx: &mut Client, id: &str) -> PgResult<UserRecord> {
    select(tx, "id", id)?.ok_or_else(|| Error::NotFound(msg::USER_NOT_FOUND.into()).into())
}

fn walk_portal(
    tx: &mut postgres::Transaction<'_>,
    visit: &mut dyn FnMut(UserRecord) -> Result<()>,
) -> PgResult<()> {
    let portal = tx.bind(
        &format!("SELECT {USER_COLUMNS} FROM users ORDER BY {USER_ORDER}"),
        &[],
    )?;
    loop {
        let batch = tx.query_portal(&portal, WALK_BATCH)?;
        for row in &batch {
            visit(layout::user(row)?)?;
        }
        if batch.len() < WALK_BATCH as usize {
            return Ok(());
        }
    }
}

/// Any unique violation reads as a taken username, a taken SSO identity included: provisioning
/// looks the identity up again after `AlreadyExists`, so it tells the two apart itself.
fn unique_username(e: postgres::Error) -> PgError {
    let skeleton = e
        .as_db_error()
        .and_then(|db| db.constraint())
        .is_some_and(|name| name.contains("skeleton"));
    match e.code() {
        Some(&SqlState::UNIQUE_VIOLATION) if skeleton => {
            PgError::Settled(username_keys::username_confusable())
        }
        Some(&SqlState::UNIQUE_VIOLATION) => PgError::Settled(rules::username_taken()),
        _ => PgError::Driver(e),
    }
}
