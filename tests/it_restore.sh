#!/usr/bin/env bash
# it_restore.sh - the restore drill of docs/OPERATIONS.md, as written there:
# back up PostgreSQL with pg_dump while rankd runs, lose both stores (the
# database dropped, Redis emptied), restore the dump with pg_restore into a
# new database, start rankd against the empty Redis, and every board reads
# exactly as before: the same players, scores, ranks and tie order in the
# all-time set and in each live window, on the global board too. What the
# page says survives does (accounts, API keys, login tokens and their
# revocations), and what it says is lost is lost: an idempotency key used
# before the backup counts again afterwards.
#
# usage: tests/with-services.sh -- bash tests/it_restore.sh
set -uo pipefail
: "${RANKCTL_BIN:?}" "${RANKD_URL:?run under tests/with-services.sh}" "${RANKD_PG_PORT:?}" "${RANKD_TEST_DIR:?}"

work="$RANKD_TEST_DIR/restore"
mkdir -p "$work"
RANKCTL=$RANKCTL_BIN
unset RANKD_TOKEN
export RANKD_URL RANKD_TOKEN_FILE="$work/admin.token"
# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"
ok_status() { ((rc == 0)); }
out_is() { [[ $out == "$1" ]]; }
out_has() { grep -q -- "$1" <<<"$out"; }

