#!/usr/bin/env bash
# Reproduces every figure in BENCHMARKS.md. Not run in CI (minutes of 2 cores); run it on a quiet
# machine. Output: target/bench-logs/*.log plus criterion's reports under target/criterion.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p target/bench-logs
log() { echo "== $* (load: $(cut -d' ' -f1-3 /proc/loadavg))"; }
{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  log "build"
  cargo build --release -p dagu-auth
  log "authorize (C ABI, Rust ABI, casbin x2, floor; 1,000 and 100,000 users)"
  cargo bench -p dagu-auth --bench authorize
  log "sign-in (1,000 users, then 1,000,000: unchanged by the number of users)"
  cargo bench -p dagu-auth --bench signin
  DAGU_AUTH_BENCH_DATA="${DAGU_AUTH_BENCH_DATA:-/dev/shm/dagu-bench}" BENCH_USERS=1000000 \
      cargo bench -p dagu-auth --bench signin -- 'engine_login|bare_argon2_verify$'
  log "store at 100,000 users"
  cargo bench -p dagu-auth --bench store
  # The first run writes the data sets and prints how long each took ("generated ..."): in RAM,
  # about 50 s for 1,000,000 users. With DAGU_AUTH_TEST_POSTGRES_URL set, the pages are also
  # timed on PostgreSQL.
  log "cost curve: 1,000 to 1,000,000 users"
  DAGU_AUTH_BENCH_DATA="${DAGU_AUTH_BENCH_DATA:-/dev/shm/dagu-bench}" \
      cargo bench -p dagu-auth --features postgres --bench scale | tee target/bench-logs/scale.log
  python3 plugin/benches/plot_scale.py target/bench-logs/scale.log plugin/benches/scale.png
  log "revocation on one host enforced on another (PostgreSQL if DAGU_AUTH_TEST_POSTGRES_URL is set)"
  cargo bench -p dagu-auth --features postgres --bench revocation_delay
  log "audit trail at 1,000,000 entries"
  BENCH_AUDIT_TMPFS=/dev/shm cargo bench -p dagu-auth --bench audit
  # About 4 GB under /tmp, built once (the run prints how long it took); delete it when done.
  log "audit trail at 10,000,000 entries"
  BENCH_AUDIT_ENTRIES=10000000 BENCH_AUDIT_DATA=/tmp/dagu-auth-bench-audit \
      BENCH_AUDIT_TMPFS=/dev/shm cargo bench -p dagu-auth --bench audit
  log "Go host through cgo (tests/go, -bench)"
  (cd tests/go && GOFLAGS=-mod=mod GOCACHE="$PWD/../../target/go/cache" GOPATH="$PWD/../../target/go/path" \
      go build -o ../../target/go/bin/gohost-bench .)
  target/go/bin/gohost-bench -plugin target/release/libdagu_auth.so -bench 200000
  log "HTTP load (wrk, axum ceiling)"
  ROUNDS=3 plugin/benches/http_load.sh 5
} 2>&1 | tee "target/bench-logs/run_all-$(date +%Y%m%d-%H%M%S).log"
