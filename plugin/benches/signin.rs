//! Sign-in against a bare argon2id verify with the same parameters, and `authorize` latency and
//! peak memory while 200 sign-ins run at once.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordVerifier, Version};
use common::{Dataset, PASSWORD};
use criterion::{Criterion, criterion_group, criterion_main};
use dagu_auth::Engine;
use dagu_auth::config::Argon2Params;
use dagu_auth_abi::DaguAuthAction;

const CONCURRENT_SIGN_INS: usize = 200;

fn engine(data: &Dataset, name: &str) -> Arc<Engine> {
    let dir = data.copy_to(name);
    // The limiter counts failures only; every sign-in here succeeds.
    Arc::new(Engine::open(data.config(&dir)).expect("engine"))
}

fn argon2() -> (Argon2<'static>, Params) {
    let p = Argon2Params::default();
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, Some(32)).expect("params");
    (
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()),
        params,
    )
}

/// 200 sign-ins at once (more than the hashing queue admits, so some are refused as overloaded),
/// while this thread times `authorize`; reports latency against the idle figure and peak RSS.
fn concurrent(data: &Dataset) {
    let engine = engine(data, "signin-concurrent");
    let token = data.sessions[1].1.clone();
    let authorize = |engine: &Engine| {
        let started = Instant::now();
        let decision = engine.authorize(&token, DaguAuthAction::View, "");
        black_box(decision.is_ok());
        started.elapsed()
    };
    let idle: Vec<Duration> = (0..20_000).map(|_| authorize(&engine)).collect();
    let (idle_p50, idle_p99, _) = common::quantiles(idle);

    common::reset_peak_rss();
    let (rss_before, _) = common::rss_kib();
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENT_SIGN_INS)
        .map(|i| {
            let engine = Arc::clone(&engine);
            std::thread::spawn(move || {
                engine
                    .login(
                        &format!("user{:06}", i % data_users()),
                        PASSWORD,
                        "127.0.0.1",
                    )
                    .is_ok()
            })
        })
        .collect();
    let mut busy = Vec::new();
    while workers.iter().any(|w| !w.is_finished()) {
        busy.push(authorize(&engine));
    }
    let elapsed = started.elapsed();
    let succeeded = workers
        .into_iter()
        .map(|w| w.join().unwrap_or(false))
        .filter(|ok| *ok)
        .count();
    let (_, peak) = common::rss_kib();
    let samples = busy.len();
    let (busy_p50, busy_p99, busy_max) = common::quantiles(busy);
    println!(
        "signin/concurrent: {CONCURRENT_SIGN_INS} sign-ins in {:.2} s ({succeeded} succeeded, the \
         rest refused as overloaded); authorize p50 idle {idle_p50:?} / during {busy_p50:?} \
         (ratio {:.2}), p99 idle {idle_p99:?} / during {busy_p99:?}, max {busy_max:?}, {samples} \
         samples; RSS before {} MiB, peak {} MiB; load {}",
        elapsed.as_secs_f64(),
        busy_p50.as_secs_f64() / idle_p50.as_secs_f64(),
        rss_before / 1024,
        peak / 1024,
        common::load_average()
    );
}

/// `BENCH_USERS` (default 1,000): sign-in at 1,000,000 users is the same lookup by the folded
/// username's unique index, one level deeper.
fn data_users() -> usize {
    std::env::var("BENCH_USERS")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(1_000)
}

fn signin(c: &mut Criterion) {
    let data = Dataset::get(data_users());
    concurrent(&data);

    let engine = engine(&data, "signin");
    let hash = common::precomputed_hash();
    let (argon, params) = argon2();
    let mut group = c.benchmark_group("signin");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(6));
    let mut i = 0usize;
    group.bench_function("engine_login", |b| {
        b.iter(|| {
            i = (i + 1) % data.users;
            let username = format!("user{i:06}");
            black_box(
                engine
                    .login(&username, PASSWORD, "127.0.0.1")
                    .expect("login"),
            )
        })
    });
    group.bench_function("bare_argon2_verify", |b| {
        b.iter(|| {
            black_box(
                argon
                    .verify_password(PASSWORD.as_bytes(), hash.as_str())
                    .is_ok(),
            )
        })
    });
    let phc = PasswordHash::new(&hash).expect("phc");
    let salt = phc.salt.expect("salt");
    let mut blocks = vec![Block::new(); params.block_count()];
    group.bench_function("bare_argon2_reused_memory", |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            argon
                .hash_password_into_with_memory(
                    PASSWORD.as_bytes(),
                    salt.as_ref(),
                    &mut out,
                    &mut blocks,
                )
                .expect("hash");
            black_box(out)
        })
    });
    group.finish();
}

criterion_group!(benches, signin);
criterion_main!(benches);
