#!/usr/bin/env bash
# it_request_log.sh - the per-request log lines of rankd (run under
# with-services.sh, whose rankd logs to $RANKD_TEST_DIR/rankd.log).
#
# Proves that with the default slow-request-ms (500) and log-level (info)
# fast calls log nothing; that with --slow-request-ms 1 a call slower
# than that logs one warn line "slow request" with the method, code,
# duration and peer (a login hashes the password with scrypt, which takes
# far longer than 1 ms on any machine); that --slow-request-ms 0 logs none; and that at log-level
# debug every call logs a "request" line with the same fields, failed
# calls with their code.
#
# Environment: RANKCTL_BIN, RANKD_URL, RANKD_TEST_DIR, RANKD_ADMIN_USER,
# RANKD_ADMIN_PASSWORD. Prints "ok - ..."
# or "not ok - ..." per check.
set -euo pipefail

RANKCTL=${RANKCTL_BIN:?RANKCTL_BIN is not set}
: "${RANKD_URL:?run under tests/with-services.sh}"
log="$RANKD_TEST_DIR/rankd.log"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_request_log.XXXXXXXX")"
trap 'rm -rf "$work"' EXIT
unset RANKD_TOKEN RANKD_PASSWORD
export HOME="$work/home" RANKD_TOKEN_FILE="$work/token"

# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"

succeeded() { ((rc == 0)); }
equal() { [[ $1 == "$2" ]]; }
# since_mark: the log written after the last `mark`.
mark() { offset=$(stat -c %s "$log"); }
since_mark() { tail -c +"$((offset + 1))" "$log"; }
logged() { grep -Eq -- "$1" <<<"$(since_mark)"; }
not_logged() { ! grep -Eq -- "$1" <<<"$(since_mark)"; }
# restart ARGS...: rankd again, with the harness's arguments and ARGS.
restart() { rk-rankd-stop >/dev/null && rk-rankd-start "$@" >/dev/null; }

slow_line='level=warn msg="slow request" method=rankd\.Auth/Login code=OK us=[0-9]+ slow_request_ms=1 peer="tcp 127\.0\.0\.1"$'

# The defaults: a fast call is not logged at all.
mark
for _ in 1 2 3; do rk count nosuchboard; done
rk status
check "defaults: fast calls log neither a request nor a slow-request line" succeeded , \
    not_logged 'msg="(slow )?request"'

restart --slow-request-ms 1
mark
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "--slow-request-ms 1: a login logs one slow-request line with method, code, duration, peer" \
    succeeded , logged "$slow_line" , equal "$(since_mark | grep -c 'msg="slow request"')" 1
check "--slow-request-ms 1: at info no debug request lines" not_logged 'msg="request"'

restart --slow-request-ms 0
mark
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" rk login "$RANKD_ADMIN_USER"
check "--slow-request-ms 0: no slow-request line" succeeded , not_logged 'msg="slow request"'

restart --log-level debug
mark
rk status
rk count nosuchboard
check "log-level debug: one request line per call, with its code" \
    logged 'level=debug msg="request" method=rankd\.Admin/Status code=OK us=[0-9]+ peer="tcp 127\.0\.0\.1"$' , \
    logged 'level=debug msg="request" method=rankd\.Ranking/Count code=NOT_FOUND us=[0-9]+ peer="tcp 127\.0\.0\.1"$'

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
