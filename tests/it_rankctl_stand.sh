#!/usr/bin/env bash
# it_rankctl_stand.sh - journey 13 through rankctl (run under
# with-services.sh): a submission says where the player was before it;
# rank shows "top x%"; count --min/--max and score-range count and list
# the players in a score range; percentile answers "what score is the top
# P%" and "what percentile is this score"; distribution draws the
# histogram; standing shows one player on every board at once. Tables and
# --json, and the errors (bad bounds, percentages and bucket counts, an
# empty board, an unknown player); and the pure Redis reads stay on the
# event loops.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_HTTP_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_rankctl_stand.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
usage_error() { ((rc == 2)) && grep -Eq "^rankctl: ${1:-}" <<<"$err"; }
kv() { grep -Eq "^$1 +$2\$" <<<"$out"; }
body() { sed '1d; /^(/d' <<<"$out" | tr -s ' ' | sed 's/^ //; s/ $//'; }
rows_are() { [[ "$(body)" == "$(printf '%s\n' "$@")" ]]; }
last_line_is() { [[ "$(tail -n 1 <<<"$out")" == "$1" ]]; }
equal() { [[ $1 == "$2" ]]; }
json_true() {
    python3 -c 'import json, sys
d = json.loads(open(sys.argv[2]).read())
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$1" "$work/out"
}

RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded
rk board create arena --game arena --order higher --policy best
check "board create arena" succeeded
rk board create laps --game arena --order lower --policy best
check "board create laps (lower is better)" succeeded
rk board create quiet --game arena --order higher --policy best
check "board create quiet (nobody plays it)" succeeded
rk apikey create arena --label test
key="$(awk '$1 == "key" && NF == 2 { print $2 }' <<<"$out")"
check "apikey create arena" succeeded
for p in pl1 pl2 pl3 pl4 pl5 pl6; do
    RANKD_PASSWORD=password-123 rk signup "$p"
done
check "signup pl1..pl6" succeeded
export RANKD_TOKEN="$key"
for ps in pl1:100 pl2:200 pl3:300 pl4:300 pl5:500 pl6:600; do
    rk submit arena --user "${ps%%:*}" "${ps#*:}"
done
check "six scores on arena" succeeded
rk submit laps --user pl1 90
rk submit laps --user pl2 80
check "two times on laps" succeeded

# ------------------------------------------------------------------ previous place
rk submit arena --user pl1 350
check "submit: pl1 climbs from 6th (100) to 3rd" succeeded , kv rank "3 of 6" , kv before "rank 6, score 100"
rk submit arena --user pl1 10
check "submit: a worse score changes nothing: before is now" succeeded , kv rank "3 of 6" , \
    kv before "rank 3, score 350"
rk --json submit laps --user pl2 70
check "submit --json: previous_rank and previous_score" succeeded , \
    json_true 'd["previous_rank"] == 1 and d["previous_score"] == 80 and d["rank"] == 1'
# arena now: pl6 600, pl5 500, pl1 350, pl3 300, pl4 300, pl2 200.

# ------------------------------------------------------------------ percentiles on ranks
rk rank arena pl3
check "rank: top x% is 100 * competition rank / players (4 of 6)" succeeded , kv rank 4 , kv percentile "top 66.67%"
rk --json top arena --limit 2
check "top --json: each entry's percentile" succeeded , \
    json_true '[round(e["percentile"], 4) for e in d["entries"]] == [16.6667, 33.3333]'

# ------------------------------------------------------------------ by score
rk count arena --min 300
check "count --min 300: five" succeeded , equal "$out" 5
rk count arena --min 300 --max 400
check "count --min 300 --max 400: three" succeeded , equal "$out" 3
rk count arena --max 5
check "count --max 5: nobody" succeeded , equal "$out" 0
rk count arena --min 5 --max 4
check "count: --min above --max is a usage error" usage_error "--min must not be above --max"
rk count arena --min 9007199254740993
check "count: a bound beyond 2^53 is a usage error" usage_error
rk score-range arena --min 300 --max 400
check "score-range: the range in board order, ranks on the whole board" succeeded , \
    rows_are "3 pl1 350" "4 pl3 300" "4 pl4 300" , last_line_is "(3 players in the range, 6 on the board)"
