#!/usr/bin/env bash
# it_rankctl_live.sh - rankctl's history, report, standings, admin rebuild,
# events and watch, typed at the real rankctl against a real rankd, Redis
# and PostgreSQL (run under with-services.sh).
#
# Proves that a player's submissions come back newest first with the total,
# page and filter by time; that an all-time report is the live top exactly
# (ranks, players, scores), as a table, CSV and JSON, while a bounded period
# is computed by PostgreSQL; that standings of a window never closed is
# NOT_FOUND; that only an admin may rebuild and a rebuild changes no rank;
# that `events` prints one JSON line per event and stops after --count or
# --timeout; and that `watch` redraws the top when a new leader arrives.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_EVENTS_URL, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD (set by tests/CMakeLists.txt and with-services.sh).
# Prints "ok - ..." or "not ok - ..." per check and "N passed, M failed".
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"
: "${RANKD_EVENTS_URL:?run under tests/with-services.sh}"
: "${RANKD_ADMIN_USER:?run under tests/with-services.sh}"
: "${RANKD_ADMIN_PASSWORD:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_rankctl_live.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT

unset RANKD_TOKEN RANKD_PASSWORD XDG_CONFIG_HOME
export HOME="$work/home"
export RANKD_TOKEN_FILE="$work/config/rankd/token"

have_python=0
if python3 -c 'import json, csv' >/dev/null 2>&1; then have_python=1; fi

# ------------------------------------------------------------------ checks

# rk, rk_in, check and the counters, shared with the other rankctl tests.
# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

# check_py DESCRIPTION PYTHON-EXPRESSION: true with stdout as `out` (text)
# and, when it parses, `d` (one JSON document).
check_py() {
    if ((!have_python)); then
        skipped=$((skipped + 1))
        printf '# skip - %s (python3 is not available)\n' "$1"
        return
    fi
    check "$1" py_true "${@:2}"
}

py_true() {
    python3 -c 'import csv, io, json, sys
out = sys.stdin.read()
try:
    d = json.loads(out)
except ValueError:
    d = None
sys.exit(0 if eval("(" + sys.argv[1] + "\n)") else 1)' "$@" <"$work/out" 2>>"$work/err"
}

succeeded() { ((rc == 0)); }
failed_with() { ((rc == 1)) && grep -Eq "^rankctl: $1: ${2:-}" <<<"$err"; }
usage_error() {
    ((rc == 2)) && grep -Eq "^rankctl: ${1:-}" <<<"$err" &&
        grep -Eq "^(usage: rankctl |Run 'rankctl help')" <<<"$err"
}
out_has() { grep -Eq -- "$1" <<<"$out"; }
equal() { [[ $1 == "$2" ]]; }
# body: the rows of a table without its header and "(...)" line, blanks squeezed.
body() { sed '1d; /^(/d' <<<"$out" | tr -s ' ' | sed 's/^ //; s/ $//'; }
rows_are() { [[ "$(body)" == "$(printf '%s\n' "$@")" ]]; }
# history_rows_are ROW...: the SCORE and KEY columns of a history table.
history_rows_are() { [[ "$(body | awk '{ print $(NF - 1), $NF }')" == "$(printf '%s\n' "$@")" ]]; }
last_line_is() { [[ "$(tail -n 1 <<<"$out")" == "$1" ]]; }
nonempty() { [[ -n $1 ]]; }

# history_total BOARD USER: the total `history` reports, once the
# write-behind has put every submission in PostgreSQL.
history_total() { "$RANKCTL" --json history "$1" "$2" --limit 1 | sed -n 's/^.*"total":[^0-9]*\([0-9]*\).*$/\1/p'; }
# settle BOARD USER N: waits up to 10 s until USER has N submissions in history.
settle() {
    local i
    for ((i = 0; i < 100; i++)); do
        [[ "$(history_total "$1" "$2")" == "$3" ]] && return 0
        sleep 0.1
    done
    return 1
}

# ------------------------------------------------------------------ setup

RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "admin login" succeeded
rk board create tetris --game tetris --title Tetris --windows daily,weekly,monthly --min 0
check "board create tetris (all, daily, weekly, monthly)" succeeded
rk apikey create tetris --label live
key="$(awk '$1 == "key" && NF == 2 { print $2 }' <<<"$out")"
check "apikey create tetris" succeeded , nonempty "$key"
signups=0
for u in alice bob carol dave erin; do
    RANKD_PASSWORD="secret-$u-1" rk signup "$u"
    ((rc == 0)) || signups=$((signups + 1))
done
check "signup alice, bob, carol, dave and erin" equal "$signups" 0
# sub USER SCORE [KEY]: a submission by the game server; failures counted.
sub_failures=0
sub() {
    rk --token "$key" submit tetris --user "$1" "$2" ${3:+--idempotency-key "$3"}
    ((rc == 0)) || sub_failures=$((sub_failures + 1))
}

# ------------------------------------------------------------------ history

# alice plays four times: two before `mid` (a whole second), two after.
sub alice 100 h-1
sub alice 300 h-2
sleep 1.1
mid="$(date +%s)"
sub alice 200
sub alice 500 h-4
sub bob 400
sub carol 400
sub erin 50
check "eight submissions accepted" equal "$sub_failures" 0
check "history reaches PostgreSQL (write-behind) within 10 s" settle tetris alice 4

rk history tetris alice
check "history: newest first, WHEN SCORE KEY, '-' for no key, the total" succeeded , \
    out_has "^WHEN +SCORE +KEY$" , history_rows_are "500 h-4" "200 -" "300 h-2" "100 h-1" , \
    last_line_is "(4 submissions)"
check "history: WHEN is UTC with milliseconds" \
    out_has "^20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} UTC +500 +h-4$"
rk history tetris alice --offset 1 --limit 2
check "history --offset 1 --limit 2: the middle two, and which of the total they are" \
    succeeded , history_rows_are "200 -" "300 h-2" , last_line_is "(2-3 of 4 submissions)"
rk history tetris alice --offset 9
check "history past the end: no rows, the total still shown" \
    succeeded , equal "$(body)" "" , last_line_is "(none after the first 9 of 4 submissions)"
rk history tetris alice --from "$mid"
check "history --from (Unix seconds): only the later two" \
    succeeded , history_rows_are "500 h-4" "200 -" , last_line_is "(2 submissions)"
rk history tetris alice --to "$mid"
check "history --to: only the earlier two (--to is not included)" \
    succeeded , history_rows_are "300 h-2" "100 h-1"
rk history tetris alice --from "$(date -u -d "@$mid" +%FT%TZ)" --to 2999-01-01
check "history --from 2026-...T...Z --to a date: the later two" succeeded , history_rows_are "500 h-4" "200 -"
rk --json history tetris alice
check "history --json: exit 0" succeeded
check_py "history --json: the reply, newest first, with microsecond times and the total" \
    '[e["score"] for e in d["entries"]] == [500, 200, 300, 100] and d["total"] == 4 and
     [e.get("idempotency_key", "") for e in d["entries"]] == ["h-4", "", "h-2", "h-1"] and
     all(a["submitted_at_us"] > b["submitted_at_us"] for a, b in zip(d["entries"], d["entries"][1:]))'
rk history tetris dave
check "history of a player with no submissions: (0 submissions)" \
    succeeded , last_line_is "(0 submissions)"
rk history tetris nobody
check "history of an unknown player: NOT_FOUND" failed_with NOT_FOUND
rk history tetris alice --from 2026-13-01
check "history --from with no such month: usage error" usage_error "--from: '2026-13-01' is not a valid date"
rk history tetris alice --from yesterday
check "history --from with words: usage error" usage_error "--from: 'yesterday' is not a time"
rk history tetris alice --from 2026-10-02 --to 2026-10-01
check "history --from after --to: usage error" usage_error "--from must be before --to"

# ------------------------------------------------------------------ report

