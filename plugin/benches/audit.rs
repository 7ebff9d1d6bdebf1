//! The audit trail at scale: `GET /api/v1/audit` pages with their total through the HTTP layer
//! (the filters Dagu's audit page sends, and the worst cases); the cost of recording one entry
//! before (schema 2, `audit_events`) and now (`Store::append_audit`), one at a time and from
//! several threads at once (group commit); how long a writer waits while retention prunes; and
//! how long the upgrades take.
//!
//! `BENCH_AUDIT_ENTRIES` sets the size (default 1,000,000; `run_all.sh` also runs 10,000,000),
//! `BENCH_AUDIT_DATA` where the data sets live (default `target/bench-data`). Each data set is
//! written once under `<data>/audit-<entries>/` and reused while its `ready` marker exists
//! (1,000,000: about a minute and 0.5 GB; 10,000,000: BENCHMARKS.md gives the time and size).
//! `BENCH_AUDIT_TMPFS=/dev/shm` repeats the insert and pruning measures on a RAM disk, where no
//! commit waits for the disk and only the work of the insert itself is left. The comparisons
//! with schema 2 and the upgrades run at 1,000,000 only.

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Rng, SECRET};
use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use dagu_auth::Engine;
use dagu_auth::model::{AuditEntry, Role, UserRecord, WorkspaceAccess};
use dagu_auth::store::{AUDIT_PRUNE_BATCH, Session, SqliteStore, Store};
use dagu_auth::token::{Claims, TokenCodec};
use rusqlite::{Connection, TransactionBehavior, params};

/// The size the comparisons with schema 2 run at.
const MILLION: usize = 1_000_000;
const USERS: usize = 1_000;
const DAGS: usize = 200;
const WORKSPACES: usize = 20;
/// The data set's last entry: 2026-11-01T00:00:00Z. Fixed, so the queries below select the same
/// entries however long the data set is kept.
const END_MS: i64 = 1_793_491_200_000;
const DAY_MS: i64 = 86_400_000;
/// Entries spread evenly over 90 days: at 1,000,000 about 11,000 a day, 78,000 in the last week.
const SPAN_MS: i64 = 90 * DAY_MS;
/// The schema version before `audit_counts`: the counts' upgrade is measured from it.
const BEFORE_COUNTS: i64 = 8;
/// What the steps after it (the counts; the table new entries land in and the address index)
/// made and removed: undone to go back to it. The data sets hold no entry in `audit_recent`.
const UNDO_COUNTS: &str = "DROP TABLE audit_recent;
     DROP INDEX audit_by_ip;
     DROP TABLE audit_counts;
     CREATE INDEX audit_by_category ON audit_entries (category, at);
     CREATE INDEX audit_by_action ON audit_entries (action, at);";
/// The counts of every entry, as the migration makes them: the data sets are written without
/// indexes or counts (much faster), which are then made in one pass each.
const COUNT_ALL: &str = "DELETE FROM audit_counts;
     INSERT INTO audit_counts (hour, category, action, result, source, surface, credential_type,
                               resource_type, mcp_tool, n)
     SELECT at / 3600000 - (at < 0 AND at % 3600000 <> 0), category, action, result, source,
            surface, credential_type, resource_type, mcp_tool, COUNT(*)
     FROM audit_entries GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;";

/// How many entries the data set holds (`BENCH_AUDIT_ENTRIES`).
fn entries() -> usize {
    std::env::var("BENCH_AUDIT_ENTRIES")
        .ok()
        .and_then(|n| n.replace('_', "").parse().ok())
        .unwrap_or(MILLION)
}
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

