#!/usr/bin/env bash
# it_bench.sh - rank-bench's functional tests, run under with-services.sh.
#
# No timing is asserted here (the speed lives in tools/bench.sh and
# BENCHMARKS.md): these tests prove that rank-bench's numbers add up, that
# its JSON parses, that its percentiles are ordered, and that it reports
# errors by status code and fails when they pass --max-errors.
#
# The last tests run rank-bench against rank-instant, the fixed-reply
# server tools/bench.sh measures rankd against: one short call per method,
# each answered validly.
#
# Environment: RANK_BENCH_BIN, RANK_INSTANT_BIN, FREEPORT_BIN, plus what
# with-services.sh exports (RANKD_URL, RANKD_REDIS_PORT, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD).
set -uo pipefail

: "${RANK_BENCH_BIN:?RANK_BENCH_BIN is not set}"
: "${RANK_INSTANT_BIN:?RANK_INSTANT_BIN is not set}"
: "${FREEPORT_BIN:?FREEPORT_BIN is not set}"
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_bench.XXXXXX")"
instant_pid=""
trap '[[ -z $instant_pid ]] || kill "$instant_pid" 2>/dev/null; rm -rf "$work"' EXIT
passed=0 failed=0

ok() { printf 'ok - %s\n' "$1"; passed=$((passed + 1)); }
not_ok() {
    printf 'not ok - %s\n' "$1"
    failed=$((failed + 1))
    if [[ -s $work/err ]]; then sed 's/^/  # /' "$work/err" | tail -n 20; fi
}

# bench NAME ARGS...: runs rank-bench with --json into $work/out, status in $rc.
bench() {
    "$RANK_BENCH_BIN" --url "$RANKD_URL" --json --quiet "$@" >"$work/out" 2>"$work/err"
    rc=$?
}

# check PYTHON_EXPR_LINES...: evaluates checks against the JSON in $work/out
# (bound to `d`); prints the first failed assertion and returns non-zero.
check() {
    python3 - "$work/out" "$@" <<'EOF' 2>>"$work/err"
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
def ordered(lat):
    keys = ["min", "p50", "p90", "p99", "p99.9", "max"]
    vals = [lat[k] for k in keys]
    return all(a <= b for a, b in zip(vals, vals[1:]))
def op_sum(field):
    return sum(o[field] for o in d["ops"].values())
for expr in sys.argv[2:]:
    if not eval(expr):
        print("check failed: " + expr, file=sys.stderr)
        print("json: " + json.dumps(d)[:1500], file=sys.stderr)
        sys.exit(1)
EOF
}

# 1. Fresh setup and a fixed request count: every request is counted once.
bench --players 60 --boards 2 --requests 400 --warmup 0.2 --threads 2 --inflight 4 \
    --mix submit=50,batch=5,top=10,rank=10,around=10,ranks=5,count=5,report=5 --batch-size 10
if ((rc == 0)) && check 'd["requests"] == 400' 'op_sum("requests") == 400' \
    'd["errors"] == 0 and d["ok"] == 400' 'op_sum("ok") == 400' \
    'set(d["ops"]) == {"submit","batch","top","rank","around","ranks","count","report"}' \
    'd["errors_by_code"] == {}' 'd["elapsed_s"] > 0 and d["throughput"] > 0'; then
    ok "a fixed request count with setup: op counts add up to 400, no errors"
else
    not_ok "a fixed request count with setup: op counts add up to 400, no errors (exit $rc)"
fi
if ((rc == 0)) && check 'ordered(d["latency_us"])' 'all(ordered(o["latency_us"]) for o in d["ops"].values())' \
    'd["latency_us"]["p50"] > 0'; then
    ok "percentiles are ordered: min <= p50 <= p90 <= p99 <= p99.9 <= max, overall and per op"
else
    not_ok "percentiles are ordered"
fi
if ((rc == 0)) && check 'd["ops"]["batch"]["scores"] == 10 * d["ops"]["batch"]["requests"]' \
    'd["ops"]["submit"]["scores"] == d["ops"]["submit"]["requests"]' \
    'd["scores"] == d["ops"]["batch"]["scores"] + d["ops"]["submit"]["scores"]'; then
    ok "scores count every accepted submission: batch size x batch calls plus single submits"
else
    not_ok "scores count every accepted submission"
fi

