#!/usr/bin/env bash
# rankd pointed at a Redis Cluster (the harness's, RANKD_TEST_REDIS=cluster):
# through one node, and through the masters as a seed list, it starts
# with Redis (not degraded) and says it routes by slot. Had it refused,
# its last line would have to say what is wrong with the Redis it was
# given, never an empty error, a bare MOVED, or a seed list looked up as
# one host name. Then, served by that rankd (the split layout, which auto
# picks on a cluster), submissions and ranked reads work, the global board
# follows them, and the history has each of them once.
set -uo pipefail
: "${RANKD_BIN:?run under tests/with-services.sh}" "${RANKD_TEST_DIR:?}" "${RANKD_REDIS_SEEDS:?}" "${RANKD_ARGS:?}"
passed=0 failed=0
work="$RANKD_TEST_DIR/cluster-start"
mkdir -p "$work"
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
    echo "not ok - $1"
    failed=$((failed + 1))
    sed 's/^/    /' "$work/out" >&2
}

# run_against ADDR: rankd with --redis ADDR, for at most 15 s (a rankd that
# serves is stopped then); sets rc (124: it was serving).
run_against() {
    local addr=$1 args=() a=0 i
    eval "set -- $RANKD_ARGS"
    args=("$@")
    for i in "${!args[@]}"; do [[ ${args[$i]} == --redis ]] && a=$((i + 1)); done
    args[$a]=$addr
    rc=0
    timeout 15 "$RANKD_BIN" "${args[@]}" >"$work/out" 2>&1 || rc=$?
}

# serves_routed: rankd served with Redis until the timeout, routing.
serves_routed() {
    ((rc == 124)) && grep -q 'msg="ready"' "$work/out" && ! grep -q 'starting degraded' "$work/out" &&
        grep -q "msg=\"Redis is a Redis Cluster; each command goes to the master of its keys' slot\"" "$work/out"
}

first=${RANKD_REDIS_SEEDS%%,*}
run_against "$first"
if serves_routed; then ok "one node of a cluster: rankd serves, routing"; else
    not_ok "one node of a cluster: rankd serves, routing (exit $rc)"; fi

run_against "$RANKD_REDIS_SEEDS"
if serves_routed && ! grep -q 'Name or service not known' "$work/out"; then
    ok "the masters as a seed list: rankd serves, routing"
else
    not_ok "the masters as a seed list: rankd serves, routing (exit $rc)"
fi

# works DESCRIPTION RANKCTL-ARGS...: the command succeeds; its output is
# in $work/out.
works() {
    local what=$1 rc=0
    shift
    "$RANKCTL_BIN" "$@" >"$work/out" 2>&1 </dev/null || rc=$?
    if ((rc == 0)); then ok "$what"; else not_ok "$what (exit $rc)"; fi
}

if pid="$(rk-rankd-start)"; then
    : "$pid"
    export RANKD_URL XDG_CONFIG_HOME
    if RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" "$RANKCTL_BIN" login "$RANKD_ADMIN_USER" >"$work/out" 2>&1; then
        ok "a login through a rankd on the cluster"
    else
        not_ok "a login through a rankd on the cluster"
    fi
    if grep -q 'msg="Redis calls use the split layout: one slot each"' "$RANKD_TEST_DIR/rankd.log"; then
        ok "rankd picks the split layout on a cluster"
    else
        not_ok "rankd picks the split layout on a cluster"
    fi
    # Boards whose keys land on different masters.
    for b in tetris chess snake; do
        "$RANKCTL_BIN" board create $b --game arcade --title $b --order higher --policy sum >/dev/null 2>&1
    done
    works "a submission works" submit tetris --user "$RANKD_ADMIN_USER" 100
    works "a second board's submission works" submit chess --user "$RANKD_ADMIN_USER" 20
    works "a third board's submission works" submit snake --user "$RANKD_ADMIN_USER" 3
    works "a ranked read works" top tetris
    if grep -Eq "^ +1 +$RANKD_ADMIN_USER +100$" "$work/out"; then ok "the read has the score and the name"; else
        not_ok "the read has the score and the name"; fi
    works "a rank works" rank chess "$RANKD_ADMIN_USER"
    got=""
    for _ in $(seq 1 100); do
        "$RANKCTL_BIN" top global >"$work/out" 2>&1 </dev/null
        grep -Eq "^ +1 +$RANKD_ADMIN_USER +123$" "$work/out" && got=1 && break
        sleep 0.05
    done
    if [[ -n $got ]]; then ok "the global board follows the three boards"; else
        not_ok "the global board follows the three boards"; fi
    rows=""
    for _ in $(seq 1 100); do
        rows=$(psql "$RANKD_POSTGRES" -At -c "SELECT count(*) FROM scores WHERE entry_id LIKE board_id || '/%'")
        [[ $rows == 3 ]] && break
        sleep 0.05
    done
    if [[ $rows == 3 ]]; then ok "the history has each submission once"; else
        echo "    rows: $rows" >"$work/out"
        not_ok "the history has each submission once"
    fi
    rk-rankd-stop
else
    echo "not ok - rankd did not start under the harness"
    failed=$((failed + 1))
fi

echo "# $passed passed, $failed failed"
((failed == 0))
