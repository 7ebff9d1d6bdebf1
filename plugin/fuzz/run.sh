#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a bounded time (default 60 s): ./run.sh [seconds] [target...]
# The committed seeds in corpus/<target>/ are copied to a scratch corpus, so a run never grows the
# repository. A crash stops the script; the reproducer is kept in artifacts/<target>/ and must
# become a regression test.
#
# Needs cargo-fuzz (cargo install cargo-fuzz). Builds on the stable toolchain with
# RUSTC_BOOTSTRAP=1, since the sanitizer flags are nightly-only.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(http_router capi_json token_verify config_parse)

export RUSTC_BOOTSTRAP=1
cargo fuzz build -O >/dev/null

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
    mkdir -p "$scratch/corpus/$target" "fuzz/artifacts/$target"
    cp -r "fuzz/corpus/$target/." "$scratch/corpus/$target/" 2>/dev/null || true
    echo "fuzzing $target for ${seconds}s"
    # The targets write their databases under TMPDIR; the scratch folder goes when we exit.
    TMPDIR="$scratch" cargo fuzz run -O "$target" "$scratch/corpus/$target" -- \
        -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
        -artifact_prefix="fuzz/artifacts/$target/" -print_final_stats=1 2>&1 |
        grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|thread|Done|SUMMARY)' || true
    if [ -n "$(ls -A "fuzz/artifacts/$target" 2>/dev/null)" ]; then
        echo "fuzz target $target found a crash: $(ls "fuzz/artifacts/$target")" >&2
        exit 1
    fi
done
