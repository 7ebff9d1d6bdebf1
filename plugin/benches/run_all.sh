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
  log "sign-in"
  cargo bench -p dagu-auth --bench signin
  log "store at 100,000 users"
  cargo bench -p dagu-auth --bench store
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
  plugin/benches/http_load.sh 10
} 2>&1 | tee "target/bench-logs/run_all-$(date +%Y%m%d-%H%M%S).log"
