#!/usr/bin/env bash
# TLS end to end: a throwaway CA and server certificate made with openssl
# in the test's directory; rankd listens with tls+tcp:// for RPC and
# events and serves https:// beside its plain addresses. A call succeeds
# with the right CA, fails with a wrong or absent one, or the wrong server
# name, with an error that says so; plain tcp to the TLS port fails too;
# events arrive over tls+tcp:// and wss://; /healthz answers over https. Then rankd
# asks for client certificates (tls-ca): without one the handshake fails,
# with one signed by that CA the call succeeds.
set -euo pipefail
: "${RANKD_URL:?run under tests/with-services.sh}" "${RANKCTL_BIN:?}" "${FREEPORT_BIN:?}"
passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
    echo "not ok - $1"
    sed 's/^/#   /' "$work/out" "$work/err" 2>/dev/null | head -20
    failed=$((failed + 1))
}
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

work="$RANKD_TEST_DIR/tls"
mkdir -p "$work"
cd "$work"

# ------------------------------------------------------------------ certificates
# A CA, a server certificate for "localhost" signed by it, another CA that
# signed nothing of ours, and a client CA with one client certificate.
# mbedTLS does not match IP addresses, so the name checked is a DNS one.
mkcert() { # NAME CN CA-NAME: a key and a certificate signed by CA-NAME
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
    printf 'subjectAltName=DNS:%s\n' "$2" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 2 -extfile "$1.ext" \
        -out "$1.crt" 2>/dev/null
}
mkca() { openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.crt" -days 2 -subj "/CN=$2" 2>/dev/null; }
mkca ca "rankd test CA"
mkca other "some other CA"
mkca clientca "rankd test client CA"
mkcert server localhost ca
mkcert client game-server-1 clientca
mkcert stranger game-server-2 other
chmod 600 ./*.key

read -r tls_port events_tls_port https_port < <("$FREEPORT_BIN" 3 | tr '\n' ' '; echo)
tls_url="tls+tcp://127.0.0.1:$tls_port"
events_tls_url="tls+tcp://127.0.0.1:$events_tls_port"
tls_args=(--tls-cert "$work/server.crt" --tls-key "$work/server.key")
start_tls() { # extra rankd arguments...
    rk-rankd-stop >/dev/null
    rk-rankd-start --listen "$RANKD_URL,$tls_url" --events "$RANKD_EVENTS_URL,$events_tls_url" \
        --http "https://127.0.0.1:$https_port" "${tls_args[@]}" "$@" >/dev/null
}

# rk ARGS...: rankctl; sets rc, and keeps stdout and stderr in files.
rk() {
    rc=0
    "$RANKCTL_BIN" "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
}
err_has() { grep -Eq -- "$1" "$work/err"; }
over_tls() { rk --url "$tls_url" --tls-server-name localhost --deadline 2000 "$@"; }

# ------------------------------------------------------------------ the server side
rk-rankd-stop >/dev/null
rc=0
timeout 20 "$RANKD_BIN" --listen "$tls_url" --events "" --http "" --postgres "$RANKD_POSTGRES" \
    --redis "$RANKD_REDIS_HOST:$RANKD_REDIS_PORT" >"$work/out" 2>"$work/err" </dev/null || rc=$?
check "rankd refuses a tls+tcp:// address without tls-cert, and says so" \
    "[[ $rc -ne 0 ]] && grep -q 'needs tls-cert and tls-key' '$work/err'"
rc=0
timeout 20 "$RANKD_BIN" --listen "$tls_url" --events "" --http "" --tls-cert "$work/missing.crt" --tls-key "$work/server.key" \
    --postgres "$RANKD_POSTGRES" --redis "$RANKD_REDIS_HOST:$RANKD_REDIS_PORT" >"$work/out" 2>"$work/err" </dev/null ||
    rc=$?
check "rankd refuses a tls-cert it cannot read, naming the file" \
    "[[ $rc -ne 0 ]] && grep -q 'tls-cert $work/missing.crt' '$work/err'"
rc=0
timeout 20 "$RANKD_BIN" --listen "$tls_url" --events "" --http "" --tls-cert "$work/server.crt" --tls-key "$work/other.key" \
    --postgres "$RANKD_POSTGRES" --redis "$RANKD_REDIS_HOST:$RANKD_REDIS_PORT" >"$work/out" 2>"$work/err" </dev/null ||
    rc=$?
check "rankd refuses a key that is not the certificate's" \
    "[[ $rc -ne 0 ]] && grep -q 'are not a certificate and its key' '$work/err'"

start_tls

# ------------------------------------------------------------------ calls
over_tls --tls-ca "$work/ca.crt" status
check "a call over tls+tcp:// with the right CA succeeds" "[[ $rc -eq 0 ]] && grep -q 'redis *ok' '$work/out'"
RANKD_TLS_CA="$work/ca.crt" RANKD_TLS_SERVER_NAME=localhost rk --url "$tls_url" --deadline 2000 status
check "... with the CA and server name from \$RANKD_TLS_CA and \$RANKD_TLS_SERVER_NAME" "[[ $rc -eq 0 ]]"
over_tls --tls-ca "$work/other.crt" status
check "with a CA that did not sign the server's certificate: UNAVAILABLE, the handshake named" \
    "[[ $rc -eq 1 ]] && err_has 'UNAVAILABLE: rankd is not reachable; the TLS handshake with tls.tcp://127.0.0.1:$tls_port failed [0-9]+ time'"
over_tls status
check "with no CA at all: refused before dialing, and told to give one" \
    "[[ $rc -ne 0 ]] && err_has 'is a TLS address: give the CA certificate'"
rk --url "$tls_url" --tls-ca "$work/ca.crt" --tls-server-name not-this-host --deadline 2000 status
check "with a server name the certificate does not carry: the handshake fails" \
    "[[ $rc -eq 1 ]] && err_has 'TLS handshake with .* failed'"
rk --url "tcp://127.0.0.1:$tls_port" --deadline 2000 status
check "plain tcp:// to the TLS port fails, and the error suggests tls+tcp://" \
    "[[ $rc -eq 1 ]] && err_has 'UNAVAILABLE: rankd is not reachable; .* before the SP handshake'"
rk --url "$RANKD_URL" status
check "the plain address still works beside it" "[[ $rc -eq 0 ]]"

# ------------------------------------------------------------------ events and HTTPS
# The board's own events: in the split layout the global board's follow a
# moment later, and could be the one event counted.
RANKD_PASSWORD="$RANKD_ADMIN_PASSWORD" over_tls --tls-ca "$work/ca.crt" login "$RANKD_ADMIN_USER"
check "an admin logs in over TLS" "[[ $rc -eq 0 ]]"
export RANKD_TOKEN_FILE="$RANKD_TEST_DIR/config/rankd/token"
over_tls --tls-ca "$work/ca.crt" board create tls-board --game tlsgame
check "and creates a board" "[[ $rc -eq 0 ]]"
over_tls --tls-ca "$work/ca.crt" apikey create tlsgame
key=$(grep -Eo 'rk_[0-9a-f]{40}' "$work/out" | head -1 || true)
check "and an API key" "[[ -n '$key' ]]"
RANKD_PASSWORD=tls-player-1 rk signup tlsplayer
"$RANKCTL_BIN" --tls-ca "$work/ca.crt" --tls-server-name localhost events --events-url "$events_tls_url" \
    --topic tlsgame/tls-board --count 1 --timeout 10 >"$work/events" 2>"$work/events.err" &
events_pid=$!
sleep 1 # subscribed
over_tls --tls-ca "$work/ca.crt" --token "$key" submit tls-board --user tlsplayer 42
check "a game server submits over TLS" "[[ $rc -eq 0 ]]"
wait "$events_pid" || true
check "events arrive over tls+tcp://" "grep -q 'tls-board' '$work/events'"

https_get() { # PATH [CA]: status code of GET https://localhost:PORT/PATH
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 --resolve "localhost:$https_port:127.0.0.1" \
        --cacert "${2:-$work/ca.crt}" "https://localhost:$https_port$1" || true
}
check "/healthz answers 200 over https with the right CA" "[[ \$(https_get /healthz) == 200 ]]"
check "curl refuses the server with another CA" "[[ \$(https_get /healthz '$work/other.crt') == 000 ]]"
check "the page's events feed follows https:// to wss://" \
    "grep -q 'publishing events\" url=wss://127.0.0.1:$https_port/events' '$RANKD_TEST_DIR/rankd.log'"
"$RANKCTL_BIN" --tls-ca "$work/ca.crt" --tls-server-name localhost events \
    --events-url "wss://127.0.0.1:$https_port/events" --topic tlsgame/tls-board --count 1 --timeout 10 >"$work/events" 2>"$work/events.err" &
events_pid=$!
sleep 1
over_tls --tls-ca "$work/ca.crt" --token "$key" submit tls-board --user tlsplayer 43
wait "$events_pid" || true
check "events arrive over wss:// on the https port" "grep -q 'tls-board' '$work/events'"
check "plain http to the https port gets no answer" \
    "[[ \$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:$https_port/healthz || true) != 200 ]]"

# ------------------------------------------------------------------ client certificates
start_tls --tls-ca "$work/clientca.crt"
over_tls --tls-ca "$work/ca.crt" status
check "with tls-ca, a client without a certificate fails the handshake" \
    "[[ $rc -eq 1 ]] && err_has 'TLS handshake with .* failed'"
over_tls --tls-ca "$work/ca.crt" --tls-cert "$work/stranger.crt" --tls-key "$work/stranger.key" status
check "... and one whose certificate another CA signed" "[[ $rc -eq 1 ]] && err_has 'TLS handshake'"
over_tls --tls-ca "$work/ca.crt" --tls-cert "$work/client.crt" --tls-key "$work/client.key" status
check "... while one signed by tls-ca gets in" "[[ $rc -eq 0 ]]"
over_tls --tls-ca "$work/ca.crt" --tls-cert "$work/client.crt" status
check "a client certificate without its key is refused at once" "[[ $rc -ne 0 ]] && err_has 'needs its key'"
rk --url "$RANKD_URL" status
check "the plain address does not ask for certificates" "[[ $rc -eq 0 ]]"

rk-rankd-stop >/dev/null
rk-rankd-start >/dev/null # the harness's own settings, for its teardown

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