pg_bin=""
for d in /usr/lib/postgresql/*/bin; do [[ -x $d/pg_restore ]] && pg_bin=$d; done
[[ -n $pg_bin ]] || pg_bin="$(dirname "$(command -v pg_restore)")"
pg=(-h 127.0.0.1 -p "$RANKD_PG_PORT" -U rankd)

# The drill runs on a fixed clock (a Wednesday noon, mid-month), so the
# daily, weekly and monthly windows are the same ones before and after
# whatever the wall clock does meanwhile; the second start is 10 minutes on.
t0="$(date -u -d '2026-11-18 12:00:00' +%s)"
rk-rankd-stop
rk-rankd-start --clock-start "$t0" >/dev/null

# ------------------------------------------------------------------ a deployment in use

rk login "$RANKD_ADMIN_USER" --password "$RANKD_ADMIN_PASSWORD"
check "the admin logs in" ok_status
rk board create tetris --game tetris --title Tetris --order higher --policy best --windows daily,weekly,monthly
check "a best-score board with every window" ok_status
rk board create speedrun --game tetris --order lower --policy best --windows daily
check "a lower-is-better board" ok_status
rk board create marathon --game tetris --order higher --policy sum --windows weekly
check "a sum board" ok_status
rk board create survival --game tetris --order higher --policy latest --windows monthly
check "a latest-score board" ok_status
rk apikey create tetris --label drill
key="$(grep -oE 'rk_[0-9a-f]{40}' <<<"$out" | head -n 1)"
check "an API key for the game server" test -n "$key"

players=()
for i in $(seq -w 1 40); do players+=("p$i"); done
: >"$work/signups"
for p in "${players[@]}"; do
    "$RANKCTL" signup "$p" --password "$p-password" >>"$work/signups" 2>&1 || echo "signup $p failed" >>"$work/signups"
done
check "40 players sign up" bash -c '! grep -q failed "$1"' _ "$work/signups"

# Three rounds of scores, with ties (equal scores, the earlier first) and
# improvements, each line with an idempotency key.
batch="$work/batch.txt"
: >"$batch"
for round in 1 2 3; do
    n=0
    for p in "${players[@]}"; do
        n=$((n + 1))
        printf 'tetris %s %d r%d-t-%s\n' "$p" $(((n * 37 + round * 11) % 17 * 100)) "$round" "$p" >>"$batch"
        printf 'speedrun %s %d r%d-s-%s\n' "$p" $((60000 - (n * 13 + round * 7) % 9 * 1000)) "$round" "$p" >>"$batch"
        printf 'marathon %s %d r%d-m-%s\n' "$p" $(((n + round) % 5 + 1)) "$round" "$p" >>"$batch"
        printf 'survival %s %d r%d-v-%s\n' "$p" $(((n * round) % 7)) "$round" "$p" >>"$batch"
    done
done
RANKD_TOKEN=$key rk submit-batch "$batch"
check "480 submissions with idempotency keys are accepted" ok_status
RANKD_TOKEN=$key rk submit tetris --user p01 5000 --idempotency-key before-backup
check "one more, whose key the drill retries after the restore" ok_status

# A player logs in (that token must work after the restore) and another
# logs out (that one must stay dead).
RANKD_TOKEN_FILE="$work/p02.token" rk login p02 --password p02-password
RANKD_TOKEN_FILE="$work/p03.token" rk login p03 --password p03-password
cp "$work/p03.token" "$work/p03.token.kept"
RANKD_TOKEN_FILE="$work/p03.token" rk logout
check "a player logs out" ok_status

# snapshot FILE: every board, every window, as JSON (the global board too).
snapshot() {
    local f=$1 b w
    : >"$f"
    for bw in tetris:all tetris:daily tetris:weekly tetris:monthly speedrun:all speedrun:daily \
        marathon:all marathon:weekly survival:all survival:monthly global:all; do
        b=${bw%%:*} w=${bw#*:}
        {
            echo "== top $b $w"
            "$RANKCTL" --json top "$b" --window "$w" --limit 1000 2>&1
            echo "== count $b $w"
            "$RANKCTL" --json count "$b" --window "$w" 2>&1
        } >>"$f"
    done
    {
        echo "== ranks"
        "$RANKCTL" --json ranks tetris p01 p07 p13 p40 2>&1
        echo "== around"
        "$RANKCTL" --json around speedrun p20 --above 3 --below 3 2>&1
    } >>"$f"
}

# The write-behind has copied everything once the backlog is 0.
drained() {
    local i
    for ((i = 0; i < 100; i++)); do
        "$RANKCTL" --json status >"$work/status.json" 2>&1 &&
            python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if int(d.get("writebehindBacklog", d.get("writebehind_backlog", 1))) == 0 else 1)' \
                "$work/status.json" 2>/dev/null && return 0
        sleep 0.1
    done
    cat "$work/status.json"
    return 1
}
check "the write-behind has copied every submission to PostgreSQL" drained
snapshot "$work/before.txt"
check "the boards answer before the backup" \
    bash -c 'grep -q "\"username\":[[:space:]]*\"p01\"" "$1" && ! grep -qi "error\|rankctl:" "$1"' _ "$work/before.txt"

# ------------------------------------------------------------------ backup

dump="$work/rankd.dump"
check "pg_dump -Fc while rankd runs" "$pg_bin/pg_dump" "${pg[@]}" -Fc -f "$dump" rankd

# ------------------------------------------------------------------ disaster

rk-rankd-stop
check "rankd stops" true
# Redis loses everything: stopped, its data files removed, started empty
# (on a cluster every node, each keeping its slots).
rk-redis-stop
rk-redis-wipe
rk-redis-start
# every_node_empty: DBSIZE is 0 on the one Redis, or on every node.
every_node_empty() {
    local p
    for p in ${RANKD_REDIS_NODES:-$RANKD_REDIS_PORT}; do
        [[ $(redis-cli -h 127.0.0.1 -p "$p" dbsize) == 0 ]] || return 1
    done
}
check "Redis is empty" every_node_empty
check "the database is dropped" "$pg_bin/dropdb" "${pg[@]}" rankd

# ------------------------------------------------------------------ restore

check "createdb rankd" "$pg_bin/createdb" "${pg[@]}" rankd
check "pg_restore the dump" "$pg_bin/pg_restore" "${pg[@]}" -d rankd --exit-on-error "$dump"
rk-rankd-start --clock-start $((t0 + 600)) >/dev/null
check "rankd starts against the restored database and the empty Redis" true

# Served live from the rebuilt Redis, not from the history.
live_again() {
    local i
    for ((i = 0; i < 50; i++)); do
        # One key per call: on a cluster each is in a slot of its own.
        [[ $(redis-cli -c -h 127.0.0.1 -p "$RANKD_REDIS_PORT" exists 'rk:{tetris}:all') == 1 &&
            $(redis-cli -c -h 127.0.0.1 -p "$RANKD_REDIS_PORT" exists 'rk:{global}:all') == 1 &&
            $(redis-cli -c -h 127.0.0.1 -p "$RANKD_REDIS_PORT" exists rk:live) == 1 ]] &&
            "$RANKCTL" status | grep -qE '^redis +ok$' && return 0
        sleep 0.1
    done
    "$RANKCTL" status
    return 1
}
check "Redis holds the boards again (rebuilt from PostgreSQL at start)" live_again

snapshot "$work/after.txt"
same() { diff -u "$work/before.txt" "$work/after.txt"; }
check "every board and window reads exactly as before: players, scores, ranks, ties, sizes" same

# What PostgreSQL holds survives.
RANKD_TOKEN_FILE="$work/p02.token" rk whoami
check "a login token from before the backup still works" ok_status , out_has p02
RANKD_TOKEN_FILE="$work/p03.token.kept" rk whoami
check "a token logged out before the backup stays revoked" test "$rc" -ne 0 , out_has "" , \
    grep -q UNAUTHENTICATED "$work/err"
RANKD_TOKEN=$key rk submit tetris --user p05 1 --idempotency-key after-restore
check "the API key from before the backup still submits" ok_status
rk login p04 --password p04-password
check "a player logs in with the password from before" ok_status

# What only Redis held is gone: the idempotency record of a submission
# made before the backup. Its retry is applied again, not replayed.
RANKD_TOKEN=$key rk --json submit tetris --user p01 5000 --idempotency-key before-backup
check "an idempotency key from before the loss is not remembered (replayed is false)" ok_status , \
    bash -c '! grep -q "\"replayed\":[[:space:]]*true" <<<"$1"' _ "$out"
RANKD_TOKEN=$key rk --json submit tetris --user p01 5000 --idempotency-key before-backup
check "and is remembered again from then on" ok_status , bash -c 'grep -q "\"replayed\":[[:space:]]*true" <<<"$1"' _ "$out"

# Leave the harness its usual rankd.
rk-rankd-stop
rk-rankd-start >/dev/null

echo "$passed passed, $failed failed"
((failed == 0))
