//! What one account flooding `change-password` does to another account's sign-in (issue 15's
//! finding 3: 32 parallel floods from one viewer). Production argon2 parameters and pool size.
//! Prints the victim's sign-in latency idle and under the flood, and how the flood was answered.
//! Two floods: with the default per-account limit (the flood is throttled before it hashes) and
//! with the limit raised out of the way, so only the pool's per-account share stands between
//! the flood and everyone else.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dagu_auth::service::CreateUserRequest;
use dagu_auth::{Config, Engine, Error};

const FLOODERS: usize = 32;
const VICTIM_SIGN_INS: usize = 40;
/// What a refused flood request costs the attacker before the next one: about one loopback HTTP
/// round trip. Without it the in-process threads would spin on the refusal and measure their own
/// CPU use rather than the pool's fairness.
const FLOOD_RETRY: Duration = Duration::from_millis(1);
const PASSWORD: &str = "bench-password-1";

#[derive(Default)]
struct FloodAnswers {
    checked: AtomicU64,
    rate_limited: AtomicU64,
    unavailable: AtomicU64,
}

fn engine(dir: &std::path::Path, limit_raised: bool) -> (Arc<Engine>, String) {
    let mut config = Config::new(dir);
    config.license_features = vec!["rbac".into()];
    if limit_raised {
        config.login_limits.per_account.max_failures = u32::MAX;
    }
    let engine = Arc::new(Engine::open(config).expect("engine"));
    let admin = engine.setup("admin", PASSWORD, "").expect("setup").token;
    for name in ["flooder", "victim"] {
        let request = CreateUserRequest {
            username: name.into(),
            password: PASSWORD.into(),
            role: "viewer".into(),
            workspace_access: None,
        };
        engine.create_user(&admin, request).expect("user");
    }
    let flooder = engine.login("flooder", PASSWORD, "").expect("login").token;
    (engine, flooder)
}

/// The victim's sign-ins, one after another: latencies of the served ones, and the refused count.
fn victim_sign_ins(engine: &Engine) -> (Vec<Duration>, usize) {
    let mut served = Vec::new();
    let mut refused = 0;
    for _ in 0..VICTIM_SIGN_INS {
        let started = Instant::now();
        match engine.login("victim", PASSWORD, "") {
            Ok(_) => served.push(started.elapsed()),
            Err(_) => refused += 1,
        }
    }
    served.sort();
    (served, refused)
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted
        .get(index)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

fn report(label: &str, served: &[Duration], refused: usize) {
    println!(
        "{label:<44} victim sign-in p50 {:>7.1} ms  p95 {:>7.1} ms  max {:>7.1} ms  refused {refused}/{VICTIM_SIGN_INS}",
        quantile(served, 0.5),
        quantile(served, 0.95),
        quantile(served, 1.0),
    );
}

fn run(limit_raised: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, flooder) = engine(dir.path(), limit_raised);
    let (idle, refused) = victim_sign_ins(&engine);
    report("idle", &idle, refused);

    let flooding = Arc::new(AtomicBool::new(true));
    let answers = Arc::new(FloodAnswers::default());
    let floods: Vec<_> = (0..FLOODERS)
        .map(|_| {
            let (engine, flooding, answers, flooder) = (
                Arc::clone(&engine),
                Arc::clone(&flooding),
                Arc::clone(&answers),
                flooder.clone(),
            );
            std::thread::spawn(move || {
                while flooding.load(Ordering::Relaxed) {
                    let counter = match engine.change_password(&flooder, "wrong-guess", "x") {
                        Err(Error::RateLimited { .. }) => &answers.rate_limited,
                        Err(Error::Unavailable(_)) => &answers.unavailable,
                        _ => &answers.checked,
                    };
                    if !std::ptr::eq(counter, &answers.checked) {
                        std::thread::sleep(FLOOD_RETRY);
                    }
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (flooded, refused) = victim_sign_ins(&engine);
    flooding.store(false, Ordering::Relaxed);
    for flood in floods {
        flood.join().expect("flood thread");
    }
    let label = match limit_raised {
        true => "32 floods, per-account limit raised",
        false => "32 floods, default per-account limit",
    };
    report(label, &flooded, refused);
    println!(
        "{:<44} flood answers: {} checked (401), {} rate limited (429), {} unavailable (503)",
        "",
        answers.checked.load(Ordering::Relaxed),
        answers.rate_limited.load(Ordering::Relaxed),
        answers.unavailable.load(Ordering::Relaxed),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    println!(
        "{} cores; production argon2id (m=19456 KiB, t=2, p=1) and pool",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    run(false);
    run(true);
}
