#!/usr/bin/env bash
# it_install.sh - `cmake --install` gives an operator everything: the three
# programs, the client library with its headers, pkg-config and CMake
# files, the commented config file, a man page per program, bash
# completion for rankctl and the systemd unit, each where GNUInstallDirs
# puts it. The installed programs run, the man pages render cleanly and
# name only flags the programs have, the completion completes, and a
# program built against the installed rankd.pc calls the harness's rankd.
#
# usage: tests/with-services.sh -- bash tests/it_install.sh
# Environment in: RANKD_BUILD_DIR (the built tree), RANKD_SANITIZE.
set -uo pipefail
: "${RANKD_BUILD_DIR:?}" "${RANKD_URL:?run under tests/with-services.sh}" "${RANKD_TEST_DIR:?}"

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); }
# check NAME CMD...: CMD's output goes to a log shown on failure.
check() {
    local name=$1 log="$work/check.log"
    shift
    if "$@" >"$log" 2>&1; then ok "$name"; else
        not_ok "$name"
        sed 's/^/    /' "$log" >&2
    fi
}

work="$RANKD_TEST_DIR/install"
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"
version="$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$RANKD_BUILD_DIR/CMakeCache.txt")"
libdir_rel="$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$RANKD_BUILD_DIR/CMakeCache.txt")"
libdir="$prefix/${libdir_rel:-lib}"

if ! cmake --install "$RANKD_BUILD_DIR" --prefix "$prefix" >"$work/install.log" 2>&1; then
    not_ok "cmake --install into a temporary prefix"
    cat "$work/install.log" >&2
    echo "$passed passed, $failed failed"
    exit 1
fi
ok "cmake --install into a temporary prefix"

files_present() {
    local f rc=0
    for f in bin/rankd bin/rankctl bin/rank-bench \
        "${libdir#"$prefix"/}/librankd.so" "${libdir#"$prefix"/}/librankd.a" \
        "${libdir#"$prefix"/}/pkgconfig/rankd.pc" "${libdir#"$prefix"/}/cmake/rankd/rankdConfig.cmake" \
        include/rankd/client.h include/rankd/stubs.h include/rankd/rankd.pb-c.h \
        etc/rankd/rankd.conf share/man/man8/rankd.8 share/man/man1/rankctl.1 share/man/man1/rank-bench.1 \
        share/bash-completion/completions/rankctl lib/systemd/system/rankd.service \
        share/rankd/rankd-alerts.yml share/rankd/rankd.json; do
        if [[ -e $prefix/$f ]]; then echo "present: $f"; else
            echo "missing: $f"
            rc=1
        fi
    done
    return $rc
}
check "programs, library, headers, pkg-config, CMake package, config, man pages, completion, unit and monitoring files installed" \
    files_present

check "the installed rankd --version prints rankd $version" \
    bash -c '[[ $("$1" --version) == "rankd $2" ]]' _ "$prefix/bin/rankd" "$version"
check "the installed rankd --help lists its settings and actions" \
    bash -c '"$1" --help | grep -q -- "--check-config" && "$1" --help | grep -q -- "--postgres"' _ "$prefix/bin/rankd"
check "the installed rankd.conf is what the installed rankd --print-config prints" \
    bash -c 'diff <("$1" --print-config) "$2"' _ "$prefix/bin/rankd" "$prefix/etc/rankd/rankd.conf"
check "the installed rankctl runs" bash -c '"$1" --help | grep -q "^Commands:"' _ "$prefix/bin/rankctl"

