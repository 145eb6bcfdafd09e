#!/usr/bin/env bash
# Journey 1: an operator runs the README's first command. scripts/dev.sh
# starts a private Redis and PostgreSQL and rankd in the foreground, prints
# how to log in as the first admin, stops everything on Ctrl-C (SIGINT),
# and keeps the data for the next run. (A background job cannot be sent
# Ctrl-C's SIGINT -- shells start it ignoring SIGINT -- so this sends the
# SIGTERM that dev.sh handles the same way.) Run against a temporary data
# directory and free ports, so it never touches a developer's .rankd-dev/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${FREEPORT_BIN:?}" "${RANKCTL_BIN:?}"
passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

dir="$(mktemp -d)"
chmod 755 "$dir"
read -r rport redis_port pg_port events_port http_port < <("$FREEPORT_BIN" 5 | tr '\n' ' '; echo)
export RANKD_DEV_DIR="$dir/data" RANKD_DEV_PORT="$rport" RANKD_DEV_REDIS_PORT="$redis_port" RANKD_DEV_PG_PORT="$pg_port"
url="tcp://127.0.0.1:$rport"
ctl() { RANKD_TOKEN_FILE="$dir/token" "$RANKCTL_BIN" --url "$url" "$@"; }
pid="" tee_pid=""
# Whatever a failed run left behind: Redis by its port, PostgreSQL by its pid file.
reap() {
    redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    local pm
    pm="$(head -n 1 "$RANKD_DEV_DIR/pg/postmaster.pid" 2>/dev/null)" || true
    if [[ -n $pm ]]; then kill -INT "$pm" 2>/dev/null || true; fi
}
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; sleep 5; kill -9 "$pid" 2>/dev/null || true; fi
    if [[ -n ${tee_pid:-} ]]; then kill "$tee_pid" 2>/dev/null || true; fi
    reap
    if [[ $failed -eq 0 ]]; then rm -rf "$dir"; else echo "logs kept in $dir" >&2; fi
}
trap cleanup EXIT

# Starts dev.sh in the background and waits for its banner.
start() {
    # The background job truncates these only once it runs: a banner left
    # from the run before must not count as this run's.
    rm -f "$dir/dev.out" "$dir/dev.err"
    setsid bash "$root/scripts/dev.sh" --events "tcp://127.0.0.1:$events_port" \
        --http "http://127.0.0.1:$http_port" >"$dir/dev.out" 2>"$dir/dev.err" </dev/null &
    pid=$!
    for _ in $(seq 600); do
        grep -q "Log in as admin" "$dir/dev.err" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# Stops it as Ctrl-C does, and waits until it has exited.
stop() {
    kill -TERM "$pid"
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$pid" 2>/dev/null
}

check "dev.sh starts rankd, Redis and PostgreSQL and prints the banner" start
check "the banner says how to log in as admin" "grep -q 'login admin --password' '$dir/dev.err'"
check "the banner shows the live page and events addresses in use" \
    "grep -q 'live page   http://127.0.0.1:$http_port/ ' '$dir/dev.err' && grep -q 'events      tcp://127.0.0.1:$events_port ' '$dir/dev.err'"
check "the admin password file is private" "[[ \$(stat -c %a '$RANKD_DEV_DIR/admin-password') == 600 ]]"
check "the admin logs in with the printed command" "ctl login admin --password \"\$(cat '$RANKD_DEV_DIR/admin-password')\" >/dev/null"
check "status shows Redis and PostgreSQL up" "ctl status | grep -q 'redis *ok'"
check "a board can be created" "ctl board create journey-one --game g >/dev/null"
check "SIGTERM (as Ctrl-C) stops everything" stop
check "no Redis of ours is left" "! (exec 3<>/dev/tcp/127.0.0.1/$redis_port) 2>/dev/null"
check "no PostgreSQL of ours is left" "! (exec 3<>/dev/tcp/127.0.0.1/$pg_port) 2>/dev/null"
check "a second run starts again" start
check "the data was kept: the board is still there" "ctl board get journey-one >/dev/null"
check "and the admin token still works" "ctl whoami | grep -q admin"
check "SIGTERM stops the second run" stop

# ./scripts/dev.sh 2>&1 | tee dev.log, then Ctrl-C: the terminal's SIGINT
# ends tee as well, and every line dev.sh writes after that meets a pipe
# without a reader. Its cleanup must still stop everything.
start_piped() {
    rm -f "$dir/pipe" "$dir/tee.out"
    mkfifo "$dir/pipe"
    tee "$dir/tee.out" <"$dir/pipe" >/dev/null &
    tee_pid=$!
    setsid bash "$root/scripts/dev.sh" --events "tcp://127.0.0.1:$events_port" \
        --http "http://127.0.0.1:$http_port" >"$dir/pipe" 2>&1 </dev/null &
    pid=$!
    for _ in $(seq 600); do
        grep -q "Log in as admin" "$dir/tee.out" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}
stop_piped() {
    kill "$tee_pid"
    wait "$tee_pid" 2>/dev/null || true
    tee_pid=""
    stop
}
check "a third run, its output piped to tee, starts" start_piped
check "with tee gone, SIGTERM (as Ctrl-C) still stops dev.sh" stop_piped
check "... and its Redis" "! (exec 3<>/dev/tcp/127.0.0.1/$redis_port) 2>/dev/null"
check "... and its PostgreSQL" "! (exec 3<>/dev/tcp/127.0.0.1/$pg_port) 2>/dev/null"
check "... and its rankd" "! (exec 3<>/dev/tcp/127.0.0.1/$rport) 2>/dev/null"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
