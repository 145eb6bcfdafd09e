#!/usr/bin/env bash
# it_wait_cluster.sh - acknowledgement after replication on a Redis
# Cluster (run under with-services.sh with RANKD_TEST_REDIS=cluster-replicas:
# three masters, one replica each). With redis-wait-replicas 1 each
# submission is answered OK only once a replica of the master that took it
# has it: the WAIT goes to that master, so a board whose master lost its
# replica answers UNAVAILABLE while a board on another master still answers
# OK; once the replica is back, the retry with the same idempotency key is
# OK and counted once.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD, RANKD_REDIS_NODES.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"
read -r -a nodes <<<"${RANKD_REDIS_NODES:?run with RANKD_TEST_REDIS=cluster-replicas}"
((${#nodes[@]} == 6)) || {
    echo "it_wait_cluster needs three masters with a replica each" >&2
    exit 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/it_wait_cluster.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
equal() { [[ $1 == "$2" ]]; }
# master_of KEY: the node number (1-3) of the master that holds KEY's slot.
master_of() {
    local n
    for n in 1 2 3; do
        [[ "$(redis-cli -p "${nodes[$((n - 1))]}" EXISTS "$1" 2>/dev/null)" == 1 ]] && {
            echo "$n"
            return
        }
    done
    echo 0
}
# on_node N KEY: ZCARD of KEY read on node N (a replica: READONLY first).
zcard_on() { printf 'READONLY\nZCARD %s\n' "$2" | redis-cli -p "${nodes[$(($1 - 1))]}" | tail -n 1; }
link_up() {
    redis-cli -p "${nodes[$(($1 - 1))]}" INFO replication | tr -d '\r' | grep -q '^master_link_status:up'
}

rk-rankd-stop >/dev/null
rk-rankd-start --redis-wait-replicas 1 --redis-wait-timeout-ms 300 >/dev/null
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded
rk apikey create arena --label test
key="$(awk '$1 == "key" && NF == 2 { print $2 }' <<<"$out")"
RANKD_PASSWORD=password-123 rk signup ann
check "key and player" succeeded

# Boards until one is on master 1 and one on another master.
on1="" other="" all_ok=1
for i in $(seq 1 12); do
    rk board create "w$i" --game arena
    ((rc == 0)) || all_ok=0
    RANKD_TOKEN="$key" rk submit "w$i" --user ann 10 --idempotency-key "w$i-first"
    ((rc == 0)) || all_ok=0
    m="$(master_of "rk:{w$i}:all")"
    if [[ $m == 1 && -z $on1 ]]; then on1="w$i"; elif [[ $m == [23] && -z $other ]]; then other="w$i"; fi
    [[ -n $on1 && -n $other ]] && break
done
check "with every replica up, every submission is acknowledged" equal "$all_ok" 1
check "boards on master 1 and on another master" [ -n "$on1" ] , [ -n "$other" ]
check "acknowledged: master 1's replica has it" equal "$(zcard_on 4 "rk:{$on1}:all")" 1

rk-redis-node-stop 4 >/dev/null
export RANKD_TOKEN="$key"
rk submit "$on1" --user ann 20
check "master 1 without its replica: UNAVAILABLE, saying so" \
    failed_with UNAVAILABLE "Redis took the submission, but 0 of the 1 replicas"
rk submit "$on1" --user ann 30 --idempotency-key second
check "with a key: still not acknowledged" failed_with "(UNAVAILABLE|DEADLINE_EXCEEDED)"
rk submit "$other" --user ann 20
check "a board on another master is still acknowledged" succeeded

rk-redis-node-start 4 >/dev/null
for _ in $(seq 200); do
    link_up 4 && break
    sleep 0.1
done
check "master 1's replica is back" link_up 4
rk submit "$on1" --user ann 30 --idempotency-key second
check "the retry with the same key: OK" succeeded
unset RANKD_TOKEN
rk --json history "$on1" ann
check "each counted once in the history: 10, 20, 30" succeeded , \
    equal "$(python3 -c 'import json, sys; print(sorted(int(e["score"]) for e in json.load(open(sys.argv[1]))["entries"]))' "$work/out")" "[10, 20, 30]"

echo "$passed passed, $failed failed"
((failed == 0))
