#!/usr/bin/env bash
# it_rankctl_aggregate.sh - aggregate boards through rankctl (run under
# with-services.sh): board create --sources sums a game's modes, board get
# shows what an aggregate sums and what a source counts toward, top ranks
# the sums live, and the refusals (a submission to the aggregate, a source
# that does not exist, deleting a source) are clear.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_rankctl_aggregate.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
kv() { grep -Eq "^$1 +$2\$" <<<"$out"; }
body() { sed '1d; /^(/d' <<<"$out" | tr -s ' ' | sed 's/^ //; s/ $//'; }
rows_are() { [[ "$(body)" == "$(printf '%s\n' "$@")" ]]; }
json_true() {
    python3 -c 'import json, sys
d = json.loads(open(sys.argv[2]).read())
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$1" "$work/out"
}

RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded
rk board create duel --game arena --policy best
rk board create team --game arena --policy sum
check "board create duel, team" succeeded
rk apikey create arena --label test
key="$(awk '$1 == "key" && NF == 2 { print $2 }' <<<"$out")"
for p in ann bob; do RANKD_PASSWORD=password-123 rk signup "$p"; done
check "signup ann, bob" succeeded

RANKD_TOKEN="$key" rk submit duel --user ann 50
RANKD_TOKEN="$key" rk submit team --user bob 30
check "scores before the aggregate" succeeded
rk board create arena-all --game arena --title "Every mode" --sources duel,team --reason "season totals"
check "board create --sources" succeeded , kv sums "duel, team" , kv policy sum
rk board get duel
check "board get: a source says what it counts toward" succeeded , kv "counts toward" arena-all
rk --json board get arena-all
check "board get --json: the sources" succeeded , json_true 'd["board"]["sources"] == ["duel", "team"]'

RANKD_TOKEN="$key" rk submit team --user bob 40
RANKD_TOKEN="$key" rk submit team --user ann 5
check "scores after it" succeeded
settled || echo "# the applier did not settle within 10 s"
rk top arena-all
check "top of the aggregate: the sums, live" succeeded , rows_are "1 bob 70" "2 ann 55"

RANKD_TOKEN="$key" rk submit arena-all --user ann 1
check "submit to the aggregate: FAILED_PRECONDITION" failed_with FAILED_PRECONDITION "board arena-all is an aggregate"
rk board create bad --game arena --sources duel,nope
check "an unknown source: NOT_FOUND" failed_with NOT_FOUND "source board nope not found"
rk board delete team
check "deleting a source: FAILED_PRECONDITION" failed_with FAILED_PRECONDITION "board team counts toward aggregate board arena-all"
rk board delete arena-all
check "deleting the aggregate" succeeded
rk board delete team
check "then its source" succeeded

# A hot board: --shards spreads its players; an aggregate sums plain boards only.
rk board create hot-duel --game arena --shards 4
check "board create --shards 4" succeeded , kv shards 4
RANKD_TOKEN="$key" rk submit hot-duel --user ann 30
RANKD_TOKEN="$key" rk submit hot-duel --user bob 50
rk top hot-duel
check "top of a hot board: merged from its shards" succeeded , rows_are "1 bob 50" "2 ann 30"
rk board create hot-sum --game arena --sources hot-duel
check "an aggregate of a hot board: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "board hot-duel is sharded"
rk board create too-hot --game arena --shards 17
check "--shards 17: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "shards must be 1 to 16"

echo "$passed passed, $failed failed"
((failed == 0))
