//! API keys stored before surfaces and attribution were checked, in a database of the schema
//! before this one (version 2, written here as that version created it), opened by this version
//! on SQLite and on PostgreSQL: every key is kept and keeps working where it worked, the key of
//! an owner stays tied to that owner and gets the owner's username, and deleting the owner no
//! longer deletes the key.

mod common;
mod pg;

use std::sync::Arc;

use dagu_auth::clock::ManualClock;
use dagu_auth::service::{Credentials, UpdateApiKeyRequest};
use dagu_auth::token::ApiKeyDigest;
use dagu_auth::{Config, Engine, Error};
use dagu_auth_abi::{
    DaguAuthAction as Action, DaguAuthDecision as Decision, DaguAuthSurface as Surface,
};
use serde_json::{Value, json};

use common::{PASSWORD_HASH, START_MS};

const SECRET: &[u8] = b"a shared secret of at least 32 bytes!";
/// An admin key without an owner, made before attribution: it manages everything below.
const ADMIN_KEY: &str = "dagu_AdminKey1111111111111111111111111111111";
/// alice's key, stored with the class the old code defaulted to.
const OWNED_KEY: &str = "dagu_OwnedKey1111111111111111111111111111111";
/// No surfaces and a class no request may send now.
const LEGACY_KEY: &str = "dagu_LegacyKey111111111111111111111111111111";
/// A service account for MCP only, stored as one (an unknown surface beside it).
const ACCOUNT_KEY: &str = "dagu_AccountKey11111111111111111111111111111";

/// The users and keys of the old database; the SQL is the same in both dialects.
fn old_rows() -> String {
    let digest = ApiKeyDigest::new(SECRET).expect("digest");
    let access = r#"{"all":true,"grants":[]}"#;
    let key = |id: &str, key: &str, role: &str, owner: &str, extra: &str| {
        format!(
            "INSERT INTO api_keys (id, name, description, role, workspace_access, key_prefix, \
             digest, created_at, updated_at, created_by, last_used_at, expires_at, owner_user_id, \
             extra) VALUES ('{id}', '{id}', '', '{role}', '{access}', '{prefix}', '{digest}', 1, 1, \
             'a', NULL, NULL, {owner}, '{extra}');\n",
            prefix = &key[..11],
            digest = digest.digest(key),
        )
    };
    let user = |id: &str, name: &str, role: &str| {
        format!(
            "INSERT INTO users (id, username, username_folded, role, workspace_access, \
             password_hash, disabled, created_at, updated_at) VALUES ('{id}', '{name}', '{name}', \
             '{role}', '{access}', '{PASSWORD_HASH}', FALSE, 1, 1);\n"
        )
    };
    [
        user("a", "admin", "admin"),
        user("u1", "alice", "developer"),
        key(
            "admin-key",
            ADMIN_KEY,
            "admin",
            "NULL",
            r#"{"allowedSurfaces":["rest_api"],"attributionClass":"service_account","serviceAccountName":null}"#,
        ),
        key(
            "owned",
            OWNED_KEY,
            "developer",
            "'u1'",
            r#"{"allowedSurfaces":["rest_api"],"attributionClass":"service_account","serviceAccountName":null}"#,
        ),
        key(
            "legacy",
            LEGACY_KEY,
            "viewer",
            "NULL",
            r#"{"allowedSurfaces":[],"attributionClass":"robot","serviceAccountName":null}"#,
        ),
        key(
            "account",
            ACCOUNT_KEY,
            "viewer",
            "NULL",
            r#"{"allowedSurfaces":["ftp","mcp"],"attributionClass":"service_account","serviceAccountName":"bot"}"#,
        ),
    ]
    .concat()
}

fn engine(config: Config) -> Engine {
    let mut config = config;
    config.token_secret = Some(SECRET.to_vec());
    Engine::open_with_clock(config, Arc::new(ManualClock::at(START_MS))).expect("engine opens")
}

fn keys_by_name(engine: &Engine) -> Value {
    let listed =
        serde_json::to_value(engine.list_api_keys(ADMIN_KEY).expect("list")).expect("json");
    let mut by_name = serde_json::Map::new();
    for key in listed["apiKeys"].as_array().expect("apiKeys") {
        by_name.insert(key["name"].as_str().expect("name").into(), key.clone());
    }
    Value::Object(by_name)
}

fn decide(engine: &Engine, key: &str, surface: Surface) -> Result<Decision, Error> {
    engine.authorize(Credentials::from(key).on(surface), Action::View, "")
}

fn not_for_this_surface() -> Result<Decision, Error> {
    Err(Error::Forbidden(
        "API key is not allowed for this surface".into(),
    ))
}

