#!/usr/bin/env bash
# tools/bench_wb.sh - the write-behind's ingest against a raw COPY.
#
# For each rankd binary given (A B A B ... BENCH_ROUNDS times), on one
# private Redis and PostgreSQL (tests/with-services.sh): stops PostgreSQL,
# sends BENCH_WB_N scores in batches of 100 (they wait in the stream
# rk:wb), starts PostgreSQL and times until the write-behind has drained
# the stream into `scores` (the length of rk:wb is 0). Then
# times a COPY of as many rows, of the same shape, into the same table,
# and prints rows per second of each drain and its ratio to the COPY.
#
# With BENCH_WB_CLUSTER=1 the Redis is a private 3-master Redis Cluster:
# the scores go to BENCH_WB_BOARDS boards, whose streams (one per board in
# the split layout) are spread over the masters, and the drain ends when
# rankd's Status says the write-behind's backlog is 0 (asked every 0.2 s:
# one XLEN cannot see every stream).
#
# usage: tools/bench_wb.sh [RANKD_BIN...]   (default: the build's rankd)
# Environment: RANKD_BUILD_DIR [build], BENCH_WB_N [200000], BENCH_ROUNDS [2],
# BENCH_WB_CLUSTER [0], BENCH_WB_BOARDS [1, or 12 on a cluster].
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RANKD_BUILD_DIR:-$root/build}"
[[ $build = /* ]] || build="$root/$build"

if [[ ${1:-} != --inner ]]; then
    bins=("$@")
    ((${#bins[@]})) || bins=("$build/rankd")
    export RANKD_BIN="$build/rankd" FREEPORT_BIN="$build/tests/freeport" RANKD_SCRYPT_N=1024
    export BENCH_BUILD="$build"
    [[ ${BENCH_WB_CLUSTER:-0} == 1 ]] && export RANKD_TEST_REDIS=cluster
    exec "$root/tests/with-services.sh" -- "${BASH_SOURCE[0]}" --inner "${bins[@]}"
fi
shift
bins=("$@")
n="${BENCH_WB_N:-200000}" rounds="${BENCH_ROUNDS:-2}" cluster="${BENCH_WB_CLUSTER:-0}"
nboards="${BENCH_WB_BOARDS:-$( ((cluster)) && echo 12 || echo 1)}"
bench="$BENCH_BUILD/rank-bench"
ctl="$BENCH_BUILD/rankctl"
pg() { psql "$RANKD_POSTGRES" -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
backlog() {
    "$ctl" --url "$RANKD_URL" --json status 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin).get("writebehind_backlog", 0))' 2>/dev/null || echo -1
}

"$bench" --url "$RANKD_URL" --setup-only --players 1000 --boards "$nboards" --quiet >/dev/null
# A key made while PostgreSQL is up: rankd checks it from memory later.
export RANKD_TOKEN_FILE="$RANKD_TEST_DIR/bench-token"
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" "$ctl" --url "$RANKD_URL" login "$RANKD_ADMIN_USER" >/dev/null
key="$("$ctl" --url "$RANKD_URL" apikey create bench --label bench-wb 2>/dev/null | awk '$1 == "key" && NF == 2 { print $2 }')"
eval "set -- $RANKD_ARGS"
args=("$@")
rk-rankd-stop >/dev/null
# A rankd this script started must not outlive it, whatever ends it: one
# left behind keeps reconnecting to whatever takes its Redis's port next.
pid=""
trap '[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null || true' EXIT
results="$RANKD_TEST_DIR/wb.tsv"
: >"$results"
printf '%-4s %-6s %10s %9s %10s\n' bin round rows seconds rows/s
for ((r = 1; r <= rounds; r++)); do
    i=0
    for bin in "${bins[@]}"; do
        label="$(printf "\\x$(printf %x "$((65 + i))")")"
        i=$((i + 1))
        "$bin" "${args[@]}" </dev/null >>"$RANKD_TEST_DIR/wb-rankd.log" 2>&1 &
        pid=$!
        for _ in $(seq 100); do "$ctl" --url "$RANKD_URL" status >/dev/null 2>&1 && break; sleep 0.1; done
        # One call with the key while PostgreSQL is up puts it in the cache.
        "$bench" --url "$RANKD_URL" --reuse --key "$key" --boards "$nboards" --mix batch=1 --requests 1 --warmup 0 \
            --quiet >/dev/null
        rk-pg-stop >/dev/null
        "$bench" --url "$RANKD_URL" --reuse --key "$key" --boards "$nboards" --mix batch=1 --batch-size 100 \
            --requests "$((n / 100))" --warmup 0 --quiet --max-errors 0 >/dev/null
        rows="$(backlog)"
        rk-pg-start >/dev/null
        t0="$(now)"
        # One redis-cli asking the stream's length every 20 ms, for up to
        # 10 minutes: the watch must not take the CPU the drain needs (a
        # rankctl and a python3 every 50 ms took a third of both cores);
        # line-buffered, or its answers wait in a pipe buffer for seconds.
        if ((cluster)); then
            exec {xlen}< <(exec timeout 600 bash -c 'while :; do
                "$1" --url "$2" --json status 2>/dev/null | grep -o "\"writebehind_backlog\":[[:space:]]*[0-9]*" |
                    grep -o "[0-9]*$" || echo -1
                sleep 0.2
            done' _ "$ctl" "$RANKD_URL")
        else
            exec {xlen}< <(exec timeout 600 stdbuf -oL redis-cli -h 127.0.0.1 -p "$RANKD_REDIS_PORT" -r -1 -i 0.02 \
                XLEN rk:wb)
        fi
        watch=$!
        left=-1
        while read -r -u "$xlen" x; do [[ $x == 0 ]] && left=0 && break; done
        t1="$(now)"
        kill "$watch" 2>/dev/null || true
        exec {xlen}<&-
        kill -TERM "$pid"
        wait "$pid" || true
        pid=""
        [[ $left == 0 ]] || { echo "bench_wb: $bin did not drain the stream" >&2; exit 1; }
        python3 -c 'import sys; l, r, b, t0, t1 = sys.argv[1:]; s = float(t1) - float(t0)
print("%-4s %-6s %10d %9.2f %10.0f" % (l, r, int(b), s, int(b) / s))' "$label" "$r" "$rows" "$t0" "$t1" |
            tee -a "$results"
    done
done

# The same number of rows, the same columns and the same board, COPYed into
# scores itself (then deleted again).
python3 - "$n" >"$RANKD_TEST_DIR/copy.csv" <<'PY'
import sys
n = int(sys.argv[1])
w = sys.stdout.write
for i in range(n):
    w('copy-%d,bench-0,%d,%d,2026-12-01 00:00:%02d.%06d+00,""\n' % (i, 2 + i % 1000, (i * 7919) % 1000000, i % 60, i % 1000000))
PY
t0="$(now)"
pg -c "\\copy scores (entry_id, board_id, user_id, score, submitted_at, idempotency_key) FROM '$RANKD_TEST_DIR/copy.csv' CSV"
t1="$(now)"
pg -c "DELETE FROM scores WHERE entry_id LIKE 'copy-%'"
rk-rankd-start >/dev/null
python3 - "$n" "$t0" "$t1" "$results" <<'PY'
import statistics, sys
n, t0, t1, path = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
copy = n / (t1 - t0)
print("%-4s %-6s %10d %9.2f %10.0f" % ("COPY", "-", n, t1 - t0, copy))
by = {}
for line in open(path):
    f = line.split()
    by.setdefault(f[0], []).append(float(f[4]))
for label in sorted(by):
    m = statistics.median(by[label])
    print("%s: median %.0f rows/s, %.2fx of COPY" % (label, m, m / copy))
PY
