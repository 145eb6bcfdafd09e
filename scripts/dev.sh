#!/usr/bin/env bash
# One command from a fresh checkout to a running rankd: installs the build
# dependencies, builds, starts a private Redis and PostgreSQL whose data is
# kept in .rankd-dev/ across runs, creates the first admin once, and runs
# rankd in the foreground.  Ctrl-C (or SIGTERM) stops rankd, Redis and
# PostgreSQL.
#
# usage: scripts/dev.sh [EXTRA RANKD ARGS...]
# Ports (loopback only): RANKD_DEV_PORT (rankd, 7400), RANKD_DEV_REDIS_PORT
# (6391), RANKD_DEV_PG_PORT (5441).  RANKD_DEV_LOG_LEVEL (info).
# RANKD_DEV_DIR: where the data lives (default .rankd-dev/ in the checkout).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

rankd_port=${RANKD_DEV_PORT:-7400}
redis_port=${RANKD_DEV_REDIS_PORT:-6391}
pg_port=${RANKD_DEV_PG_PORT:-5441}
log_level=${RANKD_DEV_LOG_LEVEL:-info}
dev="${RANKD_DEV_DIR:-$root/.rankd-dev}"
pg_data="$dev/pg"
pg_log="$dev/postgres.log"
redis_dir="$dev/redis"
pw_file="$dev/admin-password"
conninfo="host=127.0.0.1 port=$pg_port dbname=rankd user=rankd"

say() { printf 'dev: %s\n' "$*" >&2 2>/dev/null || true; }
die() { say "$*"; exit 1; }

alive() {
    local stat
    [[ -n ${1:-} ]] || return 1
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ ${stat:0:1} != Z ]]
}

wait_gone() {
    local i
    for ((i = 0; i < $2; i++)); do
        alive "$1" || return 0
        sleep 0.1
    done
    ! alive "$1"
}

# PostgreSQL refuses to run as root, so root runs it as the postgres user.
as_pg() {
    if [[ $EUID -ne 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null || [[ -x /usr/sbin/runuser ]]; then
        (cd / && PATH="$PATH:/usr/sbin:/sbin" runuser -u postgres -- "$@")
    else
        (cd / && su postgres -s /bin/bash -c "$(printf '%q ' "$@")")
    fi
}

for p in "$rankd_port" "$redis_port" "$pg_port"; do
    [[ $p =~ ^[0-9]+$ ]] || die "bad port '$p'"
done

# ------------------------------------------------------------------ build
bash scripts/setup-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2

pg_bin=""
for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/initdb ]] || continue
    if [[ -z $pg_bin ]] || [[ $(printf '%s\n%s\n' "$pg_bin" "$d" | sort -V | tail -n 1) == "$d" ]]; then
        pg_bin="$d"
    fi
