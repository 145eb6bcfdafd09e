#!/usr/bin/env bash
# Operating rankd over HTTP: /healthz answers while the process runs,
# /readyz says ready when Redis and PostgreSQL answer and not ready (503)
# when PostgreSQL is down, /metrics speaks Prometheus text with the request
# counters and latency histograms, and the page and its API are served.
set -euo pipefail
: "${RANKD_HTTP_URL:?run under tests/with-services.sh}" "${RANKCTL_BIN:?}"
passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

# GET URL -> "STATUS BODY" without curl: bash's /dev/tcp and HTTP/1.0.
get() {
    local hostport=${RANKD_HTTP_URL#http://} path=$1
    exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
    local reply
    reply=$(cat <&3)
    exec 3<&-
    # The status line without a pipe into head (SIGPIPE under pipefail).
    local first=${reply%%$'\n'*} status
    read -r _ status _ <<<"$first"
    printf '%s\n' "$status"
    printf '%s\n' "$reply" | sed '1,/^\r$/d'
}

"$RANKCTL_BIN" --url "$RANKD_URL" status >/dev/null # one RPC for the counters
sleep 1.2 # the health thread checks once a second

out=$(get /healthz)
check "/healthz is 200" "[[ \$(head -1 <<<\"\$out\") == 200 ]]"
out=$(get /readyz)
check "/readyz is 200 and says ready" "[[ \$(head -1 <<<\"\$out\") == 200 ]] && grep -q '^ready' <<<\"\$out\""
out=$(get /metrics)
check "/metrics counts requests by method and code" "grep -q 'rankd_requests_total{method=\"rankd.Admin/Status\",code=\"OK\"} [1-9]' <<<\"\$out\""
check "/metrics has latency histograms" "grep -q 'rankd_request_duration_seconds_bucket{method=\"rankd.Admin/Status\",le=\"+Inf\"}' <<<\"\$out\""
check "/metrics has the write-behind and events gauges" "grep -q '^rankd_writebehind_backlog ' <<<\"\$out\" && grep -q '^rankd_events_published_total{kind=\"top\"}' <<<\"\$out\""
out=$(get /)
check "/ serves the live page" "[[ \$(head -1 <<<\"\$out\") == 200 ]] && grep -qi '<html' <<<\"\$out\""
out=$(get /api/boards)
check "/api/boards lists the global board" "grep -q '\"id\":\"global\"' <<<\"\$out\""
out=$(get '/api/top?board=BAD%20ID')
check "/api/top refuses a bad board id with 400" "[[ \$(head -1 <<<\"\$out\") == 400 ]]"

# /api/top is anonymous: what it asks for must exist, and what the events
# thread remembers for it stays bounded however many ids are tried.
watched() { get /metrics | sed -n 's/^rankd_events_boards_watched \([0-9]*\)$/\1/p'; }
out=$(get '/api/top?board=no-such-board&window=all')
check "/api/top answers 404 for a board that does not exist, and names it" \
    "[[ \$(head -1 <<<\"\$out\") == 404 ]] && grep -q 'no board no-such-board' <<<\"\$out\""
out=$(get '/api/top?board=global&window=all')
check "/api/top asks for the global board's top (200)" "[[ \$(head -1 <<<\"\$out\") == 200 ]]"
sleep 0.3 # the events thread takes asks once a tick
before=$(watched)
check "/metrics counts the boards the events thread watches" "[[ -n '$before' && '$before' -ge 1 ]]"
unknown_404=0
for i in $(seq 300); do
    code=$(get "/api/top?board=ghost-$i&window=daily" | sed -n 1p)
    if [[ $code == 404 ]]; then unknown_404=$((unknown_404 + 1)); fi
done
sleep 0.3
after=$(watched)
check "300 unknown board ids are all answered 404" "[[ $unknown_404 -eq 300 ]]"
check "300 unknown board ids leave the watched boards as they were ($before -> $after)" \
    "[[ -n '$after' && '$after' -eq '$before' ]]"

# A watched board that stays quiet is forgotten after 600 coalescing
# intervals: 6 s with --coalesce-ms 10.
rk-rankd-stop >/dev/null
rk-rankd-start --coalesce-ms 10 >/dev/null
get '/api/top?board=global&window=all' >/dev/null
sleep 0.3
first=$(watched)
check "a fresh rankd watches the global board once asked" "[[ '$first' == 1 ]]"
gone=""
for _ in $(seq 40); do
    sleep 0.25
    if [[ $(watched) == 0 ]]; then gone=yes; break; fi
done
check "... and forgets it after 600 quiet coalescing intervals (6 s here)" "[[ '$gone' == yes ]]"
rk-rankd-stop >/dev/null
rk-rankd-start >/dev/null

rk-pg-stop fast
sleep 1.5
out=$(get /readyz)
check "/readyz is 503 with PostgreSQL down, and says why" "[[ \$(head -1 <<<\"\$out\") == 503 ]] && grep -q 'postgres unreachable' <<<\"\$out\""
out=$(get /healthz)
check "/healthz still 200" "[[ \$(head -1 <<<\"\$out\") == 200 ]]"
rk-pg-start
sleep 1.5
out=$(get /readyz)
check "/readyz is 200 again when PostgreSQL is back" "[[ \$(head -1 <<<\"\$out\") == 200 ]]"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