/// The n-th of `size` entries of a data set, from a seeded generator.
fn entry(n: usize, size: usize, rng: &mut Rng) -> AuditEntry {
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
        at_ms: END_MS - SPAN_MS + (n as i64 * SPAN_MS) / size as i64,
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

fn root(size: usize) -> PathBuf {
    let data = std::env::var_os("BENCH_AUDIT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(common::bench_data_root);
    data.join(format!("audit-{size}"))
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
    let bytes = std::fs::metadata(dir.join("auth/auth.db")).map_or(0, |m| m.len());
    println!(
        "generated {what} in {:.1} s, {} MB; load {}",
        started.elapsed().as_secs_f64(),
        bytes / 1_000_000,
        common::load_average()
    );
}

/// The current schema with `size` entries, the admin who reads them, and the admin's session.
fn current_data_set(size: usize) -> PathBuf {
    let dir = root(size).join("current");
    cached(
        &dir,
        &format!("{size} audit entries (current schema)"),
        |auth| {
            let store = SqliteStore::open(auth).expect("store");
            store
                .insert_user(&UserRecord {
                    id: ADMIN_ID.into(),
                    username: "admin".into(),
                    role: Role::Admin,
                    workspace_access: WorkspaceAccess::all(),
                    password_hash: UNUSED_HASH.into(),
                    disabled: false,
                    created_at_ms: END_MS,
                    updated_at_ms: END_MS,
                    mfa: Default::default(),
                    sso: None,
                })
                .expect("admin");
            store
                .insert_session(&Session {
                    jti: ADMIN_JTI.into(),
                    user_id: ADMIN_ID.into(),
                    created_at_ms: END_MS,
                    expires_at_ms: 4_102_444_800_000,
                    last_used_at_ms: END_MS,
                    client_ip: String::new(),
                    user_agent: String::new(),
                })
                .expect("session");
            drop(store);
            let mut conn = Connection::open(auth.join("auth.db")).expect("open");
            conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;")
                .expect("bulk settings");
            let indexes: Vec<(String, String)> = conn
                .prepare(
                    "SELECT name, sql FROM sqlite_master \
                 WHERE type = 'index' AND tbl_name = 'audit_entries' AND sql IS NOT NULL",
                )
                .and_then(|mut stmt| {
                    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                        .collect()
                })
                .expect("indexes");
            for (name, _) in &indexes {
                conn.execute_batch(&format!("DROP INDEX {name}"))
                    .expect("drop index");
            }
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
                let mut rng = Rng::new(size as u64);
                for n in 0..size {
                    let e = entry(n, size, &mut rng);
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
            for (_, sql) in &indexes {
                conn.execute_batch(sql).expect("index");
            }
            conn.execute_batch(COUNT_ALL).expect("counts");
        },
    );
    dir
}

/// Schema 2 (the previous one) with 1,000,000 events of the kinds it recorded.
fn schema_2_data_set() -> PathBuf {
    let dir = root(MILLION).join("schema-2");
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
            let mut rng = Rng::new(MILLION as u64);
            for n in 0..MILLION {
                let e = entry(n, MILLION, &mut rng);
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
    let (status, body) = common::http_get(engine, token, &format!("/api/v1/audit?{query}"));
    assert_eq!(status, 200, "{query}");
    let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
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
        ("ip_address_all_time", "ipAddress=10.0.1.7&limit=50".into()),
    ];
    for (name, query) in &queries {
        let total = get_audit(engine, token, query);
        let cpu: Vec<Duration> = (0..15)
            .map(|_| {
                let started = thread_cpu_time();
                black_box(get_audit(engine, token, query));
                thread_cpu_time().saturating_sub(started)
            })
            .collect();
        println!(
            "audit query {name}: total {total}, CPU time median {:?}  ({query})",
            Spread::of(cpu).p50
        );
        group.bench_function(*name, |b| {
            b.iter(|| black_box(get_audit(engine, token, query)))
        });
    }
}

/// The CPU time this thread has used: unlike the wall time, it leaves out the time spent
/// waiting for a core, which on a shared machine at load 20 is most of it.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill; the clock id is a constant.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "CLOCK_THREAD_CPUTIME_ID");
    Duration::new(
        now.tv_sec.max(0) as u64,
        now.tv_nsec.clamp(0, 999_999_999) as u32,
    )
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

/// Schema 2's insert of one event: `BEGIN IMMEDIATE`, the insert, `COMMIT`.
fn schema_2_insert(conn: &mut Connection, e: &AuditEntry) {
    let tx = conn
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
}

/// One entry per iteration, each in its own transaction: schema 2's statement on schema 2, and
/// `Store::append_audit` on the current schema.
fn inserts(group: &mut BenchmarkGroup<'_, WallTime>, parent: &Path, label: &str) {
    let old_dir = copy_of(&schema_2_data_set(), parent, "insert-schema-2");
    let mut old = writer(&old_dir);
    let mut n = 0usize;
    group.bench_function(format!("insert_schema_2_{label}"), |b| {
        b.iter(|| {
            n += 1;
            schema_2_insert(&mut old, &login_entry(n));
        })
    });
    drop(old);
    let _ = std::fs::remove_dir_all(&old_dir);

    let new_dir = copy_of(&current_data_set(MILLION), parent, "insert-current");
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

/// Schema 2's insert and `Store::append_audit`, one after the other 2,000 times, so both see the
/// same load and the same disk: the fair comparison on a shared machine. Prints the medians and
/// the 90th percentiles.
fn interleaved_inserts(parent: &Path, label: &str) {
    let old_dir = copy_of(&schema_2_data_set(), parent, "interleaved-schema-2");
    let new_dir = copy_of(&current_data_set(MILLION), parent, "interleaved-current");
    let mut old = writer(&old_dir);
    let store = SqliteStore::open(&new_dir.join("auth")).expect("store");
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let (mut before_cpu, mut after_cpu) = (Vec::new(), Vec::new());
    for n in 0..2_000 {
        let e = login_entry(1_000_000 + n);
        let (started, cpu) = (Instant::now(), thread_cpu_time());
        schema_2_insert(&mut old, &e);
        before.push(started.elapsed());
        before_cpu.push(thread_cpu_time().saturating_sub(cpu));
        let (started, cpu) = (Instant::now(), thread_cpu_time());
        store.append_audit(&e).expect("append");
        after.push(started.elapsed());
        after_cpu.push(thread_cpu_time().saturating_sub(cpu));
    }
    let mean = |samples: &[Duration]| samples.iter().sum::<Duration>() / samples.len() as u32;
    let (before_mean, after_mean) = (mean(&before), mean(&after));
    let (before, after) = (Spread::of(before), Spread::of(after));
    println!(
        "audit insert interleaved ({label}): schema 2 p50 {:?} p90 {:?} mean {before_mean:?} \
         (CPU p50 {:?}); current (Store::append_audit) p50 {:?} p90 {:?} mean {after_mean:?} \
         (CPU p50 {:?}); load {}",
        before.p50,
        before.p90,
        Spread::of(before_cpu).p50,
        after.p50,
        after.p90,
        Spread::of(after_cpu).p50,
        common::load_average()
    );
    drop((old, store));
    let _ = std::fs::remove_dir_all(&old_dir);
    let _ = std::fs::remove_dir_all(&new_dir);
}

/// Entries recorded from `threads` threads at once, 400 each: the wall time per entry. Schema 2
/// went through the store's one writer, one transaction per entry, as `schema_2_insert` behind
/// a mutex does here; `Store::append_audit` writes the entries that wait together in one
/// transaction. Run on both, alternately, three times each.
fn concurrent_inserts(parent: &Path, label: &str, threads: usize) {
    const EACH: usize = 400;
    let old_dir = copy_of(&schema_2_data_set(), parent, "concurrent-schema-2");
    let new_dir = copy_of(&current_data_set(MILLION), parent, "concurrent-current");
    let old = Arc::new(parking_lot::Mutex::new(writer(&old_dir)));
    let store = Arc::new(SqliteStore::open(&new_dir.join("auth")).expect("store"));
    let per_entry = |write: &(dyn Fn(AuditEntry) + Sync)| {
        let started = Instant::now();
        std::thread::scope(|scope| {
            for t in 0..threads {
                scope.spawn(move || {
                    for n in 0..EACH {
                        write(login_entry(2_000_000 + t * EACH + n));
                    }
                });
            }
        });
        started.elapsed() / (threads * EACH) as u32
    };
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        before.push(per_entry(&|e| schema_2_insert(&mut old.lock(), &e)));
        after.push(per_entry(&|e| store.append_audit(&e).expect("append")));
    }
    println!(
        "audit insert concurrent ({label}, {threads} threads): per entry, schema 2 {before:?}; \
         current (group commit) {after:?}; load {}",
        common::load_average()
    );
    drop((old, store));
    let _ = std::fs::remove_dir_all(&old_dir);
    let _ = std::fs::remove_dir_all(&new_dir);
}

/// Median, 90th and 99th percentile, and the largest of some durations.
struct Spread {
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
}

impl Spread {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| {
            samples
                .get(((samples.len().saturating_sub(1)) as f64 * q) as usize)
                .copied()
                .unwrap_or_default()
        };
        Self {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:?} p99 {:?} max {:?}",
            self.p50, self.p99, self.max
        )
    }
}

/// Retention pruning the oldest two days of the trail in `AUDIT_PRUNE_BATCH` batches (as the
/// maintenance thread does, each batch its own transaction), in three phases on `dir`, which it
/// changes:
/// - pruning alone for `ALONE_BATCHES` batches: nothing waits for the writer, so a batch's wall
///   time is how long it holds the writer, the most a writer can wait behind it;
/// - a writer recording one entry after another for `PHASE`, alone: how long appends take, and
///   how many exceed `STALL`, with no pruning at all;
/// - the same writer for `PHASE` while pruning runs.
///
/// The two writer phases last the same time, so their counts over `STALL` compare: a maximum
/// taken over a million appends is not comparable with one over a thousand.
fn prune_stall(dir: &Path, label: &str) {
    const ALONE_BATCHES: usize = 100;
    const PHASE: Duration = Duration::from_secs(20);
    const STALL: Duration = Duration::from_millis(10);
    let store = Arc::new(SqliteStore::open(&dir.join("auth")).expect("store"));
    let cutoff = END_MS - SPAN_MS + 2 * DAY_MS;
    let prune_batch = |batches: &mut Vec<Duration>, cpu: &mut Vec<Duration>| {
        let (started, cpu_started) = (Instant::now(), thread_cpu_time());
        let removed = store.prune_audit(cutoff, AUDIT_PRUNE_BATCH).expect("prune");
        batches.push(started.elapsed());
        cpu.push(thread_cpu_time().saturating_sub(cpu_started));
        removed
    };
    let (mut held, mut held_cpu) = (Vec::new(), Vec::new());
    for _ in 0..ALONE_BATCHES {
        prune_batch(&mut held, &mut held_cpu);
    }
    let appends = |store: &SqliteStore, first: usize, stop: &AtomicBool| {
        let mut times = Vec::new();
        let started = Instant::now();
        for n in first.. {
            if stop.load(Ordering::Relaxed) || started.elapsed() >= PHASE {
                break;
            }
            let started = Instant::now();
            store.append_audit(&login_entry(n)).expect("append");
            times.push(started.elapsed());
        }
        times
    };
    let stalls = |times: &[Duration]| {
        let over = times.iter().filter(|t| **t > STALL).count();
        format!("{over} of {} over {STALL:?}", times.len())
    };
    let never = AtomicBool::new(false);
    let alone = appends(&store, 3_000_000, &never);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || appends(&store, 4_000_000, &stop))
    };
    let started = Instant::now();
    let (mut batches, mut batches_cpu, mut pruned) = (Vec::new(), Vec::new(), 0u64);
    while started.elapsed() < PHASE {
        let removed = prune_batch(&mut batches, &mut batches_cpu);
        pruned += removed;
        if removed < AUDIT_PRUNE_BATCH as u64 {
            break;
        }
    }
    let pruning = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = writer.join().expect("writer");
    println!(
        "audit prune ({label}): alone, {ALONE_BATCHES} batches of {AUDIT_PRUNE_BATCH} hold the \
         writer {} (CPU {}); then {pruned} entries in {} batches in {:.1} s beside a writer, \
         batch {} (CPU {}); append alone {} ({}); append while pruning {} ({}); load {}",
        Spread::of(held),
        Spread::of(held_cpu),
        batches.len(),
        pruning.as_secs_f64(),
        Spread::of(batches),
        Spread::of(batches_cpu),
        stalls(&alone),
        Spread::of(alone),
        stalls(&during),
        Spread::of(during),
        common::load_average()
    );
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
        "audit upgrade: {MILLION} schema-2 events to the current schema in {:.1} s; load {}",
        elapsed.as_secs_f64(),
        common::load_average()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The counts' step alone (from the version before them) over `size` entries, once.
