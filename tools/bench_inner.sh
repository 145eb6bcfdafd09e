#!/usr/bin/env bash
# bench_inner.sh - the measurements of tools/bench.sh, run inside
# tests/with-services.sh (which exports RANKD_URL, RANKD_REDIS_HOST/PORT,
# RANKD_POSTGRES, RANKD_PID, RANKD_TEST_DIR and the admin credentials).
#
# Every result lands as a file in $RANKD_TEST_DIR/bench; bench_summary.py
# turns them into the table or the JSON object at the end. Redis and rankd
# are measured at the same number of requests in flight: redis-benchmark
# -c CLIENTS against rank-bench --threads T --inflight CLIENTS/T.
#
# The request-path table runs every rank-bench call three times in a row,
# with the same arguments: against a second rankd on the same Redis and
# PostgreSQL started here with --loops 0 (every call on the worker pool:
# "before"), against the main rankd (its default loops, or BENCH_LOOPS:
# "after"), and against rank-instant (a server that answers each call at
# once with a fixed reply). Running the three per call, rather than each
# server's calls in a block, lets a change in the machine's load hit all
# three alike. rank-bench reads each server's CPU time and context
# switches from /proc (--server-pid) when its load starts and ends. Both
# rankds stay up throughout, so each pays the other's idle cost.
set -euo pipefail

: "${RANK_BENCH_BIN:?}" "${RANK_INSTANT_BIN:?}" "${FREEPORT_BIN:?}" "${RANKD_URL:?}" "${RANKD_REDIS_PORT:?}" "${RANKD_PID:?}"
SECS=${BENCH_SECS:-12}
CLIENTS=${BENCH_CLIENTS:-50}
THREADS=${BENCH_THREADS:-2}
INFLIGHT=$(((CLIENTS + THREADS - 1) / THREADS))
PLAYERS=${BENCH_PLAYERS:-1000}
LARGE=${BENCH_LARGE:-1000000}
WARMUP=2
WB_BACKLOG=${BENCH_WB_BACKLOG:-300000}
TOKEN_PLAYERS=${BENCH_TOKEN_PLAYERS:-$((PLAYERS < 100 ? PLAYERS : 100))}
tools="${BENCH_TOOLS:?}"
out="$RANKD_TEST_DIR/bench"
mkdir -p "$out"