# A man page renders without warnings, and every --flag it names is in the
# program's own --help (each rankctl command's help for rankctl).
man_true() { # PAGE HELP-TEXT-FILE
    local page=$1 help=$2 warn flags f rc=0
    warn="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)"
    if [[ -n $warn ]]; then
        echo "warnings: $warn"
        rc=1
    fi
    flags="$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$page" 2>/dev/null | grep -oE -- '--[a-z][a-z-]+' | sort -u)"
    [[ -n $flags ]] || { echo "no flags found in $page"; rc=1; }
    for f in $flags; do
        grep -qE -- "(^|[^a-z-])$f([^a-z-]|$)" "$help" || {
            echo "$page names $f, which --help does not"
            rc=1
        }
    done
    return $rc
}
# --help itself counts as named: each help text was printed by running it.
{ "$prefix/bin/rankd" --help && echo " --help"; } >"$work/rankd.help"
{ "$prefix/bin/rank-bench" --help 2>&1 && echo " --help"; } >"$work/rank-bench.help"
{
    "$prefix/bin/rankctl" --help
    for c in $("$prefix/bin/rankctl" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\( [a-z-]*\)\{0,1\}\)  .*/\1/p' | tr ' ' '+'); do
        # shellcheck disable=SC2086 # a group's two words
        "$prefix/bin/rankctl" ${c//+/ } --help
    done
} >"$work/rankctl.help" 2>&1
check "man rankd(8) renders cleanly and names only rankd's flags" man_true "$prefix/share/man/man8/rankd.8" "$work/rankd.help"
check "man rankctl(1) renders cleanly and names only rankctl's flags" man_true "$prefix/share/man/man1/rankctl.1" "$work/rankctl.help"
check "man rank-bench(1) renders cleanly and names only rank-bench's flags" man_true "$prefix/share/man/man1/rank-bench.1" "$work/rank-bench.help"
check "the man pages carry the version" grep -q "rankd $version" "$prefix/share/man/man8/rankd.8"

complete_words() { # WORDS...: what the installed completion offers for the last word
    # shellcheck disable=SC1090
    source "$prefix/share/bash-completion/completions/rankctl"
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    _rankctl
    echo "${COMPREPLY[*]}"
}
completes() { # WANT WORDS...
    local want=$1 got
    shift
    got="$(complete_words "$@")"
    echo "offered: $got"
    [[ $got == "$want" ]]
}
check "bash completion offers rankctl's commands" completes board "$prefix/bin/rankctl" bo
check "bash completion offers a group's subcommands" completes "create list revoke" "$prefix/bin/rankctl" apikey ""
check "bash completion offers a command's options" completes --window "$prefix/bin/rankctl" top tetris --w
# A rankctl whose help is still being written when a reader has seen
# enough (a loaded machine): with pipefail on, as here, an early exit of
# that reader used to make the completion offer file names.
printf '#!/bin/sh\n"%s" "$@"; s=$?; sleep 0.2; echo; exit $s\n' "$prefix/bin/rankctl" >"$work/slow-rankctl"
chmod +x "$work/slow-rankctl"
check "bash completion offers a group's subcommands from a slow rankctl" completes "create list revoke" "$work/slow-rankctl" apikey ""

# A program built the way the README says, against the installed rankd.pc,
# links and calls rankd.
cat >"$work/status.c" <<'EOF'
#include <stdio.h>
#include <rankd/client.h>

int main(int argc, char **argv) {
    rk_client *c;
    rk_status st;
    Rankd__Empty req = RANKD__EMPTY__INIT;
    Rankd__ServerStatus *rep;
    if (argc != 2 || rk_client_open(&c, argv[1], &st) != RK_OK) return 2;
    if (rk_admin_status(c, &req, &rep, NULL, &st) != RK_OK) {
        fprintf(stderr, "%s: %s\n", rk_code_name(st.code), st.message);
        return 1;
    }
    printf("version %s redis_ok %d postgres_ok %d\n", rep->version, rep->redis_ok, rep->postgres_ok);
    rk_reply_free(rep);
    rk_client_close(c);
    return 0;
}
EOF
san=""
case "${RANKD_SANITIZE:-}" in
    [Oo][Nn] | [Tt][Rr][Uu][Ee] | [Yy] | [Yy][Ee][Ss] | 1)
        san="-fsanitize=address,undefined -fno-omit-frame-pointer" ;;
esac
build_status() {
    # shellcheck disable=SC2046,SC2086 # pkg-config's words and the flags split on purpose
    PKG_CONFIG_PATH="$libdir/pkgconfig" cc -Wall -Werror $san -o "$work/status" "$work/status.c" \
        $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs rankd)
}
check "a program builds against the installed rankd.pc" build_status
run_status() {
    local i out
    LD_LIBRARY_PATH="$libdir" ldd "$work/status" | grep "librankd.so.0 => $libdir/" || return 1
    # The store flags come from the health thread's once-a-second check.
    for ((i = 0; i < 30; i++)); do
        out="$(LD_LIBRARY_PATH="$libdir" "$work/status" "$RANKD_URL")" || return 1
        [[ $out == "version $version redis_ok 1 postgres_ok 1" ]] && return 0
        sleep 0.2
    done
    echo "last answer: $out"
    return 1
}
check "and, loading the installed librankd.so, asks rankd for its status" run_status

echo "$passed passed, $failed failed"
((failed == 0))
