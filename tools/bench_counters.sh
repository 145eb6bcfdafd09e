#!/usr/bin/env bash
# tools/bench_counters.sh - increments per second on one hot counter.
#
# Starts a private Redis, PostgreSQL and rankd (tests/with-services.sh) and
# measures rank-bench's incr operation (Counters/Incr by 1, with an API
# key) on a counter of 1 sub-key and on one of 8, alternating A B A B so
# that the machine's noise falls on both; then redis-benchmark's INCRBY on
# one key, for the ceiling of the Redis underneath. Prints one line per
# run, the ratios of the medians and the counters' totals at the end.
#
# usage: tools/bench_counters.sh
# Environment: RANKD_BUILD_DIR [build], BENCH_DURATION [5] (seconds per
# run), BENCH_THREADS [2], BENCH_INFLIGHT [32], BENCH_ROUNDS [2].
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RANKD_BUILD_DIR:-$root/build}"
[[ $build = /* ]] || build="$root/$build"

if [[ ${1:-} != --inner ]]; then
    export RANKD_BIN="$build/rankd" FREEPORT_BIN="$build/tests/freeport" RANKD_SCRYPT_N=1024
    export BENCH_BUILD="$build"
    exec "$root/tests/with-services.sh" -- "${BASH_SOURCE[0]}" --inner
fi
bench="$BENCH_BUILD/rank-bench"
ctl="$BENCH_BUILD/rankctl"
dur="${BENCH_DURATION:-5}" threads="${BENCH_THREADS:-2}" inflight="${BENCH_INFLIGHT:-32}"
rounds="${BENCH_ROUNDS:-2}"

rate() { # SHARDS -> increments per second of one run
    "$bench" --url "$RANKD_URL" --mix incr=1 --counter-shards "$1" --players 0 --duration "$dur" \
        --threads "$threads" --inflight "$inflight" --json --quiet --max-errors 0 |
        python3 -c 'import json,sys; d = json.load(sys.stdin); print("%.0f" % d["throughput"])'
}

declare -A runs=([1]="" [8]="")
printf '%-28s %12s\n' run incr/s
for ((r = 0; r < rounds; r++)); do
    for n in 1 8; do
        v="$(rate "$n")"
        runs[$n]+="$v "
        printf '%-28s %12s\n' "shards=$n (round $((r + 1)))" "$v"
    done
done
raw="$(redis-benchmark -p "$RANKD_REDIS_PORT" -c "$((threads * inflight))" -n 200000 -q INCRBY bench-raw 1 |
    tr -s ' \r' '\n' | awk '/^[0-9.]+$/ { print; exit }')"
printf '%-28s %12s\n' "redis INCRBY (ceiling)" "$raw"
python3 - "${runs[1]}" "${runs[8]}" "$raw" <<'PY'
import statistics, sys
one = statistics.median(map(float, sys.argv[1].split()))
eight = statistics.median(map(float, sys.argv[2].split()))
raw = float(sys.argv[3])
print("shards=8 / shards=1: %.2fx   shards=1 / redis INCRBY: %.2fx" % (eight / one, one / raw))
PY
for n in 1 8; do
    t="$("$ctl" --url "$RANKD_URL" --json counter get bench "bench-s$n" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
    printf 'counter bench-s%s total %s\n' "$n" "$t"
done
