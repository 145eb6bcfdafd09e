#!/usr/bin/env bash
# it_fuzz.sh - rank-fuzz's functional test, run under with-services.sh.
#
# A few seconds of mutated requests of every method against the harness's
# rankd: rank-fuzz must finish clean (every answer a ReplyEnvelope with a
# known code and no INTERNAL, rankd alive, the control board's Top
# unchanged, no sanitizer report in rankd's log), and rankd must still
# serve ordinary calls afterwards. No timing is asserted.
#
# Environment: RANK_FUZZ_BIN, RANKCTL_BIN, plus what with-services.sh
# exports (RANKD_URL, RANKD_TEST_DIR, RANKD_ADMIN_USER, RANKD_ADMIN_PASSWORD).
set -uo pipefail

: "${RANK_FUZZ_BIN:?RANK_FUZZ_BIN is not set}"
: "${RANKD_URL:?run under tests/with-services.sh}"

work="$(mktemp -d "${TMPDIR:-/tmp}/it_fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { printf 'ok - %s\n' "$1"; passed=$((passed + 1)); }
not_ok() {
    printf 'not ok - %s\n' "$1"
    failed=$((failed + 1))
    for f in "$work"/out "$work"/err; do [[ -s $f ]] && sed 's/^/  # /' "$f" | tail -n 25; done
}

# 1. A short run over 8 contexts: clean.
"$RANK_FUZZ_BIN" --url "$RANKD_URL" --seconds "${RANK_FUZZ_SECONDS:-4}" --contexts 8 --seed 7 \
    --log "$RANKD_TEST_DIR/rankd.log" >"$work/out" 2>"$work/err"
rc=$?
if ((rc == 0)) && grep -q '^rank-fuzz: clean (0 findings)' "$work/out"; then
    ok "rank-fuzz for a few seconds: rankd alive, control unchanged, log clean"
else
    not_ok "rank-fuzz run (exit $rc)"
fi

# 2. Every method was sent, and the answers were counted.
if awk '/^  rankd\./ { n++; if ($2 == 0) zero++ } END { exit !(n >= 20 && zero == 0) }' "$work/out" &&
    grep -Eq '^rank-fuzz: codes:.* 3=[0-9]+' "$work/out"; then
    ok "every method of the schema was sent, and INVALID_ARGUMENT answers were counted"
else
    not_ok "every method was sent"
fi

# 3. rankd still serves: an ordinary read, and the control board as set up.
if "$RANKCTL_BIN" --url "$RANKD_URL" top fuzzctl >"$work/out" 2>"$work/err" &&
    grep -q fuzzp1 "$work/out" && grep -q fuzzp3 "$work/out"; then
    ok "after the run rankctl top fuzzctl shows the control board's players"
else
    not_ok "rankctl top after the run"
fi

# 4. A second run on the same rankd re-uses what the first set up.
"$RANK_FUZZ_BIN" --url "$RANKD_URL" --seconds 1 --contexts 4 --seed 8 --quiet \
    --log "$RANKD_TEST_DIR/rankd.log" >"$work/out" 2>"$work/err"
rc=$?
if ((rc == 0)) && grep -q '^rank-fuzz: clean' "$work/out"; then
    ok "a second run against the same rankd is clean too"
else
    not_ok "second run (exit $rc)"
fi

# 5. Usage errors exit 2; a wrong password is a set-up failure (exit 1).
"$RANK_FUZZ_BIN" --seconds 1 >"$work/out" 2>"$work/err"
rc1=$?
"$RANK_FUZZ_BIN" --url "$RANKD_URL" --admin-password wrong-password --seconds 1 >"$work/out" 2>"$work/err"
rc2=$?
if ((rc1 == 2 && rc2 == 1)) && grep -q 'set-up failed' "$work/err"; then
    ok "no --url is a usage error (2); a wrong admin password fails the set-up (1)"
else
    not_ok "usage and set-up errors (exit $rc1, $rc2)"
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
