#!/usr/bin/env bash
# Integration-test harness: runs a command against private, throw-away Redis,
# PostgreSQL and rankd instances on free loopback ports, then tears them all
# down again.  Many instances can run in parallel (ctest -j).
#
# usage: tests/with-services.sh [--no-rankd] -- CMD [ARGS...]
#
# Environment in:
#   RANKD_BIN          rankd binary (needed unless --no-rankd; with --no-rankd
#                      and RANKD_BIN set, the admin is still created and
#                      rk-rankd-start works)
#   FREEPORT_BIN       tests/freeport binary (falls back to `freeport` in PATH)
#   RANKD_EXTRA_ARGS   extra rankd arguments, split on whitespace
#   RANKD_KEEP_TEST_DIR=1        keep the temp dir even when CMD succeeds
#   RANKD_IGNORE_EXIT_STATUS=1   don't fail when rankd exits non-zero at teardown
#   RANKD_TEST_REDIS   which Redis to start (default: standalone, one redis-server):
#       cluster           a 3-master Redis Cluster on loopback (no replicas)
#       cluster-replicas  the same with one replica per master (failover tests)
#     Each node has its own directory under redis/ and its own client and
#     cluster-bus ports (cluster-port, so port+10000 need not be free). The
#     harness waits until every node says cluster_state:ok and every
#     replica's link to its master is up. rankd is given the masters as a
#     comma-separated --redis list.
#
# Environment for CMD:
#   RANKD_URL RANKD_EVENTS_URL RANKD_HTTP_URL RANKD_REDIS_HOST RANKD_REDIS_PORT RANKD_PG_PORT RANKD_POSTGRES
#   RANKD_TEST_DIR RANKD_ADMIN_USER RANKD_ADMIN_PASSWORD RANKD_PID
#   RANKD_REDIS_SEEDS  what rankd's --redis is given: host:port, or on a
#               cluster the masters as host:port,host:port,host:port
#               (RANKD_REDIS_HOST/PORT are then the first master's)
#   RANKD_REDIS_NODES  on a cluster: every node's client port, masters first
#               (1 2 3), then their replicas in the same order (4 5 6);
#               node N is the Nth word
#   RANKD_ARGS  rankd's arguments (without the binary), shell-quoted:
#               eval "set -- $RANKD_ARGS"; "$RANKD_BIN" "$@"
#   XDG_CONFIG_HOME=$RANKD_TEST_DIR/config, where rankctl keeps its login
#   PATH gains $RANKD_TEST_DIR/bin with these helpers, each of which blocks
#   until it is done:
#     rk-redis-stop [SIGNAL]   SHUTDOWN NOSAVE (or send SIGNAL), wait for exit;
#                              on a cluster every node
#     rk-redis-start           start Redis again (same port and data), wait for PONG;
#                              on a cluster every node at once, then cluster_state:ok
#     rk-redis-wipe            drop a stopped Redis's data (every node's; a
#                              node keeps its nodes.conf, so its slots), as a
#                              restart without its data would
#     rk-redis-node-stop N [SIGNAL]  cluster only: stop node N (SHUTDOWN NOSAVE,
#                              or send SIGNAL), wait for exit
#     rk-redis-node-wipe N     cluster only: drop stopped node N's data (it
#                              keeps its nodes.conf, so its slots)
#     rk-redis-node-start N    cluster only: start node N again (same ports,
#                              data and nodes.conf), wait for PONG
#     rk-pg-stop [MODE]        pg_ctl stop -m MODE (fast|smart|immediate; default fast)
#     rk-pg-start              start PostgreSQL again (same port and data)
#     rk-rankd-stop [SIGNAL]   send SIGNAL (default TERM), SIGKILL after 10 s;
#                              exits with rankd's own exit status
#     rk-rankd-start [ARGS]    start rankd with $RANKD_ARGS plus ARGS, wait until
#                              it accepts connections, print its pid
#     rk-rankd-pid             print the pid of the running rankd
#
# The exit status is CMD's; if CMD succeeded but rankd did not exit with 0 on
# SIGTERM at teardown (crash, sanitizer report), it is 1.  On failure the temp
# dir with all logs is kept and its path printed.
set -euo pipefail

