#!/usr/bin/env bash
# tools/bench_tls.sh - what TLS costs rankd; run by `tools/bench.sh --tls`
# under tests/with-services.sh.
#
# One rankd listens on tcp:// and tls+tcp:// at once (a throwaway CA and
# certificate made with openssl here), so both transports meet the same
# process, Redis and board. rank-bench then runs rank and submit over each
# in turn, BENCH_TLS_ROUNDS times (tcp, tls, tcp, tls, ...: slow drifts of a
# shared machine hit both alike), at the main benchmark's concurrency, and
# the medians are compared: throughput tls/tcp, p99 tls/tcp, and rankd's
# CPU time per request. rank-bench keeps its connections for the whole
# run, so this is the steady-state cost of encryption; the handshake is
# paid once per connection.
set -euo pipefail

: "${RANK_BENCH_BIN:?}" "${FREEPORT_BIN:?}" "${RANKD_URL:?}" "${RANKD_REDIS_PORT:?}"
SECS=${BENCH_SECS:-12}
CLIENTS=${BENCH_CLIENTS:-50}
THREADS=${BENCH_THREADS:-2}
INFLIGHT=$(((CLIENTS + THREADS - 1) / THREADS))
PLAYERS=${BENCH_PLAYERS:-1000}
ROUNDS=${BENCH_TLS_ROUNDS:-3}
out="$RANKD_TEST_DIR/bench-tls"
mkdir -p "$out"
log() { printf 'bench: %s\n' "$*" >&2; }
rcli() { redis-cli -h "${RANKD_REDIS_HOST:-127.0.0.1}" -p "$RANKD_REDIS_PORT" "$@"; }

(
    cd "$out"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=bench CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
        -out server.crt 2>/dev/null
)
TLS_URL="tls+tcp://127.0.0.1:$("$FREEPORT_BIN")"
rk-rankd-stop >/dev/null
rk-rankd-start --listen "$RANKD_URL,$TLS_URL" --tls-cert "$out/server.crt" --tls-key "$out/server.key" >/dev/null
pid="$(rk-rankd-pid)"
export RANKD_TLS_CA="$out/ca.crt" RANKD_TLS_SERVER_NAME=localhost

KEY="$("$RANK_BENCH_BIN" --url "$RANKD_URL" --setup-only --players "$PLAYERS" --boards 1 --quiet)"
log "set up $PLAYERS players; tcp $RANKD_URL and $TLS_URL on rankd $pid"

drain() { # the write-behind catches up before the next run
    local i
    for ((i = 0; i < 600; i++)); do
        [[ $(rcli XLEN rk:wb) == 0 ]] && return 0
        sleep 0.1
    done
}
for ((r = 1; r <= ROUNDS; r++)); do
    for call in rank submit; do
        for t in tcp tls; do
            url=$RANKD_URL
            [[ $t == tls ]] && url=$TLS_URL
            "$RANK_BENCH_BIN" --url "$url" --reuse --key "$KEY" --players "$PLAYERS" --boards 1 --server-pid "$pid" \
                --threads "$THREADS" --inflight "$INFLIGHT" --duration "$SECS" --warmup 2 --json --quiet \
                --mix "$call=1" >"$out/${call}_${t}_$r.json"
            [[ $call == submit ]] && drain
            log "  round $r $call over $t: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(round(d["throughput"]), "req/s, p99", round(d["latency_us"]["p99"]/1000, 3), "ms, errors", d["errors"])' "$out/${call}_${t}_$r.json")"
        done
    done
done

python3 - "$out" "$ROUNDS" "$CLIENTS" "$SECS" "${BENCH_JSON:-0}" <<'PY'
import json, statistics, sys
out, rounds, clients, secs, as_json = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "1"
def runs(call, t):
    return [json.load(open("%s/%s_%s_%d.json" % (out, call, t, r))) for r in range(1, rounds + 1)]
def med(xs):
    return statistics.median(xs)
rows = {}
for call in ("rank", "submit"):
    row = {}
    for t in ("tcp", "tls"):
        rs = runs(call, t)
        row[t] = {"rps": med([d["throughput"] for d in rs]),
                  "p99_ms": med([d["latency_us"]["p99"] / 1000 for d in rs]),
                  "cpu_us": med([d.get("server", {}).get("cpu_us_per_request", 0) for d in rs]),
                  "errors": sum(d["errors"] for d in rs)}
    row["rps_ratio"] = row["tls"]["rps"] / row["tcp"]["rps"] if row["tcp"]["rps"] else 0
    row["p99_ratio"] = row["tls"]["p99_ms"] / row["tcp"]["p99_ms"] if row["tcp"]["p99_ms"] else 0
    rows[call] = row
if as_json:
    print(json.dumps({"tls": rows, "rounds": rounds, "clients": clients, "secs": secs}))
    sys.exit(0)
print("TLS cost: one rankd on tcp:// and tls+tcp:// at once, %d requests in flight, %g s per run, median of %d rounds"
      % (clients, secs, rounds))
print("%-8s %10s %8s %8s %10s %8s %8s %9s %8s" % ("call", "tcp /s", "p99 ms", "CPU us", "tls /s", "p99 ms", "CPU us",
                                                  "tls/tcp", "p99x"))
for call, r in rows.items():
    print("%-8s %10.0f %8.3f %8.1f %10.0f %8.3f %8.1f %9.2f %8.2f" % (
        call, r["tcp"]["rps"], r["tcp"]["p99_ms"], r["tcp"]["cpu_us"], r["tls"]["rps"], r["tls"]["p99_ms"],
        r["tls"]["cpu_us"], r["rps_ratio"], r["p99_ratio"]))
print("  (CPU us: rankd's CPU time per request; errors: %d)" % sum(r[t]["errors"] for r in rows.values() for t in ("tcp", "tls")))
PY