fn counts_upgrade_time(data: &Path, parent: &Path, size: usize) {
    let dir = copy_of(data, parent, "counts-upgrade");
    {
        let conn = Connection::open(dir.join("auth/auth.db")).expect("open");
        conn.execute_batch(UNDO_COUNTS).expect("previous version");
        conn.pragma_update(None, "user_version", BEFORE_COUNTS)
            .expect("version");
    }
    let started = Instant::now();
    let store = SqliteStore::open(&dir.join("auth")).expect("open migrates");
    let elapsed = started.elapsed();
    drop(store);
    println!(
        "audit counts upgrade: {size} entries from schema {BEFORE_COUNTS} in {:.1} s; load {}",
        elapsed.as_secs_f64(),
        common::load_average()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether `BENCH_AUDIT_PARTS` (default: every part) names `part`.
fn runs(part: &str) -> bool {
    std::env::var("BENCH_AUDIT_PARTS").map_or(true, |parts| parts.split(',').any(|p| p == part))
}

fn audit(c: &mut Criterion) {
    let size = entries();
    let data = current_data_set(size);
    let scratch = data.parent().map(Path::to_path_buf).unwrap_or_default();
    let tmpfs = std::env::var_os("BENCH_AUDIT_TMPFS").map(PathBuf::from);
    if size == MILLION && runs("upgrades") {
        upgrade_time(&scratch);
        counts_upgrade_time(&data, &scratch, size);
    }

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
    let mut group = c.benchmark_group(format!("audit/{size}"));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    if runs("pages") {
        pages(&mut group, &engine, &token);
    }
    drop(engine);
    if runs("prune") {
        prune_stall(&engine_dir, &format!("{size}, disk"));
    }
    let _ = std::fs::remove_dir_all(&engine_dir);
    if let Some(tmpfs) = tmpfs.as_ref().filter(|_| runs("prune")) {
        let dir = copy_of(&data, tmpfs, "prune");
        prune_stall(&dir, &format!("{size}, RAM disk"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    if size == MILLION && runs("inserts") {
        group.sample_size(50);
        inserts(&mut group, &scratch, "disk");
        interleaved_inserts(&scratch, "disk");
        concurrent_inserts(&scratch, "disk", 8);
        if let Some(tmpfs) = &tmpfs {
            inserts(&mut group, tmpfs, "tmpfs");
            interleaved_inserts(tmpfs, "tmpfs");
            concurrent_inserts(tmpfs, "RAM disk", 8);
        }
    }
    group.finish();
}

criterion_group!(benches, audit);
criterion_main!(benches);
