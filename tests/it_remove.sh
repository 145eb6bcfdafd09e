#!/usr/bin/env bash
# it_remove.sh - an admin takes one player's entry off a board (run under
# with-services.sh).
#
# Proves that `rankctl remove` takes the entry off every window at once
# and out of the global total (a player on no other board leaves the
# global board); that the history keeps the submissions, marked removed,
# while reports leave them out; that a rebuild afterwards gives exactly
# the same boards; that the player's later submissions count as usual;
# that the audit log records it; and the errors: an entry that does not
# exist, an unknown player or board, and a caller who is not an admin.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_remove.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
equal() { [[ $1 == "$2" ]]; }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
out_has() { grep -Eq -- "$1" <<<"$out"; }
out_lacks() { ! grep -Eq -- "$1" <<<"$out"; }
json_true() {
    python3 -c 'import json, sys
d = json.loads(open(sys.argv[2]).read())
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$1" "$work/out"
}
pw='long enough password'

for u in rmalice rmbob rmcarol rmdave; do rk signup "$u" --password "$pw"; done
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded
rk board create rmboard --game rmgame --windows daily,weekly
rk board create rmother --game rmgame
rk board create rmsum --game rmgame --policy sum
check "boards" succeeded
# rmalice cheats on rmboard; rmbob and rmcarol tie behind her (bob first).
for s in "rmboard rmalice 500" "rmboard rmalice 900" "rmboard rmbob 300" "rmboard rmcarol 300" \
    "rmboard rmdave 100" "rmother rmalice 40" "rmother rmbob 10" "rmsum rmcarol 7" "rmsum rmcarol 5"; do
    read -r b u v <<<"$s"
    rk submit "$b" --user "$u" "$v"
done
check "submissions" succeeded

rk remove rmboard rmalice --reason 'impossible score'
check "remove: the entry leaves, its submissions stay in the history" succeeded , \
    out_has "^Removed rmalice's entry from rmboard \(2 submissions kept in the history, marked removed\)\.$"

for w in all daily weekly; do
    rk top rmboard --window "$w"
    check "top $w after the removal: rmalice is gone, the rest move up in their order" succeeded , \
        out_lacks rmalice , out_has '^ *1 +rmbob +300$' , out_has '^ *1 +rmcarol +300$' , out_has '^ *3 +rmdave +100$' , \
        equal "$(grep -Eo 'rmbob|rmcarol|rmdave' <<<"$out" | tr '\n' ' ')" "rmbob rmcarol rmdave "
done
settled || echo "# the applier did not settle within 10 s"
rk --json rank global rmalice
check "global after the removal: rmalice keeps only her other board" succeeded , \
    json_true "d['entry']['score'] == 40"
rk --json count rmboard
check "count after the removal: three players" succeeded , json_true "d['count'] == 3"

rk history rmboard rmalice
check "history: the submissions are kept, marked removed" succeeded , \
    out_has '^WHEN +SCORE +KEY +REMOVED$' , out_has ' 900 +- +yes$' , out_has ' 500 +- +yes$'
rk --json history rmboard rmalice
check "history --json: removed true on both" succeeded , \
    json_true "[e.get('removed') for e in d['entries']] == [True, True] and d['total'] == 2"
rk --json report rmboard --from 2000-01-01 --to 2100-01-01
check "report: the removed submissions count nowhere" succeeded , \
    json_true "[e['username'] for e in d['entries']] == ['rmbob', 'rmcarol', 'rmdave'] and d['board_size'] == 3"

# A player on no other board that feeds the global board leaves it.
rk remove rmboard rmdave --reason 'bot account'
check "remove rmdave" succeeded
rk rank global rmdave
check "global: rmdave, on no other board, has left it" failed_with NOT_FOUND
rk remove rmsum rmcarol
check "remove from a sum board" succeeded , \
    out_has '\(2 submissions kept in the history, marked removed\)'
rk --json rank global rmcarol
check "global: rmcarol's total lost the sum board's 12" succeeded , json_true "d['entry']['score'] == 300"

snap() {
    local f=$1
    : >"$f"
    for w in all daily weekly; do
        rk top rmboard --window "$w" --rank-mode unique
        printf '%s\n' "$out" >>"$f"
    done
    for b in global rmother rmsum; do
        rk top "$b" --rank-mode unique
        printf '%s\n' "$out" >>"$f"
    done
}
snap "$work/before"
rk admin rebuild
check "rebuild every board" succeeded
snap "$work/after"
check "a rebuild after the removals gives exactly the same boards" cmp -s "$work/before" "$work/after"

rk remove rmboard rmalice
check "removing it again: NOT_FOUND" failed_with NOT_FOUND "rmalice has no entry on board rmboard"
rk remove rmother rmdave
check "removing an entry that never existed: NOT_FOUND" failed_with NOT_FOUND "rmdave has no entry on board rmother"
rk remove rmboard nobody-at-all
check "removing an unknown player: NOT_FOUND" failed_with NOT_FOUND "no user named nobody-at-all"
rk remove no-such-board rmbob
check "removing from an unknown board: NOT_FOUND" failed_with NOT_FOUND
rk remove global rmbob
check "removing from the global board itself: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT

rk submit rmboard --user rmalice 50
check "a submission after the removal" succeeded
rk top rmboard
check "after the removal, new submissions count as usual" succeeded , out_has '^ *3 +rmalice +50$'

rk --json audit --action entry.remove
check "audit: each removal with who, target, board and reason" succeeded , \
    json_true "[(e['target'], e['detail'], e['reason']) for e in d['entries']] == [
('rmcarol', 'board rmsum, 2 submissions', ''), ('rmdave', 'board rmboard, 1 submissions', 'bot account'),
('rmalice', 'board rmboard, 2 submissions', 'impossible score')] and d['entries'][0]['actor'] == '$RANKD_ADMIN_USER'"

RANKD_PASSWORD="$pw" rk login rmbob
rk remove rmboard rmcarol
check "remove as a player: PERMISSION_DENIED" failed_with PERMISSION_DENIED
rk --token "" remove rmboard rmcarol
check "remove with no token: UNAUTHENTICATED" failed_with UNAUTHENTICATED

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