rk --json top tetris --limit 100
top_json=$out
rk top tetris --limit 100
top_rows="$(body)"
rk report tetris --limit 100
check "report (all time): the rows of top exactly, source redis" succeeded , \
    equal "$(body)" "$top_rows" , last_line_is "(4 players, all time; source: redis)"
rk --json report tetris --limit 100
report_json=$out
check_py "report --json (all time) equals top: ranks, players, scores, size" \
    '(lambda t: [(e["rank"], e["user_id"], e["username"], e["score"]) for e in d["entries"]] ==
      [(e["rank"], e["user_id"], e["username"], e["score"]) for e in t["entries"]] and
      d["board_size"] == t["board_size"] == 4 and d["source"] == "redis")(json.loads(sys.argv[2]))' "$top_json"
rk report tetris --format json --limit 100
check "report --format json is --json" succeeded , equal "$out" "$report_json"
rk report tetris --from 2020-01-01 --to 2999-01-01
check "report over a bounded period: PostgreSQL, the same ranking (ties share a rank)" succeeded , \
    rows_are "1 alice 500" "2 bob 400" "2 carol 400" "4 erin 50" , \
    last_line_is "(4 players, from 2020-01-01 00:00:00 UTC to 2999-01-01 00:00:00 UTC; source: postgres)"
rk report tetris --from "$mid" --rank-mode dense
check "report --from: scores of the period only (alice's best after mid is 500)" succeeded , \
    rows_are "1 alice 500" "2 bob 400" "2 carol 400" "3 erin 50"
rk report tetris --to "$mid"
check "report --to: only alice had played before mid, best 300" succeeded , rows_are "1 alice 300" , \
    out_has "^\(1 player, before "
rk report tetris --format csv
check "report --format csv: header, then rank,user_id,username,score" succeeded , \
    out_has "^rank,user_id,username,score$" , out_has "^1,[0-9]+,alice,500$" , \
    out_has "^2,[0-9]+,bob,400$" , out_has "^2,[0-9]+,carol,400$"
check_py "report --format csv: parses as CSV, one row per player, the same as --json" \
    '(lambda rows, j: rows[0] == ["rank", "user_id", "username", "score"] and
      [[int(r[0]), int(r[1]), r[2], int(r[3])] for r in rows[1:]] ==
      [[e["rank"], e["user_id"], e["username"], e["score"]] for e in j["entries"]])(
      list(csv.reader(io.StringIO(out))), json.loads(sys.argv[2]))' "$report_json"
rk report tetris --from 2999-01-01T00:00:00Z
check "report of an empty period: no rows" succeeded , equal "$(body)" "" , out_has "^\(0 players, since "
day="$(date -u +%F)"
rk report tetris --from "$day" --to "$(date -u -d "$day + 1 day" +%F)"
if [[ "$(date -u +%F)" == "$day" ]]; then
    check "report of exactly today: Redis's daily window answers" succeeded , out_has "source: redis\)$"
else
    skipped=$((skipped + 1))
    echo "# skip - report of today (the UTC day changed while the test ran)"
fi
rk report global --limit 3
check "report global (all time): the global board" succeeded , rows_are "1 alice 500" "2 bob 400" "2 carol 400"
rk report nope
check "report of an unknown board: NOT_FOUND" failed_with NOT_FOUND
rk report tetris --format xml
check "report --format xml: usage error" usage_error "--format: 'xml' is not one of table, csv, json"
rk --json report tetris --format csv
check "report: --json with --format csv is a usage error" usage_error "report: --json and --format csv"
rk report tetris --rank-mode best
check "report --rank-mode best: usage error" usage_error "--rank-mode: 'best' is not one of"

# ------------------------------------------------------------------ standings

rk standings tetris --window weekly --at 2020-W01
check "standings of a window that never closed: NOT_FOUND, exit 1" \
    failed_with NOT_FOUND "no final standings for board tetris"
