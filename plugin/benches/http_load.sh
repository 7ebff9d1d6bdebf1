#!/usr/bin/env bash
# HTTP load on loopback with wrk, bounded in time: host-demo (release, real plugin) for
# GET /api/v1/auth/me, GET /api/v1/dags (one authorize per visible workspace) and
# POST /api/v1/auth/login (argon2-bound), beside the smallest axum handler as the ceiling.
# Usage: plugin/benches/http_load.sh [seconds per run, default 15]   (apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-15}"
connections="${CONNECTIONS:-64}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build -q --release -p host-demo --example ceiling

work="$(mktemp -d)"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

port="$(free_port)"
password="load-admin-password-1"
DAGU_PORT="$port" DAGU_DATA_DIR="$work/data" DAGU_AUTH_PLUGIN="target/release/deps/libdagu_auth.so" \
DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME=admin DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD="$password" \
DAGU_AUTH_LOGIN_EXEMPT_LOOPBACK=true \
    target/release/host-demo >/dev/null 2>"$work/host.err" &
pids+=($!)
ceiling_port="$(free_port)"
target/release/examples/ceiling "$ceiling_port" >/dev/null &
pids+=($!)
base="http://127.0.0.1:$port/api/v1"
wait_for "$base/health"
wait_for "http://127.0.0.1:$ceiling_port/api/v1/dags"

token="$(curl -sf -X POST "$base/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

run() { # name, url, extra wrk args...
    local name="$1" url="$2"; shift 2
    local rps
    rps="$(wrk -t 2 -c "$connections" -d "${seconds}s" --latency "$@" "$url" | awk '/Requests\/sec/ {print $2}')"
    printf '%-28s %10s req/s\n' "$name" "$rps" >&2
    echo "$rps"
}
printf 'load %s, %s connections, %s s per run\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$connections" "$seconds"
ceiling=$(run "axum ceiling /dags" "http://127.0.0.1:$ceiling_port/api/v1/dags")
run "host-demo GET /auth/me" "$base/auth/me" -H "Authorization: Bearer $token" >/dev/null
dags=$(run "host-demo GET /dags" "$base/dags" -H "Authorization: Bearer $token")
cat > "$work/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"admin","password":"$password"}'
LUA
run "host-demo POST /auth/login" "$base/auth/login" -s "$work/login.lua" >/dev/null
python3 -c "print(f'GET /dags is {100 * float(\"$dags\") / float(\"$ceiling\"):.0f}% of the ceiling')"
