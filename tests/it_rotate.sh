#!/usr/bin/env bash
# it_rotate.sh - the key rotations of docs/OPERATIONS.md ("Rotate keys"),
# as written there: the token key changed in PostgreSQL's settings table,
# then set with token-secret, each followed by a restart (every token
# signed before is refused, a new login works), and an API key replaced by
# a new one (both work in between; the old one is refused once revoked).
#
# usage: tests/with-services.sh -- bash tests/it_rotate.sh
set -uo pipefail
: "${RANKCTL_BIN:?}" "${RANKD_URL:?run under tests/with-services.sh}" "${RANKD_PG_PORT:?}" "${RANKD_TEST_DIR:?}"

work="$RANKD_TEST_DIR/rotate"
mkdir -p "$work"
RANKCTL=$RANKCTL_BIN
unset RANKD_TOKEN
export RANKD_URL RANKD_TOKEN_FILE="$work/admin.token"
# shellcheck source=tests/rankctl_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rankctl_lib.sh"
ok_status() { ((rc == 0)); }
unauthenticated() { ((rc != 0)) && grep -q UNAUTHENTICATED <<<"$out$err"; }
psql_rankd() { psql -h 127.0.0.1 -p "$RANKD_PG_PORT" -U rankd -d rankd -qAt -c "$1"; }

rk login "$RANKD_ADMIN_USER" --password "$RANKD_ADMIN_PASSWORD"
check "the admin logs in" ok_status
old_token="$(cat "$RANKD_TOKEN_FILE")"
rk board create tetris --game tetris --order higher --policy sum
check "a board to submit to" ok_status
"$RANKCTL" signup ann --password ann-password >/dev/null 2>&1

# ------------------------------------------------------------------ the token key, in PostgreSQL
before="$(psql_rankd "SELECT value FROM settings WHERE key = 'token_key'")"
check "the token key rankd generated is in the settings table" test ${#before} -eq 64
new="$(openssl rand -hex 32)"
psql_rankd "UPDATE settings SET value = '$new' WHERE key = 'token_key'"
rk-rankd-stop
rk-rankd-start >/dev/null
RANKD_TOKEN=$old_token rk whoami
check "after the restart a token signed with the old key is refused" unauthenticated
rk login "$RANKD_ADMIN_USER" --password "$RANKD_ADMIN_PASSWORD"
check "a new login works" ok_status
rk whoami
check "and its token is good" ok_status

# ------------------------------------------------------------------ the token key, as token-secret
second_token="$(cat "$RANKD_TOKEN_FILE")"
secret="$(openssl rand -hex 32)"
rk-rankd-stop
rk-rankd-start --token-secret "$secret" >/dev/null
RANKD_TOKEN=$second_token rk whoami
check "with a new token-secret the tokens of the key in PostgreSQL are refused" unauthenticated
rk login "$RANKD_ADMIN_USER" --password "$RANKD_ADMIN_PASSWORD"
check "a new login works under token-secret" ok_status
rk whoami
check "and its token is good" ok_status

# ------------------------------------------------------------------ API keys
rk apikey create tetris --label old
key_old="$(grep -oE 'rk_[0-9a-f]{40}' <<<"$out" | head -n 1)"
check "the old API key" test -n "$key_old"
rk apikey create tetris --label new
key_new="$(grep -oE 'rk_[0-9a-f]{40}' <<<"$out" | head -n 1)"
check "the new API key" test -n "$key_new"
RANKD_TOKEN=$key_old rk submit tetris --user ann 1
check "in between, the old key submits" ok_status
RANKD_TOKEN=$key_new rk submit tetris --user ann 1
check "and so does the new one" ok_status
rk --json apikey list
old_id="$(python3 -c 'import json,sys
d = json.loads(sys.argv[1])
print(next(k["key_id"] for k in d["keys"] if k.get("label") == "old" and not k.get("revoked")))' "$out" 2>/dev/null)"
check "apikey list finds the old key's id" test -n "$old_id"
rk apikey revoke "$old_id"
check "the old key is revoked" ok_status
RANKD_TOKEN=$key_old rk submit tetris --user ann 1
check "then the old key is refused" unauthenticated
RANKD_TOKEN=$key_new rk submit tetris --user ann 1
check "and the new one still submits" ok_status

# Leave the harness its usual rankd (the key in PostgreSQL).
rk-rankd-stop
rk-rankd-start >/dev/null

echo "$passed passed, $failed failed"
((failed == 0))
