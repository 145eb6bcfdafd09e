#!/usr/bin/env bash
# tools/bench_reads.sh - where-a-player-stands reads against Top, one run.
#
# Starts a private Redis, PostgreSQL and rankd (tests/with-services.sh),
# sets up BENCH_PLAYERS players with a score each on one board, then runs
# rank-bench on one operation at a time (top, count, percentile,
# distribution, score-range, standing), BENCH_ROUNDS rounds in turn so the
# machine's noise falls on all of them, and prints each one's median
# requests per second, p99 and its ratio to top's.
#
# usage: tools/bench_reads.sh
# Environment: RANKD_BUILD_DIR [build], BENCH_PLAYERS [10000],
# BENCH_DURATION [5], BENCH_ROUNDS [2], BENCH_THREADS [2], BENCH_INFLIGHT [16].
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
players="${BENCH_PLAYERS:-10000}" dur="${BENCH_DURATION:-5}" rounds="${BENCH_ROUNDS:-2}"
threads="${BENCH_THREADS:-2}" inflight="${BENCH_INFLIGHT:-16}"
ops=(top count percentile distribution score-range standing)

"$bench" --url "$RANKD_URL" --setup-only --players "$players" --quiet >/dev/null
results="$RANKD_TEST_DIR/reads.tsv"
: >"$results"
for ((r = 1; r <= rounds; r++)); do
    for op in "${ops[@]}"; do
        "$bench" --url "$RANKD_URL" --reuse --players "$players" --mix "$op=1" --duration "$dur" \
            --threads "$threads" --inflight "$inflight" --json --quiet --max-errors 0 |
            python3 -c 'import json,sys; d = json.load(sys.stdin)
print("%s\t%.0f\t%.3f" % (sys.argv[1], d["throughput"], d["latency_us"]["p99"] / 1000))' "$op" >>"$results"
    done
done
python3 - "$results" "${ops[@]}" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1])]
ops = sys.argv[2:]
med = {op: statistics.median(float(r[1]) for r in rows if r[0] == op) for op in ops}
p99 = {op: statistics.median(float(r[2]) for r in rows if r[0] == op) for op in ops}
print("%-14s %10s %9s %8s" % ("call", "req/s", "p99 ms", "vs top"))
for op in ops:
    print("%-14s %10.0f %9.2f %7.2fx" % (op, med[op], p99[op], med[op] / med["top"]))
PY
