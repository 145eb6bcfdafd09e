#!/usr/bin/env bash
# it_rankctl_meta.sh - record metadata through rankctl (run under
# with-services.sh): submit --meta attaches a JSON object to a lap time;
# top, rank, around and history show it in a META column with --meta and
# as a JSON object with --json --meta (and leave it out without --meta); a
# better time replaces it, a worse one does not; metadata that is not a
# JSON object, or larger than 1 KiB, is INVALID_ARGUMENT and changes
# nothing.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_rankctl_meta.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
equal() { [[ $1 == "$2" ]]; }
has() { grep -Fq -- "$1" <<<"$out"; }
lacks() { ! grep -Fq -- "$1" <<<"$out"; }
body() { sed '1d; /^(/d' <<<"$out" | tr -s ' ' | sed 's/^ //; s/ $//'; }
rows_are() { [[ "$(body)" == "$(printf '%s\n' "$@")" ]]; }
header_is() { [[ "$(head -n 1 <<<"$out" | tr -s ' ' | sed 's/ $//')" == "$1" ]]; }
json_true() {
    python3 -c 'import json, sys
d = json.loads(open(sys.argv[2]).read())
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$1" "$work/out"
}

RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded
rk board create laps --game racing --order lower --policy best --windows daily
check "board create laps (lower is better)" succeeded
rk apikey create racing --label test
key="$(awk '$1 == "key" && NF == 2 { print $2 }' <<<"$out")"
check "apikey create racing" succeeded
for p in ann bob cat; do
    RANKD_PASSWORD=password-123 rk signup "$p"
done
check "signup ann, bob, cat" succeeded
export RANKD_TOKEN="$key"

# ------------------------------------------------------------------ submit
rk submit laps --user ann 61200 --meta '{"car":"rx7","replay":"r-8812"}'
check "submit with --meta" succeeded
rk submit laps --user bob 62000 --meta '{"car": "supra"}'
check "bob's lap with its car" succeeded
rk submit laps --user cat 63000
check "cat's lap without metadata" succeeded

# ------------------------------------------------------------------ reads
rk top laps --meta
check "top --meta: a META column, each time with its car" succeeded , header_is "RANK PLAYER SCORE META" , \
    rows_are '1 ann 61200 {"car":"rx7","replay":"r-8812"}' '2 bob 62000 {"car": "supra"}' '3 cat 63000 -'
rk top laps
check "top without --meta: no column" succeeded , header_is "RANK PLAYER SCORE" , lacks rx7
rk --json top laps --meta
check "top --json --meta: meta is an object" succeeded , \
    json_true 'd["entries"][0]["meta"] == {"car": "rx7", "replay": "r-8812"} and "meta" not in d["entries"][2]'
rk --json top laps
check "top --json without --meta leaves it out" succeeded , json_true '"meta" not in d["entries"][0]'
rk rank laps ann --meta
check "rank --meta" succeeded , has 'meta' , has '{"car":"rx7","replay":"r-8812"}'
rk around laps bob --meta --above 1 --below 1
check "around --meta" succeeded , \
    rows_are '1 ann 61200 {"car":"rx7","replay":"r-8812"}' '2 bob 62000 {"car": "supra"}' '3 cat 63000 -'
rk top laps --meta --window daily
check "a daily window keeps no metadata" succeeded , rows_are '1 ann 61200 -' '2 bob 62000 -' '3 cat 63000 -'

# ------------------------------------------------------------------ which record
rk submit laps --user ann 65000 --meta '{"car":"mini"}'
rk top laps --meta --limit 1
check "a worse lap leaves the record's car" succeeded , rows_are '1 ann 61200 {"car":"rx7","replay":"r-8812"}'
rk submit laps --user ann 60100 --meta '{"car":"gtr"}'
rk top laps --meta --limit 1
check "a better lap replaces it" succeeded , rows_are '1 ann 60100 {"car":"gtr"}'

# ------------------------------------------------------------------ errors
rk submit laps --user bob 1000 --meta 'car=supra'
check "not JSON: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "meta must be a JSON object"
rk submit laps --user bob 1000 --meta '["supra"]'
check "an array is not an object" failed_with INVALID_ARGUMENT "meta must be a JSON object"
big="{\"pad\":\"$(printf 'x%.0s' $(seq 1 1020))\"}"
rk submit laps --user bob 1000 --meta "$big"
check "over 1 KiB: INVALID_ARGUMENT" failed_with INVALID_ARGUMENT "meta must be at most 1024 bytes"
rk top laps --meta
check "the refused laps changed nothing" succeeded , rows_are '1 ann 60100 {"car":"gtr"}' \
    '2 bob 62000 {"car": "supra"}' '3 cat 63000 -'

# ------------------------------------------------------------------ history
# The write-behind copies the stream to PostgreSQL within moments.
for _ in $(seq 1 50); do
    rk history laps ann --meta
    if has gtr; then break; fi
    sleep 0.1
done
check "history --meta: every submission's car, newest first" succeeded , header_is "WHEN SCORE KEY META" , \
    equal "$(body | awk '{ print $NF }' | tr '\n' ' ')" '{"car":"gtr"} {"car":"mini"} {"car":"rx7","replay":"r-8812"} '
rk --json history laps ann --meta
check "history --json --meta: objects" succeeded , json_true 'd["entries"][0]["meta"] == {"car": "gtr"}'
rk history laps cat --meta
check "a submission without metadata shows -" succeeded , equal "$(body | awk '{ print $NF }')" "-"

# ------------------------------------------------------------------ submit-batch
# A line may end with the record's metadata: the rest of it from its '{'.
(unset RANKD_TOKEN && rk board create sprints --game racing --order lower >/dev/null)
rk_in 'sprints ann 9100 sp-1 {"car": "rx7", "tyres": "soft"}
sprints bob 9200 {"car":"supra"}
sprints cat 9300
sprints ann 9000 sp-2 {not json}' --token "$key" submit-batch -
check "submit-batch: metadata on a line, with or without a key; a bad one refused alone" \
    equal "$rc" 1 , has "INVALID_ARGUMENT" , equal "$(grep -c ' OK ' <<<"$out")" 3
rk top sprints --meta
check "the batch's metadata is kept with each record" succeeded , \
    rows_are '1 ann 9100 {"car": "rx7", "tyres": "soft"}' '2 bob 9200 {"car":"supra"}' '3 cat 9300 -'

echo "$passed passed, $failed failed"
((failed == 0))