log() { printf 'bench: %s\n' "$*" >&2; }
ts_us=$(date +%s%6N)
rcli() { redis-cli -h "${RANKD_REDIS_HOST:-127.0.0.1}" -p "$RANKD_REDIS_PORT" "$@"; }
pg() { psql "$RANKD_POSTGRES" -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
phase() { printf '%s\n' "$1" >"$out/phase"; log "$1"; }

# ------------------------------------------------------------------ sampler
# Once a second: rankd's VmRSS, the write-behind backlog (XLEN rk:wb) and
# its lag (age of the oldest entry not yet in PostgreSQL; entries are
# deleted from the stream once committed, and their ids are times in ms).
sampler() {
    local rss xlen first lag
    while :; do
        rss="$(awk '/^VmRSS/ {print $2}' "/proc/$RANKD_PID/status" 2>/dev/null)" || break
        [[ -n $rss ]] || break
        xlen="$(rcli XLEN rk:wb 2>/dev/null)" || xlen=-1
        [[ $xlen =~ ^[0-9]+$ ]] || xlen=-1 # BUSY while a loader script runs
        first="$(rcli --raw XRANGE rk:wb - + COUNT 1 2>/dev/null | head -n 1)" || first=""
        lag=0
        if [[ $first =~ ^([0-9]+)- ]]; then
            lag=$(($(date +%s%3N) - BASH_REMATCH[1]))
        fi
        printf '%s %s %s %s %s\n' "$(now)" "$rss" "$xlen" "$lag" "$(cat "$out/phase" 2>/dev/null)" >>"$out/samples"
        sleep 1
    done
}
phase setup
sampler &
sampler_pid=$!
instant_pid=""
before_pid=""
trap 'kill "$sampler_pid" 2>/dev/null || true; [[ -z $instant_pid ]] || kill "$instant_pid" 2>/dev/null || true
[[ -z $before_pid ]] || kill "$before_pid" 2>/dev/null || true' EXIT

# ------------------------------------------------------------------ machine
{
    printf 'nproc=%s\n' "$(nproc)"
    printf 'cpu=%s\n' "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    printf 'mem_kb=%s\n' "$(awk '/^MemTotal/ {print $2}' /proc/meminfo)"
    printf 'redis=%s\n' "$(redis-server --version | awk '{print $3}' | sed 's/v=//')"
    printf 'clients=%s\nthreads=%s\ninflight=%s\nsecs=%s\nplayers=%s\nlarge=%s\n' \
        "$CLIENTS" "$THREADS" "$INFLIGHT" "$SECS" "$PLAYERS" "$LARGE"
    printf 'rankd_args=%s\n' "${RANKD_EXTRA_ARGS:-}"
    printf 'before_args=%s --loops 0\n' "${BENCH_RANKD_ARGS:-}"
    printf 'loops=%s\n' "${BENCH_LOOPS:-default}"
    printf 'instant_contexts=%s\ntoken_players=%s\n' "${BENCH_INSTANT_CONTEXTS:-256}" "$TOKEN_PLAYERS"
    printf 'loadavg_start=%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine"

# ------------------------------------------------------------------ setup
t0=$(now)
# The board accepts players' own scores too, for the player-token submit.
KEY="$("$RANK_BENCH_BIN" --url "$RANKD_URL" --setup-only --players "$PLAYERS" --boards 1 --player-submit --quiet)"
log "set up $PLAYERS players in $(python3 -c "print(round($(now) - $t0, 1))") s"

ZKEY='rk:{bench-0}:all'
MKEY='rk:{bench-0}:all:m'
uid0="$(rcli HGET rk:uids bench-p0)"
# member MKEY UID: the player's sorted-set member (rankd.lua, "Member
# hashes"): the tie key in their bucket, then the id.
member() {
    local tie
    tie="$(rcli HGET "$1:$(($2 / 64))" "$(($2 % 64))")"
    [[ -n $tie ]] && printf '%s%s' "$tie" "$2"
}
member0="$(member "$MKEY" "$uid0")"
[[ -n $member0 ]] || { log "setup left no score for bench-p0"; exit 1; }

# ------------------------------------------------------------------ redis-benchmark
# raw NAME PIPELINE CMD...: a short calibration run, then about SECS seconds.
raw() {
    local name=$1 p=$2 cal rps n
    shift 2
    cal=$((p > 1 ? 100000 : 20000))
    redis-benchmark -h 127.0.0.1 -p "$RANKD_REDIS_PORT" -c "$CLIENTS" -P "$p" -r "$PLAYERS" -n "$cal" --csv "$@" \
        >"$out/cal_$name.csv"
    rps="$(python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(r[0]["rps"])' "$out/cal_$name.csv")"
    n="$(python3 -c "print(max(20000, int(float('$rps') * $SECS)))")"
    redis-benchmark -h 127.0.0.1 -p "$RANKD_REDIS_PORT" -c "$CLIENTS" -P "$p" -r "$PLAYERS" -n "$n" --csv "$@" \
        >"$out/raw_$name.csv"
    log "  $name: $(python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1])))[0]; print(r["rps"], "req/s, p99", r["p99_latency_ms"], "ms")' "$out/raw_$name.csv")"
}

# capture NAME ARGS...: the commands rankd sends Redis for one rank-bench
# call (MONITOR, while nothing else but the write-behind runs).
capture() {
    local name=$1 mpid
    shift
    # Not through rcli: $! must be redis-cli itself, or it outlives the
    # capture and slows every later command down.
    redis-cli -h "${RANKD_REDIS_HOST:-127.0.0.1}" -p "$RANKD_REDIS_PORT" MONITOR >"$out/monitor_$name.txt" 2>/dev/null &
    mpid=$!
    sleep 0.3
    "$RANK_BENCH_BIN" --url "$RANKD_URL" --reuse --key "$KEY" --players "$PLAYERS" --boards 1 --threads 1 \
        --inflight 1 --requests 1 --warmup 0 --json --quiet "$@" >/dev/null
    sleep 0.3
    kill "$mpid" 2>/dev/null || true
    wait "$mpid" 2>/dev/null || true
    if [[ $(rcli CLIENT LIST | grep -c 'cmd=monitor') != 0 ]]; then
        log "a MONITOR client is still connected"
        exit 1
    fi
    python3 "$tools/bench_monitor.py" commands "$out/monitor_$name.txt" >"$out/cmds_$name.json"
}
# wb_drain NAME: waits (up to 300 s) for the write-behind to empty the
# stream; records the backlog it started from, the seconds it took and what
# was left.
wb_drain() {
    local start len first
    start=$(now)
    first="$(rcli XLEN rk:wb)"
    len=$first
    for ((i = 0; i < 3000 && len > 0; i++)); do
        sleep 0.1
        len="$(rcli XLEN rk:wb)"
    done
    printf '%s %s %s\n' "$first" "$(python3 -c "print($(now) - $start)")" "$len" >"$out/drain_$1"
}

phase "what rankd sends"
capture submit --mix submit=1
capture top --mix top=1
capture rank --mix rank=1

# The raw submit is the FCALL rk_submit rankd itself sent (keys and
# arguments as captured), with a random user id and score, on a board of
# its own so the two runs do not share members; the stream and the global
# board are shared, as they are in production.
mapfile -d '' fcall < <(python3 "$tools/bench_monitor.py" submit "$out/monitor_submit.txt" bench-raw)
((${#fcall[@]} > 3)) || { log "could not capture rankd's FCALL rk_submit"; exit 1; }
printf '%s\n' "${fcall[*]}" >"$out/fcall_cmd"
log "  raw submit: ${fcall[*]}"
# rk_submit checks that the player is in the user directory; redis-benchmark's
# random ids are 12 zero-padded digits, so list those ids there too.
rcli EVAL "for i = 0, tonumber(ARGV[1]) - 1 do redis.call('HSET', KEYS[1], string.format('%012d', i), 'bench') end" \
    1 rk:names "$PLAYERS" >/dev/null
phase "redis-benchmark -c $CLIENTS"
raw fcall_p1 1 "${fcall[@]}"
raw fcall_p32 32 "${fcall[@]}"
# The write-behind's capacity: whatever those FCALLs left, plus a backlog
# of WB_BACKLOG entries put in the stream at once, drained with nothing
# else running. Nothing after this is measured while it drains.
phase "write-behind drain"
wb_drain fcalls
for ((first = 0; first < WB_BACKLOG; first += 100000)); do
    rcli --eval "$tools/bench_load.lua" rk:wb , stream "$first" $((WB_BACKLOG - first < 100000 ? WB_BACKLOG - first : 100000)) \
        2 bench-raw "$ts_us" >/dev/null
done
wb_drain raw
log "  drained $(cut -d' ' -f1 "$out/drain_raw") entries in $(cut -d' ' -f2 "$out/drain_raw") s"
phase "redis-benchmark -c $CLIENTS"
raw zrevrange_p1 1 ZREVRANGE "$ZKEY" 0 9 WITHSCORES
raw zrevrange_p32 32 ZREVRANGE "$ZKEY" 0 9 WITHSCORES
raw zrevrank_p1 1 ZREVRANK "$ZKEY" "$member0"
raw zrevrank_p32 32 ZREVRANK "$ZKEY" "$member0"
# Each command rankd sent for one Top and one Rank, as captured, for the
# breakdown of where a call's time goes.
for op in top rank; do
    n="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/cmds_$op.json")"
    for ((i = 0; i < n; i++)); do
        mapfile -d '' cmd < <(python3 "$tools/bench_monitor.py" argv "$out/monitor_$op.txt" "$i")
        raw "step_${op}_$i" 1 "${cmd[@]}"
    done
done

# ------------------------------------------------------------------ before: rankd --loops 0
# A second rankd on the same Redis and PostgreSQL (so the same boards,
# players and key), its own RPC and events ports, no HTTP, its own name in
# the write-behind's consumer group.
wait_port() {
    local i
    for ((i = 0; i < 200; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
: "${RANKD_BIN:?}" "${RANKD_POSTGRES:?}"
before_port="$("$FREEPORT_BIN")"
BEFORE_URL="tcp://127.0.0.1:$before_port"
read -r -a before_extra <<<"${BENCH_RANKD_ARGS:-}"
"$RANKD_BIN" --listen "$BEFORE_URL" --events "tcp://127.0.0.1:$("$FREEPORT_BIN")" --http '' \
    --redis "${RANKD_REDIS_HOST:-127.0.0.1}:$RANKD_REDIS_PORT" --postgres "$RANKD_POSTGRES" --node bench-before \
    --log-level warn "${before_extra[@]}" --loops 0 </dev/null >"$out/before.log" 2>&1 &
before_pid=$!
if ! wait_port "$before_port" || ! kill -0 "$before_pid" 2>/dev/null; then
    log "the --loops 0 rankd did not start: $(tail -n 5 "$out/before.log")"
    exit 1
fi

# ------------------------------------------------------------------ rank-instant
instant_port="$("$FREEPORT_BIN")"
INSTANT_URL="tcp://127.0.0.1:$instant_port"
"$RANK_INSTANT_BIN" --contexts "${BENCH_INSTANT_CONTEXTS:-256}" "$INSTANT_URL" 2>"$out/instant.log" &
instant_pid=$!
for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$instant_port") 2>/dev/null && break
    sleep 0.05
done
kill -0 "$instant_pid" 2>/dev/null || { log "rank-instant did not start: $(cat "$out/instant.log")"; exit 1; }

# ------------------------------------------------------------------ rank-bench
# rb_at FILE URL PID ARGS...: rank-bench on the set-up board at the same
# concurrency, with PID's CPU time and context switches.
rb_at() {
    local name=$1 url=$2 pid=$3
    shift 3
    "$RANK_BENCH_BIN" --url "$url" --reuse --key "$KEY" --players "$PLAYERS" --boards 1 --server-pid "$pid" \
        --threads "$THREADS" --inflight "$INFLIGHT" --duration "$SECS" --warmup "$WARMUP" --json --quiet "$@" \
        >"$out/rb_$name.json"
    log "  $name: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d.get("server", {}); print(round(d["throughput"]), "req/s,", round(d["scores_per_s"]), "scores/s, p99", round(d["latency_us"]["p99"]/1000, 3), "ms, errors", d["errors"], "| server", round(s.get("cpu_us_per_request", 0), 1), "us CPU,", round(s.get("switches_per_request", 0), 2), "switches per request")' "$out/rb_$name.json")"
}
# rb NAME ARGS...: against the main rankd (after). rbb NAME ARGS...: the
# same against the --loops 0 rankd (before). rbi NAME ARGS...: against
# rank-instant.
rb() { rb_at "$1" "$RANKD_URL" "$RANKD_PID" "${@:2}"; }
rbb() { rb_at "before_$1" "$BEFORE_URL" "$before_pid" "${@:2}"; }
rbi() { rb_at "instant_$1" "$INSTANT_URL" "$instant_pid" "${@:2}"; }

# The players' user ids, line i player i's, for the calls by id.
for ((first = 0; first < PLAYERS; first += 1000)); do
    mapfile -t names < <(seq -f "bench-p%.0f" "$first" $((first + 1000 < PLAYERS ? first + 999 : PLAYERS - 1)))
    rcli HMGET rk:uids "${names[@]}"
done >"$out/ids"
grep -qvx '[0-9][0-9]*' "$out/ids" && { log "a benchmark player has no user id in rk:uids"; exit 1; }

phase "rank-bench ${THREADS}x$INFLIGHT"
# Before, after, instant for each call. Every write waits for the
# write-behind to drain before the next run, so it takes no CPU from it.
rbb submit --mix submit=1
wb_drain before_submit
rb submit --mix submit=1
wb_drain submit
rbi submit --mix submit=1
rbb psubmit --mix psubmit=1 --token-players "$TOKEN_PLAYERS"
wb_drain before_psubmit
rb psubmit --mix psubmit=1 --token-players "$TOKEN_PLAYERS"
wb_drain psubmit
rbi psubmit --mix psubmit=1 --token-players "$TOKEN_PLAYERS"
rbb batch --mix batch=1 --batch-size 100
wb_drain before_batch
rows_before="$(pg -c 'SELECT count(*) FROM scores')"
t_batch=$(now)
rb batch --mix batch=1 --batch-size 100
t_batch_end=$(now)
wb_drain batch
rows_after="$(pg -c 'SELECT count(*) FROM scores')"
printf '%s %s %s %s %s\n' "$t_batch" "$t_batch_end" "$(now)" "$rows_before" "$rows_after" >"$out/wb_rows"
rbi batch --mix batch=1 --batch-size 100
# The same writes naming the player by user id, which the event loops take.
rbb submit_id --mix submit=1 --ids "$out/ids"
wb_drain before_submit_id
rb submit_id --mix submit=1 --ids "$out/ids"
wb_drain submit_id
rbi submit_id --mix submit=1 --ids "$out/ids"
rbb batch_id --mix batch=1 --batch-size 100 --ids "$out/ids"
wb_drain before_batch_id
rb batch_id --mix batch=1 --batch-size 100 --ids "$out/ids"
wb_drain batch_id
rbi batch_id --mix batch=1 --batch-size 100 --ids "$out/ids"
for op in top rank around ranks count; do
    rbb "$op" --mix "$op=1"
    rb "$op" --mix "$op=1"
    rbi "$op" --mix "$op=1"
done
for op in rank around; do
    rbb "${op}_id" --mix "$op=1" --ids "$out/ids"
    rb "${op}_id" --mix "$op=1" --ids "$out/ids"
    rbi "${op}_id" --mix "$op=1" --ids "$out/ids"
done
kill "$instant_pid" 2>/dev/null || true
wait "$instant_pid" 2>/dev/null || true
instant_pid=""
kill "$before_pid" 2>/dev/null || true
if ! wait "$before_pid"; then
    log "the --loops 0 rankd did not exit 0 on SIGTERM: $(tail -n 5 "$out/before.log")"
fi
before_pid=""

# ------------------------------------------------------------------ PostgreSQL COPY
# As many rows as the write-behind drained (at most 500000), COPYed into a
# table with the scores table's indexes and constraints: the raw ingest
# yardstick.
phase "PostgreSQL COPY"
ncopy="$(cut -d' ' -f1 "$out/drain_raw")"
((ncopy >= 10000)) || ncopy=100000
((ncopy <= 500000)) || ncopy=500000
python3 - "$ncopy" >"$out/copy.csv" <<'EOF'
import sys
n = int(sys.argv[1])
w = sys.stdout.write
for i in range(n):
    w('%d-0,bench-0,%d,%d,2026-01-01 00:00:00+00,""\n' % (1700000000000 + i, 2 + i % 1000, (i * 7919) % 1000000))
EOF
pg -c 'SET client_min_messages = warning; DROP TABLE IF EXISTS bench_copy' -c 'CREATE TABLE bench_copy (LIKE scores INCLUDING ALL)'
t0=$(now)
pg -c "\\copy bench_copy (entry_id, board_id, user_id, score, submitted_at, idempotency_key) FROM '$out/copy.csv' CSV"
printf '%s %s\n' "$ncopy" "$(python3 -c "print($(now) - $t0)")" >"$out/copy"
pg -c 'DROP TABLE bench_copy'
rm -f "$out/copy.csv"
log "  COPY $ncopy rows: $(cut -d' ' -f2 "$out/copy") s"

# ------------------------------------------------------------------ large board and memory
# The board goes in through rankd's own rk_load (bench_gen.py), the user
# directory through bench_load.lua; used_memory deltas give bytes per entry.
used() { rcli INFO memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'; }
# load MODE ZSET MHASH PREFIX: LARGE players in calls of 100000.
load() {
    local mode=$1 z=$2 m=$3 prefix=$4 first
    for ((first = 0; first < LARGE; first += 100000)); do
        local n=$((LARGE - first < 100000 ? LARGE - first : 100000))
        rcli --eval "$tools/bench_load.lua" "$z" "$m" rk:names rk:uids , "$mode" "$first" "$n" 100000000 "$prefix" \
            "$ts_us" >/dev/null
    done
}
phase "large board: $LARGE members"
"$RANK_BENCH_BIN" --url "$RANKD_URL" --setup-only --board-prefix big- --boards 1 --players 0 --mix top=1 --quiet
m0=$(used)
t0=$(now)
python3 "$tools/bench_gen.py" rkload 'rk:{big-0}:all' 'rk:{big-0}:all:m' "$LARGE" 100000000 "$ts_us" |
    rcli --pipe >/dev/null
m1=$(used)
load directory x x big-p
m2=$(used)
python3 "$tools/bench_gen.py" bare 'bench:bare' "$LARGE" 100000000 | rcli --pipe >/dev/null
m3=$(used)
printf '%s %s %s %s %s %s\n' "$LARGE" "$m0" "$m1" "$m2" "$m3" "$(python3 -c "print($(now) - $t0)")" >"$out/memory"
rcli UNLINK bench:bare >/dev/null
log "  loaded: board $((m1 - m0)) B, directory $((m2 - m1)) B, bare zset $((m3 - m2)) B"

# Rank latency with one request in flight: the small board, then the large.
phase "rank p50, one request in flight"
"$RANK_BENCH_BIN" --url "$RANKD_URL" --reuse --players "$PLAYERS" --mix rank=1 --threads 1 --inflight 1 \
    --duration 5 --warmup 1 --json --quiet >"$out/rank1_small.json"
"$RANK_BENCH_BIN" --url "$RANKD_URL" --reuse --board-prefix big- --player-prefix big-p --players "$LARGE" \
    --mix rank=1 --threads 1 --inflight 1 --duration 5 --warmup 1 --json --quiet >"$out/rank1_large.json"
redis-benchmark -h 127.0.0.1 -p "$RANKD_REDIS_PORT" -c 1 -n 20000 --csv ZREVRANK "$ZKEY" "$member0" >"$out/zrevrank1_small.csv"
big_member="$(member 'rk:{big-0}:all:m' $((100000000 + LARGE / 2)))"
redis-benchmark -h 127.0.0.1 -p "$RANKD_REDIS_PORT" -c 1 -n 20000 --csv ZREVRANK 'rk:{big-0}:all' "$big_member" \
    >"$out/zrevrank1_large.csv"

# ------------------------------------------------------------------ soak (optional)
if [[ -n ${BENCH_SOAK_SECS:-} ]]; then
    phase "soak: default mix for $BENCH_SOAK_SECS s"
    "$RANK_BENCH_BIN" --url "$RANKD_URL" --reuse --key "$KEY" --players "$PLAYERS" --threads "$THREADS" \
        --inflight "$INFLIGHT" --duration "$BENCH_SOAK_SECS" --warmup 0 --json --quiet >"$out/rb_soak.json"
fi

phase done
printf 'loadavg_end=%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine"
sleep 1.2
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
python3 "$tools/bench_summary.py" "$out" "${BENCH_JSON:-0}"
