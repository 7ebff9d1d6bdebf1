//! The audit trail at 1,000,000 entries: `GET /api/v1/audit` pages with their total through the
//! HTTP layer (the filters Dagu's audit page sends, and the worst cases), the cost of recording one
//! entry before (schema 2, `audit_events`) and after (schema 3, `audit_entries`) on the same
//! settings, and how long the upgrade from schema 2 takes.
//!
//! Both data sets are written once under `target/bench-data/audit-1000000/` (about 1 minute and
//! 0.5 GB) and reused while their `ready` markers exist. `BENCH_AUDIT_TMPFS=/dev/shm` repeats the
//! insert comparison on a RAM disk, where no commit waits for the disk and only the work of the
//! insert itself is left.

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Rng, SECRET};
use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use dagu_auth::Engine;
use dagu_auth::http::{self, Request};
use dagu_auth::model::{AuditEntry, Role, UserRecord, WorkspaceAccess};
use dagu_auth::store::{Session, SqliteStore, Store};
use dagu_auth::token::{Claims, TokenCodec};
use rusqlite::{Connection, TransactionBehavior, params};

const ENTRIES: usize = 1_000_000;
const USERS: usize = 1_000;
const DAGS: usize = 200;
const WORKSPACES: usize = 20;
/// The data set's last entry: 2026-11-01T00:00:00Z. Fixed, so the queries below select the same
/// entries however long the data set is kept.
const END_MS: i64 = 1_793_491_200_000;
const DAY_MS: i64 = 86_400_000;
/// Entries spread evenly over 90 days: about 11,000 a day, 78,000 in the last week.
const SPAN_MS: i64 = 90 * DAY_MS;
const ADMIN_ID: &str = "00000000-0000-4000-8000-00000000a001";
const ADMIN_JTI: &str = "bench-audit-admin";
const SCHEMA_2: &str = include_str!("../tests/fixtures/schema_v2_sqlite.sql");
/// A well-formed hash the admin never signs in with: the bench reads with a signed token.
const UNUSED_HASH: &str = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA";

/// (category, action, weight): a week of a busy installation, where most entries are sign-ins and
/// DAG runs.
const MIX: [(&str, &str, usize); 12] = [
    ("user", "login", 40),
    ("dag", "dag_execute", 30),
    ("dag", "dag_update", 10),
    ("user", "login_failed", 5),
    ("user", "logout", 5),
    ("user", "user_update", 2),
    ("user", "user_create", 2),
    ("user", "password_reset", 2),
    ("user", "password_change", 1),
    ("api_key", "api_key_create", 1),
    ("api_key", "api_key_update", 1),
    ("system", "db_backup", 1),
];

fn user_id(i: usize) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", i, i * 7919)
}

