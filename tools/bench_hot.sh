#!/usr/bin/env bash
# tools/bench_hot.sh - one hot board (shards = S) against a plain one, on a
# 3-master Redis Cluster.
#
# Starts a private 3-master Redis Cluster on loopback, one PostgreSQL and
# one rankd (tests/with-services.sh with RANKD_TEST_REDIS=cluster), sets up
# one plain board (plain-0) and one hot board of BENCH_SHARDS shards
# (hot-0) for the same BENCH_PLAYERS players, then runs rank-bench for each
# MIX on the plain board and on the hot one, alternating ROUNDS times, so
# both see the same machine at the same time. Prints one line per run and
# the ratio of the medians, hot / plain, for each mix. On one machine the
# three masters share its cores: the ratio says what the merge costs a
# read and what a submission's reply ranks cost, not what spreading one
# board over machines gains.
#
# usage: tools/bench_hot.sh [MIX ...]   (rank-bench --mix; default: submit=1 top=1 rank=1 around=1)
#
# Environment: RANKD_BUILD_DIR [build] (rankd, rank-bench, rankctl, freeport),
# BENCH_SECS [6], BENCH_ROUNDS [3], BENCH_PLAYERS [2000], BENCH_SHARDS [4],
# BENCH_CLIENTS [32].
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
(($#)) || set -- submit=1 top=1 rank=1 around=1
mixes=("$@")
secs="${BENCH_SECS:-6}" rounds="${BENCH_ROUNDS:-3}" players="${BENCH_PLAYERS:-2000}"
shards="${BENCH_SHARDS:-4}" clients="${BENCH_CLIENTS:-32}"
bench="$BENCH_BUILD/rank-bench"

"$bench" --url "$RANKD_URL" --setup-only --players "$players" --board-prefix plain- --quiet >/dev/null
"$bench" --url "$RANKD_URL" --setup-only --players "$players" --board-prefix hot- --board-shards "$shards" \
    --quiet >/dev/null
"$RANKCTL_BIN" --url "$RANKD_URL" board get hot-0 | grep -q "^shards *$shards\$" || {
    echo "bench_hot: hot-0 is not a board of $shards shards" >&2
    exit 1
}

results="$RANKD_TEST_DIR/hot.tsv"
: >"$results"
printf '%-10s %-6s %-5s %12s %10s\n' mix board round "req/s" "p99 ms"
for mix in "${mixes[@]}"; do
    for ((r = 1; r <= rounds; r++)); do
        for kind in plain hot; do
            out="$("$bench" --url "$RANKD_URL" --reuse --players "$players" --board-prefix "$kind-" --mix "$mix" \
                --duration "$secs" --warmup 1 --threads 2 --inflight $((clients / 2)) --json --quiet)"
            python3 - "$mix" "$kind" "$r" "$out" "$results" <<'PY'
import json, sys
mix, kind, r, out, path = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), sys.argv[5]
row = (mix, kind, r, out["throughput"], out["latency_us"]["p99"] / 1000.0)
print("%-10s %-6s %-5s %12.0f %10.2f" % row)
open(path, "a").write("\t".join(str(x) for x in row) + "\n")
PY
        done
    done
done
python3 - "$results" "$shards" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
for mix in dict.fromkeys(r[0] for r in rows):
    med = {k: statistics.median(float(x[3]) for x in rows if x[0] == mix and x[1] == k) for k in ("plain", "hot")}
    print("%s: median req/s: plain %.0f, hot (S = %s) %.0f, hot/plain %.2fx"
          % (mix, med["plain"], sys.argv[2], med["hot"], med["hot"] / med["plain"]))
PY
