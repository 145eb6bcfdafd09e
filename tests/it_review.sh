#!/usr/bin/env bash
# it_review.sh - plausibility rules and the review of held submissions
# (run under with-services.sh).
#
# Proves that a submission breaking a board's max_step or max_rate rule is
# acknowledged as held and counts nowhere (every window, the global
# board); that it reaches the history and `rankctl review list` shows it
# with its rule; that a retry of it is its replay, still held; that
# rejecting it leaves the boards as they were and approving it makes it
# count as if it had been taken, a rebuild agreeing; that a first score on
# a lower-is-better board is not judged; and the errors: a decision made
# twice or on an unknown entry, bad settings, and a caller who is not an
# admin.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_review.XXXXXXXX")"
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
pw='long enough password'
# The entry id of the oldest held submission of board $1 whose score is $2.
held_id() {
    local id=""
    for _ in $(seq 50); do
        rk --json review list --board "$1"
        id="$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(next((h["entry_id"] for h in d.get("held", []) if h["score"] == int(sys.argv[2])), ""))' "$work/out" "$2")"
        [[ -n $id ]] && break
        sleep 0.1
    done
    printf '%s' "$id"
}

for u in rvcheat rvfair rvslow; do rk signup "$u" --password "$pw"; done
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
rk board create rvboard --game rvgame --windows daily --max-step 1000
check "board create --max-step 1000" succeeded , out_has '^max step +1000 '
rk board create rvrate --game rvgame --policy sum --max-rate 10
check "board create --max-rate 10" succeeded , out_has '^max rate +10 a second'
rk board create rvtime --game rvgame --order lower --max-step 50
rk board create rvbad --game rvgame --max-step -1
check "a negative max_step: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "max_step must be 0"

rk submit rvboard --user rvcheat 500
check "a first score within the step: taken" succeeded , out_lacks '^held'
rk submit rvboard --user rvfair 400
rk submit rvboard --user rvcheat 999999999 --idempotency-key cheat-1
check "999999999: acknowledged as held, the standing as it was" succeeded , out_has '^held +yes' , \
    out_has '^score +500$' , out_has '^rank +1 of 2$'
rk submit rvboard --user rvcheat 999999999 --idempotency-key cheat-1
check "its retry: the replay, still held" succeeded , out_has '^held +yes' , out_has '^replayed +yes'
for w in all daily; do
    rk --json top rvboard --window "$w"
    check "top $w: the held score counts nowhere" succeeded , \
        json_true "[(e['username'], e['score']) for e in d['entries']] == [('rvcheat', 500), ('rvfair', 400)]"
done
settled || echo "# the applier did not settle within 10 s"
rk --json rank global rvcheat
check "global: the held score counts nowhere" succeeded , json_true "d['entry']['score'] == 500"

cheat="$(held_id rvboard 999999999)"
check "review list: the held submission reached the history" test -n "$cheat"
rk review list
check "review list: entry, board, score, player and rule" succeeded , \
    out_has '^ENTRY +SUBMITTED +BOARD +SCORE +PLAYER +RULE$' , \
    out_has "^$cheat +[0-9-]+ [0-9:.]+ UTC +rvboard +999999999 +rvcheat +max_step$" , \
    out_has '^\(1 of 1 held for review, oldest first\)$'
rk --json history rvboard rvcheat
check "history: the held submission is kept, marked held" succeeded , \
    json_true "d['total'] == 2 and d['entries'][0]['score'] == 999999999 and d['entries'][0]['held'] == 'held'
and 'held' not in d['entries'][1]"

rk review reject "$cheat" --reason 'impossible'
check "reject" succeeded , out_has "^Rejected $cheat: 999999999 by rvcheat on rvboard will never count\.$"
rk review reject "$cheat"
check "rejecting it again: NOT_FOUND" failed_with NOT_FOUND "no submission $cheat is held for review"
rk review approve "$cheat"
check "approving a rejected one: NOT_FOUND" failed_with NOT_FOUND
rk --json history rvboard rvcheat
check "history: the rejected submission is kept, marked rejected" succeeded , \
    json_true "d['entries'][0]['held'] == 'rejected'"
rk review list
check "review list: nothing left" succeeded , out_has '^No submissions are held for review\.$'
rk --json top rvboard
check "after the rejection the board is as it was" succeeded , \
    json_true "[(e['username'], e['score']) for e in d['entries']] == [('rvcheat', 500), ('rvfair', 400)]"

rk submit rvboard --user rvfair 1900
check "a jump of 1500: held" succeeded , out_has '^held +yes' , out_has '^score +400$'
fair="$(held_id rvboard 1900)"
rk review approve "$fair" --reason 'verified replay'
check "approve" succeeded , out_has "^Approved $fair: 1900 by rvfair on rvboard now counts\.$"
for w in all daily; do
    rk --json top rvboard --window "$w"
    check "top $w after the approval: it counts" succeeded , \
        json_true "[(e['username'], e['score']) for e in d['entries']] == [('rvfair', 1900), ('rvcheat', 500)]"
done
rk --json rank global rvfair
check "global after the approval: the total moved" succeeded , json_true "d['entry']['score'] == 1900"

rk submit rvrate --user rvslow 5
sleep 2
rk submit rvrate --user rvslow 15
check "max_rate: 15 two seconds later is within 10 a second" succeeded , out_lacks '^held'
rk submit rvrate --user rvslow 100
check "max_rate: 100 at once is held" succeeded , out_has '^held +yes' , out_has '^score +20$'
rk submit rvtime --user rvslow 100
check "a lower-is-better board: a first time is not judged" succeeded , out_lacks '^held'
rk submit rvtime --user rvslow 10
check "a lower-is-better board: 90 better at once is held" succeeded , out_has '^held +yes' , out_has '^score +100$'
slow="$(held_id rvrate 100)"
rk review approve "$slow"
check "approve on a sum board" succeeded
rk --json rank rvrate rvslow
check "the approved amount adds to the sum" succeeded , json_true "d['entry']['score'] == 120"

snap() {
    : >"$1"
    for b in rvboard rvrate rvtime global; do
        rk top "$b" --rank-mode unique
        printf '%s\n' "$out" >>"$1"
    done
}
snap "$work/before"
rk admin rebuild
check "rebuild" succeeded
snap "$work/after"
check "a rebuild gives the same boards: approved ones count, held and rejected ones do not" \
    cmp -s "$work/before" "$work/after"

rk review approve no-such-entry
check "review an unknown entry: NOT_FOUND" failed_with NOT_FOUND
rk --json audit --action held.approve
check "audit: the approvals" succeeded , \
    json_true "[e['target'] for e in d['entries']] == ['$slow', '$fair'] and d['entries'][1]['reason'] == 'verified replay'"
rk --json audit --action held.reject
check "audit: the rejection" succeeded , json_true "[e['target'] for e in d['entries']] == ['$cheat']"

RANKD_PASSWORD="$pw" rk login rvfair
rk review list
check "review list as a player: PERMISSION_DENIED" failed_with PERMISSION_DENIED
rk review approve "$(held_id rvtime 10 || true)"
check "review approve as a player: PERMISSION_DENIED" failed_with PERMISSION_DENIED

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
