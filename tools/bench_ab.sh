#!/usr/bin/env bash
# tools/bench_ab.sh - two rankd binaries, the same load, one run.
#
# Starts one private Redis and PostgreSQL (tests/with-services.sh), sets up
# a board of BENCH_PLAYERS players, then runs rank-bench against binary A
# and binary B in turn, ROUNDS times each (A B A B ...), each on the same
# stores with the same arguments, so that a change is measured before and
# after on the same machine at the same time. Prints one line per run
# (throughput, p99, CPU and context switches per request from /proc) and
# the ratio of the medians, B / A.
#
# usage: tools/bench_ab.sh A_RANKD B_RANKD [MIX]     (MIX: rank-bench --mix, default submit=1)
#
# Environment: RANKD_BUILD_DIR [build] (rank-bench, freeport), BENCH_SECS [8],
# BENCH_ROUNDS [3], BENCH_PLAYERS [1000], BENCH_CLIENTS [50].
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RANKD_BUILD_DIR:-$root/build}"
[[ $build = /* ]] || build="$root/$build"

if [[ ${1:-} != --inner ]]; then
    (($# >= 2)) || { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 2; }
    export RANKD_BIN="$build/rankd" FREEPORT_BIN="$build/tests/freeport" RANKD_SCRYPT_N=1024 BENCH_BUILD="$build"
    exec "$root/tests/with-services.sh" -- "${BASH_SOURCE[0]}" --inner "$@"
fi
shift
a="$1" b="$2" mix="${3:-submit=1}"
secs="${BENCH_SECS:-8}" rounds="${BENCH_ROUNDS:-3}" players="${BENCH_PLAYERS:-1000}"
clients="${BENCH_CLIENTS:-50}"
bench="$BENCH_BUILD/rank-bench"
port="$("$FREEPORT_BIN" 1)"
url="tcp://127.0.0.1:$port"

"$bench" --url "$RANKD_URL" --setup-only --players "$players" --quiet >/dev/null
rk-rankd-stop >/dev/null
eval "set -- $RANKD_ARGS"
args=("$@" --listen "$url" --events "" --http "" --workers 4 --contexts 256)

results="$RANKD_TEST_DIR/ab.tsv"
: >"$results"
printf '%-3s %-5s %12s %10s %10s %10s\n' bin round "req/s" "p99 ms" "cpu us/req" "csw/req"
for ((r = 1; r <= rounds; r++)); do
    for side in A B; do
        bin="$a"
        [[ $side == B ]] && bin="$b"
        "$bin" "${args[@]}" </dev/null >>"$RANKD_TEST_DIR/ab-$side.log" 2>&1 &
        pid=$!
        for ((i = 0; i < 100; i++)); do
            "$bench" --url "$url" --reuse --players "$players" --mix top=1 --requests 1 --warmup 0 --quiet \
                >/dev/null 2>&1 && break
            sleep 0.1
        done
        out="$("$bench" --url "$url" --reuse --players "$players" --mix "$mix" --duration "$secs" --warmup 1 \
            --threads 2 --inflight $((clients / 2)) --server-pid "$pid" --json --quiet)"
        kill -TERM "$pid"
        wait "$pid" || true
        python3 - "$side" "$r" "$out" "$results" <<'PY'
import json, sys
side, r, out, path = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
srv = out.get("server", {})
row = (side, r, out["throughput"], out["latency_us"]["p99"] / 1000.0,
       srv.get("cpu_us_per_request", float("nan")), srv.get("switches_per_request", float("nan")))
print("%-3s %-5s %12.0f %10.2f %10.1f %10.2f" % row)
open(path, "a").write("\t".join(str(x) for x in row) + "\n")
PY
    done
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
med = {s: statistics.median(float(x[2]) for x in rows if x[0] == s) for s in ("A", "B")}
p99 = {s: statistics.median(float(x[3]) for x in rows if x[0] == s) for s in ("A", "B")}
print("median req/s: A %.0f, B %.0f, B/A %.2fx; median p99: A %.2f ms, B %.2f ms"
      % (med["A"], med["B"], med["B"] / med["A"], p99["A"], p99["B"]))
PY
