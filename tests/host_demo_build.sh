# Sourced (not run) by tests/schemathesis.sh and tests/soak/soak.sh, from the workspace root, with
# `profile` set to debug or release. Builds host-demo and the plugin for that profile and sets:
#   target  the profile's output folder
#   plugin  the library just built; `cargo build -p host-demo` refreshes it only in deps/, so a
#           copy beside the executable may be stale and the scripts name this one
#   port    a loopback port that was free a moment ago

case "$profile" in
    release) cargo build -q -p host-demo --release ;;
    *) cargo build -q -p host-demo ;;
esac
target="${CARGO_TARGET_DIR:-target}/$profile"
plugin="$target/deps/libdagu_auth.so"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
