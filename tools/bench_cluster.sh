#!/usr/bin/env bash
# tools/bench_cluster.sh - one rankd against two, on a 3-master Redis Cluster.
#
# Starts a private 3-master Redis Cluster on loopback and one PostgreSQL
# (tests/with-services.sh with RANKD_TEST_REDIS=cluster), sets up
# BENCH_BOARDS boards (spread over the masters by their hash tags) of
# BENCH_PLAYERS players, starts two rankd on them, then runs rank-bench for
# each MIX against one rankd and against both (the client spreads its calls
# over the two URLs), alternating ROUNDS times (1 2 1 2 ...), so that both
# see the same machine at the same time. Prints one line per run and the
# ratio of the medians, two / one, for each mix; then the write-behind and
# applier backlogs once the load has stopped.
#
# usage: tools/bench_cluster.sh [MIX ...]   (rank-bench --mix; default: submit=1 batch=1 top=1)
#
# Environment: RANKD_BUILD_DIR [build] (rankd, rank-bench, rankctl, freeport),
# BENCH_SECS [8], BENCH_ROUNDS [3], BENCH_PLAYERS [1000], BENCH_BOARDS [12],
# BENCH_CLIENTS [50].
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RANKD_BUILD_DIR:-$root/build}"
[[ $build = /* ]] || build="$root/$build"

if [[ ${1:-} != --inner ]]; then
    if [[ ${1:-} == -h || ${1:-} == --help ]]; then
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
        exit 0
    fi
    export RANKD_BIN="$build/rankd" FREEPORT_BIN="$build/tests/freeport" RANKCTL_BIN="$build/rankctl"
    export RANKD_SCRYPT_N=1024 BENCH_BUILD="$build" RANKD_TEST_REDIS=cluster
    exec "$root/tests/with-services.sh" -- "${BASH_SOURCE[0]}" --inner "$@"
fi
shift
(($#)) || set -- submit=1 batch=1 top=1
mixes=("$@")
secs="${BENCH_SECS:-8}" rounds="${BENCH_ROUNDS:-3}" players="${BENCH_PLAYERS:-1000}"
boards="${BENCH_BOARDS:-12}" clients="${BENCH_CLIENTS:-50}"
bench="$BENCH_BUILD/rank-bench"

"$bench" --url "$RANKD_URL" --setup-only --players "$players" --boards "$boards" --quiet >/dev/null
rk-rankd-stop >/dev/null
eval "set -- $RANKD_ARGS"
base=("$@" --events "" --http "" --workers 4 --contexts 256)
pids=() urls=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
for i in 1 2; do
    port="$("$FREEPORT_BIN" 1)"
    urls+=("tcp://127.0.0.1:$port")
    "$RANKD_BIN" "${base[@]}" --listen "tcp://127.0.0.1:$port" </dev/null >>"$RANKD_TEST_DIR/bench-rankd-$i.log" 2>&1 &
    pids+=($!)
    for ((t = 0; t < 100; t++)); do
        "$bench" --url "${urls[-1]}" --reuse --players "$players" --boards "$boards" --mix top=1 --requests 1 \
            --warmup 0 --quiet >/dev/null 2>&1 && break
        sleep 0.1
    done
done

results="$RANKD_TEST_DIR/cluster.tsv"
: >"$results"
printf '%-10s %-4s %-5s %12s %10s\n' mix rankd round "req/s" "p99 ms"
for mix in "${mixes[@]}"; do
    for ((r = 1; r <= rounds; r++)); do
        for n in 1 2; do
            url="${urls[0]}"
            ((n == 2)) && url="${urls[0]},${urls[1]}"
            out="$("$bench" --url "$url" --reuse --players "$players" --boards "$boards" --mix "$mix" \
                --duration "$secs" --warmup 1 --threads 2 --inflight $((clients / 2)) --json --quiet)"
            python3 - "$mix" "$n" "$r" "$out" "$results" <<'PY'
import json, sys
mix, n, r, out, path = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), sys.argv[5]
row = (mix, n, r, out["throughput"], out["latency_us"]["p99"] / 1000.0)
print("%-10s %-4s %-5s %12.0f %10.2f" % row)
open(path, "a").write("\t".join(str(x) for x in row) + "\n")
PY
        done
    done
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
for mix in dict.fromkeys(r[0] for r in rows):
    med = {n: statistics.median(float(x[3]) for x in rows if x[0] == mix and x[1] == n) for n in ("1", "2")}
    print("%s: median req/s: one rankd %.0f, two %.0f, two/one %.2fx" % (mix, med["1"], med["2"], med["2"] / med["1"]))
PY
# What the load left behind, and how long the two rankd take to drain it.
t0=$(date +%s%3N)
for ((t = 0; t < 600; t++)); do
    st="$("$RANKCTL_BIN" --url "${urls[0]}" status 2>/dev/null || true)"
    wb="$(awk '$1 == "backlog" { print $2 }' <<<"$st")"
    ap="$(awk '$1 == "applier" { print $2 }' <<<"$st")"
    [[ $wb == 0 && $ap == 0 ]] && break
    sleep 0.1
done
echo "backlogs drained $(($(date +%s%3N) - t0)) ms after the load stopped (write-behind ${wb:-?}, applier ${ap:-?})"
