//! The store at 100,000 users: create, get, update, list (all, walked and pages of 50), plugin
//! open time and resident memory, and `GET /api/v1/users` through the HTTP layer.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{Dataset, Rng};
use criterion::{Criterion, criterion_group, criterion_main};
use dagu_auth::Engine;
use dagu_auth::http::{self, Request};
use dagu_auth::model::{Role, UserRecord, WorkspaceAccess, fold_username};
use dagu_auth::store::{SqliteStore, Store, UpdateEffects};

const USERS: usize = 100_000;

fn get_users(engine: &Engine, token: &str, path: &str) -> usize {
    let (status, body) = common::http_get(engine, token, path);
    assert_eq!(status, 200);
    body.len()
}

/// Open time and memory, once, outside criterion: the first open is the one a host pays.
fn open_and_memory(data: &Dataset) {
    let dir = data.copy_to("store-open");
    let (rss_start, _) = common::rss_kib();
    let started = Instant::now();
    let engine = Engine::open(data.config(&dir)).expect("open");
    let open = started.elapsed();
    let (rss_open, _) = common::rss_kib();
    for (_, token) in &data.sessions {
        let _ = engine.authorize(token, dagu_auth_abi::DaguAuthAction::View, "");
    }
    let (rss_warm, _) = common::rss_kib();
    common::reset_peak_rss();
    let (rss_before_list, _) = common::rss_kib();
    let bytes = get_users(&engine, data.admin_token(), "/api/v1/users");
    let (_, peak_list) = common::rss_kib();
    println!(
        "store/open: first Engine::open at {USERS} users {:.1} ms; RSS +{} MiB after open, +{} MiB \
         with {} sessions cached (process {} MiB); full GET /users: {} MiB of JSON, peak RSS \
         +{} MiB during it; load {}",
        open.as_secs_f64() * 1e3,
        (rss_open - rss_start) / 1024,
        (rss_warm - rss_start) / 1024,
        data.sessions.len(),
        rss_warm / 1024,
        bytes / (1024 * 1024),
        peak_list.saturating_sub(rss_before_list) / 1024,
        common::load_average()
    );
}

fn store(c: &mut Criterion) {
    let data = Dataset::get(USERS);
    open_and_memory(&data);

    let dir = data.copy_to("store");
    let store = SqliteStore::open(&dir.join("auth")).expect("store");
    let hash = common::precomputed_hash();
    let mut group = c.benchmark_group(format!("store/{USERS}"));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));

    let mut rng = Rng::new(7);
    group.bench_function("get_by_username", |b| {
        b.iter(|| {
            let name = format!("user{:06}", rng.below(USERS));
            black_box(store.user_by_username(&name).expect("get"))
        })
    });
    group.bench_function("get_by_id", |b| {
        b.iter(|| {
            black_box(
                store
                    .user_by_id(&common::user_id(rng.below(USERS)))
                    .expect("get"),
            )
        })
    });
    let mut created = 0usize;
    group.bench_function("create", |b| {
        b.iter(|| {
            created += 1;
            let now = common::now_ms();
            store
                .insert_user(&UserRecord {
                    sso: None,
                    id: format!("new-{created:08}-{now}"),
                    username: format!("new{created:08}-{now}"),
                    role: Role::Viewer,
                    workspace_access: WorkspaceAccess::all(),
                    password_hash: hash.clone(),
                    disabled: false,
                    created_at_ms: now,
                    updated_at_ms: now,
                    mfa: Default::default(),
                })
                .expect("insert")
        })
    });
    group.bench_function("update", |b| {
        b.iter(|| {
            let id = common::user_id(1 + rng.below(USERS - 1));
            black_box(
                store
                    .update_user(&id, &mut |user| {
                        user.updated_at_ms += 1;
                        Ok(UpdateEffects::default())
                    })
                    .expect("update"),
            )
        })
    });
    let middle = store
        .user_by_id(&common::user_id(USERS / 2))
        .expect("get")
        .expect("user");
    let key = (fold_username(&middle.username), middle.id.clone());
    group.bench_function("page_50_keyset_mid_list", |b| {
        b.iter(|| {
            black_box(
                store
                    .list_users_page(Some((&key.0, &key.1)), 50)
                    .expect("page"),
            )
        })
    });
    group.bench_function("page_50_first", |b| {
        b.iter(|| black_box(store.list_users_page(None, 50).expect("page")))
    });

    let engine_dir = data.copy_to("store-engine");
    let engine = Engine::open(data.config(&engine_dir)).expect("engine");
    let admin = data.admin_token().to_string();
    let (_, first) = {
        let auth = format!("Bearer {admin}");
        let headers = [("Authorization", auth.as_str())];
        let request = Request {
            method: "GET",
            path: "/api/v1/users?limit=1000",
            headers: &headers,
            body: b"",
            client_ip: "127.0.0.1",
        };
        let response = http::handle(&engine, &request);
        let body: serde_json::Value = serde_json::from_slice(&response.body).expect("json");
        (response.status, body)
    };
    let cursor = first["nextCursor"].as_str().expect("cursor").to_string();
    let paged = format!("/api/v1/users?limit=50&cursor={cursor}");
    group.bench_function("http_get_users_page_50_after_1000", |b| {
        b.iter(|| black_box(get_users(&engine, &admin, &paged)))
    });

    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("list_all", |b| {
        b.iter(|| black_box(store.list_users().expect("list").len()))
    });
    group.bench_function("walk_all", |b| {
        b.iter(|| {
            let mut users = 0usize;
            store
                .for_each_user(&mut |user| {
                    users += black_box(user).username.len().min(1);
                    Ok(())
                })
                .expect("walk");
            users
        })
    });
    group.bench_function("http_get_users_all", |b| {
        b.iter(|| black_box(get_users(&engine, &admin, "/api/v1/users")))
    });
    group.bench_function("engine_open", |b| {
        b.iter(|| black_box(Engine::open(data.config(&engine_dir)).expect("open")))
    });
    group.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