# 2. Reuse, duration mode, zipf, and the table output.
bench --reuse --players 60 --boards 2 --duration 1.5 --warmup 0.5 --zipf 1.2 --mix submit=1,top=1,rank=1
if ((rc == 0)) && check 'd["requests"] > 0' 'op_sum("requests") == d["requests"]' 'd["errors"] == 0' \
    'd["config"]["zipf"] == 1.2' 'ordered(d["latency_us"])'; then
    ok "--reuse --duration with zipf players: counts add up, no errors"
else
    not_ok "--reuse --duration with zipf players (exit $rc)"
fi
if "$RANK_BENCH_BIN" --url "$RANKD_URL" --reuse --players 60 --requests 50 --warmup 0 --mix top=1 \
    >"$work/table" 2>"$work/err" && grep -q '^top ' "$work/table" && grep -q '^all ' "$work/table" &&
    grep -q '^requests   50 ' "$work/table"; then
    ok "without --json a table with one row per operation and a total"
else
    not_ok "table output"
fi

# 2b. Players named by user id (--ids): the ids rankd gave them, from Redis.
redis-cli -h "${RANKD_REDIS_HOST:-127.0.0.1}" -p "$RANKD_REDIS_PORT" HMGET rk:uids $(printf 'bench-p%d ' {0..59}) \
    >"$work/ids"
bench --reuse --players 60 --boards 2 --ids "$work/ids" --requests 250 --warmup 0 \
    --mix rank=1,around=1,ranks=1,submit=1,batch=1 --batch-size 10
if ((rc == 0)) && check 'd["requests"] == 250' 'd["errors"] == 0' 'd["config"]["by_id"] is True' \
    'set(d["ops"]) == {"rank","around","ranks","submit","batch"}' \
    'd["ops"]["batch"]["scores"] == 10 * d["ops"]["batch"]["requests"]'; then
    ok "--ids: rank, around, ranks, submit and batch by user id, no errors"
else
    not_ok "--ids: rank, around, ranks, submit and batch by user id (exit $rc)"
fi
printf 'bench-p0\n' >"$work/bad_ids"
bench --reuse --players 60 --ids "$work/bad_ids" --requests 1 --warmup 0 --mix rank=1
if ((rc == 2)) && grep -q 'is not a user id' "$work/err"; then
    ok "--ids with a line that is not a user id is a usage error (exit 2)"
else
    not_ok "--ids with a bad line (exit $rc)"
fi

# 3. Open loop at a fixed rate.
bench --reuse --players 60 --rate 200 --duration 1 --warmup 0 --mix top=1,rank=1
if ((rc == 0)) && check 'd["config"]["rate"] == 200' 'd["requests"] > 0' 'op_sum("requests") == d["requests"]' \
    'd["requests"] <= 200 * 1 + 2'; then
    ok "--rate 200 for 1 s sends at most the scheduled requests, all counted"
else
    not_ok "--rate open loop (exit $rc)"
fi

# 4. A board that does not exist: every call fails NOT_FOUND, exit non-zero.
bench --reuse --players 60 --board-prefix no-such-board- --requests 40 --warmup 0 --mix top=1,rank=1
if ((rc == 1)) && check 'd["errors"] == 40' 'd["errors_by_code"] == {"NOT_FOUND": 40}' \
    'd["ops"]["top"]["errors_by_code"].get("NOT_FOUND") == d["ops"]["top"]["requests"]' \
    'op_sum("errors") == 40'; then
    ok "a missing board: 40 errors reported as NOT_FOUND, exit status 1"
else
    not_ok "a missing board reports NOT_FOUND and exits 1 (exit $rc)"
fi

# 5. A bad API key: submissions fail UNAUTHENTICATED, exit non-zero.
bench --reuse --players 60 --key rk_0000000000000000000000000000000000000000 --requests 30 --warmup 0 \
    --mix submit=3,batch=1 --batch-size 5
if ((rc == 1)) && check 'd["errors"] == 30' 'list(d["errors_by_code"]) == ["UNAUTHENTICATED"]' \
    'd["scores"] == 0'; then
    ok "a bad API key: every submission reported as UNAUTHENTICATED, exit status 1"
else
    not_ok "a bad API key reports UNAUTHENTICATED and exits 1 (exit $rc)"
fi

