#!/usr/bin/env bash
# it_upgrade.sh - what docs/OPERATIONS.md says about upgrades holds: the
# schema only moves forward, --check-config shows where a database stands
# against the installed rankd, and a rankd older than its database (the
# database migrated by a newer release) refuses to start and changes
# nothing, instead of writing a schema it does not know.
#
# usage: tests/with-services.sh -- bash tests/it_upgrade.sh
set -uo pipefail
: "${RANKD_BIN:?}" "${RANKD_POSTGRES:?run under tests/with-services.sh}" "${RANKD_PG_PORT:?}" "${RANKD_TEST_DIR:?}"

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); sed 's/^/    /' "$work/out" >&2; }
# expect NAME STATUS PATTERN CMD...: CMD exits STATUS and its output matches PATTERN.
expect() {
    local name=$1 want=$2 pattern=$3 rc=0
    shift 3
    "$@" >"$work/out" 2>&1 || rc=$?
    if ((rc == want)) && grep -qE -- "$pattern" "$work/out"; then ok "$name"; else not_ok "$name (exit $rc)"; fi
}

work="$RANKD_TEST_DIR/upgrade"
mkdir -p "$work"
psql=(psql -X -q -t -A -h 127.0.0.1 -p "$RANKD_PG_PORT" -U rankd -d rankd -v ON_ERROR_STOP=1)
eval "set -- $RANKD_ARGS"
args=("$@")

known="$("${psql[@]}" -c 'SELECT max(version) FROM schema_migrations')"
expect "check-config shows the schema at the installed rankd's last migration" 0 \
    "^postgres: ok \\(schema at migration $known; this rankd applies up to $known at start\\)" \
    "$RANKD_BIN" "${args[@]}" --check-config

createdb -h 127.0.0.1 -p "$RANKD_PG_PORT" -U rankd rankd_new 2>/dev/null ||
    echo "createdb rankd_new failed" >&2
expect "check-config on a new, empty database: migration 0 (rankd creates the schema at start)" 0 \
    "^postgres: ok \\(schema at migration 0; this rankd applies up to $known at start\\)" \
    "$RANKD_BIN" "${args[@]}" --postgres "host=127.0.0.1 port=$RANKD_PG_PORT dbname=rankd_new user=rankd" --check-config

# A newer release has migrated the database one step further.
"${psql[@]}" -c "INSERT INTO schema_migrations (version) VALUES ($((known + 1)))"
before="$("${psql[@]}" -c 'SELECT count(*) FROM schema_migrations')"
expect "check-config: a database newer than this rankd fails, saying so" 1 \
    "the database is at migration $((known + 1)), newer than this rankd's last \\($known\\)" \
    "$RANKD_BIN" "${args[@]}" --check-config
rk-rankd-stop
log_from=$(($(wc -l <"$RANKD_TEST_DIR/rankd.log") + 1))
rc=0
rk-rankd-start >"$work/out" 2>&1 || rc=$?
tail -n "+$log_from" "$RANKD_TEST_DIR/rankd.log" >>"$work/out"
if ((rc != 0)) && grep -q 'cannot start.*newer than this rankd.*code=FAILED_PRECONDITION' "$work/out"; then
    ok "an older rankd refuses to start against a newer database"
else
    not_ok "an older rankd refuses to start against a newer database"
fi
after="$("${psql[@]}" -c 'SELECT count(*) FROM schema_migrations')"
if [[ $before == "$after" ]]; then ok "and changed nothing"; else
    echo "schema_migrations rows: $before before, $after after" >"$work/out"
    not_ok "and changed nothing"
fi

# Back on the release that matches the database, it starts.
"${psql[@]}" -c "DELETE FROM schema_migrations WHERE version = $((known + 1))"
if rk-rankd-start >"$work/out" 2>&1; then ok "the matching release starts again"; else not_ok "the matching release starts again"; fi

echo "$passed passed, $failed failed"
((failed == 0))
