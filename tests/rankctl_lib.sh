# rankctl_lib.sh - helpers of the rankctl end-to-end tests, sourced by them.
#
# Needs RANKCTL (the binary) and work (a scratch directory). rk runs
# rankctl and keeps its output, status and command line; check prints one
# "ok - ..." or "not ok - ..." line (with the command's output when it
# fails) and counts it.

passed=0 failed=0 skipped=0
out="" err="" rc=0 last=""

# rk ARGS...: runs rankctl (stdin empty); sets out, err, rc and last.
rk() {
    last="rankctl $*"
    rc=0
    "$RANKCTL" "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
    out="$(cat "$work/out")"
    err="$(cat "$work/err")"
}

# rk_in INPUT ARGS...: the same with INPUT on stdin.
rk_in() {
    local input=$1
    shift
    last="rankctl $* <<< input"
    rc=0
    "$RANKCTL" "$@" >"$work/out" 2>"$work/err" <<<"$input" || rc=$?
    out="$(cat "$work/out")"
    err="$(cat "$work/err")"
}

diag() {
    printf '#   command: %s\n#   exit status: %s\n' "$last" "$rc"
    head -n 40 "$work/out" | sed 's/^/#   stdout: /'
    if (($(wc -l <"$work/out") > 40)); then echo "#   stdout: ..."; fi
    sed 's/^/#   stderr: /' "$work/err"
}

# check DESCRIPTION PREDICATE [ARGS...] [, PREDICATE [ARGS...]]...: one test
# line; every predicate (separated by lone commas) must hold.
check() {
    local desc=$1 why="" cond=()
    shift
    while (($#)); do
        cond=()
        while (($#)) && [[ $1 != , ]]; do
            cond+=("$1")
            shift
        done
        if (($#)); then shift; fi
        if ! "${cond[@]}"; then
            why="${cond[*]}"
            break
        fi
    done
    if [[ -z $why ]]; then
        passed=$((passed + 1))
        printf 'ok - %s\n' "$desc"
    else
        failed=$((failed + 1))
        printf 'not ok - %s\n#   failed: %s\n' "$desc" "$why"
        diag
    fi
}

# settled: waits (up to 10 s) until the global board and the aggregates
# have applied every board change (`rankctl status`'s applier line, split
# layout; without that line, at once). The split
# layout applies them a moment after each submission, so a test that
# compares those boards with what it expects asks this first.
settled() {
    local i a
    for ((i = 0; i < 200; i++)); do
        a="$("$RANKCTL" status 2>/dev/null </dev/null | awk '$1 == "applier" { print $2 }')"
        [[ -z $a || $a == 0 ]] && return 0
        sleep 0.05
    done
    return 1
}

# wb_backlog: the write-behind's backlog from `rankctl status` (-1 when it
# does not answer).
wb_backlog() {
    "$RANKCTL" --json status 2>/dev/null </dev/null |
        python3 -c 'import json, sys; print(json.load(sys.stdin).get("writebehind_backlog", 0))' 2>/dev/null ||
        echo -1
}
