#!/usr/bin/env bash
# it_audit.sh - the audit log: every admin action recorded with who, when,
# what and why, and `rankctl audit` paging through it (run under
# with-services.sh).
#
# Proves that board creation and deletion, API key creation and
# revocation, role changes and rebuilds each leave one row naming the
# admin, the action, its target, what changed and the reason given; that
# the log pages newest first (--limit, --before) and filters by action and
# target, in --json too; that a refused action (a reason too long, an
# unknown user) leaves no row; and that only admins may read it.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_audit.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
out_has() { grep -Eq -- "$1" <<<"$out"; }
out_lacks() { ! grep -Eq -- "$1" <<<"$out"; }
json_true() {
    python3 -c 'import json, sys
d = json.loads(open(sys.argv[2]).read())
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$1" "$work/out"
}
admin=$RANKD_ADMIN_USER

RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$admin"
check "admin login" succeeded

rk board create audited --game tetris --title 'Audited' --min 0 --max 1000 --reason 'season 1 opens'
check "board create with a reason" succeeded
rk apikey create tetris --label 'server a' --reason 'new game server'
check "apikey create with a reason" succeeded
key_id="$(sed -n 's/^key id *//p' <<<"$out")"
rk apikey revoke "$key_id" --reason 'server a leaked its key'
check "apikey revoke with a reason" succeeded
rk signup auditee --password 'long enough password'
rk admin set-role auditee admin --reason 'new moderator'
check "set-role with a reason" succeeded
rk admin rebuild audited
check "rebuild without a reason" succeeded
rk board delete audited --reason 'season 1 closed'
check "board delete with a reason" succeeded

rk admin set-role nobody-here admin --reason 'typo'
check "set-role of an unknown user: NOT_FOUND" failed_with NOT_FOUND
rk board create toolong --game tetris --reason "$(printf 'x%.0s' $(seq 257))"
check "a reason of 257 bytes: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "reason must be at most 256 bytes"

rk audit
check "audit: every action newest first, with who, what, target, detail and why" succeeded , \
    out_has '^ *ID +WHEN +WHO +ACTION +TARGET +DETAIL +REASON$' , \
    out_has "^ *[0-9]+ +[0-9-]+ [0-9:]+ UTC +$admin +board.delete +audited +game tetris +season 1 closed$" , \
    out_has "^ *[0-9]+ .* +$admin +rebuild +audited +1 boards, [0-9]+ entries +-$" , \
    out_has "^ *[0-9]+ .* +$admin +role.set +auditee +role admin +new moderator$" , \
    out_has "^ *[0-9]+ .* +$admin +apikey.revoke +key $key_id +revoked +server a leaked its key$" , \
    out_has "^ *[0-9]+ .* +$admin +apikey.create +key $key_id +game tetris, label \"server a\" +new game server$" , \
    out_has "^ *[0-9]+ .* +$admin +board.create +audited +game tetris, higher is better, policy best, scores 0 to 1000 +season 1 opens$" , \
    out_lacks 'nobody-here|toolong' , \
    out_has '^\(newest first; no older entries\)$'
order="$(grep -Eo 'board.delete|rebuild|role.set|apikey.revoke|apikey.create|board.create' <<<"$out" | tr '\n' ' ')"
check "audit: newest first" test "$order" = "board.delete rebuild role.set apikey.revoke apikey.create board.create "

rk --json audit --limit 2
check "audit --json --limit 2: the two newest and where the next page starts" succeeded , \
    json_true "[e['action'] for e in d['entries']] == ['board.delete', 'rebuild'] and d['next_before_id'] == d['entries'][1]['id']
and d['entries'][0]['actor'] == '$admin' and d['entries'][0]['reason'] == 'season 1 closed' and d['entries'][0]['at_us'] > 0"
next="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["next_before_id"])' "$work/out")"
rk --json audit --limit 2 --before "$next"
check "audit --before: the next page" succeeded , \
    json_true "[e['action'] for e in d['entries']] == ['role.set', 'apikey.revoke']"
rk audit --limit 2 --before "$next"
check "audit --before: the table says where the page after starts" succeeded , \
    out_has '^\(newest first; older entries: --before [0-9]+\)$'
rk --json audit --action board.create
check "audit --action board.create: that action only" succeeded , \
    json_true "[e['target'] for e in d['entries']] == ['audited']"
rk --json audit --target auditee
check "audit --target auditee: that target only" succeeded , \
    json_true "[e['action'] for e in d['entries']] == ['role.set']"
rk audit --limit 0
check "audit --limit 0: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "limit must be 1 to 1000"

RANKD_PASSWORD='long enough password' rk signup plainplayer --password 'long enough password'
RANKD_PASSWORD='long enough password' rk login plainplayer
rk audit
check "audit as a player: PERMISSION_DENIED" failed_with PERMISSION_DENIED
rk --token "" audit
check "audit with no token: UNAUTHENTICATED" failed_with UNAUTHENTICATED

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
