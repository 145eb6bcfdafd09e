#!/usr/bin/env bash
# it_rankctl_seasons.sh - journey 14's seasons from the command line (run
# under with-services.sh).
#
# Proves that an admin sets a season schedule on a board and board get
# shows it with its next end; that `season end` keeps the final standings
# and starts the board empty (top shows nobody, a new score is 1st of 1);
# that `season list` and `season show` print them as tables and --json;
# and that a bad schedule, an unknown board or season, a stale --season
# and a player's end are refused with the right code or a usage error.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER, RANKD_ADMIN_PASSWORD.
# Prints "ok - ..." or "not ok - ..." per check and "N passed, M failed".
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_rankctl_seasons.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
usage_error() { ((rc == 2)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
out_has() { grep -Eq -- "$1" <<<"$out"; }
out_lacks() { ! grep -Eq -- "$1" <<<"$out"; }
json_true() {
    python3 -c 'import json, sys
d = json.loads(open(sys.argv[2]).read())
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$1" "$work/out"
}

RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded

rk board create arena --game arena --windows daily,weekly --season-schedule 'weekly mon 00:00'
check "board create --season-schedule" succeeded , out_has "^season schedule +weekly mon 00:00 \(UTC; next end [0-9-]+ 00:00:00" , \
    out_has "^season +1, since the board's creation$"
rk board create wrong --game arena --season-schedule 'weekly funday 00:00'
check "board create with a bad schedule: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "season_schedule"
rk board update arena --season-schedule 'daily 06:30'
check "board update --season-schedule" succeeded , out_has "^season schedule +daily 06:30 "
rk board update arena --season-schedule ''
check "board update --season-schedule '': none" succeeded , out_lacks "^season schedule"

for p in sp1:100 sp2:300 sp3:200; do
    RANKD_PASSWORD=password-123 rk signup "${p%%:*}"
    rk submit arena --user "${p%%:*}" "${p#*:}"
done
check "three players submit" succeeded

rk season end arena --reason 'end of the beta'
check "season end" succeeded , out_has "^Season 1 of arena ended at .*: 3 players ranked, final standings kept. Season 2 has begun.$"
rk top arena
check "top after the end: nobody" succeeded , out_lacks "sp[123]"
rk top arena --window daily
check "top --window daily after the end: nobody" succeeded , out_lacks "sp[123]"
rk submit arena --user sp1 5
check "a new score is 1st of 1" succeeded , out_has "^rank +1 of 1$"

rk season list arena
check "season list: a table" succeeded , out_has "^SEASON +STARTED +ENDED +PLAYERS +ENDED BY$" , \
    out_has "^ +1 +\(the board's creation\) +[0-9-]+ [0-9:.]+ UTC +3 +$RANKD_ADMIN_USER$" , \
    out_has "season 2 is under way"
rk --json season list arena
check "season list --json" succeeded , json_true "d['total'] == 1 and d['current'] == 2 and d['seasons'][0]['season'] == 1"
rk season show arena 1
check "season show: the final standings" succeeded , out_has "^Season 1 of arena: .* ended by $RANKD_ADMIN_USER: end of the beta$" , \
    out_has "^ +1 +sp2 +300$" , out_has "^ +2 +sp3 +200$" , out_has "^ +3 +sp1 +100$"
rk --json season show arena 1 --offset 1 --limit 1
check "season show --json, paged" succeeded , \
    json_true "d['total'] == 3 and len(d['entries']) == 1 and d['entries'][0]['username'] == 'sp3'"

rk season show arena 2
check "season show of the current season: NOT_FOUND" failed_with NOT_FOUND "season 2 of board arena has not ended"
rk season show arena 9
check "season show of an unknown season: NOT_FOUND" failed_with NOT_FOUND
rk season show arena one
check "season show with a season that is not a number: usage error" usage_error
rk season end no-such
check "season end of an unknown board: NOT_FOUND" failed_with NOT_FOUND
rk season end arena --season 1
check "season end --season 1 in season 2: FAILED_PRECONDITION" failed_with FAILED_PRECONDITION "board arena is in season 2"
rk season end
check "season end without a board: usage error" usage_error

RANKD_PASSWORD=password-123 rk login sp1
rk season end arena
check "season end as a player: PERMISSION_DENIED" failed_with PERMISSION_DENIED
rk season list arena
check "season list as a player" succeeded

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