self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
# In the sanitizer build, LeakSanitizer leaves alone the one leak of nng
# named in lsan.supp, in every process started from here.
export LSAN_OPTIONS="suppressions=$(dirname "$self")/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

log() { printf 'with-services: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# ------------------------------------------------------------------ helpers

# alive PID: the process exists and is not a zombie.
alive() {
    local stat
    [[ -n ${1:-} ]] || return 1
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ ${stat:0:1} != Z ]]
}

# wait_gone PID TENTHS: wait up to TENTHS/10 s for PID to exit.
wait_gone() {
    local i
    for ((i = 0; i < $2; i++)); do
        alive "$1" || return 0
        sleep 0.1
    done
    ! alive "$1"
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

find_pg_bin() {
    local d best=""
    if [[ -n ${RANKD_PG_BIN:-} ]]; then
        printf '%s\n' "$RANKD_PG_BIN"
        return
    fi
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x $d/initdb ]] || continue
        if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n 1) == "$d" ]]; then
            best="$d"
        fi
    done
    if [[ -z $best ]] && command -v initdb >/dev/null; then
        best="$(dirname "$(command -v initdb)")"
    fi
    [[ -n $best ]] || die "PostgreSQL server binaries not found (install postgresql)"
    printf '%s\n' "$best"
}

