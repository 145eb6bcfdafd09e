#!/usr/bin/env bash
# it_limits.sh - a board's submission limit per player (run under
# with-services.sh).
#
# Proves that a board created with --rate-limit R takes at most R
# submissions per player in a minute, from a game-server key and from a
# player's own token alike, and refuses the next RESOURCE_EXHAUSTED with
# when to retry; that other players and other boards are unaffected; that
# in a batch only the entries past the limit are refused; that a retry
# of a taken submission (same idempotency key) is answered as its replay,
# not refused; and that the setting shows in board get and is checked.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_limits.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
exit_is() { ((rc == $1)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
out_has() { grep -Eq -- "$1" <<<"$out"; }
json_true() {
    python3 -c 'import json, sys
d = json.loads(open(sys.argv[2]).read())
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$1" "$work/out"
}
pw='long enough password'

for u in rlone rltwo rlself; do rk signup "$u" --password "$pw"; done
RANKD_PASSWORD="$pw" RANKD_TOKEN_FILE="$work/self-token" rk login rlself
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
rk board create rlboard --game rlgame --rate-limit 3 --player-submit --policy sum
check "board create --rate-limit 3" succeeded , out_has '^rate limit +3 submissions per player a minute$'
rk --json board get rlboard
check "board get --json: rate_limit 3" succeeded , json_true "d['board']['rate_limit'] == 3"
rk board create rlfree --game rlgame
rk board create rlbad --game rlgame --rate-limit 6001
check "a rate limit above 6000 a minute: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "rate_limit must be 0"
rk apikey create rlgame
key="$(sed -n 's/^key  *\(rk_[0-9a-f]*\)$/\1/p' <<<"$out")"

for i in 1 2 3; do
    rk --token "$key" submit rlboard --user rlone "$i" --idempotency-key "one-$i"
    check "submission $i of 3 in the minute: taken" succeeded
done
rk --token "$key" submit rlboard --user rlone 4
check "the fourth in the minute: RESOURCE_EXHAUSTED, with when to retry" \
    failed_with RESOURCE_EXHAUSTED "at most 3 submissions a minute per player on board rlboard; retry in [0-9]+ s"
secs="$(grep -Eo 'retry in [0-9]+ s' <<<"$err" | grep -Eo '[0-9]+')"
check "the retry time is within the minute" test "${secs:-0}" -ge 1 -a "${secs:-99}" -le 60
rk --json rank rlboard rlone
check "the refused one did not count" succeeded , json_true "d['entry']['score'] == 6"
rk --token "$key" submit rlboard --user rlone 2 --idempotency-key one-2
check "a retry of a taken submission is its replay, not refused" succeeded , out_has '^replayed +yes '
rk --token "$key" submit rlboard --user rltwo 10
check "another player is not limited by the first" succeeded
rk --token "$key" submit rlfree --user rlone 10
check "another board is not limited" succeeded

rk_in "rlboard rltwo 1
rlboard rlone 5
rlboard rltwo 2
rlboard rltwo 3
rlfree rlone 7" --token "$key" submit-batch -
check "a batch: only the entries past the limit are refused" exit_is 1 , \
    out_has '^ *1 +OK +rlboard +rltwo +1 ' , \
    out_has '^ *2 +RESOURCE_EXHAUSTED +rlboard +rlone +5 .*retry in [0-9]+ s$' , \
    out_has '^ *3 +OK +rlboard +rltwo +2 ' , \
    out_has '^ *4 +RESOURCE_EXHAUSTED +rlboard +rltwo +3 .*retry in [0-9]+ s$' , \
    out_has '^ *5 +OK +rlfree +rlone +7 '

for i in 1 2 3; do rk --token "$(cat "$work/self-token")" submit rlboard --user rlself "$i"; done
check "a player's own token: three taken" succeeded
rk --token "$(cat "$work/self-token")" submit rlboard --user rlself 4
check "a player's own token: the fourth RESOURCE_EXHAUSTED" \
    failed_with RESOURCE_EXHAUSTED "at most 3 submissions a minute"

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
