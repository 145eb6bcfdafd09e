#!/usr/bin/env bash
# it_wait.sh - acknowledgement after replication (run under
# with-services.sh): with redis-wait-replicas 1, a submission is answered
# OK only once a Redis replica has it. With no replica it is UNAVAILABLE
# after redis-wait-timeout-ms, saying so, yet kept in the master; once a
# replica has caught up, the retry with the same idempotency key is
# answered OK and counted once, and a new submission is on the replica
# when it is acknowledged.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD, RANKD_REDIS_PORT, RANKD_TEST_DIR.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_wait.XXXXXXXX")"
replica_pid=""
cleanup() {
    if [[ -n $replica_pid ]]; then kill "$replica_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
equal() { [[ $1 == "$2" ]]; }
on_replica() { redis-cli -p "$replica_port" "$@"; }

rk-rankd-stop >/dev/null
rk-rankd-start --redis-wait-replicas 1 --redis-wait-timeout-ms 300 >/dev/null
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded
rk board create duel --game arena
rk apikey create arena --label test
key="$(awk '$1 == "key" && NF == 2 { print $2 }' <<<"$out")"
RANKD_PASSWORD=password-123 rk signup ann
check "board, key and player" succeeded

export RANKD_TOKEN="$key"
rk submit duel --user ann 50
check "no replica: UNAVAILABLE, saying how many replicas had it" \
    failed_with UNAVAILABLE "Redis took the submission, but 0 of the 1 replicas"
check "yet the master has it" equal "$(redis-cli -p "$RANKD_REDIS_PORT" ZCARD 'rk:{duel}:all')" 1
# With a key the client retries until its deadline: still no acknowledgement.
rk --deadline 1500 submit duel --user ann 60 --idempotency-key first
check "with a key: retried, and still not acknowledged" failed_with "(UNAVAILABLE|DEADLINE_EXCEEDED)"

replica_port="$("${FREEPORT_BIN:?}" 1)"
redis-server --port "$replica_port" --bind 127.0.0.1 --replicaof 127.0.0.1 "$RANKD_REDIS_PORT" \
    --save '' --appendonly no --dir "$work" --logfile "$work/replica.log" &
replica_pid=$!
for _ in $(seq 100); do
    [[ "$(on_replica INFO replication 2>/dev/null | tr -d '\r' | grep '^master_link_status:')" == \
        master_link_status:up ]] && break
    sleep 0.1
done
check "a replica caught up" equal "$(on_replica ZCARD 'rk:{duel}:all')" 1

rk submit duel --user ann 60 --idempotency-key first
check "the retry with the same key: OK" succeeded
rk submit duel --user ann 70 --idempotency-key second
check "a new submission: OK" succeeded
# ann (user 2) is in bucket 0 of the member hash, which holds her tie key.
check "acknowledged: the replica has it" equal \
    "$(on_replica ZSCORE 'rk:{duel}:all' "$(on_replica HGET 'rk:{duel}:all:m:0' 2)2")" 70
unset RANKD_TOKEN
rk --json history duel ann
check "each counted once in the history: 50, 60, 70" succeeded , \
    equal "$(python3 -c 'import json, sys; print(sorted(int(e["score"]) for e in json.load(open(sys.argv[1]))["entries"]))' "$work/out")" "[50, 60, 70]"

echo "$passed passed, $failed failed"
((failed == 0))
