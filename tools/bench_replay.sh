#!/usr/bin/env bash
# tools/bench_replay.sh - how fast rankd catches up on what it took without
# Redis.
#
# For each rankd binary given, one after the other on the same Redis and
# PostgreSQL: stops Redis, sends BENCH_REPLAY_N single submissions (each
# recorded in PostgreSQL's history and redis_backlog), stops rankd, starts
# Redis again, starts the binary and times until redis_backlog is empty
# (rankctl status). Prints one line per binary: rows, seconds, rows per
# second. Give the binary before a change and the one after it to compare
# them in one run on one machine.
#
# usage: tools/bench_replay.sh [RANKD_BIN...]   (default: the build's rankd)
#
# Environment: RANKD_BUILD_DIR [build], BENCH_REPLAY_N [20000].
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RANKD_BUILD_DIR:-$root/build}"
[[ $build = /* ]] || build="$root/$build"

if [[ ${1:-} != --inner ]]; then
    bins=("$@")
    ((${#bins[@]})) || bins=("$build/rankd")
    export RANKD_BIN="$build/rankd" FREEPORT_BIN="$build/tests/freeport" RANKD_SCRYPT_N=1024
    export BENCH_BUILD="$build"
    exec "$root/tests/with-services.sh" -- "${BASH_SOURCE[0]}" --inner "${bins[@]}"
fi
shift
bins=("$@")
n="${BENCH_REPLAY_N:-20000}"
bench="$BENCH_BUILD/rank-bench"
ctl="$BENCH_BUILD/rankctl"

backlog() {
    "$ctl" --url "$RANKD_URL" --json status 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin).get("redis_backlog", 0))' 2>/dev/null || echo -1
}

"$bench" --url "$RANKD_URL" --setup-only --players 1000 --quiet >/dev/null
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" "$ctl" --url "$RANKD_URL" login "$RANKD_ADMIN_USER" >/dev/null
eval "set -- $RANKD_ARGS"
args=("$@")
# A rankd this script started must not outlive it, whatever ends it: one
# left behind keeps reconnecting to whatever takes its Redis's port next.
pid=""
trap '[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null || true' EXIT
printf '%-40s %8s %8s %10s\n' binary rows seconds rows/s
for bin in "${bins[@]}"; do
    rk-redis-stop >/dev/null
    "$bench" --url "$RANKD_URL" --reuse --mix submit=1 --requests "$n" --warmup 0 --quiet \
        --max-errors 0 >/dev/null
    rows="$(backlog)"
    rk-rankd-stop >/dev/null
    rk-redis-start >/dev/null
    t0="$(date +%s.%N)"
    "$bin" "${args[@]}" </dev/null >>"$RANKD_TEST_DIR/replay.log" 2>&1 &
    pid=$!
    left=-1
    for ((i = 0; i < 6000; i++)); do
        left="$(backlog)"
        [[ $left == 0 ]] && break
        sleep 0.05
    done
    t1="$(date +%s.%N)"
    kill -TERM "$pid"
    wait "$pid" || true
    pid=""
    [[ $left == 0 ]] || { echo "bench_replay: $bin did not catch up" >&2; exit 1; }
    rk-rankd-start >/dev/null
    python3 -c 'import sys; b, r, t0, t1 = sys.argv[1:]; s = float(t1) - float(t0)
print("%-40s %8d %8.2f %10.0f" % (b[-40:], int(r), s, int(r) / s))' "$bin" "$rows" "$t0" "$t1"
done