done
[[ -n $pg_bin ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"

# ------------------------------------------------------------------ state dir
mkdir -p "$dev" "$redis_dir"
chmod 755 "$dev"
exec 9>"$dev/lock"
flock -n 9 || die "scripts/dev.sh is already running in this checkout"

if [[ $EUID -eq 0 ]]; then
    getent passwd postgres >/dev/null || die "running as root needs the postgres system user (install postgresql)"
    as_pg test -x "$dev" || die "PostgreSQL cannot run as root and the postgres user cannot reach $dev;" \
        "run scripts/dev.sh as a normal user or from a checkout other users can traverse"
fi

rankd_pid=""
redis_pid=""

stop_rankd() {
    local pid=$1
    alive "$pid" || return 0
    kill -s TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 100; then
        say "rankd ($pid) did not stop within 10 s; killing it"
        kill -s KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 50 || true
    fi
}

stop_redis() {
    local pid=$1
    alive "$pid" || return 0
    redis-cli -h 127.0.0.1 -p "$redis_port" shutdown >/dev/null 2>&1 || kill -s TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 100; then
        kill -s KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 50 || true
    fi
}

stop_pg() {
    [[ -f $pg_data/postmaster.pid ]] || return 0
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

# Leftovers of a run that was killed without cleaning up.
if pid="$(cat "$dev/rankd.pid" 2>/dev/null)" && alive "$pid" &&
    [[ $(tr '\0' ' ' <"/proc/$pid/cmdline") == *rankd\ --listen* ]]; then
    say "stopping rankd left over from an earlier run ($pid)"
    stop_rankd "$pid"
fi
if pid="$(cat "$dev/redis.pid" 2>/dev/null)" && alive "$pid" && [[ $(cat "/proc/$pid/comm") == redis-server ]]; then
    say "stopping Redis left over from an earlier run ($pid)"
    stop_redis "$pid"
fi
stop_pg
rm -f "$dev/rankd.pid" "$dev/redis.pid"

# shellcheck disable=SC2317 # invoked by trap
cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM HUP
    # Our output may be a pipe whose reader is gone (dev.sh | tee dev.log,
    # then Ctrl-C, which ends tee too): the first line written would kill
    # this shell with SIGPIPE and leave rankd, Redis and PostgreSQL
    # running. Ignored, a write just fails (EPIPE), and the stopping goes on.
    trap '' PIPE
    if [[ -n $rankd_pid ]] && alive "$rankd_pid"; then
        say "stopping rankd"
        stop_rankd "$rankd_pid"
    fi
    if [[ -n $redis_pid ]]; then
        say "stopping Redis"
        stop_redis "$redis_pid"
    fi
    say "stopping PostgreSQL"
    stop_pg
    rm -f "$dev/rankd.pid" "$dev/redis.pid"
    say "stopped; data kept in $dev"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------------------ PostgreSQL
fresh_pg=0
if [[ ! -f $pg_data/PG_VERSION ]]; then
    say "creating PostgreSQL cluster in .rankd-dev/pg"
    rm -rf "$pg_data"
    mkdir -p "$pg_data"
    chmod 700 "$pg_data"
    [[ $EUID -ne 0 ]] || chown postgres: "$pg_data"
    if ! as_pg "$pg_bin/initdb" -D "$pg_data" -A trust -U rankd -E UTF8 --locale=C \
        >"$dev/initdb.log" 2>&1; then
        cat "$dev/initdb.log" >&2
        rm -rf "$pg_data"
        die "initdb failed"
    fi
    cat >>"$pg_data/postgresql.conf" <<'EOF'

# private development instance (scripts/dev.sh); the port is given at start
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
EOF
    fresh_pg=1
fi
touch "$pg_log"
if [[ $EUID -eq 0 ]]; then
    # The data must belong to the user that runs the server.
    [[ $(stat -c %U "$pg_data") == postgres ]] || chown -R postgres: "$pg_data"
    chown postgres: "$pg_log"
fi

say "starting PostgreSQL on 127.0.0.1:$pg_port"
if ! as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 -o "-p $pg_port" start \
    >/dev/null 2>&1 9>&-; then
    tail -n 20 "$pg_log" >&2
    die "PostgreSQL did not start (port $pg_port in use? set RANKD_DEV_PG_PORT)"
fi
if [[ -z $("$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U rankd -d postgres -Atc \
    "select 1 from pg_database where datname = 'rankd'") ]]; then
    "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U rankd rankd
fi

# ------------------------------------------------------------------ Redis
say "starting Redis on 127.0.0.1:$redis_port"
setsid redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$redis_dir" \
    --appendonly yes --appendfsync everysec --save '' --daemonize no \
    --logfile "$redis_dir/redis.log" </dev/null >>"$redis_dir/redis.out" 2>&1 9>&- &
redis_pid=$!
echo "$redis_pid" >"$dev/redis.pid"
for ((i = 0; ; i++)); do
    if ! alive "$redis_pid"; then
        tail -n 20 "$redis_dir/redis.log" >&2
        die "Redis did not start (port $redis_port in use? set RANKD_DEV_REDIS_PORT)"
    fi
    [[ $(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null || true) == PONG ]] && break
    ((i < 300)) || die "Redis did not answer PING within 30 s"
    sleep 0.1
done

# ------------------------------------------------------------------ first admin
if [[ ! -s $pw_file ]] || ((fresh_pg)); then
    new_pw=0
    if [[ ! -s $pw_file ]]; then
        (umask 077 && od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$pw_file")
        new_pw=1
    fi
    chmod 600 "$pw_file"
    say "creating the admin user"
    if ! RANKD_ADMIN_PASSWORD="$(cat "$pw_file")" ./build/rankd --postgres "$conninfo" \
        --redis "127.0.0.1:$redis_port" --create-admin admin </dev/null 9>&-; then
        ((new_pw)) && rm -f "$pw_file"
        die "rankd --create-admin failed"
    fi
fi

# ------------------------------------------------------------------ rankd
# rankd is detached from the terminal (setsid) so that Ctrl-C reaches only
# this script, which then stops rankd, Redis and PostgreSQL in order.
setsid ./build/rankd --listen "tcp://127.0.0.1:$rankd_port" --redis "127.0.0.1:$redis_port" \
    --postgres "$conninfo" --log-level "$log_level" "$@" </dev/null 9>&- &
rankd_pid=$!
echo "$rankd_pid" >"$dev/rankd.pid"
for ((i = 0; ; i++)); do
    alive "$rankd_pid" || break
    (exec 3<>"/dev/tcp/127.0.0.1/$rankd_port") 2>/dev/null && break
    ((i < 200)) || die "rankd did not accept connections on port $rankd_port within 20 s"
    sleep 0.1
done

# The banner shows the addresses rankd uses: its defaults unless given.
http_url=http://127.0.0.1:7480 events_url=tcp://127.0.0.1:7401
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
        --http) http_url=${args[i + 1]:-} ;;
        --http=*) http_url=${args[i]#--http=} ;;
        --events) events_url=${args[i + 1]:-} ;;
        --events=*) events_url=${args[i]#--events=} ;;
    esac
done

if alive "$rankd_pid"; then
    cat >&2 <<EOF

  rankd       tcp://127.0.0.1:$rankd_port   (pid $rankd_pid)
  live page   ${http_url%/}/        (also /healthz, /readyz, /metrics)
  events      $events_url          (rankctl events, rankctl watch BOARD)
  Redis       127.0.0.1:$redis_port         data in $dev/redis
  PostgreSQL  $conninfo   data in $dev/pg

  Log in as admin from another terminal, in $root:
    ./build/rankctl --url tcp://127.0.0.1:$rankd_port login admin --password "\$(cat '$dev/admin-password')"
    ./build/rankctl --url tcp://127.0.0.1:$rankd_port status

  Ctrl-C stops rankd, Redis and PostgreSQL; the data stays for the next run.

EOF
fi

set +e
wait "$rankd_pid"
status=$?
set -e
if ((status != 0)); then
    say "rankd exited with status $status"
fi
exit "$status"
