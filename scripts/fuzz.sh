#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each (default 20),
# each on a copy of its seed corpus (tests/fuzz/corpus/<target>) in a
# temporary directory, so the checked-in seeds never change by themselves.
# Exits non-zero when a target crashes, leaks, times out or trips a
# sanitizer; the reproducer (crash-*, leak-*, timeout-*) is then copied to
# BUILD_DIR/fuzz-artifacts/<target>/ and its path printed.
#
# usage: scripts/fuzz.sh BUILD_DIR [SECONDS] [TARGET...]
#   BUILD_DIR  configured with -DCMAKE_C_COMPILER=clang -DRANKD_FUZZ=ON and
#              built with --target fuzz
#   TARGET     envelope, payload, token, apikey, config, query, json or event
#              (default: all)
set -uo pipefail

if (($# < 1)); then
    echo "usage: scripts/fuzz.sh BUILD_DIR [SECONDS] [TARGET...]" >&2
    exit 2
fi
build="$(cd "$1" && pwd)" || exit 2
seconds="${2:-20}"
shift $(($# < 2 ? $# : 2))
targets=("$@")
((${#targets[@]})) || targets=(envelope payload token apikey config query json event)

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/rankd-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

failed=0
for t in "${targets[@]}"; do
    bin="$build/fuzz_$t"
    if [[ ! -x $bin ]]; then
        echo "fuzz: $bin not built (cmake --build $1 --target fuzz)" >&2
        failed=1
        continue
    fi
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
    cp "$src/tests/fuzz/corpus/$t/"* "$work/$t/corpus/"
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
        UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
        "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" >"$work/$t/log" 2>&1
    rc=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log")"
    if ((rc == 0)); then
        printf 'fuzz: %-8s ok, %s inputs in %s s\n' "$t" "${runs:-?}" "$seconds"
    else
        printf 'fuzz: %-8s FAILED (exit %d) after %s inputs\n' "$t" "$rc" "${runs:-?}"
        grep -E 'ERROR|SUMMARY|#[0-9]+ 0x' "$work/$t/log" | head -n 30 | sed 's/^/  /'
        mkdir -p "$build/fuzz-artifacts/$t"
        cp "$work/$t/artifacts/"* "$build/fuzz-artifacts/$t/" 2>/dev/null &&
            echo "  reproducer: $build/fuzz-artifacts/$t/ (run: $bin FILE)"
        failed=1
    fi
done
exit "$failed"
