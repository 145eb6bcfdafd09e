#!/usr/bin/env bash
# it_rankctl_counters.sh - journey 14's counters from the command line
# (run under with-services.sh).
#
# Proves that an admin creates a counter with eight sub-keys and lists it
# (table and --json); that a game server's key increments it, a keyed
# retry counts once, a negative delta counts down, and `counter get`
# shows the total for every window; that bad input is a usage error (exit
# 2) or INVALID_ARGUMENT, an unknown counter NOT_FOUND, and that players
# may not increment.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER, RANKD_ADMIN_PASSWORD.
# Prints "ok - ..." or "not ok - ..." per check and "N passed, M failed".
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_rankctl_counters.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
usage_error() { ((rc == 2)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
out_has() { grep -Eq -- "$1" <<<"$out"; }
json_true() {
    python3 -c 'import json, sys
d = json.loads(open(sys.argv[2]).read())
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$1" "$work/out"
}

RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded

rk counter create arena matches-played --shards 8 --stale-ms 0
check "counter create: shown with its settings" succeeded , out_has "^shards +8$" , out_has "^stale ms +0$"
rk counter create arena matches-played
check "counter create again: ALREADY_EXISTS" failed_with ALREADY_EXISTS
rk counter create arena wide --shards 65
check "counter create --shards 65: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "shards must be between 1 and 64"
rk counter create arena
check "counter create without a name: usage error" usage_error

rk counter list --game arena
check "counter list: a table" succeeded , out_has "^GAME +NAME +SHARDS +STALE MS +CREATED$" , \
    out_has "^arena +matches-played +8 +0 "
rk --json counter list --game arena
check "counter list --json" succeeded , \
    json_true "d['counters'][0]['name'] == 'matches-played' and d['counters'][0]['shards'] == 8"

rk apikey create arena --label arena-eu
key="$(awk '$1 == "key" && NF == 2 { print $2 }' <<<"$out")"
check "apikey create arena" succeeded , test -n "$key"

for i in 1 2 3 4 5; do rk --token "$key" counter incr arena matches-played 10; done
check "counter incr with the game's key" succeeded , out_has "^counted +yes$"
rk --token "$key" counter incr arena matches-played 7 --idempotency-key m-1
rk --token "$key" counter incr arena matches-played 7 --idempotency-key m-1
check "counter incr retried with its key: counted once" succeeded , out_has "^counted +no "
rk --token "$key" counter incr arena matches-played -- -2
check "counter incr with a negative delta" succeeded

rk counter get arena matches-played
check "counter get: the all-time total" succeeded , out_has "^total +55$" , out_has "^window +all$"
rk counter get arena matches-played --window daily
check "counter get --window daily" succeeded , out_has "^total +55$" , out_has "^window +d:[0-9]{4}-[0-9]{2}-[0-9]{2}$"
rk --json counter get arena matches-played --window monthly
check "counter get --json" succeeded , json_true "d['total'] == 55 and d['label'].startswith('mo:')"

rk --token "$key" counter incr arena matches-played lots
check "counter incr with a delta that is not a number: usage error" usage_error
rk --token "$key" counter incr arena no-such 1
check "counter incr of an unknown counter: NOT_FOUND" failed_with NOT_FOUND
rk counter get arena no-such
check "counter get of an unknown counter: NOT_FOUND" failed_with NOT_FOUND

rk signup counter-player --password 'long enough password'
RANKD_PASSWORD='long enough password' rk login counter-player
rk counter incr arena matches-played 1
check "counter incr as a player: PERMISSION_DENIED" failed_with PERMISSION_DENIED

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
