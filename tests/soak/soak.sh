#!/usr/bin/env bash
# Soak: host-demo under wrk for DURATION (default 10m) with sign-ins and user CRUD mixed into
# authorized reads, sampling the host's RSS and open file descriptors every 10 s. Not part of CI.
#
# Usage: tests/soak/soak.sh [duration]   (needs wrk: apt-get install wrk)
# Env: PROFILE=release|debug  THREADS=4  OUT=tests/soak/samples.csv
set -euo pipefail
cd "$(dirname "$0")/../.."

duration="${1:-10m}"
profile="${PROFILE:-release}"
threads="${THREADS:-4}"
out="${OUT:-$(mktemp -t soak-samples.XXXXXX.csv)}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

# shellcheck source=tests/host_demo_build.sh
. tests/host_demo_build.sh

work="$(mktemp -d)"
base="http://127.0.0.1:$port"
password="soak-admin-password-1"
# Default (production) argon2 settings: the sign-ins in the mix pay the real hash cost.
DAGU_HOST=127.0.0.1 DAGU_PORT="$port" DAGU_DATA_DIR="$work/data" \
DAGU_AUTH_PLUGIN="$plugin" \
DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME=admin DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD="$password" \
    "$target/host-demo" >/dev/null 2>"$work/host.err" &
host_pid=$!
sampler_pid=""
cleanup() {
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
    kill "$host_pid" 2>/dev/null || true
    wait "$host_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do curl -fsS "$base/api/v1/auth/setup" >/dev/null 2>&1 && break; sleep 0.1; done

token="$(curl -fsS -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$password\"}" "$base/api/v1/auth/login" | jq -r .token)"

sample() {
    echo "seconds,rss_kib,fds,threads"
    local start=$SECONDS
    while kill -0 "$host_pid" 2>/dev/null; do
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$host_pid/status")
        tasks=$(awk '/^Threads/ {print $2}' "/proc/$host_pid/status")
        fds=$(ls "/proc/$host_pid/fd" | wc -l)
        echo "$((SECONDS - start)),$rss,$fds,$tasks"
        sleep 10
    done
}
sample >"$out" &
sampler_pid=$!

echo "soak: host-demo pid $host_pid on port $port, $threads connections, $duration; samples in $out"
SOAK_TOKEN="$token" SOAK_ADMIN_PASSWORD="$password" \
    wrk -t "$threads" -c "$threads" -d "$duration" --latency -s tests/soak/mixed.lua "$base" | tee "$work/wrk.txt"
sleep 11

echo "--- samples (every 10 s): first, min/max, last"
awk -F, 'NR == 2 {first = $0} NR > 1 {
    if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2;
    if (fmax == "" || $3 > fmax) fmax = $3; if (fmin == "" || $3 < fmin) fmin = $3; last = $0 }
    END { print "first " first; print "rss_kib min " min " max " max; print "fds min " fmin " max " fmax; print "last " last }' "$out"
echo "--- users left in the store (all CRUD rounds delete their user)"
curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/users" | jq '.users | length'
echo "--- host stderr lines: $(wc -l <"$work/host.err")"
head -5 "$work/host.err"
