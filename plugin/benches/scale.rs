//! The cost curve: what one Engine costs at 1,000 to 1,000,000 users (issue 18).
//!
//! `BENCH_USERS=1000,10000,100000,1000000 cargo bench -p dagu-auth --bench scale` (the default
//! sizes); `DAGU_AUTH_BENCH_DATA=/dev/shm/dagu-bench` writes the data sets in RAM, which is what
//! makes the million-user set take minutes rather than most of an hour. Each size prints one
//! `scale users=...` line of `key=value` figures that `plugin/benches/plot_scale.py` turns into
//! the plot in BENCHMARKS.md.
//!
//! Per size, on a private copy of the data set: the first `Engine::open`; its resident memory;
//! `min(users, 100,000)` sessions authorized once each (cold: the session row and the user read
//! from SQLite) and the memory with all of them cached; `authorize` again (hot: from the cache) in
//! batches of 100 calls, the median of the batches' per-call means, over the first 10,000
//! sessions in turn and over all of them in random order, each beside a HashMap floor taken the
//! same way; 20 consecutive pages of 50
//! through `GET /api/v1/users` (HTTP layer, keyset cursor), their median; `db verify`; an online
//! backup. Simple timing loops rather than criterion: at a million users each step is run once.
//! With `--features postgres` and `DAGU_AUTH_TEST_POSTGRES_URL` set, the same pages are also
//! timed on PostgreSQL (the users copied into a schema of their own).

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use std::collections::HashMap;

use common::{Dataset, Principal, Rng};
use dagu_auth::Engine;
use dagu_auth::policy::decide;
use dagu_auth::store::{Session, SqliteStore, Store};
use dagu_auth::token::{Claims, TokenCodec};
use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision};

const MAX_CACHED: usize = 100_000;
const HOT_BATCH: usize = 100;
const HOT_BATCHES: usize = 2_000;
const PAGES: usize = 20;
/// How many sessions `benches/authorize.rs` cycles through: the data set's signed-in users.
const ROUND_ROBIN: usize = common::MAX_SESSIONS;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Session tokens for `count` users spread over the data set, with the index of each one's
/// principal: the data set's own, plus sessions written into this copy's store for the rest.
fn sessions(data: &Dataset, dir: &std::path::Path, count: usize) -> Vec<(usize, String)> {
    let mut tokens: Vec<(usize, String)> = data.sessions.clone();
    if tokens.len() >= count {
        tokens.truncate(count);
        return tokens;
    }
    let have: std::collections::HashSet<usize> = data.sessions.iter().map(|(u, _)| *u).collect();
    let store = SqliteStore::open(&dir.join("auth")).expect("store");
    let codec =
        TokenCodec::new(common::SECRET.as_bytes(), Duration::from_secs(86_400)).expect("codec");
    let now_ms = common::now_ms();
    let missing = count - tokens.len();
    for u in (1..data.users).filter(|u| !have.contains(u)).take(missing) {
        let principal = &data.principals[u];
        let jti = format!("scale-{u:08}");
        store
            .insert_session(&Session {
                jti: jti.clone(),
                user_id: principal.id.clone(),
                created_at_ms: now_ms,
                expires_at_ms: now_ms + 86_400_000,
                last_used_at_ms: now_ms,
                client_ip: String::new(),
                user_agent: String::new(),
            })
            .expect("insert session");
        let claims = Claims {
            sub: principal.id.clone(),
            uid: principal.id.clone(),
            username: format!("user{u:06}"),
            role: principal.role,
            iat: now_ms / 1000 - 60,
            exp: now_ms / 1000 + 86_400,
            jti,
        };
        tokens.push((u, codec.sign(&claims).expect("sign")));
    }
    tokens
}

/// The median over `HOT_BATCHES` batches of `HOT_BATCH` calls of `call` on the next tokens of
/// `order`, per call.
fn per_call_ns<'a>(call: &dyn Fn(&str) -> bool, mut order: impl Iterator<Item = &'a str>) -> f64 {
    let mut batches = Vec::with_capacity(HOT_BATCHES);
    for _ in 0..HOT_BATCHES {
        let batch: Vec<&str> = order.by_ref().take(HOT_BATCH).collect();
        let started = Instant::now();
        for token in batch {
            black_box(call(black_box(token)));
        }
        batches.push(started.elapsed().as_secs_f64() * 1e9 / HOT_BATCH as f64);
    }
    median(batches)
}