/// The n-th entry of the data set, from a seeded generator.
fn entry(n: usize, rng: &mut Rng) -> AuditEntry {
    let total: usize = MIX.iter().map(|(_, _, w)| w).sum();
    let mut pick = rng.below(total);
    let (category, action, _) = MIX
        .iter()
        .find(|(_, _, w)| {
            let hit = pick < *w;
            pick = pick.saturating_sub(*w);
            hit
        })
        .copied()
        .unwrap_or(MIX[0]);
    let user = rng.below(USERS);
    let by_key = category == "dag" && rng.below(10) == 0;
    let failed = action == "login_failed";
    let (resource_type, resource_id, workspace, details) = match category {
        "dag" => {
            let dag = format!("dag-{:03}", rng.below(DAGS));
            let workspace = format!("ws{:02}", rng.below(WORKSPACES));
            let details = format!(r#"{{"dag_name":"{dag}"}}"#);
            ("dag", dag, workspace, details)
        }
        "api_key" => (
            "api_key",
            format!("key-{:03}", rng.below(50)),
            String::new(),
            String::new(),
        ),
        "system" => (
            "backup",
            "/backups/auth.db".to_string(),
            String::new(),
            String::new(),
        ),
        _ if failed => (
            "user",
            user_id(user),
            String::new(),
            r#"{"reason":"invalid_credentials"}"#.to_string(),
        ),
        _ => ("user", user_id(user), String::new(), String::new()),
    };
    let credential_type = match (by_key, action) {
        (true, _) => "api_key",
        (false, "login" | "login_failed") => "none",
        _ => "jwt",
    };
    AuditEntry {
        seq: 0,
        id: format!(
            "{:08x}-{:04x}-4000-8000-{:012x}",
            n,
            rng.below(65_536),
            rng.next() >> 16
        ),
        at_ms: END_MS - SPAN_MS + (n as i64 * SPAN_MS) / ENTRIES as i64,
        category: category.into(),
        action: action.into(),
        user_id: if by_key {
            format!("apikey:key-{:03}", user % 50)
        } else {
            user_id(user)
        },
        username: if by_key {
            format!("apikey:key-{:03}", user % 50)
        } else {
            format!("user{user}")
        },
        source: "rest".into(),
        surface: "rest_api".into(),
        result: if failed { "failed" } else { "succeeded" }.into(),
        correlation_id: String::new(),
        resource_type: resource_type.into(),
        resource_id,
        workspace,
        credential_id: if by_key {
            format!("key-{:03}", user % 50)
        } else {
            String::new()
        },
        credential_type: credential_type.into(),
        mcp_tool: String::new(),
        details,
        ip_address: format!("10.0.{}.{}", rng.below(4), rng.below(50)),
    }
}

fn root() -> PathBuf {
    common::bench_data_root().join(format!("audit-{ENTRIES}"))
}

/// Writes `build` into `<dir>/auth/auth.db` once; later runs reuse it.
fn cached(dir: &Path, what: &str, build: impl FnOnce(&Path)) {
    if dir.join("ready").exists() {
        return;
    }
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("auth")).expect("data dir");
    build(&dir.join("auth"));
    std::fs::write(dir.join("ready"), b"").expect("marker");
    eprintln!(
        "generated {what} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Schema 3 with 1,000,000 entries, the admin who reads them, and the admin's session.
fn current_data_set() -> PathBuf {
    let dir = root().join("current");
    cached(&dir, "1,000,000 audit entries (schema 3)", |auth| {
        let store = SqliteStore::open(auth).expect("store");
        store
            .insert_user(&UserRecord {
                sso: None,
                id: ADMIN_ID.into(),
                username: "admin".into(),
                role: Role::Admin,
                workspace_access: WorkspaceAccess::all(),
                password_hash: UNUSED_HASH.into(),
                disabled: false,
                created_at_ms: END_MS,
                updated_at_ms: END_MS,
            })
            .expect("admin");
        store
            .insert_session(&Session {
                jti: ADMIN_JTI.into(),
                user_id: ADMIN_ID.into(),
                created_at_ms: END_MS,
                expires_at_ms: 4_102_444_800_000,
            })
            .expect("session");
        drop(store);
        let mut conn = Connection::open(auth.join("auth.db")).expect("open");
        let tx = conn.transaction().expect("transaction");
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO audit_entries (at, id, category, action, user_id, username, \
                     source, surface, result, correlation_id, resource_type, resource_id, \
                     workspace, credential_id, credential_type, mcp_tool, details, ip_address) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                     ?16, ?17, ?18)",
                )
                .expect("prepare");
            let mut rng = Rng::new(ENTRIES as u64);
            for n in 0..ENTRIES {
                let e = entry(n, &mut rng);
                insert
                    .execute(params![
                        e.at_ms,
                        e.id,
                        e.category,
                        e.action,
                        e.user_id,
                        e.username,
                        e.source,
                        e.surface,
                        e.result,
                        e.correlation_id,
                        e.resource_type,
                        e.resource_id,
                        e.workspace,
                        e.credential_id,
                        e.credential_type,
                        e.mcp_tool,
                        e.details,
                        e.ip_address
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    });
    dir
}

/// Schema 2 (the previous one) with 1,000,000 events of the kinds it recorded.
fn schema_2_data_set() -> PathBuf {
    let dir = root().join("schema-2");
    cached(&dir, "1,000,000 audit events (schema 2)", |auth| {
        let mut conn = Connection::open(auth.join("auth.db")).expect("create");
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .expect("WAL");
        conn.execute_batch(SCHEMA_2).expect("schema 2");
        conn.pragma_update(None, "user_version", 2)
            .expect("version");
        let tx = conn.transaction().expect("transaction");
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO audit_events (at, action, actor, target, client_ip, detail) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .expect("prepare");
            let mut rng = Rng::new(ENTRIES as u64);
            for n in 0..ENTRIES {
                let e = entry(n, &mut rng);
                let detail = if e.details.is_empty() {
                    "{}".into()
                } else {
                    e.details
                };
                insert
                    .execute(params![
                        e.at_ms,
                        e.action,
                        e.user_id,
                        e.resource_id,
                        e.ip_address,
                        detail
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    });
    dir
}

/// A private copy of a data set's folder under `parent`, removed by the caller.
fn copy_of(dir: &Path, parent: &Path, name: &str) -> PathBuf {
    let target = parent.join(format!("run-audit-{name}"));
    let _ = std::fs::remove_dir_all(&target);
    std::fs::create_dir_all(target.join("auth")).expect("copy dir");
    std::fs::copy(dir.join("auth/auth.db"), target.join("auth/auth.db")).expect("copy db");
    target
}

fn admin_token() -> String {
    let codec = TokenCodec::new(SECRET.as_bytes(), Duration::from_secs(86_400)).expect("codec");
    let now = common::now_ms() / 1000;
    let claims = Claims {
        sub: ADMIN_ID.into(),
        uid: ADMIN_ID.into(),
        username: "admin".into(),
        role: Role::Admin,
        iat: now - 60,
        exp: now + 86_400,
        jti: ADMIN_JTI.into(),
    };
    codec.sign(&claims).expect("sign")
}

/// One `GET /api/v1/audit?<query>`; answers the total.
fn get_audit(engine: &Engine, token: &str, query: &str) -> u64 {
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str())];
    let path = format!("/api/v1/audit?{query}");
    let request = Request {
        method: "GET",
        path: &path,
        headers: &headers,
        body: b"",
        client_ip: "127.0.0.1",
    };
    let response = http::handle(engine, &request);
    assert_eq!(response.status, 200, "{query}");
    let body: serde_json::Value = serde_json::from_slice(&response.body).expect("json");
    body["total"].as_u64().expect("total")
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn pages(group: &mut BenchmarkGroup<'_, WallTime>, engine: &Engine, token: &str) {
    let week = rfc3339(END_MS - 7 * DAY_MS);
    let day = rfc3339(END_MS - DAY_MS);
    let queries = [
        (
            "ui_first_load_last_7_days",
            format!("remoteNode=local&limit=50&offset=0&startTime={week}"),
        ),
        (
            "no_filter_last_60_days",
            format!("limit=50&startTime={}", rfc3339(END_MS - 60 * DAY_MS)),
        ),
        (
            "category_user_last_7_days",
            format!("category=user&limit=50&startTime={week}"),
        ),
        (
            "result_failed_last_7_days",
            format!("result=failed&limit=50&startTime={week}"),
        ),
        (
            "rest_quick_filter_last_day",
            format!("source=rest&surface=rest_api&limit=50&startTime={day}"),
        ),
        (
            "user_id_all_time",
            format!("userId={}&limit=50", user_id(7)),
        ),
        (
            "action_login_failed_all_time",
            "action=login_failed&limit=50".into(),
        ),
        (
            "resource_id_dag_all_time",
            "resourceId=dag-042&limit=50".into(),
        ),
        (
            "category_dag_offset_5000",
            "category=dag&limit=50&offset=5000".into(),
        ),
        (
            "credential_id_all_time",
            "credentialId=key-007&limit=50".into(),
        ),
        ("worst_no_filter_all_time", "limit=50".into()),
        (
            "worst_category_user_all_time",
            "category=user&limit=50".into(),
        ),
        (
            "worst_unindexed_ip_all_time",
            "ipAddress=10.0.1.7&limit=50".into(),
        ),
    ];
    for (name, query) in &queries {
        let total = get_audit(engine, token, query);
        println!("audit query {name}: total {total}  ({query})");
        group.bench_function(*name, |b| {
            b.iter(|| black_box(get_audit(engine, token, query)))
        });
    }
}

/// The entry the plugin writes for a sign-in, as the store receives it.
fn login_entry(n: usize) -> AuditEntry {
    AuditEntry {
        id: format!("bench-insert-{n}"),
        at_ms: END_MS + n as i64,
        category: "user".into(),
        action: "login".into(),
        user_id: user_id(n % USERS),
        username: format!("user{}", n % USERS),
        source: "rest".into(),
        surface: "rest_api".into(),
        result: "succeeded".into(),
        resource_type: "user".into(),
        resource_id: user_id(n % USERS),
        credential_type: "none".into(),
        ip_address: "10.0.0.1".into(),
        ..AuditEntry::default()
    }
}

/// A connection set up as the store sets up its writer: WAL, `synchronous=FULL`.
fn writer(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("auth/auth.db")).expect("open");
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        .expect("WAL");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("FULL");
    conn
}

/// One entry per iteration, each in its own `BEGIN IMMEDIATE` transaction, as the store writes
/// it: schema 2's statement on schema 2, schema 3's on schema 3, and `Store::append_audit`.
fn inserts(group: &mut BenchmarkGroup<'_, WallTime>, parent: &Path, label: &str) {
    let old_dir = copy_of(&schema_2_data_set(), parent, "insert-schema-2");
    let mut old = writer(&old_dir);
    let mut n = 0usize;
    group.bench_function(format!("insert_schema_2_{label}"), |b| {
        b.iter(|| {
            n += 1;
            let e = login_entry(n);
            let tx = old
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .expect("begin");
            tx.prepare_cached(
                "INSERT INTO audit_events (at, action, actor, target, client_ip, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    e.at_ms,
                    e.action,
                    e.user_id,
                    e.resource_id,
                    e.ip_address,
                    "{}"
                ])
            })
            .expect("insert");
            tx.commit().expect("commit");
        })
    });
    drop(old);
    let _ = std::fs::remove_dir_all(&old_dir);

    let new_dir = copy_of(&current_data_set(), parent, "insert-schema-3");
    let mut new = writer(&new_dir);
    group.bench_function(format!("insert_schema_3_{label}"), |b| {
        b.iter(|| {
            n += 1;
            let e = login_entry(n);
            let tx = new
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .expect("begin");
            tx.prepare_cached(
                "INSERT INTO audit_entries (at, id, category, action, user_id, username, source, \
                 surface, result, correlation_id, resource_type, resource_id, workspace, \
                 credential_id, credential_type, mcp_tool, details, ip_address) VALUES (?1, ?2, \
                 ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    e.at_ms,
                    e.id,
                    e.category,
                    e.action,
                    e.user_id,
                    e.username,
                    e.source,
                    e.surface,
                    e.result,
                    e.correlation_id,
                    e.resource_type,
                    e.resource_id,
                    e.workspace,
                    e.credential_id,
                    e.credential_type,
                    e.mcp_tool,
                    e.details,
                    e.ip_address
                ])
            })
            .expect("insert");
            tx.commit().expect("commit");
        })
    });
    drop(new);
    let store = SqliteStore::open(&new_dir.join("auth")).expect("store");
    group.bench_function(format!("store_append_audit_{label}"), |b| {
        b.iter(|| {
            n += 1;
            store.append_audit(&login_entry(n)).expect("append")
        })
    });
    drop(store);
    let _ = std::fs::remove_dir_all(&new_dir);
}