# 6. --max-errors decides the exit status.
bench --reuse --players 60 --board-prefix no-such-board- --requests 10 --warmup 0 --mix top=1 --max-errors 1
if ((rc == 0)) && check 'd["errors"] == 10'; then
    ok "--max-errors 1 tolerates a run of errors (exit 0)"
else
    not_ok "--max-errors 1 (exit $rc)"
fi

# 7. Usage errors exit 2 and say why.
bench --mix bogus=1 --requests 1
if ((rc == 2)) && grep -q 'unknown operation "bogus"' "$work/err"; then
    ok "an unknown operation in --mix is a usage error (exit 2)"
else
    not_ok "unknown operation in --mix (exit $rc)"
fi

# 8. An unreachable server: errors, not a hang.
"$RANK_BENCH_BIN" --url tcp://127.0.0.1:1 --reuse --json --quiet --requests 5 --warmup 0 --mix top=1 \
    --deadline-ms 300 >"$work/out" 2>"$work/err"
rc=$?
if ((rc == 1)) && check 'd["errors"] == 5' 'sum(d["errors_by_code"].values()) == 5'; then
    ok "an unreachable server: every call counted as an error, exit status 1"
else
    not_ok "unreachable server (exit $rc)"
fi

# 9. Submit with the player's own login token, on boards that allow it.
bench --players 20 --boards 1 --board-prefix pboard- --player-submit --token-players 8 --requests 120 \
    --warmup 0 --mix psubmit=1
if ((rc == 0)) && check 'd["requests"] == 120' 'd["errors"] == 0' 'list(d["ops"]) == ["psubmit"]' \
    'd["ops"]["psubmit"]["scores"] == 120' 'd["config"]["token_players"] == 8'; then
    ok "psubmit with --player-submit boards: 120 submissions as the players themselves, no errors"
else
    not_ok "psubmit on a board that accepts players' scores (exit $rc)"
fi
bench --reuse --players 20 --token-players 4 --requests 20 --warmup 0 --mix psubmit=1
if ((rc == 1)) && check 'd["errors_by_code"] == {"PERMISSION_DENIED": 20}'; then
    ok "psubmit on a board only its game server may submit to: PERMISSION_DENIED, exit status 1"
else
    not_ok "psubmit on a game-server-only board (exit $rc)"
fi

# 10. rank-instant answers every method rank-bench sends with a valid reply.
port="$("$FREEPORT_BIN")"
instant_url="tcp://127.0.0.1:$port"
"$RANK_INSTANT_BIN" --contexts 16 "$instant_url" 2>"$work/instant.log" &
instant_pid=$!
for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.05
done
for op in top rank around ranks count submit psubmit batch; do
    "$RANK_BENCH_BIN" --url "$instant_url" --reuse --key rk_0000000000000000000000000000000000000000 \
        --token-players 5 --players 50 --threads 2 --inflight 4 --requests 60 --warmup 0 --batch-size 25 \
        --mix "$op=1" --json --quiet >"$work/out" 2>"$work/err"
    rc=$?
    want='True'
    case $op in
        submit | psubmit) want="d['ops']['$op']['scores'] == 60" ;;
        batch) want="d['ops']['$op']['scores'] == 60 * 25" ;;
    esac
    if ((rc == 0)) && check 'd["requests"] == 60 and d["ok"] == 60' "list(d['ops']) == ['$op']" "$want"; then
        ok "rank-instant answers $op: 60 calls, all OK"
    else
        not_ok "rank-instant answers $op (exit $rc)"
    fi
done
"$RANK_BENCH_BIN" --url "$instant_url" --reuse --requests 10 --warmup 0 --mix report=1 --json --quiet \
    --max-errors 1 >"$work/out" 2>"$work/err"
rc=$?
if ((rc == 0)) && check 'd["errors_by_code"] == {"UNIMPLEMENTED": 10}'; then
    ok "rank-instant answers a method it does not know UNIMPLEMENTED"
else
    not_ok "rank-instant and an unknown method (exit $rc)"
fi
kill -TERM "$instant_pid"
wait "$instant_pid"
rc=$?
instant_pid=""
if ((rc == 0)); then
    ok "rank-instant exits 0 on SIGTERM"
else
    not_ok "rank-instant exit status on SIGTERM ($rc)"
    sed 's/^/  # /' "$work/instant.log" | tail -n 20
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
