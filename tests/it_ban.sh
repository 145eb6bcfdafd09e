#!/usr/bin/env bash
# it_ban.sh - banning and unbanning a player (run under with-services.sh).
#
# Proves that `rankctl ban` takes the player's entries off every board and
# the global board at once; that their submissions are refused
# PERMISSION_DENIED with the reason, from a game-server key (the rest of a
# batch unaffected) and from the player's own token, which stops working,
# and that they cannot log in; that reports and rebuilds leave them out
# while banned; that `rankctl unban` brings every entry back exactly as it
# was (scores, ranks and tie order on every window, the global board and
# a latest board's repeats), a rebuild agreeing; that the audit log has
# both; and the errors: an unknown player, an admin, a ban twice, an unban
# of a player who is not banned, and a caller who is not an admin.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_ban.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
exit_is() { ((rc == $1)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
out_has() { grep -Eq -- "$1" <<<"$out"; }
out_lacks() { ! grep -Eq -- "$1" <<<"$out"; }
json_true() {
    python3 -c 'import json, sys
d = json.loads(open(sys.argv[2]).read())
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$1" "$work/out"
}
pw='long enough password'

for u in bncheat bnfair bnthird; do rk signup "$u" --password "$pw"; done
RANKD_PASSWORD="$pw" RANKD_TOKEN_FILE="$work/cheat-token" rk login bncheat
check "the player logs in before the ban" succeeded
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
rk board create bnboard --game bngame --windows daily,weekly --player-submit
rk board create bnlatest --game bngame --policy latest
rk board create bnsum --game bngame --policy sum
# The batch goes to a board that does not feed the global board, so the
# boards above can be compared before and after.
rk board create bnbatch --game bngame --order lower
check "boards" succeeded
rk apikey create bngame
key="$(sed -n 's/^key  *\(rk_[0-9a-f]*\)$/\1/p' <<<"$out")"
# bncheat reaches 300 first, bnthird ties later; a latest board with a
# repeat (its last submission is later than its tie time).
for s in "bnboard bncheat 100" "bnboard bncheat 300" "bnboard bnfair 200" "bnboard bnthird 300" \
    "bnlatest bncheat 20" "bnlatest bncheat 20" "bnlatest bnfair 20" "bnsum bncheat 5" "bnsum bncheat 6"; do
    read -r b u v <<<"$s"
    rk --token "$key" submit "$b" --user "$u" "$v"
done
check "submissions" succeeded

snap() {
    local f=$1
    : >"$f"
    for w in all daily weekly; do
        rk top bnboard --window "$w" --rank-mode unique
        printf '%s\n' "$out" >>"$f"
    done
    for b in bnlatest bnsum global; do
        rk top "$b" --rank-mode unique
        printf '%s\n' "$out" >>"$f"
    done
}
settled || echo "# the applier did not settle within 10 s"
snap "$work/before"
check "before: bncheat leads bnboard ahead of bnthird" grep -Eq '^ *1 +bncheat +300$' "$work/before"

rk ban bncheat --reason 'aimbot'
check "ban: the entries leave every board" succeeded , \
    out_has '^Banned bncheat: their entries left 3 boards and the global board\.$'
for w in all daily weekly; do
    rk top bnboard --window "$w"
    check "top $w while banned: no bncheat" succeeded , out_lacks bncheat , out_has '^ *1 +bnthird +300$'
done
for b in bnlatest bnsum global; do
    rk top "$b"
    check "top $b while banned: no bncheat" succeeded , out_lacks bncheat
done

rk --token "$key" submit bnboard --user bncheat 999
check "a game server's submission for the banned player: PERMISSION_DENIED with the reason" \
    failed_with PERMISSION_DENIED "player [0-9]+ is banned: aimbot"
rk_in "bnbatch bnfair 250
bnbatch bncheat 999
bnbatch bnthird 310" --token "$key" submit-batch -
check "a batch: the banned player's entry refused, the others taken" exit_is 1 , \
    out_has '^ *1 +OK +bnbatch +bnfair +250 ' , \
    out_has '^ *2 +PERMISSION_DENIED +bnbatch +bncheat +999 .*banned: aimbot$' , \
    out_has '^ *3 +OK +bnbatch +bnthird +310 '
rk --token "$(cat "$work/cheat-token")" whoami
check "the banned player's token stops working" failed_with UNAUTHENTICATED
RANKD_PASSWORD="$pw" RANKD_TOKEN_FILE="$work/cheat-token2" rk login bncheat
check "the banned player cannot log in: PERMISSION_DENIED with the reason" \
    failed_with PERMISSION_DENIED "bncheat is banned: aimbot"
rk --json report bnboard --from 2000-01-01 --to 2100-01-01
check "report while banned: bncheat counts nowhere" succeeded , \
    json_true "'bncheat' not in [e['username'] for e in d['entries']]"
rk admin rebuild
check "rebuild while banned" succeeded
rk top bnboard
check "rebuild while banned: bncheat stays out" succeeded , out_lacks bncheat

rk ban bncheat
check "ban twice: FAILED_PRECONDITION" failed_with FAILED_PRECONDITION "bncheat is already banned"
rk ban "$RANKD_ADMIN_USER"
check "ban an admin: FAILED_PRECONDITION" failed_with FAILED_PRECONDITION "$RANKD_ADMIN_USER is an admin"
rk ban nobody-at-all
check "ban an unknown player: NOT_FOUND" failed_with NOT_FOUND "no user named nobody-at-all"
rk unban bnfair
check "unban a player who is not banned: FAILED_PRECONDITION" failed_with FAILED_PRECONDITION "bnfair is not banned"

rk unban bncheat --reason 'appeal granted'
check "unban: the entries come back" succeeded , out_has '^Unbanned bncheat: [0-9]+ entries put back as they were\.$'
rk top bnboard --rank-mode unique
check "after the unban bncheat leads again, ahead of bnthird" succeeded , out_has '^ *1 +bncheat +300$' , \
    out_has '^ *2 +bnthird +300$'
settled || echo "# the applier did not settle within 10 s"
snap "$work/after"
check "unban: every board as before the ban (scores, ranks, tie order, the global board, the latest repeat)" \
    cmp -s "$work/before" "$work/after"
rk --json rank bnlatest bncheat
check "unban: the latest board's score" succeeded , json_true "d['entry']['score'] == 20 and d['entry']['rank'] == 1"
rk --json rank global bncheat
check "unban: the global total" succeeded , json_true "d['entry']['score'] == 300 + 20 + 11"
snap "$work/unbanned"
rk admin rebuild
check "rebuild after the unban" succeeded
snap "$work/rebuilt"
check "a rebuild after the unban gives the same boards" cmp -s "$work/unbanned" "$work/rebuilt"

RANKD_PASSWORD="$pw" RANKD_TOKEN_FILE="$work/cheat-token3" rk login bncheat
check "after the unban the player logs in" succeeded
rk --token "$key" submit bnboard --user bncheat 400
check "after the unban submissions count" succeeded , out_has '^rank +1 of '
rk unban bncheat
check "unban twice: FAILED_PRECONDITION" failed_with FAILED_PRECONDITION "bncheat is not banned"

rk --json audit --target bncheat
check "audit: the ban and the unban, with the reasons" succeeded , \
    json_true "[(e['action'], e['reason']) for e in d['entries']] == [('player.unban', 'appeal granted'), ('player.ban', 'aimbot')]"

RANKD_PASSWORD="$pw" rk login bnfair
rk ban bnthird
check "ban as a player: PERMISSION_DENIED" failed_with PERMISSION_DENIED
rk unban bnthird
check "unban as a player: PERMISSION_DENIED" failed_with PERMISSION_DENIED

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
