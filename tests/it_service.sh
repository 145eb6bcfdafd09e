#!/usr/bin/env bash
# it_service.sh - rankd under systemd, without systemd: the installed unit
# passes `systemd-analyze verify` and has the keys the operations page
# promises (Type=notify, the rankd user, the installed paths, reload,
# a stop timeout longer than rankd's drain, hardening); rankd reports
# READY=1, RELOADING=1 and STOPPING=1 on $NOTIFY_SOCKET the way systemd
# listens for them; SIGHUP applies a changed log-level from the config
# file, and a file that no longer loads changes nothing.
#
# usage: tests/with-services.sh -- bash tests/it_service.sh
# Environment in: RANKD_BUILD_DIR, RANKD_SOURCE_DIR.
set -uo pipefail
: "${RANKD_BUILD_DIR:?}" "${RANKD_SOURCE_DIR:?}" "${RANKD_TEST_DIR:?run under tests/with-services.sh}"

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); }
check() {
    local name=$1 log="$work/check.log"
    shift
    if "$@" >"$log" 2>&1; then ok "$name"; else
        not_ok "$name"
        sed 's/^/    /' "$log" >&2
    fi
}
# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
    local i n=$(($1 * 10))
    shift
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

work="$RANKD_TEST_DIR/service"
mkdir -p "$work"
prefix="$work/prefix"
cmake --install "$RANKD_BUILD_DIR" --prefix "$prefix" >"$work/install.log" 2>&1 || {
    cat "$work/install.log" >&2
    exit 1
}
unit="$prefix/lib/systemd/system/rankd.service"

# ------------------------------------------------------------------ the unit

key() { sed -n "s/^$1=//p" "$unit"; }
drain_ms="$(sed -n 's/^#define DRAIN_MS \([0-9]*\)$/\1/p' "$RANKD_SOURCE_DIR/server/main.c")"
check "the unit is Type=notify and runs as the rankd user" \
    bash -c '[[ $1 == notify && $2 == rankd && $3 == rankd ]]' _ "$(key Type)" "$(key User)" "$(key Group)"
check "ExecStart runs the installed rankd with the installed config file" \
    test "$(key ExecStart)" == "$prefix/bin/rankd --config $prefix/etc/rankd/rankd.conf"
check "ExecReload sends SIGHUP" test "$(key ExecReload)" == '/bin/kill -HUP $MAINPID'
stop_s="$(key TimeoutStopSec)"
check "TimeoutStopSec ($stop_s s) leaves room after the ${drain_ms} ms drain" \
    bash -c '[[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ ]] && (($1 * 1000 >= $2 + 10000))' _ "$stop_s" "$drain_ms"
hardened() {
    local k rc=0
    for k in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
        RestrictSUIDSGID=yes 'CapabilityBoundingSet=' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'; do
        grep -qx -- "$k" "$unit" || {
            echo "missing: $k"
            rc=1
        }
    done
    return $rc
}
check "the unit carries the hardening options" hardened
if command -v systemd-analyze >/dev/null; then
    # Warnings (an unknown key, a bad value, a missing binary or man page)
    # go to stderr while the exit status stays 0: any output fails.
    verify() {
        local out
        out="$(MANPATH="$prefix/share/man" systemd-analyze verify "$unit" 2>&1)"
        echo "$out"
        [[ -z $out ]]
    }
    check "systemd-analyze verify accepts the installed unit without a warning" verify
else
    echo "ok - systemd-analyze verify # skip: systemd-analyze is not installed"
fi

# ------------------------------------------------------------------ notify and reload

# systemd's side of sd_notify: a datagram socket that logs what arrives.
notify_sock="$work/notify.sock"
notify_log="$work/notify.log"
: >"$notify_log"
python3 -u - "$notify_sock" "$notify_log" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        for line in s.recv(4096).decode().split("\n"):
            if line:
                log.write(line + "\n")
EOF
listener=$!
trap 'kill "$listener" 2>/dev/null' EXIT
wait_for 5 test -S "$notify_sock" || echo "the notify listener did not start" >&2

# An SP peer that completes the handshake and then sends nothing: rankd
# closes it after idle-timeout-ms and says so at debug level.
idle_peer() {
    python3 - "${RANKD_URL#tcp://}" <<'EOF'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.sendall(b"\x00SP\x00\x00\x30\x00\x00")  # REQ (48), version 0
s.recv(8)
time.sleep(1.5)
EOF
}

conf="$work/rankd.conf"
printf 'log-level = info\n' >"$conf"
rk-rankd-stop
rankd_log="$RANKD_TEST_DIR/rankd.log"
start_line=$(($(wc -l <"$rankd_log") + 1))
# log_has PATTERN: rankd's log since this rankd started matches PATTERN.
log_has() { tail -n "+$start_line" "$rankd_log" | grep -q -- "$1"; }
pid="$(NOTIFY_SOCKET="$notify_sock" rk-rankd-start --config "$conf" --idle-timeout-ms 500)"
check "rankd says READY=1 once it accepts calls" wait_for 5 grep -qx READY=1 "$notify_log"

idle_peer
sleep 0.5
log_lacks() { ! log_has "$1"; }
check "at log-level info the idle peer's closing is not logged" log_lacks "idle connections closed"

printf 'log-level = debug\n' >"$conf"
kill -HUP "$pid"
check "SIGHUP reloads the file and says what it applied" \
    wait_for 5 log_has 'msg="configuration reloaded" log_level=debug'
check "reloading is reported as RELOADING=1 then READY=1" \
    wait_for 5 bash -c '[[ $(tr "\n" " " <"$1") == "READY=1 RELOADING=1 READY=1 " ]]' _ "$notify_log"
idle_peer
check "at log-level debug (after SIGHUP) the idle peer's closing is logged" \
    wait_for 3 log_has "idle connections closed"

printf 'log-level = debug\nlog-levle = error\n' >"$conf"
kill -HUP "$pid"
check "a file that no longer loads is refused on SIGHUP, naming the line" \
    wait_for 5 log_has "configuration not reloaded.*rankd.conf:2: unknown setting log-levle; did you mean log-level?"
check "and rankd still answers" "$RANKCTL_BIN" --url "$RANKD_URL" status

rc=0
rk-rankd-stop || rc=$?
check "SIGTERM: STOPPING=1, then exit 0" bash -c '(($1 == 0)) && tail -n 1 "$2" | grep -qx STOPPING=1' _ "$rc" "$notify_log"
rk-rankd-start >/dev/null

echo "$passed passed, $failed failed"
((failed == 0))
