#!/usr/bin/env bash
# it_update_board.sh - changing a board's settings (run under
# with-services.sh).
#
# Proves that `rankctl board update` changes the title, the bounds (for
# submissions from then on), who may submit, the windows (a new one holds
# this period's submissions at once, from the history) and the anti-cheat
# settings, each taking effect on the next submission, and only the fields
# given; that changing the order or the policy is FAILED_PRECONDITION
# (restating them is fine); that the audit log says what changed; and the
# errors: an unknown board, bad values, a caller who is not an admin.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_update_board.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
out_has() { grep -Eq -- "$1" <<<"$out"; }
kv() { grep -Eq "^$1 +$2\$" <<<"$out"; }
json_true() {
    python3 -c 'import json, sys
d = json.loads(open(sys.argv[2]).read())
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$1" "$work/out"
}
pw='long enough password'

rk signup ubplayer --password "$pw"
RANKD_PASSWORD="$pw" RANKD_TOKEN_FILE="$work/player-token" rk login ubplayer
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
rk board create ubboard --game ubgame --title 'Old title' --min 0 --max 1000
rk submit ubboard --user ubplayer 700
check "a board and a submission" succeeded

rk board update ubboard --title 'New title' --reason 'renamed'
check "update the title only" succeeded , kv title 'New title' , kv 'min score' 0 , kv 'max score' 1000 , \
    kv windows all , kv 'player submit' no
rk board update ubboard --max 500
check "update the upper bound" succeeded , kv 'max score' 500 , kv title 'New title'
rk submit ubboard --user ubplayer 600
check "the new bound applies to the next submission" failed_with INVALID_ARGUMENT "score 600 is above board ubboard's maximum 500"
rk --json rank ubboard ubplayer
check "scores above it stay" succeeded , json_true "d['entry']['score'] == 700"

rk --token "$(cat "$work/player-token")" submit ubboard --user ubplayer 10
check "players may not submit yet" failed_with PERMISSION_DENIED
rk board update ubboard --player-submit yes
check "let players submit" succeeded , kv 'player submit' yes
rk --token "$(cat "$work/player-token")" submit ubboard --user ubplayer 10
check "now a player may" succeeded

rk top ubboard --window daily
check "no daily window before" failed_with FAILED_PRECONDITION
rk board update ubboard --add-windows daily,weekly
check "add daily and weekly windows" succeeded , kv windows all,daily,weekly
for w in daily weekly; do
    rk --json top ubboard --window "$w"
    check "the new $w window holds this period's submissions at once" succeeded , \
        json_true "[(e['username'], e['score']) for e in d['entries']] == [('ubplayer', 700)]"
done

rk board update ubboard --rate-limit 1 --max-step 100 --max 1000
check "set the anti-cheat settings" succeeded , out_has '^rate limit +1 submissions' , out_has '^max step +100 '
rk submit ubboard --user ubplayer 900
check "the step applies at once: held" succeeded , out_has '^held +yes' , out_has '^score +700$'
rk submit ubboard --user ubplayer 30
check "the rate limit applies at once" failed_with RESOURCE_EXHAUSTED
rk board update ubboard --rate-limit 0 --max-step 0
check "turn them off" succeeded
rk submit ubboard --user ubplayer 40
check "off again: taken" succeeded

rk board update ubboard --order lower
check "changing the order: FAILED_PRECONDITION" failed_with FAILED_PRECONDITION "board ubboard is higher is better"
rk board update ubboard --policy sum
check "changing the policy: FAILED_PRECONDITION" failed_with FAILED_PRECONDITION "board ubboard keeps each player's best"
rk board update ubboard --order higher --policy best --title 'Same rules'
check "restating the order and policy is fine" succeeded , kv title 'Same rules'

rk board update no-such-board --title x
check "an unknown board: NOT_FOUND" failed_with NOT_FOUND
rk board update ubboard --min 900 --max 100
check "min above max: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "min_score 900 is above max_score 100"
rk board update ubboard --rate-limit 7000
check "a rate limit too high: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT
rk board update ubboard --player-submit maybe
check "--player-submit takes yes or no: a usage error" test "$rc" -eq 2

rk --json audit --target ubboard --action board.update
check "audit: what each update changed" succeeded , \
    json_true "[e['detail'] for e in d['entries']][::-1][:6] == ['title \"New title\"', 'scores 0 to 500',
'players may submit', 'daily window added, weekly window added', 'scores 0 to 1000, rate_limit 1, max_step 100',
'rate_limit 0, max_step 0'] and d['entries'][-1]['reason'] == 'renamed'"

rk --token "$(cat "$work/player-token")" board update ubboard --title x
check "update as a player: PERMISSION_DENIED" failed_with PERMISSION_DENIED

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
