#!/usr/bin/env bash
# tools/bench_memory.sh - Redis memory per (player, board, window) against
# a bare sorted-set member.
#
# On one private redis-server, for each library of rankd's Redis functions
# given (default: the tree's server/store/rankd.lua): empties Redis, loads
# the library, loads BENCH_MEM_N players into one all-time view with that
# library's own rk_load (what a rebuild writes), then as many bare members
# (ZADD of the user ids) into a plain sorted set, and prints used_memory
# per player of each and their ratio. Give an older release's rankd.lua
# (git show REV:server/store/rankd.lua > old.lua) to compare layouts in
# one run.
#
# With BENCH_MEM_CLUSTER=1 the redis-server runs in cluster mode
# (cluster-enabled yes) and holds every slot itself: a master of a Redis
# Cluster, whose per-key bookkeeping is counted too.
#
# usage: tools/bench_memory.sh [RANKD_LUA...]
# Environment: BENCH_MEM_N [1000000], BENCH_MEM_CLUSTER [0].
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
libs=("$@")
((${#libs[@]})) || libs=("$root/server/store/rankd.lua")
n="${BENCH_MEM_N:-1000000}"
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
trap 'redis-cli -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
cluster=()
[[ ${BENCH_MEM_CLUSTER:-0} == 1 ]] && cluster=(--cluster-enabled yes --cluster-config-file "$dir/nodes.conf")
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$dir" --logfile "$dir/redis.log" \
    "${cluster[@]}" --daemonize yes >/dev/null
for _ in $(seq 50); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
if ((${#cluster[@]})); then
    redis-cli -p "$port" CLUSTER ADDSLOTSRANGE 0 16383 >/dev/null
    for _ in $(seq 100); do
        redis-cli -p "$port" CLUSTER INFO | grep -q '^cluster_state:ok' && break
        sleep 0.1
    done
fi

rcli() { redis-cli -p "$port" "$@"; }
used() { rcli INFO memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'; }
# used_memory once it holds still: a dict that grew during the load keeps
# its old table until Redis has rehashed it (in the background, a little
# every 100 ms), which is up to 8 B per entry more for a while.
settled() {
    local a b
    a=$(used)
    for _ in $(seq 120); do
        sleep 1
        b=$(used)
        [[ $a == "$b" ]] && break
        a=$b
    done
    echo "$b"
}
gen() { python3 "$root/tools/bench_gen.py" "$@" | rcli --pipe >/dev/null; }

printf '%-40s %10s %12s %12s %7s\n' library players 'B/player' 'B/bare' ratio
for lib in "${libs[@]}"; do
    rcli FLUSHALL >/dev/null
    rcli FUNCTION FLUSH >/dev/null
    rcli -x FUNCTION LOAD REPLACE <"$lib" >/dev/null
    m0=$(settled)
    gen rkload 'rk:{big}:all' 'rk:{big}:all:m' "$n" 100000000 1780000000000000
    m1=$(settled)
    gen bare 'bench:bare' "$n" 100000000
    m2=$(settled)
    python3 -c "
n, a, b = $n, $m1 - $m0, $m2 - $m1
print('%-40s %10d %12.1f %12.1f %6.2fx' % ('$(basename "$(dirname "$lib")")/$(basename "$lib")'[-40:], n, a / n, b / n, a / b))"
done