/// What every backend must show once the old database is open.
fn the_old_keys_read_as_dagu_reads_them(engine: &Engine) {
    let keys = keys_by_name(engine);
    let owned = &keys["owned"];
    assert_eq!(owned["attributionClass"], "user_owned");
    assert_eq!(owned["ownerUserId"], "u1");
    assert_eq!(
        owned["ownerUsername"], "alice",
        "filled in by the migration"
    );
    assert_eq!(owned["allowedSurfaces"], json!(["rest_api"]));
    assert_eq!(owned["keyPrefix"], &OWNED_KEY[..8]);
    let legacy = &keys["legacy"];
    assert_eq!(legacy["allowedSurfaces"], json!(["rest_api", "mcp"]));
    assert_eq!(legacy["attributionClass"], "service_account");
    assert_eq!(legacy["serviceAccountName"], "legacy");
    assert_eq!(legacy["serviceAccountId"], "api_key:legacy");
    assert_eq!(legacy["migratedAsServiceAccount"], true);
    let account = &keys["account"];
    assert_eq!(account["allowedSurfaces"], json!(["mcp"]));
    assert_eq!(account["serviceAccountName"], "bot");
    assert!(account.get("migratedAsServiceAccount").is_none());

    assert_eq!(
        decide(engine, OWNED_KEY, Surface::RestApi),
        Ok(Decision::Allow)
    );
    assert_eq!(
        decide(engine, OWNED_KEY, Surface::Mcp),
        not_for_this_surface()
    );
    for surface in Surface::ALL {
        assert_eq!(decide(engine, LEGACY_KEY, surface), Ok(Decision::Allow));
    }
    assert_eq!(
        decide(engine, ACCOUNT_KEY, Surface::Mcp),
        Ok(Decision::Allow)
    );
    assert_eq!(
        decide(engine, ACCOUNT_KEY, Surface::RestApi),
        not_for_this_surface()
    );

    // An update settles the migrated key as the service account it was read as.
    let patch: UpdateApiKeyRequest =
        serde_json::from_value(json!({"description": "checked"})).expect("patch");
    let updated = engine
        .update_api_key(ADMIN_KEY, "legacy", patch)
        .expect("update the legacy key");
    let updated = serde_json::to_value(updated).expect("json")["apiKey"].clone();
    assert!(
        updated.get("migratedAsServiceAccount").is_none(),
        "{updated}"
    );
    assert_eq!(updated["serviceAccountName"], "legacy");

    // The owner's cascade is gone: the key outlives alice, refused from then on.
    engine.delete_user(ADMIN_KEY, "u1").expect("delete alice");
    assert!(matches!(
        decide(engine, OWNED_KEY, Surface::RestApi),
        Err(Error::Unauthenticated(_))
    ));
    assert_eq!(keys_by_name(engine)["owned"]["ownerUsername"], "alice");
}

/// The SQLite schema at version 2, the one the audit migration test starts from too.
const SQLITE_V2: &str = include_str!("fixtures/schema_v2_sqlite.sql");

#[test]
fn sqlite_keys_from_the_previous_schema_are_kept_and_read_as_dagu_reads_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("auth/auth.db");
    std::fs::create_dir_all(dir.path().join("auth")).expect("auth folder");
    let conn = rusqlite::Connection::open(&db).expect("create the old database");
    conn.execute_batch(SQLITE_V2).expect("the version 2 schema");
    conn.pragma_update(None, "user_version", 2)
        .expect("version 2");
    conn.execute_batch(&old_rows()).expect("the old rows");
    drop(conn);

    let engine = engine(common::config(dir.path()));
    assert!(dagu_auth::store::schema_version(&db).expect("version") > 2);
    the_old_keys_read_as_dagu_reads_them(&engine);
    let report = dagu_auth::store::verify_database(&db).expect("verify");
    assert!(report.is_ok(), "{report}");
}

/// The PostgreSQL schema at version 2, the one the audit migration test starts from too.
const POSTGRES_V2: &str = include_str!("fixtures/schema_v2_postgres.sql");

#[cfg(feature = "postgres")]
#[test]
fn postgres_keys_from_the_previous_schema_are_kept_and_read_as_dagu_reads_them() {
    use dagu_auth::config::{PostgresConfig, StoreConfig};
    let Some(schema) = pg::schema() else { return };
    schema.execute(POSTGRES_V2);
    schema.execute(
        "CREATE TABLE dagu_auth_schema (id INTEGER PRIMARY KEY CHECK (id = 1), \
         version INTEGER NOT NULL); INSERT INTO dagu_auth_schema VALUES (1, 2);",
    );
    schema.execute(&old_rows());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config(dir.path());
    config.store = StoreConfig::Postgres(PostgresConfig::new(&schema.url));
    let engine = engine(config);
    the_old_keys_read_as_dagu_reads_them(&engine);
}

#[cfg(not(feature = "postgres"))]
#[test]
fn postgres_keys_from_the_previous_schema_are_kept_and_read_as_dagu_reads_them() {
    let _ = POSTGRES_V2;
    pg::schema();
}
