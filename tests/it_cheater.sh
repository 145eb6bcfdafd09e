#!/usr/bin/env bash
# it_cheater.sh - "a cheater is caught", end to end (run under
# with-services.sh).
#
# Walks the journey: a board without a plausibility rule takes a second
# cheater's impossible score; the admin adds the rule; the first cheater's
# 999,999,999 is held and never counts, and the admin rejects it; the
# admin removes the second cheater's entry (every window and the global
# board at once, the history keeping the rows, marked removed), then bans
# them: their next submission is refused with the reason and their token
# stops working; later the unban brings their other entries back exactly
# as they were; `rankctl audit` shows all of it, who, when, what and why.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_cheater.XXXXXXXX")"
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

for u in honest cheater1 cheater2; do rk signup "$u" --password "$pw"; done
RANKD_PASSWORD="$pw" RANKD_TOKEN_FILE="$work/c2-token" rk login cheater2
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
rk board create tetris --game tetris --windows daily,weekly,monthly --min 0 --max 1000000000 --player-submit
rk board create puzzle --game tetris
rk apikey create tetris --label game-server
key="$(sed -n 's/^key  *\(rk_[0-9a-f]*\)$/\1/p' <<<"$out")"
check "the game is set up" succeeded
gs() { rk --token "$key" "$@"; }

gs submit tetris --user honest 12000
gs submit tetris --user cheater2 5000
gs submit puzzle --user cheater2 300
gs submit puzzle --user honest 200
gs submit tetris --user cheater2 888888888
check "before the rule, cheater2's impossible score counts" succeeded , out_has '^rank +1 of 2$'

rk board update tetris --max-step 100000 --reason 'scores beyond 100k a game are impossible'
check "the admin adds the plausibility rule" succeeded , out_has '^max step +100000 '
gs submit tetris --user cheater1 999999999
check "cheater1's 999,999,999 is held" succeeded , out_has '^held +yes'
rk --json top tetris
check "the held score never counted" succeeded , json_true "'cheater1' not in [e['username'] for e in d['entries']]"
held=""
for _ in $(seq 50); do
    rk --json review list --board tetris
    held="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["held"][0]["entry_id"] if d.get("held") else "")' "$work/out")"
    [[ -n $held ]] && break
    sleep 0.1
done
rk review reject "$held" --reason 'impossible score'
check "the admin rejects it" succeeded

rk remove tetris cheater2 --reason 'score from a modified client'
check "the admin removes cheater2's entry" succeeded
for w in all daily weekly monthly; do
    rk --json top tetris --window "$w"
    check "tetris $w: cheater2 is gone at once" succeeded , \
        json_true "[e['username'] for e in d['entries']] == ['honest']"
done
settled || echo "# the applier did not settle within 10 s"
rk --json rank global cheater2
check "global: cheater2 keeps only the other board's 300" succeeded , json_true "d['entry']['score'] == 300"
rk --json history tetris cheater2
check "the history keeps the rows, marked removed" succeeded , \
    json_true "d['total'] == 2 and all(e.get('removed') for e in d['entries'])"

snap() {
    : >"$1"
    for b in puzzle global; do
        rk top "$b" --rank-mode unique
        printf '%s\n' "$out" >>"$1"
    done
}
snap "$work/before-ban"
rk ban cheater2 --reason 'cheating on tetris'
check "the admin bans cheater2" succeeded
gs submit puzzle --user cheater2 310
check "cheater2's next submission is refused with the reason" \
    failed_with PERMISSION_DENIED "player [0-9]+ is banned: cheating on tetris"
rk --token "$(cat "$work/c2-token")" whoami
check "cheater2's token stops working" failed_with UNAUTHENTICATED
rk --json top puzzle
check "cheater2's other entries vanish while banned" succeeded , \
    json_true "[e['username'] for e in d['entries']] == ['honest']"

rk unban cheater2 --reason 'ban served'
check "later the admin unbans cheater2" succeeded
snap "$work/after-unban"
check "cheater2's other entries are back exactly as they were" cmp -s "$work/before-ban" "$work/after-unban"
rk --json top tetris
check "the removed entry stays removed" succeeded , json_true "[e['username'] for e in d['entries']] == ['honest']"

rk audit
check "rankctl audit shows all of it: who, when, what, why" succeeded , \
    out_has "^ *[0-9]+ .* $RANKD_ADMIN_USER +player.unban +cheater2 .* ban served$" , \
    out_has "^ *[0-9]+ .* $RANKD_ADMIN_USER +player.ban +cheater2 .* cheating on tetris$" , \
    out_has "^ *[0-9]+ .* $RANKD_ADMIN_USER +entry.remove +cheater2 +board tetris, 2 submissions +score from a modified client$" , \
    out_has "^ *[0-9]+ .* $RANKD_ADMIN_USER +held.reject +$held +board tetris, cheater1, score 999999999 \(max_step\) +impossible score$" , \
    out_has "^ *[0-9]+ .* $RANKD_ADMIN_USER +board.update +tetris +max_step 100000 +scores beyond 100k a game are impossible$"

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
