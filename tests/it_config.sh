#!/usr/bin/env bash
# rankd --check-config as an operator uses it: the shipped rankd.conf,
# edited to point at the harness's Redis and PostgreSQL, passes (exit 0);
# with either store stopped it fails (exit 1) saying which; a typo in a
# key or a flag fails (exit 2) with the line and the nearest real name;
# and rankd really starts from such a file. A Redis whose
# hash-max-listpack-entries is below what the member buckets need gets a
# warning at start.
set -uo pipefail
: "${RANKD_BIN:?run under tests/with-services.sh}" "${RANKD_SHIPPED_CONF:?}" "${RANKD_TEST_DIR:?}"
passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
    echo "not ok - $1"
    failed=$((failed + 1))
    sed 's/^/    /' "$work/out" >&2
}
# expect NAME STATUS PATTERN CMD...: CMD exits STATUS and its output matches PATTERN.
expect() {
    local name=$1 want=$2 pattern=$3 rc=0
    shift 3
    "$@" >"$work/out" 2>&1 || rc=$?
    if ((rc == want)) && grep -qE -- "$pattern" "$work/out"; then ok "$name"; else not_ok "$name (exit $rc)"; fi
}

work="$RANKD_TEST_DIR/config"
mkdir -p "$work"
conf="$work/rankd.conf"

# The shipped file with the stores' lines filled in, the way the operations
# page says to edit it.
sed -e "s|^#redis = .*|redis = $RANKD_REDIS_HOST:$RANKD_REDIS_PORT|" \
    -e "s|^#postgres = .*|postgres = $RANKD_POSTGRES|" \
    -e "s|^#listen = .*|listen = tcp://127.0.0.1:0|" \
    "$RANKD_SHIPPED_CONF" >"$conf"

expect "the edited shipped file checks out against both stores" 0 '^redis: ok' "$RANKD_BIN" --check-config "$conf"
expect "check-config names the file it read" 0 "^settings: ok \\($conf\\)" "$RANKD_BIN" --check-config "$conf"
expect "check-config also takes the file from --config" 0 '^postgres: ok' \
    "$RANKD_BIN" --config "$conf" --check-config

# Every default, uncommented, is valid (only the stores' lines changed).
sed -e 's/^#\([a-z][a-z-]* =\)/\1/' "$conf" >"$work/all.conf"
expect "every setting uncommented at its default is valid" 0 '^settings: ok' "$RANKD_BIN" --check-config "$work/all.conf"

printf 'workers = 4\nredis-conections = 2\n' >>"$work/all.conf"
lines=$(wc -l <"$work/all.conf")
expect "an unknown key fails with its line and a hint" 2 \
    "all.conf:$lines: unknown setting redis-conections; did you mean redis-connections\\?" \
    "$RANKD_BIN" --check-config "$work/all.conf"
expect "a bad value fails naming the key and its range" 2 'workers must be an integer in 1..256, not "0"' \
    "$RANKD_BIN" --check-config "$conf" --workers 0
expect "an invalid log level fails" 2 'log-level must be debug, info, warn or error, not "loud"' \
    "$RANKD_BIN" --check-config "$conf" --log-level loud
expect "an unknown flag fails with a hint" 2 'unknown flag --postgress; did you mean --postgres\?' \
    "$RANKD_BIN" --postgress x
expect "a mistyped --check-config is itself caught" 2 'did you mean --check-config\?' \
    "$RANKD_BIN" --check-confg "$conf"
expect "a missing file fails" 2 'cannot open config file' "$RANKD_BIN" --check-config "$work/nope.conf"

rk-redis-stop
expect "with Redis stopped: exit 1, Redis named" 1 '^rankd: redis: Redis at .* is unreachable' \
    "$RANKD_BIN" --check-config "$conf"