# as_pg CMD...: PostgreSQL refuses to run as root, so root runs it as the
# postgres system user.
as_pg() {
    if [[ $EUID -ne 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null || [[ -x /usr/sbin/runuser ]]; then
        (cd / && PATH="$PATH:/usr/sbin:/sbin" runuser -u postgres -- "$@")
    else
        (cd / && su postgres -s /bin/bash -c "$(printf '%q ' "$@")")
    fi
}

pick_port() {
    local p
    if [[ -n ${FREEPORT_BIN:-} ]]; then
        p="$("$FREEPORT_BIN")"
    elif command -v freeport >/dev/null; then
        p="$(freeport)"
    else
        die "FREEPORT_BIN is not set"
    fi
    [[ $p =~ ^[0-9]+$ ]] || die "freeport printed '$p'"
    printf '%s\n' "$p"
}

# rankd's three ports from one freeport call: ports picked one call at a
# time can repeat (the kernel may hand back the port it just freed), and a
# rankd given the same port for --listen and --events cannot start.
pick_rankd_ports() {
    local ports
    if [[ -n ${FREEPORT_BIN:-} ]]; then
        ports="$("$FREEPORT_BIN" 3)"
    elif command -v freeport >/dev/null; then
        ports="$(freeport 3)"
    else
        die "FREEPORT_BIN is not set"
    fi
    { read -r rankd_port; read -r events_port; read -r http_port; } <<<"$ports"
    [[ $rankd_port =~ ^[0-9]+$ && $events_port =~ ^[0-9]+$ && $http_port =~ ^[0-9]+$ ]] ||
        die "freeport printed '$ports'"
}

write_state() {
    local v tmp="$DIR/state.env.tmp"
    {
        for v in DIR pg_bin pg_data pg_port redis_dir redis_port redis_mode redis_seeds rankd_bin rankd_port events_port \
            http_port; do
            printf '%s=%q\n' "$v" "${!v}"
        done
        printf 'node_ports=('
        if ((${#node_ports[@]})); then printf '%q ' "${node_ports[@]}"; fi
        printf ')\nbus_ports=('
        if ((${#bus_ports[@]})); then printf '%q ' "${bus_ports[@]}"; fi
        printf ')\n'
        printf 'rankd_args=('
        if ((${#rankd_args[@]})); then printf '%q ' "${rankd_args[@]}"; fi
        printf ')\n'
    } >"$tmp"
    mv "$tmp" "$DIR/state.env"
}

set_rankd_args() {
    local extra=()
    if [[ -n ${RANKD_EXTRA_ARGS:-} ]]; then
        read -r -a extra <<<"$RANKD_EXTRA_ARGS"
    fi
    rankd_args=(--listen "tcp://127.0.0.1:$rankd_port"
                --events "tcp://127.0.0.1:$events_port"
                --http "http://127.0.0.1:$http_port"
                --redis "$redis_seeds"
                --postgres "host=127.0.0.1 port=$pg_port dbname=rankd user=rankd")
    if ((${#extra[@]})); then rankd_args+=("${extra[@]}"); fi
}

# ------------------------------------------------------------------ redis

redis_start() {
    local pid i reply
    mkdir -p "$redis_dir"
    # DEBUG is for local clients only: it_loading fills Redis with DEBUG POPULATE.
    setsid redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$redis_dir" \
        --appendonly yes --appendfsync everysec --save '' --daemonize no \
        --enable-debug-command local \
        --logfile "$redis_dir/redis.log" \
        </dev/null >>"$redis_dir/redis.out" 2>&1 &
    pid=$!
    echo "$pid" >"$DIR/redis.pid"
    for ((i = 0; i < 200; i++)); do
        if ! alive "$pid"; then
            log "redis-server exited during start; tail of $redis_dir/redis.log:"
            tail -n 20 "$redis_dir/redis.log" >&2 2>/dev/null || true
            rm -f "$DIR/redis.pid"
            return 1
        fi
        reply="$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" || true
        [[ $reply == PONG ]] && return 0
        sleep 0.1
    done
    log "redis-server did not answer PING within 20 s"
    return 1
}

redis_stop() {
    local sig=${1:-} pid
    pid="$(cat "$DIR/redis.pid" 2>/dev/null)" || return 0
    if alive "$pid"; then
        if [[ -n $sig ]]; then
            kill -s "$sig" "$pid" 2>/dev/null || true
        elif ! redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1; then
            kill -s TERM "$pid" 2>/dev/null || true
        fi
        if ! wait_gone "$pid" 100; then
            log "redis-server ($pid) did not stop in 10 s; killing it"
            kill -s KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 50 || true
        fi
    fi
    rm -f "$DIR/redis.pid"
}


# ------------------------------------------------------------------ redis cluster

# node_start N: starts cluster node N (1-based) on its ports, waits for PONG.
node_start() { node_spawn "$1" && node_wait "$1"; }

# node_spawn N: starts cluster node N's process; node_wait N: waits for
# its PONG (a node loading its data answers LOADING until it is done).
node_spawn() {
    local n=$1 port=${node_ports[$(($1 - 1))]} bus=${bus_ports[$(($1 - 1))]} d="$redis_dir/node-$1" pid
    mkdir -p "$d"
    setsid redis-server --port "$port" --cluster-port "$bus" --bind 127.0.0.1 --dir "$d" \
        --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
        --appendonly yes --appendfsync everysec --save '' --daemonize no \
        --enable-debug-command local --logfile "$d/redis.log" \
        </dev/null >>"$d/redis.out" 2>&1 &
    pid=$!
    echo "$pid" >"$DIR/redis-node-$n.pid"
}

node_wait() {
    local n=$1 port=${node_ports[$(($1 - 1))]} d="$redis_dir/node-$1" pid i reply
    pid="$(cat "$DIR/redis-node-$n.pid" 2>/dev/null)" || return 1
    for ((i = 0; i < 200; i++)); do
        if ! alive "$pid"; then
            log "cluster node $n exited during start; tail of $d/redis.log:"
            tail -n 20 "$d/redis.log" >&2 2>/dev/null || true
            rm -f "$DIR/redis-node-$n.pid"
            return 1
        fi
        reply="$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" || true
        [[ $reply == PONG ]] && return 0
        sleep 0.1
    done
    log "cluster node $n did not answer PING within 20 s"
    return 1
}

# node_stop N [SIGNAL]
node_stop() {
    local n=$1 sig=${2:-} port=${node_ports[$(($1 - 1))]} pid
    pid="$(cat "$DIR/redis-node-$n.pid" 2>/dev/null)" || return 0
    if alive "$pid"; then
        if [[ -n $sig ]]; then
            kill -s "$sig" "$pid" 2>/dev/null || true
        elif ! redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1; then
            kill -s TERM "$pid" 2>/dev/null || true
        fi
        if ! wait_gone "$pid" 100; then
            kill -s KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 50 || true
        fi
    fi
    rm -f "$DIR/redis-node-$n.pid"
}

cluster_stop() {
    local i
    for ((i = 1; i <= ${#node_ports[@]}; i++)); do node_stop "$i" "$@" || true; done
}

# cluster_restart: every node of a stopped cluster again, with its data
# and nodes.conf, all at once (as a whole cluster restarts: one node still
# loading while the others answer).
cluster_restart() {
    local n
    for ((n = 1; n <= ${#node_ports[@]}; n++)); do node_spawn "$n" || return 1; done
    for ((n = 1; n <= ${#node_ports[@]}; n++)); do node_wait "$n" || return 1; done
    cluster_wait_ok
}

# redis_wipe: the data of a stopped Redis, or of every node of a cluster.
redis_wipe() {
    if [[ $redis_mode == standalone ]]; then
        rm -rf "$redis_dir/appendonlydir" "$redis_dir/dump.rdb"
    else
        rm -rf "$redis_dir"/node-*/appendonlydir "$redis_dir"/node-*/dump.rdb
    fi
}

# cluster_wait_ok: every running node says cluster_state:ok and sees all
# of the nodes; every replica's link to its master is up.
cluster_wait_ok() {
    local i n port info ok
    for ((i = 0; i < 300; i++)); do
        ok=1
        for ((n = 1; n <= ${#node_ports[@]}; n++)); do
            port=${node_ports[$((n - 1))]}
            info="$(redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null)" || { ok=0; break; }
            grep -q '^cluster_state:ok' <<<"$info" || { ok=0; break; }
            grep -q "^cluster_known_nodes:${#node_ports[@]}" <<<"$info" || { ok=0; break; }
            if ((n > 3)); then
                redis-cli -h 127.0.0.1 -p "$port" info replication 2>/dev/null |
                    grep -q '^master_link_status:up' || { ok=0; break; }
            fi
        done
        ((ok)) && return 0
        sleep 0.1
    done
    log "the cluster did not reach cluster_state:ok within 30 s"
    return 1
}

# cluster_start: nodes 1-3 become the masters (slots split evenly by
# redis-cli), nodes 4-6 (cluster-replicas) replicate 1-3 in that order.
cluster_start() {
    local n i nodes=() id port master
    for ((n = 1; n <= ${#node_ports[@]}; n++)); do node_start "$n" || return 1; done
    for ((n = 1; n <= 3; n++)); do nodes+=("127.0.0.1:${node_ports[$((n - 1))]}"); done
    if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
        >"$redis_dir/cluster-create.log" 2>&1; then
        cat "$redis_dir/cluster-create.log" >&2
        return 1
    fi
    for ((n = 4; n <= ${#node_ports[@]}; n++)); do
        port=${node_ports[$((n - 1))]}
        master=${node_ports[$((n - 4))]}
        id="$(redis-cli -h 127.0.0.1 -p "$master" cluster myid)"
        redis-cli -h 127.0.0.1 -p "$port" cluster meet 127.0.0.1 "$master" "${bus_ports[$((n - 4))]}" >/dev/null
        # REPLICATE needs the master known to the new node first.
        for ((i = 0; i < 100; i++)); do
            redis-cli -h 127.0.0.1 -p "$port" cluster nodes 2>/dev/null | grep -q "^$id " && break
            sleep 0.1
        done
        redis-cli -h 127.0.0.1 -p "$port" cluster replicate "$id" >/dev/null || return 1
    done
    cluster_wait_ok
}

# ------------------------------------------------------------------ postgres

pg_init() {
    mkdir -p "$DIR/pg"
    if [[ $EUID -eq 0 ]]; then
        getent passwd postgres >/dev/null || die "running as root needs the postgres system user (install postgresql)"
        chown postgres: "$DIR/pg"
        as_pg test -w "$DIR/pg" ||
            die "the postgres user cannot reach $DIR (set TMPDIR to a world-traversable directory)"
    fi
    if ! as_pg "$pg_bin/initdb" -D "$pg_data" -A trust -U rankd -E UTF8 --locale=C --no-sync \
        >"$DIR/initdb.log" 2>&1; then
        cat "$DIR/initdb.log" >&2
        die "initdb failed"
    fi
    cat >>"$pg_data/postgresql.conf" <<'EOF'

# private test instance
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
# Tests run up to four rankd on one instance, each holding workers + 5 +
# writebehind-consumers connections (24 by default): more than the
# default 100.
max_connections = 400
EOF
}

pg_start() {
    if ! as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$DIR/pg/postgres.log" -w -t 60 \
        -o "-p $pg_port" start >>"$DIR/pg_ctl.log" 2>&1; then
        log "PostgreSQL did not start; tail of $DIR/pg/postgres.log:"
        tail -n 20 "$DIR/pg/postgres.log" >&2 2>/dev/null || true
        return 1
    fi
}

pg_pid() {
    local pid
    pid="$(head -n 1 "$pg_data/postmaster.pid" 2>/dev/null)" || return 1
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && printf '%s\n' "$pid"
}

pg_stop() {
    local mode=${1:-fast} pid
    [[ -d $pg_data ]] || return 0
    pid="$(pg_pid)" || return 0
    if ! as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m "$mode" -w -t 30 stop >>"$DIR/pg_ctl.log" 2>&1; then
        log "pg_ctl stop failed; killing postmaster $pid"
        kill -s QUIT "$pid" 2>/dev/null || true
        wait_gone "$pid" 50 || kill -s KILL "$pid" 2>/dev/null || true
    fi
    wait_gone "$pid" 100 || true
}

# ------------------------------------------------------------------ rankd

# rankd runs under a small bash wrapper that records its exit status, so
# that rk-rankd-stop and the teardown can report how rankd exited.
rankd_start() {
    local i pid="" extra=("$@")
    [[ -n $rankd_bin ]] || die "RANKD_BIN is not set"
    rm -f "$DIR/rankd.pid" "$DIR/rankd.exit"
    printf '=== %s starting rankd %s\n' "$(date '+%F %T')" "${rankd_args[*]} ${extra[*]}" >>"$DIR/rankd.log"
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid bash -c '
        d=$1; shift
        env --default-signal=INT,QUIT "$@" </dev/null &
        echo $! >"$d/rankd.pid.tmp" && mv "$d/rankd.pid.tmp" "$d/rankd.pid"
        wait $!
        echo $? >"$d/rankd.exit.tmp" && mv "$d/rankd.exit.tmp" "$d/rankd.exit"
    ' rankd-run "$DIR" "$rankd_bin" "${rankd_args[@]}" "${extra[@]}" \
        </dev/null >>"$DIR/rankd.log" 2>&1 &
    for ((i = 0; i < 50; i++)); do
        pid="$(cat "$DIR/rankd.pid" 2>/dev/null)" && break
        sleep 0.1
    done
    [[ -n $pid ]] || { log "rankd did not start"; return 1; }
    for ((i = 0; i < 200; i++)); do
        if [[ -e $DIR/rankd.exit ]]; then
            log "rankd exited with status $(cat "$DIR/rankd.exit") during start (see $DIR/rankd.log)"
            rm -f "$DIR/rankd.pid"
            return 1
        fi
        if port_open "$rankd_port"; then
            sleep 0.1
            if [[ -e $DIR/rankd.exit ]]; then continue; fi
            return 0
        fi
        sleep 0.1
    done
    log "rankd did not accept connections on port $rankd_port within 20 s (see $DIR/rankd.log)"
    rankd_stop KILL >/dev/null || true
    return 1
}

# rankd_stop [SIGNAL]: returns rankd's exit status (0 when it was not running).
rankd_stop() {
    local sig=${1:-TERM} pid i st
    pid="$(cat "$DIR/rankd.pid" 2>/dev/null)" || return 0
    if [[ ! -e $DIR/rankd.exit ]] && alive "$pid"; then
        kill -s "$sig" "$pid" 2>/dev/null || true
    fi
    for ((i = 0; i < 100; i++)); do
        [[ -e $DIR/rankd.exit ]] && break
        sleep 0.1
    done
    if [[ ! -e $DIR/rankd.exit ]]; then
        log "rankd ($pid) did not exit within 10 s of SIG$sig; killing it"
        kill -s KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            [[ -e $DIR/rankd.exit ]] && break
            sleep 0.1
        done
    fi
    st="$(cat "$DIR/rankd.exit" 2>/dev/null)" || st=137
    rm -f "$DIR/rankd.pid"
    return "$st"
}

# ------------------------------------------------------------------ teardown

# stop_services: stops everything; returns rankd's exit status.
stop_services() {
    local st=0
    rankd_stop TERM || st=$?
    if [[ ${redis_mode:-standalone} == standalone ]]; then redis_stop || true; else cluster_stop || true; fi
    pg_stop fast || true
    return "$st"
}

# ------------------------------------------------------------------ helper mode

if [[ ${1:-} == --helper ]]; then
    name=${2:?}
    DIR=${3:?}
    shift 3
    # shellcheck source=/dev/null
    source "$DIR/state.env"
    case $name in
        redis-start) if [[ $redis_mode == standalone ]]; then redis_start; else cluster_restart; fi ;;
        redis-stop) if [[ $redis_mode == standalone ]]; then redis_stop "$@"; else cluster_stop "$@"; fi ;;
        redis-wipe) redis_wipe ;;
        redis-node-start) node_start "$@" ;;
        redis-node-stop) node_stop "$@" ;;
        redis-node-wipe) rm -rf "$redis_dir/node-${1:?}/appendonlydir" "$redis_dir/node-$1/dump.rdb" ;;
        pg-start) pg_start ;;
        pg-stop) pg_stop "$@" ;;
        rankd-start) rankd_start "$@" && cat "$DIR/rankd.pid" ;;
        rankd-stop) rankd_stop "$@" ;;
        rankd-pid) cat "$DIR/rankd.pid" ;;
        watchdog)
            # Stops the services if the harness is killed without a chance
            # to clean up (for example by a ctest timeout).
            parent=${1:?}
            while alive "$parent"; do sleep 1; done
            if pid="$(cat "$DIR/cmd.pid" 2>/dev/null)" && alive "$pid"; then
                kill -s TERM "$pid" 2>/dev/null || true
            fi
            # shellcheck source=/dev/null
            source "$DIR/state.env"
            stop_services || true
            ;;
        *) die "unknown helper $name" ;;
    esac
    exit
fi

# ------------------------------------------------------------------ main

no_rankd=0
while (($#)); do
    case $1 in
        --no-rankd) no_rankd=1; shift ;;
        --) shift; break ;;
        *) die "usage: with-services.sh [--no-rankd] -- CMD [ARGS...]" ;;
    esac
done
(($#)) || die "usage: with-services.sh [--no-rankd] -- CMD [ARGS...]"

rankd_bin=${RANKD_BIN:-}
if [[ -n $rankd_bin ]]; then
    [[ -x $rankd_bin ]] || die "RANKD_BIN=$rankd_bin is not executable"
    rankd_bin="$(cd "$(dirname "$rankd_bin")" && pwd)/$(basename "$rankd_bin")"
elif ((!no_rankd)); then
    die "RANKD_BIN is not set"
fi
command -v redis-server >/dev/null || die "redis-server not found (run scripts/setup-deps.sh)"
pg_bin="$(find_pg_bin)"

DIR="$(mktemp -d "${TMPDIR:-/tmp}/rankd-test.XXXXXXXX")"
chmod 755 "$DIR"
pg_data="$DIR/pg/data"
redis_dir="$DIR/redis"
redis_mode=${RANKD_TEST_REDIS:-standalone}
case $redis_mode in
    standalone | cluster | cluster-replicas) ;;
    *) die "RANKD_TEST_REDIS must be standalone, cluster or cluster-replicas, not '$redis_mode'" ;;
esac
node_ports=() bus_ports=() redis_seeds=""
pg_port=0 redis_port=0 rankd_port=0 events_port=0 http_port=0
rankd_args=()
cmd_pid=""
wd_pid=""
setup_done=0

# shellcheck disable=SC2317 # invoked by trap
cleanup() {
    local status=$? rst=0
    set +e
    trap - EXIT INT TERM HUP
    [[ -n ${forced_status:-} ]] && status=$forced_status
    if [[ -n $wd_pid ]]; then
        kill -s TERM -- "-$wd_pid" 2>/dev/null || kill -s TERM "$wd_pid" 2>/dev/null
    fi
    if [[ -n $cmd_pid ]] && alive "$cmd_pid"; then
        kill -s TERM "$cmd_pid" 2>/dev/null
        wait_gone "$cmd_pid" 50 || kill -s KILL "$cmd_pid" 2>/dev/null
    fi
    stop_services
    rst=$?
    if ((rst != 0)) && ((setup_done)) && [[ ${RANKD_IGNORE_EXIT_STATUS:-0} != 1 ]]; then
        log "rankd exited with status $rst at teardown (expected 0 after SIGTERM)"
        ((status == 0)) && status=1
    fi
    # A test that ran its PostgreSQL out of connections saw UNAVAILABLE
    # answers it did not ask for: it fails here, with the reason, instead of
    # somewhere far from the cause.
    if ((status == 0)) && grep -q "too many clients already" "$DIR/pg/postgres.log" 2>/dev/null; then
        log "PostgreSQL refused connections (max_connections reached); raise it in pg_init"
        status=1
    fi
    if ((status != 0)); then
        log "exit status $status; logs kept in $DIR (rankd.log, redis/redis.log, pg/postgres.log)"
        if [[ -s $DIR/rankd.log ]]; then
            log "last 50 lines of $DIR/rankd.log:"
            tail -n 50 "$DIR/rankd.log" >&2
        fi
    elif [[ ${RANKD_KEEP_TEST_DIR:-0} == 1 ]]; then
        log "test dir kept: $DIR"
    else
        rm -rf "$DIR"
    fi
    exit "$status"
}

# shellcheck disable=SC2317 # invoked by trap
on_signal() {
    forced_status=$((128 + $2))
    log "caught SIG$1"
    exit "$forced_status"
}

trap cleanup EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal HUP 1' HUP

mkdir -p "$DIR/bin"
for h in redis-start redis-stop redis-wipe redis-node-start redis-node-stop redis-node-wipe pg-start pg-stop rankd-start rankd-stop rankd-pid; do
    printf '#!/usr/bin/env bash\nexec bash %q --helper %q %q "$@"\n' "$self" "$h" "$DIR" >"$DIR/bin/rk-$h"
    chmod +x "$DIR/bin/rk-$h"
done
write_state

setsid bash "$self" --helper watchdog "$DIR" "$$" </dev/null >/dev/null 2>&1 &
wd_pid=$!

if [[ $redis_mode == standalone ]]; then
    for attempt in 1 2 3; do
        redis_port="$(pick_port)"
        redis_seeds="127.0.0.1:$redis_port"
        write_state
        redis_start && break
        ((attempt < 3)) || die "could not start redis-server"
    done
else
    nnodes=3
    [[ $redis_mode == cluster-replicas ]] && nnodes=6
    for attempt in 1 2 3; do
        # Every node's client and bus ports from one freeport call, so
        # no two of them are the same (see pick_rankd_ports).
        mapfile -t ports < <("${FREEPORT_BIN:-freeport}" "$((2 * nnodes))")
        ((${#ports[@]} == 2 * nnodes)) || die "freeport printed ${#ports[@]} ports, not $((2 * nnodes))"
        node_ports=("${ports[@]:0:nnodes}") bus_ports=("${ports[@]:nnodes}")
        redis_port=${node_ports[0]}
        redis_seeds="127.0.0.1:${node_ports[0]},127.0.0.1:${node_ports[1]},127.0.0.1:${node_ports[2]}"
        write_state
        cluster_start && break
        cluster_stop
        rm -rf "$redis_dir"
        ((attempt < 3)) || die "could not start the Redis Cluster"
    done
fi

pg_init
for attempt in 1 2 3; do
    pg_port="$(pick_port)"
    write_state
    pg_start && break
    ((attempt < 3)) || die "could not start PostgreSQL"
done
if ! "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U rankd rankd >>"$DIR/pg_ctl.log" 2>&1; then
    cat "$DIR/pg_ctl.log" >&2
    die "createdb failed"
fi

pick_rankd_ports
set_rankd_args
write_state

admin_user=""
admin_password=""
if [[ -n $rankd_bin ]]; then
    admin_user="admin"
    admin_password="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
    if ! RANKD_ADMIN_PASSWORD="$admin_password" timeout 60 "$rankd_bin" \
        --postgres "host=127.0.0.1 port=$pg_port dbname=rankd user=rankd" \
        --redis "$redis_seeds" --create-admin "$admin_user" \
        </dev/null >"$DIR/create-admin.log" 2>&1; then
        cat "$DIR/create-admin.log" >&2
        die "rankd --create-admin failed"
    fi
fi

rankd_pid=""
if ((!no_rankd)); then
    for attempt in 1 2 3; do
        rankd_start && break
        # Retry only when another process took a port picked for rankd.
        if ((attempt == 3)) || ! { port_open "$rankd_port" || port_open "$events_port" || port_open "$http_port"; }; then
            die "could not start rankd"
        fi
        log "port $rankd_port was taken; retrying with another"
        pick_rankd_ports
        set_rankd_args
        write_state
    done
    rankd_pid="$(cat "$DIR/rankd.pid")"
fi
setup_done=1

export RANKD_URL="tcp://127.0.0.1:$rankd_port"
export RANKD_EVENTS_URL="tcp://127.0.0.1:$events_port"
export RANKD_HTTP_URL="http://127.0.0.1:$http_port"
export RANKD_REDIS_HOST=127.0.0.1
export RANKD_REDIS_PORT="$redis_port"
export RANKD_REDIS_SEEDS="$redis_seeds"
if ((${#node_ports[@]})); then RANKD_REDIS_NODES="${node_ports[*]}"; else RANKD_REDIS_NODES=""; fi
export RANKD_REDIS_NODES
export RANKD_PG_PORT="$pg_port"
export RANKD_POSTGRES="host=127.0.0.1 port=$pg_port dbname=rankd user=rankd"
export RANKD_TEST_DIR="$DIR"
export RANKD_ADMIN_USER="$admin_user"
export RANKD_ADMIN_PASSWORD="$admin_password"
export RANKD_PID="$rankd_pid"
RANKD_ARGS="$(printf '%q ' "${rankd_args[@]}")"
export RANKD_ARGS
export PATH="$DIR/bin:$PATH"
if [[ -n $rankd_bin ]]; then export RANKD_BIN="$rankd_bin"; fi
# rankctl keeps its login under XDG_CONFIG_HOME: the user's own login must
# not reach this rankd, and a test's login must not replace the user's.
export XDG_CONFIG_HOME="$DIR/config"

# CMD runs in the background (keeping stdin) so that a signal to the harness
# is handled at once rather than after CMD ends.
"$@" <&0 &
cmd_pid=$!
echo "$cmd_pid" >"$DIR/cmd.pid"
set +e
wait "$cmd_pid"
status=$?
set -e
cmd_pid=""
exit "$status"