rk --json standings tetris --window daily --at 2020-01-01
check_py "standings --json failure: the error document, code 5" 'd["code"] == 5 and d["code_name"] == "NOT_FOUND"'
rk standings tetris --window daily --at 2020-W01
check "standings: a label of the wrong shape is INVALID_ARGUMENT" failed_with INVALID_ARGUMENT
rk standings tetris --at 2020-01
check "standings without --window: usage error" usage_error "standings: --window is required"
rk standings tetris --window all --at 2020-01
check "standings --window all: usage error" usage_error "--window: 'all' is not one of daily, weekly, monthly"
rk standings tetris --window monthly
check "standings without --at: usage error" usage_error "standings: --at is required"

# ------------------------------------------------------------------ admin rebuild

rk admin rebuild
check "admin rebuild (every board) as admin" succeeded , \
    out_has "^Rebuilt [0-9]+ boards? from PostgreSQL: [0-9]+ entr(y|ies) written to Redis\.$"
rk --json admin rebuild tetris
check "admin rebuild --json tetris: exit 0" succeeded
check_py "admin rebuild tetris: one board, its entries counted" 'd["boards"] == 1 and d["entries"] >= 4'
rk top tetris --limit 100
check "after the rebuild: top is unchanged" succeeded , equal "$(body)" "$top_rows"
rk admin rebuild nope
check "admin rebuild of an unknown board: NOT_FOUND" failed_with NOT_FOUND
rk --token "" admin rebuild
check "admin rebuild with no token: UNAUTHENTICATED" failed_with UNAUTHENTICATED
rk login alice --password secret-alice-1
check "alice logs in" succeeded
rk admin rebuild
check "admin rebuild as a player: PERMISSION_DENIED, exit 1" failed_with PERMISSION_DENIED
rk admin rebuild a b
check "admin rebuild with two boards: usage error" usage_error "admin rebuild: unexpected argument 'b'"

# ------------------------------------------------------------------ events

# bg_until_done PID USER: while the background rankctl PID runs (at most
# 10 s), USER submits ever higher scores; then the exit status in bg_rc.
bg_rc=0
next_score=1000
bg_until_done() {
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$1" 2>/dev/null || break
        next_score=$((next_score + 1000))
        "$RANKCTL" --token "$key" submit tetris --user "$2" "$next_score" >/dev/null 2>&1 || true
        sleep 0.2
    done
    bg_rc=0
    wait "$1" || bg_rc=$?
}
# run_bg FILE ARGS...: rankctl ARGS in the background, stdout to FILE.
run_bg() {
    local file=$1
    shift
    "$RANKCTL" "$@" >"$file" 2>"$file.err" </dev/null &
    bg_pid=$!
}
# load FILE: makes a background run's output the one checks look at.
load() {
    last="rankctl (background) with output $1"
    rc=$bg_rc
    cp "$1" "$work/out"
    cp "$1.err" "$work/err"
    out="$(cat "$1")"
    err="$(cat "$1.err")"
}
line_count_is() { (($(grep -c . <<<"$out") == $1)); }

run_bg "$work/events" events --count 2 --timeout 10
bg_until_done "$bg_pid" dave
load "$work/events"
check "events --count 2 while scores arrive: exit 0, exactly two lines" succeeded , line_count_is 2
check_py "events: each line one JSON document, a topic and one event of the board (or of global, which it feeds)" \
    'all((lambda e: len(e) == 2 and list(e)[0] == "topic" and
          (e["topic"].startswith("tetris/tetris/") and list(e.values())[1]["board_id"] == "tetris" or
           e["topic"] == "@global/global/top/all/" and e["top"]["board_id"] == "global"))(json.loads(l))
         for l in out.splitlines())'

