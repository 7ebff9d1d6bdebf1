//! One bare argon2id verify with the production parameters, the median of 30: what a sign-in
//! cannot go below; and how many verifies per second all cores give at once.
//! `plugin/benches/http_load.sh` prints both beside the sign-in rate it measured, so "cores / one
//! verify" is taken in the same run. Prints `argon2_verify_ms=<median>` and
//! `argon2_parallel_per_s=<rate>`.

mod common;

use std::hint::black_box;
use std::time::Instant;

use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use common::PASSWORD;
use dagu_auth::config::Argon2Params;

fn main() {
    let p = Argon2Params::default();
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, Some(32)).expect("params");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let hash = common::precomputed_hash();
    let mut samples: Vec<f64> = (0..30)
        .map(|_| {
            let started = Instant::now();
            let verified = argon2.verify_password(PASSWORD.as_bytes(), hash.as_str());
            black_box(verified.is_ok());
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    println!("argon2_verify_ms={:.2}", samples[samples.len() / 2]);

    // The same verify on every core at once for 3 s: what the cores give together, which is less
    // than cores / one verify when the verifies share memory bandwidth.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let done: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                scope.spawn(|| {
                    let mut count = 0usize;
                    while started.elapsed().as_secs_f64() < 3.0 {
                        let verified = argon2.verify_password(PASSWORD.as_bytes(), hash.as_str());
                        black_box(verified.is_ok());
                        count += 1;
                    }
                    count
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    });
    println!(
        "argon2_parallel_per_s={:.1}",
        done as f64 / started.elapsed().as_secs_f64()
    );
}
