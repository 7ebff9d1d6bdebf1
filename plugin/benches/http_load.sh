#!/usr/bin/env bash
# HTTP load on loopback with wrk, bounded in time: host-demo (release, real plugin) for
# GET /api/v1/health, GET /api/v1/auth/me, GET /api/v1/users?limit=50 (60 users),
# GET /api/v1/dags (one authorize per visible workspace) and POST /api/v1/auth/login
# (argon2-bound), beside the smallest axum handler as the ceiling; then the same-run ratios
# and sign-ins against cores / one bare argon2 verify (benches/argon2_verify.rs).
# Usage: plugin/benches/http_load.sh [seconds per run, default 15]   (apt-get install wrk)
# Builds what it runs, in CARGO_TARGET_DIR if set, so a profile can be compared by building it
# elsewhere, e.g. CARGO_TARGET_DIR=/tmp/lto CARGO_PROFILE_RELEASE_LTO=fat plugin/benches/http_load.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-15}"
connections="${CONNECTIONS:-64}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
# `--example` alone would build only the example, and run a stale (or no) host-demo and plugin.
cargo build -q --release -p host-demo -p dagu-auth
cargo build -q --release -p host-demo --example ceiling
release="${CARGO_TARGET_DIR:-target}/release"
argon2="$(cargo bench -q -p dagu-auth --bench argon2_verify 2>/dev/null)"
verify_ms="$(sed -n 's/^argon2_verify_ms=//p' <<<"$argon2")"
parallel_per_s="$(sed -n 's/^argon2_parallel_per_s=//p' <<<"$argon2")"

work="$(mktemp -d)"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

port="$(free_port)"
password="load-admin-password-1"
DAGU_PORT="$port" DAGU_DATA_DIR="$work/data" DAGU_AUTH_PLUGIN="$release/deps/libdagu_auth.so" \
DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME=admin DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD="$password" \
DAGU_AUTH_LOGIN_EXEMPT_LOOPBACK=true \
    "$release/host-demo" >/dev/null 2>"$work/host.err" &
host_pid=$!
pids+=($host_pid)
ceiling_port="$(free_port)"
"$release/examples/ceiling" "$ceiling_port" >/dev/null &
ceiling_pid=$!
pids+=($ceiling_pid)
base="http://127.0.0.1:$port/api/v1"
wait_for "$base/health"
wait_for "http://127.0.0.1:$ceiling_port/api/v1/dags"

token="$(curl -sf -X POST "$base/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

# CPU time of a process in clock ticks (user + system): per request, it drifts less than req/s on
# a shared VM.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # name, server pid, url, extra wrk args... Prints the rate of 2xx answers only: a
    # refusal (429) is quick and would otherwise count as throughput.
    local name="$1" pid="$2" url="$3"; shift 3
    local out requests secs bad rps ticks_before ticks_after
    ticks_before="$(cpu_ticks "$pid")"
    out="$(wrk -t 2 -c "$connections" -d "${seconds}s" --latency "$@" "$url")"
    ticks_after="$(cpu_ticks "$pid")"
    requests="$(awk '/requests in/ {print $1}' <<<"$out")"
    secs="$(awk '/requests in/ {sub(/s,$/, "", $4); print $4}' <<<"$out")"
    bad="$(awk '/Non-2xx or 3xx responses/ {print $5}' <<<"$out")"
    rps="$(python3 -c "print(f'{($requests - ${bad:-0}) / $secs:.1f}')")"
    printf '%-28s %10s req/s (non-2xx: %s; p50 %s; %s us CPU per request)\n' "$name" "$rps" \
        "${bad:-0}" "$(awk '/ 50%/ {print $2}' <<<"$out")" \
        "$(python3 -c "print(f'{($ticks_after - $ticks_before) * 1e6 / $(getconf CLK_TCK) / $requests:.2f}')")" >&2
    echo "$rps"
}
# A page of 50 needs at least 50 users to list.
for i in $(seq -w 1 60); do
    curl -sf -o /dev/null -X POST "$base/users" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' \
        -d "{\"username\":\"load$i\",\"password\":\"load-user-password-$i\",\"role\":\"viewer\"}"
done

# The VM's speed drifts over a minute, so the routes take turns, ROUNDS times (default 3), and
# each ratio is of the medians: a route measured only after another would carry the drift.
rounds="${ROUNDS:-3}"
median() { python3 -c 'import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))' "$@"; }
printf 'load %s, %s connections, %s s per run, %s rounds\n' "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$connections" "$seconds" "$rounds"
declare -a c_r h_r m_r u_r d_r
for _ in $(seq "$rounds"); do
    c_r+=("$(run "axum ceiling /dags" "$ceiling_pid" "http://127.0.0.1:$ceiling_port/api/v1/dags")")
    h_r+=("$(run "host-demo GET /health" "$host_pid" "$base/health")")
    m_r+=("$(run "host-demo GET /auth/me" "$host_pid" "$base/auth/me" -H "Authorization: Bearer $token")")
    u_r+=("$(run "host-demo GET /users?limit=50" "$host_pid" "$base/users?limit=50" -H "Authorization: Bearer $token")")
    d_r+=("$(run "host-demo GET /dags" "$host_pid" "$base/dags" -H "Authorization: Bearer $token")")
done
ceiling=$(median "${c_r[@]}"); health=$(median "${h_r[@]}"); me=$(median "${m_r[@]}")
users=$(median "${u_r[@]}"); dags=$(median "${d_r[@]}")
printf 'medians: ceiling %s, /health %s, /auth/me %s, /users?limit=50 %s, /dags %s req/s\n' \
    "$ceiling" "$health" "$me" "$users" "$dags"
# Sign-ins spread over the 60 accounts: one account alone gets at most one hashing place per
# core once there is a queue (the rest is refused at once), which is the limit, not the speed.
cat > "$work/login.lua" <<'LUA'
local i = 0
request = function()
  i = i % 60 + 1
  local body = string.format('{"username":"load%02d","password":"load-user-password-%02d"}', i, i)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
LUA
logins=$(run "host-demo POST /auth/login" "$host_pid" "$base/auth/login" -s "$work/login.lua")
python3 - "$ceiling" "$health" "$me" "$users" "$dags" "$logins" "$verify_ms" "$(nproc)" "$parallel_per_s" <<'PY'
import sys
ceiling, health, me, users, dags, logins, verify_ms, cores, parallel = map(float, sys.argv[1:])
print(f"GET /dags is {100 * dags / ceiling:.0f}% of the ceiling and {dags / health:.2f}x /health")
print(f"GET /auth/me is {100 * me / ceiling:.0f}% of the ceiling")
print(f"GET /users?limit=50 is {100 * users / ceiling:.0f}% of the ceiling")
bound = cores * 1000 / verify_ms
print(f"sign-ins {logins:.1f}/s against {cores:.0f} cores / {verify_ms:.2f} ms = {bound:.1f}/s: "
      f"{100 * logins / bound:.0f}%; against {parallel:.1f} verifies/s on all cores at once: "
      f"{100 * logins / parallel:.0f}%")
PY