run_bg "$work/events-top" events --topic tetris/tetris/top/all/ --topic tetris/tetris/player/ --count 3 --timeout 10
bg_until_done "$bg_pid" dave
load "$work/events-top"
check "events with two --topic prefixes: exit 0, three lines" succeeded , line_count_is 3
check_py "events --topic: only those topics; a top carries board, seq and entries" \
    'all(json.loads(l)["topic"] == "tetris/tetris/top/all/" and json.loads(l)["top"]["board_id"] == "tetris" and
         json.loads(l)["top"]["seq"] >= 1 and json.loads(l)["top"]["entries"] or
         json.loads(l)["topic"].startswith("tetris/tetris/player/") and "rank" in json.loads(l)
         for l in out.splitlines())'

SECONDS=0
rk events --topic nobody/ --timeout 1
check "events --timeout 1 with nothing to show: exit 0 after about a second, no output" \
    succeeded , equal "$out" "" , test "$SECONDS" -le 4
rk events --count 0
check "events --count 0: usage error" usage_error "--count: 0 is out of range"
rk events --timeout soon
check "events --timeout soon: usage error" usage_error "--timeout: 'soon' is not a number of seconds"
rk events --events-url "not a url" --timeout 1
check "events with an address nng cannot dial: exit 1" failed_with INVALID_ARGUMENT "cannot dial"

# ------------------------------------------------------------------ watch

# Frames of `watch` output that is not a terminal are separated by blank lines.
frames() { awk 'BEGIN { RS = "" } END { print NR }' <<<"$out"; }
# frame_has N REGEX: frame N (0: the last) has a line matching REGEX.
frame_has() {
    awk -v n="$1" 'BEGIN { RS = "" } { f[NR] = $0 } END { print f[n ? n : NR] }' <<<"$out" |
        grep -Eq -- "$2"
}
run_bg "$work/watch" watch tetris --limit 3 --count 2 --timeout 10
for ((i = 0; i < 50; i++)); do
    grep -q '^RANK ' "$work/watch" && break
    sleep 0.1
done
leader=dave
bg_until_done "$bg_pid" erin
load "$work/watch"
check "watch --count 2 (not a tty): exit 0, the first top and two redrawn ones" succeeded , \
    equal "$(frames)" 3
check "watch: the first frame is the top when it started" frame_has 1 "^ +1 +$leader +[0-9]+$"
check "watch: each frame has a title line and RANK PLAYER SCORE MOVE" \
    equal "$(grep -c '^tetris (all): [0-9]* players at 20.* UTC$' <<<"$out")" 3 , \
    equal "$(grep -c '^RANK  *PLAYER  *SCORE  *MOVE$' <<<"$out")" 3
check "watch: the first redrawn frame shows erin as the new leader (new), $leader one down" \
    frame_has 2 "^ +1 +erin +[0-9]+ +new$" , frame_has 2 "^ +2 +$leader +[0-9]+ +▼1$"
check "watch: the last frame shows erin still leading" \
    frame_has 0 "^ +1 +erin +[0-9]+$"

run_bg "$work/watch-json" --json watch global --count 1 --timeout 10
for ((i = 0; i < 50; i++)); do
    [[ -s $work/watch-json ]] && break
    sleep 0.1
done
bg_until_done "$bg_pid" carol
load "$work/watch-json"
check "watch --json global: exit 0, two lines" succeeded , line_count_is 2
check_py "watch --json: each state a TopChanged of the global board; the update has a seq" \
    '(lambda a, b: a["board_id"] == b["board_id"] == "global" and a["game"] == "@global" and
      "seq" not in a and b["seq"] >= 1 and b["entries"][0]["rank"] == 1)(
      *[json.loads(l) for l in out.splitlines()])'

rk watch nope --timeout 1
check "watch of an unknown board: NOT_FOUND" failed_with NOT_FOUND "board nope not found"
rk watch tetris --limit 0
check "watch --limit 0: usage error" usage_error "--limit: must be at least 1"

rk help
check "help lists the new commands" succeeded , out_has "^  history " , out_has "^  report " , \
    out_has "^  standings " , out_has "^  admin rebuild " , out_has "^  events " , out_has "^  watch "

if ((skipped)); then echo "# $skipped checks skipped"; fi
echo "$passed passed, $failed failed"
((failed == 0))
