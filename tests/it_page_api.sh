#!/usr/bin/env bash
# it_page_api.sh - the live page's player view and distribution routes
# (/api/player, /api/history, /api/distribution) against a real rankd,
# Redis and PostgreSQL (run under with-services.sh).
#
# Proves that a player's rank, score and "top x%" are those of the board;
# that their submissions come back oldest first, the latest `limit` of
# them with the total; that the histogram holds every player and marks the
# named one's bucket; that every malformed parameter is 400, an unknown
# board or player 404, each with a JSON error that says what is wrong;
# that a crowd of requests at once is answered (200, or 503 beyond the
# queue) and none is left hanging; and that with Redis gone the player's
# rank comes from PostgreSQL's history.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_HTTP_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD (tests/CMakeLists.txt and with-services.sh).
# Needs python3 to read the JSON. Prints "ok - ..." or "not ok - ..." per
# check and "N passed, M failed".
set -euo pipefail
: "${RANKD_HTTP_URL:?run under tests/with-services.sh}" "${RANKCTL_BIN:?}" "${RANKD_URL:?}"
: "${RANKD_ADMIN_USER:?}" "${RANKD_ADMIN_PASSWORD:?}"
command -v python3 >/dev/null || {
    echo "not ok - python3 is needed to read the answers"
    echo "0 passed, 1 failed"
    exit 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/it_page_api.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

passed=0 failed=0
status="" body=""

# get PATH: sets status (the HTTP status) and body, over bash's /dev/tcp
# and HTTP/1.0 (no curl needed).
get() {
    local hostport=${RANKD_HTTP_URL#http://} reply
    exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" "$hostport" >&3
    reply=$(cat <&3)
    exec 3<&-
    # Split without pipes: a reader that stops early (head, sed q) would
    # kill printf with SIGPIPE, and pipefail the whole test (exit 141).
    local first=${reply%%$'\n'*}
    read -r _ status _ <<<"$first"
    headers=${reply%%$'\r\n\r\n'*}
    body=${reply#*$'\r\n\r\n'}
}

# json EXPR: evaluates a Python expression over the body parsed as `d`.
json() { python3 -c 'import json, sys; d = json.loads(sys.stdin.read()); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" <<<"$body" 2>/dev/null; }

# check DESCRIPTION STATUS [PY-EXPR]: the last answer had STATUS and, when
# given, the body satisfies PY-EXPR.
check() {
    if [[ $status == "$2" ]] && { [[ $# -lt 3 ]] || json "$3"; }; then
        echo "ok - $1"
        passed=$((passed + 1))
    else
        echo "not ok - $1"
        printf '#   status %s, body: %s\n' "$status" "${body:0:600}"
        failed=$((failed + 1))
    fi
}

rk() { "$RANKCTL_BIN" --url "$RANKD_URL" "$@" >/dev/null; }

# ------------------------------------------------------------------ a board with three players

s=$RANDOM
game="pg$s" board="page-$s" ann="ann_$s" bob="bob_$s" cat="cat_$s" dan="dan_$s"
RANKD_PASSWORD=$RANKD_ADMIN_PASSWORD rk login "$RANKD_ADMIN_USER"
rk board create "$board" --game "$game" --title "Page $s" --windows daily
key=$("$RANKCTL_BIN" --url "$RANKD_URL" --json apikey create "$game" --label page-api |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
for u in "$ann" "$bob" "$cat" "$dan"; do RANKD_PASSWORD=page-api-pw rk signup "$u"; done
submit() { RANKD_TOKEN=$key rk submit "$board" --user "$1" "$2"; }
submit "$ann" 100
submit "$bob" 300
submit "$cat" 200
submit "$ann" 150
submit "$ann" 120 # not better than 150: counted in the history, not in the rank

# ------------------------------------------------------------------ /api/player

get "/api/player?board=$board&name=$bob"
check "/api/player: the leader is rank 1 of 3 with 300, top 33.3%" 200 \
    "d['ok'] and d['username'] == '$bob' and d['user_id'] > 0 and d['rank'] == 1 and d['score'] == 300 and d['board_size'] == 3 and abs(d['percentile'] - 100/3) < 1e-3 and d['from_history'] is False and d['window'] == 'all'"
if grep -qi '^content-type: application/json' <<<"$headers" && grep -qi '^cache-control: no-store' <<<"$headers"; then
    echo "ok - /api/player's Content-Type is application/json and Cache-Control no-store"
    passed=$((passed + 1))
else
    echo "not ok - /api/player's Content-Type is application/json and Cache-Control no-store"
    printf '#   %s\n' "$headers"
    failed=$((failed + 1))
fi
get "/api/player?board=$board&name=$ann"
check "/api/player: ann's rank counts her best score (150), not her last (120): rank 3, top 100%" 200 \
    "d['rank'] == 3 and d['score'] == 150 and d['percentile'] == 100"
check "/api/player: an entry without metadata has no meta key" 200 "'meta' not in d"
get "/api/player?board=$board&name=$cat&window=daily"
check "/api/player in the daily window: cat is 2nd there too" 200 "d['rank'] == 2 and d['window'] == 'daily'"
get "/api/player?board=$board&name=$dan"
check "/api/player: a player without a score is 404 and says so" 404 \
    "d['ok'] is False and 'has no score' in d['error'] and '$dan' in d['error']"
get "/api/player?board=$board&name=nobody_$s"
check "/api/player: an unknown player is 404 'no player'" 404 "d['error'] == 'no player nobody_$s'"
get "/api/player?board=no-such-$s&name=$ann"
check "/api/player: an unknown board is 404 'no board'" 404 "d['error'] == 'no board no-such-$s'"
get "/api/player?board=$board&name=$ann&window=weekly"
check "/api/player: a window the board does not keep is 400" 400 "'keeps no weekly window' in d['error']"
get "/api/player?board=$board&name=$ann&window=hourly"
check "/api/player: an unknown window is 400" 400 "'window must be' in d['error']"
get "/api/player?board=$board"
check "/api/player without a name is 400" 400 "d['error'].startswith('name:')"
get "/api/player?board=$board&name=a%20b"
check "/api/player with a name that is no username is 400" 400 "d['error'].startswith('name:')"
get "/api/player?board=$board&name=$(printf 'x%.0s' {1..40})"
check "/api/player with a 40-character name is 400 (not cut to 32)" 400 "'3 to 32' in d['error']"
get "/api/player?board=BAD%20ID&name=$ann"
check "/api/player with a malformed board id is 400" 400 "'board' in d['error']"
get "/api/player?name=$ann"
check "/api/player without a board is 400" 400 "'board' in d['error']"
get "/api/player?board=global&name=$ann&window=daily"
check "/api/player: the global board has only the all-time window (400)" 400 "'all-time' in d['error']"

# ------------------------------------------------------------------ /api/history

# The write-behind puts submissions into PostgreSQL within moments.
for _ in $(seq 50); do
    get "/api/history?board=$board&name=$ann"
    if [[ $status == 200 ]] && json "d['total'] == 3"; then break; fi
    sleep 0.1
done
check "/api/history: ann's three submissions, oldest first, with times" 200 \
    "[e['score'] for e in d['entries']] == [100, 150, 120] and d['total'] == 3 and d['order'] == 'higher' and all(e['at_us'] > 1.6e15 for e in d['entries']) and d['entries'][0]['at_us'] <= d['entries'][1]['at_us'] <= d['entries'][2]['at_us'] and not any('removed' in e or 'held' in e for e in d['entries'])"
get "/api/history?board=$board&name=$ann&limit=2"
check "/api/history?limit=2: the latest two, oldest first, and the total of three" 200 \
    "[e['score'] for e in d['entries']] == [150, 120] and d['total'] == 3"
get "/api/history?board=$board&name=$dan"
check "/api/history: a player without submissions has an empty history" 200 "d['entries'] == [] and d['total'] == 0"
for bad in 0 1001 abc -1 99999999999999999999; do
    get "/api/history?board=$board&name=$ann&limit=$bad"
    check "/api/history?limit=$bad is 400" 400 "d['error'] == 'limit must be a number from 1 to 1000'"
done
get "/api/history?board=$board&name=nobody_$s"
check "/api/history: an unknown player is 404" 404 "d['error'] == 'no player nobody_$s'"
get "/api/history?board=no-such-$s&name=$ann"
check "/api/history: an unknown board is 404" 404 "d['error'] == 'no board no-such-$s'"
get "/api/history?board=global&name=$ann"
check "/api/history of the global board is 400 (it keeps no submissions of its own)" 400 "'global board' in d['error']"

# ------------------------------------------------------------------ /api/distribution

get "/api/distribution?board=$board&buckets=3"
check "/api/distribution: 3 buckets from 150 to 300 holding the 3 players" 200 \
    "len(d['buckets']) == 3 and sum(b['count'] for b in d['buckets']) == 3 and d['buckets'][0]['min'] == 150 and d['buckets'][-1]['max'] == 300 and d['board_size'] == 3 and 'player' not in d"
get "/api/distribution?board=$board&buckets=3&name=$cat"
check "/api/distribution&name=cat marks cat's bucket, with rank and percentile" 200 \
    "(lambda p: p['username'] == '$cat' and p['score'] == 200 and p['rank'] == 2 and d['buckets'][p['bucket']]['min'] <= 200 <= d['buckets'][p['bucket']]['max'])(d['player'])"
get "/api/distribution?board=$board"
check "/api/distribution: 20 buckets by default, at most" 200 "1 <= len(d['buckets']) <= 20"
get "/api/distribution?board=$board&name=$dan"
check "/api/distribution&name=dan: a player without a score is named but not marked" 200 \
    "d['player']['username'] == '$dan' and 'bucket' not in d['player']"
for bad in 0 101 x1; do
    get "/api/distribution?board=$board&buckets=$bad"
    check "/api/distribution?buckets=$bad is 400" 400 "d['error'] == 'buckets must be a number from 1 to 100'"
done
get "/api/distribution?board=no-such-$s"
check "/api/distribution: an unknown board is 404" 404 "d['error'] == 'no board no-such-$s'"
get "/api/distribution?board=$board&name=nobody_$s"
check "/api/distribution: an unknown player to mark is 404" 404 "d['error'] == 'no player nobody_$s'"
get "/api/distribution?board=global"
check "/api/distribution of the global board is 200" 200 "isinstance(d['buckets'], list)"

# ------------------------------------------------------------------ a crowd at once

# 150 at once against a queue of 64: each is answered 200 or 503 (never
# left waiting, never a 500), and rankd answers normally afterwards.
for i in $(seq 150); do
    (
        # A connection that could not be made says so (the listen queue
        # of a loaded machine), rather than leaving no answer to count.
        if ! get "/api/player?board=$board&name=$bob"; then status=no-connection; fi
        echo "${status:-empty}" >"$work/crowd.$i"
    ) &
done
wait
codes=$(cat "$work"/crowd.* | sort | uniq -c | tr -s ' ' | tr '\n' ',')
n200=$(cat "$work"/crowd.* | grep -c '^200$' || true)
n503=$(cat "$work"/crowd.* | grep -c '^503$' || true)
status=$((n200 + n503 == 150 ? 200 : 0)) body="$codes"
check "150 requests at once are all answered 200 or 503 ($codes)" 200
get "/api/player?board=$board&name=$bob"
check "... and the next one is answered as before" 200 "d['rank'] == 1"

# ------------------------------------------------------------------ metadata

# After the others: cat's new record moves the places they count on.
RANKD_TOKEN=$key rk submit "$board" --user "$cat" 250 --meta '{"car":"rx7","replay":"r-8812"}'
get "/api/player?board=$board&name=$cat"
check "/api/player: an entry with metadata carries it as an object" 200 \
    "d['score'] == 250 and d['meta'] == {'car': 'rx7', 'replay': 'r-8812'}"

# ------------------------------------------------------------------ Redis gone

rk-redis-stop >/dev/null
sleep 1.5 # the recovery job sees it within a second
get "/api/player?board=$board&name=$bob"
check "with Redis down /api/player answers from PostgreSQL's history (from_history)" 200 \
    "d['rank'] == 1 and d['score'] == 300 and d['board_size'] == 3 and d['from_history'] is True"
get "/api/distribution?board=$board&buckets=3&name=$ann"
check "with Redis down /api/distribution answers from the history too" 200 \
    "sum(b['count'] for b in d['buckets']) == 3 and d['player']['score'] == 150 and d['from_history'] is True"
rk-redis-start >/dev/null

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