rk score-range arena --min 300 --offset 1 --limit 2
check "score-range --offset 1 --limit 2: a page of the range" succeeded , rows_are "2 pl5 500" "3 pl1 350" , \
    last_line_is "(5 players in the range, 6 on the board)"
rk --json score-range laps --max 95
check "score-range --json on a lower-is-better board: total and entries" succeeded , \
    json_true 'd["total"] == 2 and [e["username"] for e in d["entries"]] == ["pl2", "pl1"]'
rk score-range nope --min 1
check "score-range: an unknown board is NOT_FOUND" failed_with NOT_FOUND "board nope not found"

# ------------------------------------------------------------------ percentile
rk percentile arena --top 50
check "percentile --top 50: the 3rd of 6 players' score" succeeded , kv score 350 , kv rank "3 of 6" , \
    kv percentile "top 50%"
rk percentile arena --score 400
check "percentile --score 400: two better, so 3rd" succeeded , kv score 400 , kv rank "3 of 6"
rk --json percentile laps --score 75
check "percentile --json on laps: 75 is beaten by 70 only" succeeded , \
    json_true 'd["rank"] == 2 and d["board_size"] == 2 and d["percentile"] == 100'
rk percentile arena
check "percentile: neither --top nor --score is a usage error" usage_error "percentile: give exactly one"
rk percentile arena --top 0
check "percentile --top 0: a usage error" usage_error "--top: '0' is not a percentage"
rk percentile quiet --top 10
check "percentile on a board without players: FAILED_PRECONDITION" failed_with FAILED_PRECONDITION "board quiet has no players"

# ------------------------------------------------------------------ distribution
rk distribution arena --buckets 5
check "distribution --buckets 5: 200..600 in buckets of 81" succeeded , \
    rows_are "200 280 1 ##############" "281 361 3 ########################################" "362 442 0" \
    "443 523 1 ##############" "524 600 1 ##############" , last_line_is "(6 players on the board)"
rk --json distribution arena --min 0 --max 999 --buckets 10
check "distribution --json with bounds: ten buckets of 100" succeeded , \
    json_true '[b.get("count", 0) for b in d["buckets"]] == [0, 0, 1, 3, 0, 1, 1, 0, 0, 0] and d["buckets"][3]["min_score"] == 300'
rk distribution arena --buckets 5 --user pl1
check "distribution --user: the player's bucket marked, and where they stand" succeeded , \
    rows_are "200 280 1 ##############" "281 361 3 ######################################## <" "362 442 0" \
    "443 523 1 ##############" "524 600 1 ##############" , last_line_is "(<: the player, score 350, rank 3, top 50%)"
rk distribution arena --buckets 101
check "distribution --buckets 101: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "buckets 101 is not between 1 and 100"
rk distribution quiet
check "distribution of an empty board: no buckets" succeeded , last_line_is "(0 players on the board)"

# ------------------------------------------------------------------ standing
rk standing pl1
check "standing pl1: the global board first, then every board by id" succeeded , \
    rows_are "global 3 350 50 6" "arena 3 350 50 6" "laps 2 90 100 2" , last_line_is "(on 3 boards)"
rk standing pl1 --game arena --limit 1
check "standing --game --limit 1: that game's boards only, paged" succeeded , rows_are "arena 3 350 50 6" , \
    last_line_is "(on 2 boards)"
rk --json standing '#1' --offset 5
check "standing --json past the end: no boards" succeeded , json_true 'd.get("boards", []) == []'
rk standing nobody
check "standing: an unknown player is NOT_FOUND" failed_with NOT_FOUND "user nobody not found"

# ------------------------------------------------------------------ lanes
# Percentile and Distribution are pure Redis reads: the event loops answer
# them, and none reached the worker pool. (ScoreRange's call on the unknown
# board "nope" did: a board not in memory is looked up there.)
metrics="$(python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1] + "/metrics").read().decode())' "${RANKD_HTTP_URL:?}")"
to_workers() {
    grep -E "^rankd_requests_to_workers_total\{method=\"rankd.Ranking/($1)\"\}" <<<"$metrics" |
        awk '{ s += $2 } END { print s + 0 }'
}
check "percentile and distribution ran on the event loops" equal "$(to_workers 'Percentile|Distribution')" 0
check "score-range too, but for the unknown board" equal "$(to_workers ScoreRange)" 1

echo "$passed passed, $failed failed"
((failed == 0))