/// Schema 2's insert and schema 3's, one after the other 2,000 times, so both see the same load
/// and the same disk: the fair comparison on a shared machine. Prints the medians and the 90th
/// percentiles.
fn interleaved_inserts(parent: &Path, label: &str) {
    let old_dir = copy_of(&schema_2_data_set(), parent, "interleaved-schema-2");
    let new_dir = copy_of(&current_data_set(), parent, "interleaved-schema-3");
    let mut old = writer(&old_dir);
    let store = SqliteStore::open(&new_dir.join("auth")).expect("store");
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for n in 0..2_000 {
        let e = login_entry(1_000_000 + n);
        let started = Instant::now();
        let tx = old
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begin");
        tx.prepare_cached(
            "INSERT INTO audit_events (at, action, actor, target, client_ip, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                e.at_ms,
                e.action,
                e.user_id,
                e.resource_id,
                e.ip_address,
                "{}"
            ])
        })
        .expect("insert");
        tx.commit().expect("commit");
        before.push(started.elapsed());
        let started = Instant::now();
        store.append_audit(&e).expect("append");
        after.push(started.elapsed());
    }
    let ((before_p50, before_p90), (after_p50, after_p90)) =
        (percentiles(before), percentiles(after));
    println!(
        "audit insert interleaved ({label}): schema 2 p50 {before_p50:?} p90 {before_p90:?}; \
         schema 3 (Store::append_audit) p50 {after_p50:?} p90 {after_p90:?}; load {}",
        common::load_average()
    );
    drop((old, store));
    let _ = std::fs::remove_dir_all(&old_dir);
    let _ = std::fs::remove_dir_all(&new_dir);
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.9))
}

