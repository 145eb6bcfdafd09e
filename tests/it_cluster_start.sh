#!/usr/bin/env bash
# rankd pointed at a Redis Cluster (the harness's, RANKD_TEST_REDIS=cluster):
# through one node, and through the masters as a seed list, it starts
# with Redis (not degraded) and says it routes by slot. Had it refused,
# its last line would have to say what is wrong with the Redis it was
# given, never an empty error, a bare MOVED, or a seed list looked up as
# one host name. Then, served by that rankd, a submission and a ranked
# read either work or fail with a message that names the cluster's
# refusal (CROSSSLOT, while rankd's calls span slots), never an empty one.
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

# works_or_names_the_cluster DESCRIPTION RANKCTL-ARGS...
works_or_names_the_cluster() {
    local what=$1 rc=0
    shift
    "$RANKCTL_BIN" "$@" >"$work/out" 2>&1 </dev/null || rc=$?
    if ((rc == 0)) || grep -Eq '^rankctl: [A-Z_]+: .*Redis Cluster.+' "$work/out"; then ok "$what"; else
        not_ok "$what (exit $rc)"; fi
}

if pid="$(rk-rankd-start)"; then
    : "$pid"
    export RANKD_URL XDG_CONFIG_HOME
    if RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" "$RANKCTL_BIN" login "$RANKD_ADMIN_USER" >"$work/out" 2>&1; then
        ok "a login through a rankd on the cluster"
    else
        not_ok "a login through a rankd on the cluster"
    fi
    "$RANKCTL_BIN" board create tetris --game tetris --title Tetris --order higher --policy best >/dev/null 2>&1
    works_or_names_the_cluster "a submission works, or its error names the cluster's refusal" \
        submit tetris --user "$RANKD_ADMIN_USER" 100
    works_or_names_the_cluster "a ranked read works, or its error names the cluster's refusal" top tetris
    rk-rankd-stop
else
    echo "not ok - rankd did not start under the harness"
    failed=$((failed + 1))
fi

echo "# $passed passed, $failed failed"
((failed == 0))