/// `PAGES` consecutive pages of 50 users through the HTTP layer (keyset cursor): each one's time.
fn pages_of_users(engine: &Engine, admin_token: &str) -> Vec<f64> {
    let mut page_us = Vec::with_capacity(PAGES);
    let mut path = "/api/v1/users?limit=50".to_owned();
    for _ in 0..PAGES {
        let started = Instant::now();
        let (status, body) = common::http_get(engine, admin_token, &path);
        page_us.push(started.elapsed().as_secs_f64() * 1e6);
        assert_eq!(status, 200);
        let page: serde_json::Value = serde_json::from_slice(&body).expect("json");
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/users?limit=50&cursor={cursor}"),
            None => break,
        }
    }
    page_us
}

fn size(users: usize) {
    let started = Instant::now();
    let data = Dataset::get(users);
    let data_s = started.elapsed().as_secs_f64();
    let dir = data.copy_to("scale");
    let cached = users.min(MAX_CACHED);
    let tokens = sessions(&data, &dir, cached);

    let (rss_before, _) = common::rss_kib();
    let started = Instant::now();
    let engine = Engine::open(data.config(&dir)).expect("open");
    let open_ms = started.elapsed().as_secs_f64() * 1e3;
    let (rss_open, _) = common::rss_kib();

    let mut cold_us = Vec::with_capacity(tokens.len());
    for (_, token) in &tokens {
        let started = Instant::now();
        let decision = engine.authorize(token.as_str(), Action::View, "");
        cold_us.push(started.elapsed().as_secs_f64() * 1e6);
        assert!(decision.is_ok(), "every session is good");
    }
    let (rss_cached, _) = common::rss_kib();

    // Hot, two ways, each beside the floor taken the same way (a HashMap from its own copy of
    // each token to the principal's role and grants, and `policy::decide`): the data set's first
    // 10,000 sessions in turn, as `benches/authorize.rs` times them, and every cached session in
    // random order, where the working set outgrows the CPU caches and the time is mostly memory
    // reads. The floor owns its keys, as the plugin does: comparing a presented token with the
    // very bytes it was read from would save the floor a memory read the plugin cannot save.
    let floor: HashMap<String, &Principal> = tokens
        .iter()
        .map(|(u, token)| (token.clone(), &data.principals[*u]))
        .collect();
    let round_robin: Vec<&str> = tokens
        .iter()
        .take(ROUND_ROBIN)
        .map(|(_, t)| t.as_str())
        .collect();
    let mut rng = Rng::new(users as u64);
    let random: Vec<&str> = (0..HOT_BATCH * HOT_BATCHES)
        .map(|_| tokens[rng.below(tokens.len())].1.as_str())
        .collect();
    let plugin = |token: &str| engine.authorize(token, Action::View, "").is_ok();
    let by_map = |token: &str| {
        floor
            .get(token)
            .is_some_and(|p| decide(p.role, &p.access, Action::View, "") == Decision::Allow)
    };
    let hot_rr_ns = per_call_ns(&plugin, round_robin.iter().copied().cycle());
    let floor_rr_ns = per_call_ns(&by_map, round_robin.iter().copied().cycle());
    let hot_ns = per_call_ns(&plugin, random.iter().copied());
    let floor_random_ns = per_call_ns(&by_map, random.iter().copied());

    let page_us = pages_of_users(&engine, data.admin_token());

    let started = Instant::now();
    engine.verify_store().expect("verify");
    let verify_s = started.elapsed().as_secs_f64();
    let backup = dir.with_extension("backup.db");
    let _ = std::fs::remove_file(&backup);
    let started = Instant::now();
    // The backup verifies its own copy; a refusal is reported beside the time, not hidden.
    let backup_ok = engine.backup_to(&backup).is_ok();
    let backup_s = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&backup);

    println!(
        "scale users={users} data_s={data_s:.1} open_ms={open_ms:.1} rss_open_mib={:.1} \
         rss_cached_mib={:.1} rss_process_mib={:.1} cached_sessions={cached} \
         authorize_cold_us={:.2} authorize_hot_ns={hot_ns:.0} floor_random_ns={floor_random_ns:.0} \
         authorize_hot_rr_ns={hot_rr_ns:.0} floor_rr_ns={floor_rr_ns:.0} page_us={:.0} verify_s={verify_s:.2} \
         backup_s={backup_s:.2} backup_verified={backup_ok} load={}",
        mib(rss_open.saturating_sub(rss_before)),
        mib(rss_cached.saturating_sub(rss_before)),
        mib(rss_cached),
        median(cold_us),
        median(page_us),
        common::load_average().replace(' ', "/")
    );
    drop(engine);
    #[cfg(feature = "postgres")]
    if let Ok(url) = std::env::var("DAGU_AUTH_TEST_POSTGRES_URL") {
        postgres_pages(&data, &dir, &url);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same pages of users on PostgreSQL: the data set's users and sessions copied (`COPY`) into
/// a schema of their own, then 20 consecutive pages of 50 through the HTTP layer of an Engine
/// on that schema. Prints one `scale_postgres users=...` line.
#[cfg(feature = "postgres")]
fn postgres_pages(data: &Dataset, dir: &std::path::Path, url: &str) {
    use dagu_auth::config::{PostgresConfig, StoreConfig};
    use std::io::Write;

    let schema = format!("dagu_scale_{}_{}", std::process::id(), data.users);
    let scoped = common::fresh_postgres_schema(url, &schema).expect("schema");
    let mut config = dagu_auth::Config::new(dir);
    config.token_secret = Some(common::SECRET.as_bytes().to_vec());
    config.license_features = vec!["rbac".into(), "audit".into()];
    config.store = StoreConfig::Postgres(PostgresConfig::new(scoped.clone()));
    drop(dagu_auth::Engine::open(config.clone()).expect("migrate the schema"));

    let started = Instant::now();
    let sqlite = rusqlite::Connection::open(dir.join("auth/auth.db")).expect("open copy");
    let mut target = postgres::Client::connect(&scoped, postgres::NoTls).expect("connect");
    for table in ["users", "sessions"] {
        let columns: Vec<String> = sqlite
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
            .expect("columns");
        let mut copy = target
            .copy_in(&format!("COPY {table} ({}) FROM STDIN", columns.join(", ")))
            .expect("copy");
        let mut stmt = sqlite
            .prepare(&format!("SELECT {} FROM {table}", columns.join(", ")))
            .expect("select");
        let mut rows = stmt.query([]).expect("rows");
        let mut line = String::new();
        while let Some(row) = rows.next().expect("row") {
            line.clear();
            for (i, column) in columns.iter().enumerate() {
                if i > 0 {
                    line.push('\t');
                }
                match row.get_ref(i).expect("value") {
                    rusqlite::types::ValueRef::Null => line.push_str("\\N"),
                    rusqlite::types::ValueRef::Integer(n) if column == "disabled" => {
                        line.push_str(if n != 0 { "t" } else { "f" })
                    }
                    rusqlite::types::ValueRef::Integer(n) => line.push_str(&n.to_string()),
                    value => {
                        let text = value.as_str().expect("text");
                        line.push_str(&text.replace('\\', "\\\\"));
                    }
                }
            }
            line.push('\n');
            copy.write_all(line.as_bytes()).expect("write");
        }
        copy.finish().expect("finish copy");
    }
    target.batch_execute("ANALYZE").expect("analyze");
    let copy_s = started.elapsed().as_secs_f64();

    let engine = dagu_auth::Engine::open(config).expect("open on PostgreSQL");
    let page_us = pages_of_users(&engine, data.admin_token());
    println!(
        "scale_postgres users={} copy_s={copy_s:.1} page_us={:.0} load={}",
        data.users,
        median(page_us),
        common::load_average().replace(' ', "/")
    );
    drop(engine);
    common::drop_postgres_schema(url, &schema);
}

fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_USERS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000, 1_000_000]);
    for users in sizes {
        size(users);
    }
}
