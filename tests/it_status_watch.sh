#!/usr/bin/env bash
# it_status_watch.sh - `rankctl status --watch`, the live view of one
# server, against a real rankd (run under with-services.sh).
#
# Proves that --watch --count N --json prints exactly N lines, each one
# well-formed JSON object with the Status reply's fields (Redis's state,
# the write-behind backlog and lag, dead letters, degraded); that the
# request total grows from line to line (each refresh is a call itself),
# and that every line after the first has a rate and latencies worked out
# from the one before; that the table form has its rows; that SIGINT ends
# a watch with no --count cleanly (exit 0); and that --interval and
# --count are refused without --watch, and a bad interval is refused.
#
# Environment: RANKCTL_BIN, RANKD_URL (set by tests/CMakeLists.txt and
# with-services.sh). Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_status_watch.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
usage_error() { ((rc == 2)) && grep -Eq "^rankctl: ${1:-}" <<<"$err"; }
kv() { grep -Eq "^$1 +$2\$" <<<"$out"; }
equal() { [[ $1 == "$2" ]]; }

# lines_ok: every line of stdout a JSON object with the fields, the
# request totals increasing, and rates on all lines but the first.
lines_ok() {
    python3 - "$1" "$work/out" <<'PY'
import json, sys
want, lines = int(sys.argv[1]), open(sys.argv[2]).read().splitlines()
if len(lines) != want:
    sys.exit("%d lines, not %d" % (len(lines), want))
docs = [json.loads(l) for l in lines]
totals = [d["requests_total"] for d in docs]
if any(b <= a for a, b in zip(totals, totals[1:])):
    sys.exit("requests_total does not increase: %r" % totals)
for i, d in enumerate(docs):
    for k in ("redis_state", "writebehind_backlog", "writebehind_lag_ms", "redis_backlog", "dead_letters",
              "degraded", "latency_count", "latency_le_us", "latency_le_count"):
        if k not in d:
            sys.exit("line %d has no %s: %r" % (i + 1, k, d))
    if d["redis_state"] != "up" or d["degraded"] is not False:
        sys.exit("line %d: a healthy server is not up: %r" % (i + 1, d))
    rated = "requests_per_s" in d and "latency_p99_le_ms" in d and "interval_s" in d
    if rated != (i > 0):
        sys.exit("line %d: rates %s" % (i + 1, "present on the first" if i == 0 else "missing"))
    if i > 0 and not (d["requests_per_s"] > 0 and 0 < d["latency_p50_le_ms"] <= d["latency_p99_le_ms"]
                      and 0.1 <= d["interval_s"] < 5):
        sys.exit("line %d: odd rates %r" % (i + 1, d))
PY
}

rk --json status --watch --interval 0.2 --count 3
check "status --watch --count 3 --json: three JSON lines, requests increasing, rates after the first" \
    succeeded , lines_ok 3

rk status --watch --interval 0.2 --count 2
check "status --watch (table): the view's rows, twice" \
    succeeded , kv redis "ok \(up\)" , kv degraded no , kv requests "[0-9.]+/s \([0-9]+ in all\)" , \
    kv latency "mean [0-9.]+ ms, p50 <= [0-9.]+ ms, p99 <= [0-9.]+ ms" , \
    kv write-behind "[0-9]+ not yet in PostgreSQL, lag [0-9.]+ s" , kv "dead letters" 0 , \
    equal "$(grep -c '^rankd ' <<<"$out")" 2

# No --count: runs until SIGINT, which ends it normally.
"$RANKCTL" --json status --watch --interval 0.2 >"$work/watch" 2>"$work/watch.err" &
pid=$!
for _ in $(seq 50); do
    (($(wc -l <"$work/watch") >= 2)) && break
    sleep 0.1
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
last="rankctl --json status --watch (SIGINT)"
cp "$work/watch" "$work/out"
cp "$work/watch.err" "$work/err"
n="$(wc -l <"$work/watch")"
check "status --watch: SIGINT ends it with exit 0, every line whole" succeeded , lines_ok "$n"

rk status --count 2
check "status --count without --watch: usage error" usage_error "status: --interval and --count go with --watch"
rk status --watch --interval 0
check "status --watch --interval 0: usage error" usage_error "--interval: 0 is out of range"

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
