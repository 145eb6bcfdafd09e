#!/usr/bin/env bash
# it_monitoring.sh - the Prometheus alert rules and the Grafana dashboard
# shipped in etc/ (run under with-services.sh).
#
# Proves that promtool accepts etc/prometheus/rankd-alerts.yml (check
# rules) and that its alerts fire on the series rankd exports, and only
# then (test rules, tests/prometheus/rankd-alerts.test.yml); that
# etc/grafana/rankd.json is a dashboard; and that every metric and label
# the rules and the dashboard name is one a running rankd's /metrics
# exports (tests/monitoring_metrics.py), so a renamed metric fails here.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_HTTP_URL, RANKD_SOURCE_DIR.
# promtool comes from Debian's prometheus package (scripts/setup-deps.sh).
# Prints "ok - ..." or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"
: "${RANKD_HTTP_URL:?run under tests/with-services.sh}"
src=${RANKD_SOURCE_DIR:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"}
rules="$src/etc/prometheus/rankd-alerts.yml"
dashboard="$src/etc/grafana/rankd.json"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_monitoring.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

# run CMD...: like rk, for any command.
run() {
    last="$*"
    rc=0
    "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
    out="$(cat "$work/out")"
    err="$(cat "$work/err")"
}
succeeded() { ((rc == 0)); }
out_has() { grep -Eq -- "$1" <<<"$out"; }

if command -v promtool >/dev/null; then
    run promtool check rules "$rules"
    check "promtool check rules: the alert rules load" succeeded , out_has "SUCCESS: [0-9]+ rules found"
    run promtool test rules "$src/tests/prometheus/rankd-alerts.test.yml"
    check "promtool test rules: each alert fires when it should, and only then" succeeded
else
    # scripts/setup-deps.sh installs prometheus: a check that cannot run fails.
    check "promtool is installed (Debian: apt-get install prometheus)" false
fi

run python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["uid"] == "rankd" and d["title"] == "rankd", "uid and title"
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)) and len(ids) >= 10, "panel ids unique, ten panels or more"
assert all(t["expr"] for p in d["panels"] for t in p.get("targets", [])), "every target has an expression"' "$dashboard"
check "the Grafana dashboard is JSON with unique panel ids and an expression per target" succeeded

# A call or two first, so the labelled series (method, code) have samples.
"$RANKCTL" status >/dev/null
"$RANKCTL" count nosuchboard >/dev/null 2>&1 || true
run curl -sSf "$RANKD_HTTP_URL/metrics"
check "GET /metrics answers" succeeded , out_has '^rankd_requests_total\{'
cp "$work/out" "$work/metrics.txt"

run python3 "$src/tests/monitoring_metrics.py" "$work/metrics.txt" "$rules" "$dashboard"
check "every metric and label the rules and the dashboard use is exported by /metrics" succeeded
sed 's/^/#   /' <<<"$out"

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
