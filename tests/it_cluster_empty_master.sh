#!/usr/bin/env bash
# it_cluster_empty_master.sh - one master of a Redis Cluster loses its data
# (run under with-services.sh, RANKD_TEST_REDIS=cluster): first restarted
# without it, then emptied in place by FLUSHALL, which drops no
# connection, so only the split layout's sentinels (one key per 1/256 of
# the slots, on every master) can tell. The master is neither rk:live's
# nor the first seed (whose connection carries the events subscription).
# Each time rankd restores the lost boards from the history and then takes
# submissions to them again: their ranks count the scores from before the
# loss, the global board has every board's total, nothing counts twice.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD, RANKD_REDIS_NODES, RANKD_POSTGRES.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"
read -r -a nodes <<<"${RANKD_REDIS_NODES:?run with RANKD_TEST_REDIS=cluster}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_cluster_empty_master.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
equal() { [[ $1 == "$2" ]]; }
pg() { psql "$RANKD_POSTGRES" -X -q -t -A -c "$1"; }
# holds N KEY: node N (1-3) has KEY.
holds() { [[ "$(redis-cli -p "${nodes[$(($1 - 1))]}" EXISTS "$2" 2>/dev/null)" == 1 ]]; }

RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded
rk apikey create em --label test
key="$(awk '$1 == "key" && NF == 2 { print $2 }' <<<"$out")"
RANKD_PASSWORD=password-123 rk signup em-ann
check "key and player" succeeded

# Fifteen boards; ann has score 10*i on board i.
for i in $(seq 1 15); do
    rk board create "em$i" --game em
    RANKD_TOKEN="$key" rk submit "em$i" --user em-ann $((10 * i))
done
check "fifteen boards, one score each" succeeded
# A master other than rk:live's and the first seed's, holding at least
# one of the boards.
victim="" lost=()
for n in 2 3; do
    holds "$n" rk:live && continue
    lost=()
    for i in $(seq 1 15); do holds "$n" "rk:{em$i}:all" && lost+=("em$i"); done
    if ((${#lost[@]})); then
        victim=$n
        break
    fi
done
check "a master without rk:live, not the first seed, holds some of the boards" [ -n "$victim" ]
settled || true
for _ in $(seq 100); do
    [[ "$(wb_backlog)" == 0 ]] && break
    sleep 0.1
done
check "everything is in the history first" equal "$(pg "SELECT count(*) FROM scores WHERE board_id LIKE 'em%'")" 15

redis_up() {
    for _ in $(seq 100); do
        "$RANKCTL" status 2>/dev/null </dev/null | grep -qE '^redis state +up$' && return 0
        sleep 0.1
    done
    return 1
}
score_of() { rk --json rank "$1" em-ann && python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["entry"]["score"])' "$work/out"; }
# restored HOW: a submission to a lost board is taken again once rankd has
# restored it (the client retries a keyed call while rankd answers
# UNAVAILABLE), and every board is as before.
restored() {
    local how=$1 b=${lost[0]} ok=0 all_back=1 i
    for _ in $(seq 30); do
        RANKD_TOKEN="$key" rk --deadline 2000 submit "$b" --user em-ann 1 --idempotency-key "after-$how"
        if ((rc == 0)); then
            ok=1
            break
        fi
        sleep 0.5
    done
    check "$how: a lost board takes submissions again" equal "$ok" 1
    # Taken perhaps without Redis: rankd has restored the master once its
    # state is up again.
    check "$how: rankd finds Redis up again" redis_up
    settled || true
    for i in $(seq 1 15); do [[ "$(score_of "em$i")" == $((10 * i)) ]] || all_back=0; done
    check "$how: every board has ann's best score from before (the lost ones from the history)" equal "$all_back" 1
    check "$how: the global board has her total once: 1200" equal "$(score_of global)" 1200
    check "$how: the master holds its boards again" holds "$victim" "rk:{$b}:all"
}

rk-redis-node-stop "$victim" >/dev/null
rk-redis-node-wipe "$victim"
rk-redis-node-start "$victim" >/dev/null
check "restarted: the master came back empty" equal "$(redis-cli -p "${nodes[$((victim - 1))]}" DBSIZE)" 0
restored restarted

redis-cli -p "${nodes[$((victim - 1))]}" FLUSHALL >/dev/null
check "flushed: the master is empty" equal "$(redis-cli -p "${nodes[$((victim - 1))]}" DBSIZE)" 0
restored flushed

echo "$passed passed, $failed failed"
((failed == 0))
