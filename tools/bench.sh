#!/usr/bin/env bash
# tools/bench.sh - rankd measured side by side with the Redis underneath it.
#
# Starts a private Redis, PostgreSQL and rankd (tests/with-services.sh),
# a second rankd on the same Redis and PostgreSQL with --loops 0 (every
# call on the worker pool: the request path before the event loops) and a
# rank-instant,
# sets up a board of players, then measures at one client count:
#   - redis-benchmark on the same Redis, for the raw equivalents of rankd's
#     calls (the FCALL of rk_submit with the keys and arguments rankd sends,
#     ZREVRANGE key 0 9 WITHSCORES, ZREVRANK key member), at -P 1 and -P 32;
#   - rank-bench against rankd: single submit with an API key, single
#     submit with the player's own login token, batch submit (100 per
#     call), top 10, rank, around (5 above, 5 below), ranks of 10 players,
#     count;
#   - the request-path table: each rank-bench call against the --loops 0
#     rankd (before), the main rankd (after) and rank-instant, a server
#     that answers every call at once with a fixed reply (the transport's
#     ceiling on this machine), one after the other per call, with each
#     server's CPU time and context switches per request read from /proc;
#     rank, around, submit and batch also by user id, which the event
#     loops answer (by username they still go to the worker pool);
#   - rank p50 on the small board against a large board loaded straight
#     into Redis in rankd's layout, Redis memory per member against a bare
#     sorted set, the write-behind's backlog and lag, PostgreSQL's COPY of
#     the same rows, and rankd's resident memory over the whole run.
# Prints the tables (or, with --json, one JSON object) on stdout; progress on
# stderr. Runs in about 15 minutes on 2 cores with the defaults (19 on a
# heavily loaded machine).
#
# usage: tools/bench.sh [--json] [--tls]
#
# --tls runs only the TLS comparison instead (tools/bench_tls.sh, about 3
# minutes): rank and submit over tcp:// and tls+tcp:// to one rankd, in
# turn, BENCH_TLS_ROUNDS times [3], with the ratio.
#
# Environment (defaults in brackets):
#   RANKD_BUILD_DIR   where rankd, rank-bench, rank-instant and tests/freeport
#                     are [build]
#   BENCH_SECS        seconds per measurement [12]
#   BENCH_CLIENTS     connections/requests in flight, the same for both [50]
#   BENCH_THREADS     rank-bench threads (BENCH_CLIENTS is split over them) [2]
#   BENCH_PLAYERS     players on the benchmark board [1000]
#   BENCH_LARGE       members of the large board [1000000]; 10000000 for the
#                     issue's ten-million-player figure (Redis peaks at about
#                     5 GB while loading, and it adds about 6 minutes)
#   BENCH_WB_BACKLOG  stream entries the write-behind's capacity is measured
#                     on [300000]
#   BENCH_LOOPS       the main ("after") rankd's --loops [rankd's default,
#                     -1: one per core]; the "before" rankd always has 0
#   BENCH_WORKERS     rankd --workers [4], both rankds
#   BENCH_CONTEXTS    rankd --contexts [256]
#   BENCH_INSTANT_CONTEXTS  rank-instant --contexts [256]
#   BENCH_TOKEN_PLAYERS     players the player-token submit logs in as
#                     [100, or BENCH_PLAYERS if fewer]
#   BENCH_SOAK_SECS   if set, a mixed load for this long at the end, for
#                     rankd's memory over time (600 for the 10-minute check)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="${RANKD_BUILD_DIR:-$root/build}"
json=0
tls=0

die() { printf 'bench: %s\n' "$*" >&2; exit 2; }

for arg in "$@"; do
    case $arg in
        --json) json=1 ;;
        --tls) tls=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $arg (usage: tools/bench.sh [--json] [--tls])" ;;
    esac
done
for b in rankd rank-bench rank-instant tests/freeport; do
    [[ -x $build/$b ]] || die "missing $build/$b: build first (cmake -S . -B build && cmake --build build -j2)"
done
for c in redis-benchmark redis-cli psql python3; do
    command -v "$c" >/dev/null || die "$c not found"
done

export RANKD_BIN="$build/rankd" FREEPORT_BIN="$build/tests/freeport" RANK_BENCH_BIN="$build/rank-bench"
export RANK_INSTANT_BIN="$build/rank-instant"
export BENCH_JSON=$json BENCH_TOOLS="$here"
# Both rankds get these; only the main one gets BENCH_LOOPS.
export BENCH_RANKD_ARGS="--workers ${BENCH_WORKERS:-4} --contexts ${BENCH_CONTEXTS:-256} --scrypt-n 1024"
export RANKD_EXTRA_ARGS="$BENCH_RANKD_ARGS${BENCH_LOOPS:+ --loops $BENCH_LOOPS}"
if ((tls)); then
    command -v openssl >/dev/null || die "openssl not found"
    exec bash "$root/tests/with-services.sh" -- bash "$here/bench_tls.sh"
fi
exec bash "$root/tests/with-services.sh" -- bash "$here/bench_inner.sh"
