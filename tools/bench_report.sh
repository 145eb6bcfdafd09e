#!/usr/bin/env bash
# tools/bench_report.sh - how fast a month's report is on a board of a
# million players.
#
# Starts a private Redis, PostgreSQL and rankd (tests/with-services.sh) and
# creates one board per policy. For each board it writes the history of
# three months straight into PostgreSQL, the way rankd's write-behind
# leaves it: PLAYERS players, each submitting SUBS times in the month
# measured (October 2026) and SUBS times in each of the months around it
# (September and November), into monthly partitions. Then it times
# `rankctl report BOARD --from 2026-10-01 --to 2026-11-01` (the top 100,
# computed from the history: Redis holds none of it) RUNS times in a row,
# and prints each board's fastest, median and slowest run. Progress on
# stderr, the table on stdout.
#
# usage: tools/bench_report.sh
#
# Environment (defaults in brackets):
#   RANKD_BUILD_DIR  where rankd, rankctl and tests/freeport are [build]
#   PLAYERS          players on each board [1000000]
#   SUBS             submissions per player per month [2]
#   RUNS             timed reports per board [5]
#   POLICIES         boards to measure [best latest sum]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="${RANKD_BUILD_DIR:-$root/build}"

if [[ ${1:-} != --inner ]]; then
    case ${1:-} in
        "") ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) printf 'bench_report: unknown argument %s\n' "$1" >&2; exit 2 ;;
    esac
    for b in rankd rankctl tests/freeport; do
        [[ -x $build/$b ]] || { printf 'bench_report: missing %s/%s: build first\n' "$build" "$b" >&2; exit 2; }
    done
    export RANKD_BIN="$build/rankd" FREEPORT_BIN="$build/tests/freeport" RANKCTL_BIN="$build/rankctl"
    export RANKD_EXTRA_ARGS="--scrypt-n 1024"
    exec bash "$root/tests/with-services.sh" -- bash "${BASH_SOURCE[0]}" --inner
fi

# ---------------------------------------------------------------- inside the harness
PLAYERS=${PLAYERS:-1000000}
SUBS=${SUBS:-2}
RUNS=${RUNS:-5}
POLICIES=${POLICIES:-best latest sum}
log() { printf 'bench_report: %s\n' "$*" >&2; }
pg() { PGOPTIONS="-c client_min_messages=warning" psql "$RANKD_POSTGRES" -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
export RANKD_TOKEN_FILE="$RANKD_TEST_DIR/token"
ctl() { "$RANKCTL_BIN" --url "$RANKD_URL" "$@"; }

ctl login "$RANKD_ADMIN_USER" --password "$RANKD_ADMIN_PASSWORD" >/dev/null

# Months before the current one get their partitions as rankd made them
# when they were current.
for m in 2026_09:2026-09-01:2026-10-01 2026_10:2026-10-01:2026-11-01 2026_11:2026-11-01:2026-12-01; do
    IFS=: read -r name from to <<<"$m"
    pg -c "CREATE TABLE IF NOT EXISTS scores_$name PARTITION OF scores FOR VALUES FROM ('$from 00:00:00+00') TO ('$to 00:00:00+00')"
done

for policy in $POLICIES; do
    board="rep-$policy"
    ctl board create "$board" --game bench --policy "$policy" >/dev/null
    t0=$(date +%s)
    # Each (player, submission) at a spread-out time of the month; scores
    # from a hash of both, so ties exist but are rare. entry_id like the
    # stream's ids, unique.
    for month in 2026-09-01 2026-10-01 2026-11-01; do
        pg -c "INSERT INTO scores (entry_id, board_id, user_id, score, submitted_at)
               SELECT '$board-$month-' || p || '-' || s, '$board', p, (hashint8(p * 31 + s) & 1048575),
                      timestamptz '$month 00:00:00+00' + ((p * 7919 + s * 104729) % 2592000) * interval '1 second'
               FROM generate_series(1::bigint, $PLAYERS::bigint) p, generate_series(1::bigint, $SUBS::bigint) s"
    done
    pg -c "ANALYZE scores"
    log "$board: $((3 * PLAYERS * SUBS)) rows written in $(($(date +%s) - t0)) s"
done

printf '%-12s %9s %9s %9s %9s  %s\n' board rows/month fastest median slowest "source, size"
for policy in $POLICIES; do
    board="rep-$policy"
    times=()
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        out="$(ctl report "$board" --from 2026-10-01 --to 2026-11-01 --limit 100)"
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000000)))
    done
    tail="$(tail -n 1 <<<"$out")"
    sorted=($(printf '%s\n' "${times[@]}" | sort -n))
    printf '%-12s %9s %7s ms %6s ms %6s ms  %s\n' "$board" $((PLAYERS * SUBS)) "${sorted[0]}" \
        "${sorted[$((RUNS / 2))]}" "${sorted[$((RUNS - 1))]}" "$tail"
done