rk-redis-start
# On a cluster the file names one seed, and a master other than the seed
# may be the one that is down: every master is asked, and the one that
# does not answer is named.
read -ra nodes <<<"${RANKD_REDIS_NODES:-}"
if ((${#nodes[@]} >= 3)); then
    rk-redis-node-stop 3
    expect "on a cluster, with its third master stopped: exit 1, that master named" 1 \
        "^rankd: redis: .*:${nodes[2]}" "$RANKD_BIN" --check-config "$conf"
    rk-redis-node-start 3
    for _ in $(seq 200); do
        redis-cli -h "$RANKD_REDIS_HOST" -p "${nodes[0]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
        sleep 0.1
    done
    expect "and with it back: exit 0" 0 '^redis: ok' "$RANKD_BIN" --check-config "$conf"
fi
rk-pg-stop fast
expect "with PostgreSQL stopped: exit 1, PostgreSQL named" 1 '^rankd: postgres: PostgreSQL is unreachable' \
    "$RANKD_BIN" --check-config "$conf"
if grep -q "$RANKD_POSTGRES" "$work/out"; then
    not_ok "the conninfo (which may hold a password) is not printed"
else
    ok "the conninfo (which may hold a password) is not printed"
fi
rk-pg-start

# rankd itself starts from the edited file: the harness's rankd is stopped
# and one runs with nothing but --config (and ports of its own).
rk-rankd-stop
eval "set -- $RANKD_ARGS"
listen=$2 events=$4 http=$6
sed -i -e "s|^listen = .*|listen = $listen|" -e "s|^#events = .*|events = $events|" \
    -e "s|^#http = .*|http = $http|" "$conf"
"$RANKD_BIN" --config "$conf" >"$work/rankd.log" 2>&1 &
pid=$!
hostport=${listen#tcp://}
up=0
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null; then up=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if ((up)) && "$RANKCTL_BIN" --url "$listen" status >"$work/out" 2>&1; then
    ok "rankd started from the file answers a status call"
else
    cp "$work/rankd.log" "$work/out"
    not_ok "rankd started from the file answers a status call"
fi
kill -TERM "$pid" 2>/dev/null
rc=0
wait "$pid" || rc=$?
if ((rc == 0)); then ok "and stops with 0 on SIGTERM"; else not_ok "and stops with 0 on SIGTERM (exit $rc)"; fi
rk-rankd-start >/dev/null

# A Redis that keeps only small hashes as listpacks would store the boards'
# member buckets (up to 128 fields) as hashtables: rankd says so at start,
# and says nothing at Redis's default. On a cluster each master has its
# own setting: the one lowered is the third master, not the seed rankd
# asks first.
lp_port=${nodes[2]:-$RANKD_REDIS_PORT}
rcli() { redis-cli -h "$RANKD_REDIS_HOST" -p "$lp_port" "$@"; }
warned() { grep -c 'hash-max-listpack-entries' "$RANKD_TEST_DIR/rankd.log" || true; }
before=$(warned)
rcli CONFIG SET hash-max-listpack-entries 64 >/dev/null
rk-rankd-stop
rk-rankd-start >/dev/null
grep 'hash-max-listpack-entries' "$RANKD_TEST_DIR/rankd.log" >"$work/out" || true
if (($(warned) > before)) && grep -q "hash_max_listpack_entries=64 needed=128 node=[^ ]*:$lp_port" "$work/out"; then
    ok "a Redis with hash-max-listpack-entries 64: rankd warns at start"
else
    not_ok "a Redis with hash-max-listpack-entries 64: rankd warns at start"
fi
rcli CONFIG SET hash-max-listpack-entries 128 >/dev/null
before=$(warned)
rk-rankd-stop
rk-rankd-start >/dev/null
if (($(warned) == before)); then
    ok "at 128: no warning"
else
    grep 'hash-max-listpack-entries' "$RANKD_TEST_DIR/rankd.log" >"$work/out"
    not_ok "at 128: no warning"
fi

echo "$passed passed, $failed failed"
((failed == 0))
