//! The PostgreSQL store next to SQLite: sign-in, user CRUD and `authorize` through the Engine.
//!
//! `cargo bench -p dagu-auth --features postgres --bench store_postgres`, with
//! `DAGU_AUTH_TEST_POSTGRES_URL` naming a server (each run gets a schema of its own). Without it
//! only the SQLite figures are measured. Hashing uses cheap argon2 parameters so the figures show
//! the store, not the hash (the hash cost is the same for both).

mod common;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dagu_auth::config::{Argon2Params, PostgresConfig, StoreConfig};
use dagu_auth::service::{CreateUserRequest, UpdateUserRequest};
use dagu_auth::{Config, Engine};
use dagu_auth_abi::DaguAuthAction as Action;

const PASSWORD: &str = "bench-password-1";
const SECRET: &[u8] = b"a benchmark secret of at least 32 bytes";

struct Subject {
    name: &'static str,
    engine: Engine,
    admin: String,
    _dir: tempfile::TempDir,
}

fn engine(store: StoreConfig) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new(dir.path());
    config.argon2 = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    config.license_features = vec!["rbac".into()];
    config.token_secret = Some(SECRET.to_vec());
    config.store = store;
    let engine = Engine::open(config).expect("engine opens");
    (engine, dir)
}

fn subject(name: &'static str, store: StoreConfig) -> Subject {
    let (engine, dir) = engine(store);
    let admin = engine.setup("admin", PASSWORD, "").expect("setup").token;
    Subject {
        name,
        engine,
        admin,
        _dir: dir,
    }
}

/// A fresh schema in the test database and its URL, or `None` when no server is configured.
fn postgres_schema() -> Option<(String, String)> {
    let url = std::env::var("DAGU_AUTH_TEST_POSTGRES_URL").ok()?;
    let schema = format!("dagu_bench_{}", std::process::id());
    let scoped = common::fresh_postgres_schema(&url, &schema).ok()?;
    Some((scoped, schema))
}

fn subjects() -> (Vec<Subject>, Option<String>) {
    let mut subjects = vec![subject("sqlite", StoreConfig::Sqlite)];
    let schema = postgres_schema().map(|(url, schema)| {
        subjects.push(subject(
            "postgres",
            StoreConfig::Postgres(PostgresConfig::new(url)),
        ));
        schema
    });
    if schema.is_none() {
        eprintln!("DAGU_AUTH_TEST_POSTGRES_URL unset or unreachable: SQLite only");
    }
    (subjects, schema)
}

fn store_latency(c: &mut Criterion) {
    let (subjects, schema) = subjects();
    let mut group = c.benchmark_group("store");
    group.measurement_time(Duration::from_secs(4));
    for s in &subjects {
        group.bench_function(BenchmarkId::new("sign_in", s.name), |b| {
            b.iter(|| s.engine.login("admin", PASSWORD, "").expect("login"))
        });
        let token = s.engine.login("admin", PASSWORD, "").expect("login").token;
        group.bench_function(BenchmarkId::new("authorize_cached", s.name), |b| {
            b.iter(|| {
                s.engine
                    .authorize(&token, Action::View, "")
                    .expect("authorize")
            })
        });
        group.bench_function(BenchmarkId::new("list_users", s.name), |b| {
            b.iter(|| s.engine.list_users(s.admin.as_str()).expect("list"))
        });
        let mut n = 0u64;
        group.bench_function(BenchmarkId::new("create_update_delete_user", s.name), |b| {
            b.iter(|| {
                n += 1;
                let created = s
                    .engine
                    .create_user(
                        s.admin.as_str(),
                        CreateUserRequest {
                            username: format!("user{n}"),
                            password: PASSWORD.into(),
                            role: "viewer".into(),
                            workspace_access: None,
                        },
                    )
                    .expect("create");
                let id = created.0.id;
                let patch = UpdateUserRequest {
                    username: None,
                    role: Some("operator".into()),
                    workspace_access: None,
                    is_disabled: None,
                };
                s.engine
                    .update_user(s.admin.as_str(), &id, patch)
                    .expect("update");
                s.engine.delete_user(s.admin.as_str(), &id).expect("delete");
            })
        });
    }
    group.finish();
    drop(subjects);
    if let (Some(schema), Ok(url)) = (schema, std::env::var("DAGU_AUTH_TEST_POSTGRES_URL")) {
        common::drop_postgres_schema(&url, &schema);
    }
}

criterion_group!(benches, store_latency);
criterion_main!(benches);
