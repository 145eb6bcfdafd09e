#!/usr/bin/env bash
# it_wb_consumers.sh - several write-behind consumers in one rankd (run
# under with-services.sh): with writebehind-consumers 3, a backlog built
# while PostgreSQL is down is written once it is back, every accepted
# submission exactly once, by consumers named node, node.2 and node.3 in
# the stream's group; a restart with one consumer finds nothing left
# behind.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_POSTGRES, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD; on a cluster RANKD_REDIS_SEEDS.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_wb_consumers.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
equal() { [[ $1 == "$2" ]]; }
pg() { psql "$RANKD_POSTGRES" -X -q -t -A -c "$1"; }

rk-rankd-stop >/dev/null
rk-rankd-start --writebehind-consumers 3 >/dev/null
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded
rk board create wbc --game wbc
rk apikey create wbc --label test
key="$(awk '$1 == "key" && NF == 2 { print $2 }' <<<"$out")"
for p in a b c d; do RANKD_PASSWORD=password-123 rk signup "wbc-$p"; done
check "board, key and players" succeeded
# One call with the key while PostgreSQL is up: rankd checks it from
# memory while PostgreSQL is down.
RANKD_TOKEN="$key" rk submit wbc --user wbc-a 0
check "a first submission" succeeded

rk-pg-stop >/dev/null
for i in $(seq 1 600); do printf 'wbc wbc-%s %d k%d\n' "$(printf 'abcd' | cut -c $((i % 4 + 1)))" "$i" "$i"; done \
    >"$work/batch"
RANKD_TOKEN="$key" rk submit-batch "$work/batch"
check "600 submissions accepted without PostgreSQL" succeeded
check "they wait in Redis" [ "$(wb_backlog)" -ge 600 ]
rk-pg-start >/dev/null
left=-1
for _ in $(seq 300); do
    left="$(wb_backlog)"
    [[ $left == 0 ]] && break
    sleep 0.1
done
check "the backlog is written once PostgreSQL is back" equal "$left" 0
check "each submission once in the history" \
    equal "$(pg "SELECT count(*), count(DISTINCT entry_id) FROM scores WHERE board_id = 'wbc'")" "601|601"

# The stream the board's entries went to: rk:wb, or the board's own.
stream="rk:wb"
seeds="${RANKD_REDIS_SEEDS:-}"
cli=(redis-cli -h "${RANKD_REDIS_HOST:-127.0.0.1}" -p "${RANKD_REDIS_PORT:?}")
[[ $seeds == *,* ]] && cli+=(-c)
[[ "$("${cli[@]}" EXISTS 'rk:{wbc}:wb')" == 1 ]] && stream='rk:{wbc}:wb'
"${cli[@]}" XINFO CONSUMERS "$stream" rankd >"$work/consumers"
names="$(awk 'prev == "name" { print } { prev = $0 }' "$work/consumers" | sort | tr '\n' ' ')"
check "three consumers in the group, named after the node (rankd)" equal "$names" "rankd rankd.2 rankd.3 "

rk-rankd-stop >/dev/null
rk-rankd-start --writebehind-consumers 1 >/dev/null
RANKD_TOKEN="$key" rk submit wbc --user wbc-a 5000 --idempotency-key after
for _ in $(seq 100); do
    [[ "$(pg "SELECT count(*) FROM scores WHERE board_id = 'wbc'")" == 602 ]] && break
    sleep 0.1
done
check "one consumer after a restart: the next one is written, nothing twice" \
    equal "$(pg "SELECT count(*), count(DISTINCT entry_id) FROM scores WHERE board_id = 'wbc'")" "602|602"

echo "$passed passed, $failed failed"
((failed == 0))