/// The upgrade of 1,000,000 schema-2 events, once, outside criterion: what a host pays at its
/// first start after the update.
fn upgrade_time(parent: &Path) {
    let dir = copy_of(&schema_2_data_set(), parent, "upgrade");
    let started = Instant::now();
    let store = SqliteStore::open(&dir.join("auth")).expect("open migrates");
    let elapsed = started.elapsed();
    drop(store);
    println!(
        "audit upgrade: {ENTRIES} schema-2 events to schema 3 in {:.1} s; load {}",
        elapsed.as_secs_f64(),
        common::load_average()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn audit(c: &mut Criterion) {
    let data = current_data_set();
    let scratch = common::bench_data_root();
    upgrade_time(&scratch);

    let engine_dir = copy_of(&data, &scratch, "engine");
    let config = dagu_auth::Config::from_json(
        &serde_json::json!({
            "dataDir": engine_dir,
            "tokenSecret": SECRET,
            "licenseFeatures": ["rbac", "audit"],
            "auditRetentionDays": 0,
        })
        .to_string(),
    )
    .expect("config");
    let engine = Engine::open(config).expect("engine");
    let token = admin_token();
    let mut group = c.benchmark_group(format!("audit/{ENTRIES}"));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    pages(&mut group, &engine, &token);
    drop(engine);
    let _ = std::fs::remove_dir_all(&engine_dir);

    group.sample_size(50);
    inserts(&mut group, &scratch, "disk");
    interleaved_inserts(&scratch, "disk");
    if let Some(tmpfs) = std::env::var_os("BENCH_AUDIT_TMPFS") {
        inserts(&mut group, Path::new(&tmpfs), "tmpfs");
        interleaved_inserts(Path::new(&tmpfs), "tmpfs");
    }
    group.finish();
}

criterion_group!(benches, audit);
criterion_main!(benches);
