#!/usr/bin/env bash
# it_dead_letters.sh - `rankctl admin dead-letters`, the list of accepted
# submissions PostgreSQL refused (run under with-services.sh).
#
# Proves that a fresh server has none and says so; that stream entries the
# write-behind cannot take (here: written to rk:wb by hand with a field
# missing, the way a malformed entry would look) are listed, oldest first,
# with their entry id, time, fields byte for byte and reason, and counted
# by status; that --limit bounds the list while total counts them all, in
# --json too (fields as base64); that a limit out of range is
# INVALID_ARGUMENT, and that only admins may list them.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_REDIS_PORT, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"
: "${RANKD_REDIS_PORT:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_dead_letters.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
equal() { [[ $1 == "$2" ]]; }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
out_has() { grep -Eq -- "$1" <<<"$out"; }
json_true() {
    python3 -c 'import json, sys
d = json.loads(open(sys.argv[2]).read())
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$1" "$work/out"
}

RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded

rk admin dead-letters
check "admin dead-letters: none on a fresh server" succeeded , \
    out_has "^No dead letters: PostgreSQL took every accepted submission\.$"

# Two entries the write-behind must set aside: no score, no time.
redis-cli -p "$RANKD_REDIS_PORT" XADD rk:wb '*' board tetris user 7 >"$work/id1"
redis-cli -p "$RANKD_REDIS_PORT" XADD rk:wb '*' board 'we"ird' user 8 score 12 >"$work/id2"
id1="$(cat "$work/id1")" id2="$(cat "$work/id2")"
for _ in $(seq 50); do
    rk status
    grep -Eq '^dead letters +2 ' <<<"$out" && break
    sleep 0.1
done
check "status counts the two entries set aside" succeeded , out_has '^dead letters +2 submissions'

rk admin dead-letters
check "admin dead-letters: both, oldest first, with id, time, fields and reason" succeeded , \
    out_has '^ENTRY +SET ASIDE +FIELDS +REASON$' , \
    out_has "^$id1 +[0-9-]+ [0-9:]+ UTC +board=tetris user=7 +malformed entry: a field is missing$" , \
    out_has "^$id2 +[0-9-]+ [0-9:]+ UTC +board=we\"ird user=8 score=12 +malformed entry: a field is missing$" , \
    equal "$(grep -n "^$id1 " <<<"$out" | cut -d: -f1)" 2 , \
    out_has '^\(2 of 2 in scores_dead_letter, oldest first\)$'

rk --json admin dead-letters --limit 1
check "admin dead-letters --json --limit 1: one row, the oldest, fields byte for byte, total 2" succeeded , \
    json_true "len(d['letters']) == 1 and d['total'] == 2 and d['letters'][0]['entry_id'] == '$id1'
and __import__('base64').b64decode(d['letters'][0]['fields']) == b'board=tetris\nuser=7\n'
and d['letters'][0]['dead_at'] > 0"

rk admin dead-letters --limit 1001
check "admin dead-letters --limit 1001: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "limit must be 1 to 1000"

rk signup deadpool --password 'long enough password'
RANKD_PASSWORD='long enough password' rk login deadpool
rk admin dead-letters
check "admin dead-letters as a player: PERMISSION_DENIED" failed_with PERMISSION_DENIED
rk --token "" admin dead-letters
check "admin dead-letters with no token: UNAUTHENTICATED" failed_with UNAUTHENTICATED

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
