#!/usr/bin/env bash
# it_example.sh - the installed client library works for the people who use
# it. Installs the build into a temporary prefix, builds
# client/examples/game_server against that prefix the two documented ways
# (the CMake package and pkg-config, each linked shared and static), and
# runs every build against the rankd of tests/with-services.sh.
#
# usage: tests/with-services.sh -- bash tests/it_example.sh
#
# Environment in (besides what with-services.sh exports):
#   RANKD_BUILD_DIR    the configured and built tree to install
#   RANKD_SOURCE_DIR   the source tree (for client/examples)
#   RANKD_SANITIZE     the build's RANKD_SANITIZE; when true, the installed
#                      library is sanitized and the example is built with
#                      the same -fsanitize flags
#
# Prints one "ok - ..." or "not ok - ..." line per check, then
# "N passed, M failed"; exits non-zero when anything failed.
set -uo pipefail

: "${RANKD_BUILD_DIR:?RANKD_BUILD_DIR is not set}"
: "${RANKD_SOURCE_DIR:?RANKD_SOURCE_DIR is not set}"
: "${RANKD_URL:?RANKD_URL is not set: run under tests/with-services.sh}"

passed=0
failed=0
ok() {
    printf 'ok - %s\n' "$1"
    passed=$((passed + 1))
}
not_ok() {
    printf 'not ok - %s\n' "$1"
    failed=$((failed + 1))
}
finish() {
    printf '%d passed, %d failed\n' "$passed" "$failed"
    ((failed == 0))
    exit
}
# check NAME CMD...: runs CMD with its output in $work/NAME.log, shown on failure.
check() {
    local name=$1 log
    shift
    log="$work/$(printf '%s' "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
    if "$@" >"$log" 2>&1; then
        ok "$name"
        return 0
    fi
    not_ok "$name"
    sed 's/^/    /' "$log" >&2
    return 1
}

# Inside the harness's test directory, which is kept when the test fails.
work="${RANKD_TEST_DIR:-$(mktemp -d)}/example"
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"

# The compiler and flags of the build, so the example matches the library.
cc="$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$RANKD_BUILD_DIR/CMakeCache.txt")"
[[ -n $cc ]] || cc=cc
san=""
case "${RANKD_SANITIZE:-}" in
    [Oo][Nn] | [Tt][Rr][Uu][Ee] | [Yy] | [Yy][Ee][Ss] | 1)
        san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
        ;;
esac

# ------------------------------------------------------------------ install

check "install into a temporary prefix" cmake --install "$RANKD_BUILD_DIR" --prefix "$prefix" || finish

pcfile="$(find "$prefix" -name rankd.pc -path '*/pkgconfig/*' | head -n 1)"
libdir="$(dirname "$(dirname "${pcfile:-$prefix/lib/pkgconfig/rankd.pc}")")"

installed_files() {
    local f h rc=0 headers=()
    # Every public header of the source tree, and the two generated ones.
    for h in "$RANKD_SOURCE_DIR"/include/rankd/*.h stubs.h rankd.pb-c.h; do
        headers+=("$prefix/include/rankd/$(basename "$h")")
    done
    for f in "$libdir/librankd.so" "$libdir/librankd.a" "${headers[@]}" \
        "$libdir/pkgconfig/rankd.pc" \
        "$libdir/cmake/rankd/rankdConfig.cmake" "$libdir/cmake/rankd/rankdConfigVersion.cmake" \
        "$libdir/cmake/rankd/rankdTargets.cmake"; do
        if [[ ! -e $f ]]; then
            echo "missing: $f"
            rc=1
        fi
    done
    return $rc
}
check "the prefix holds both libraries, the headers, rankd.pc and the CMake package" \
    installed_files || finish

export PKG_CONFIG_PATH="$libdir/pkgconfig"
pc_prefix() {
    local p
    p="$(pkg-config --variable=prefix rankd)" || return 1
    echo "prefix in rankd.pc: $p"
    [[ $p == "$prefix" ]]
}
check "rankd.pc names the prefix it was installed to" pc_prefix

# ------------------------------------------------------------------ builds

cmake_build() { # DIR EXTRA-ARGS...
    local dir=$1
    shift
    cmake -S "$RANKD_SOURCE_DIR/client/examples" -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="-Werror $san" "$@" &&
        cmake --build "$dir"
}
check "build with find_package(rankd), rankd::client" cmake_build "$work/cmake"
check "build with find_package(rankd), rankd::client_static" cmake_build "$work/cmake-static" -DRANKD_STATIC=ON

# The Makefile is used the way a user would: in a copy of the examples.
cp -r "$RANKD_SOURCE_DIR/client/examples" "$work/make"
rm -rf "$work/make/build"
make_build() { # TARGET
    make -C "$work/make" CC="$cc" CFLAGS="-O2 -g -Wall -Wextra -Werror $san" LDFLAGS="$san" "$1"
}
check "build with pkg-config: make game_server" make_build game_server
check "build with pkg-config --static: make game_server_static" make_build game_server_static

# The shared builds load librankd.so from the prefix; the static ones none.
links() { # BINARY yes|no
    local out
    out="$(LD_LIBRARY_PATH="$libdir" ldd "$1")" || return 1
    echo "$out"
    if [[ $2 == yes ]]; then
        grep -q "librankd\.so\.0 => $libdir/" <<<"$out"
    else
        ! grep -q "librankd\.so" <<<"$out"
    fi
}
check "the pkg-config build loads librankd.so from the prefix" links "$work/make/game_server" yes
check "the pkg-config --static build needs no librankd.so" links "$work/make/game_server_static" no
check "the rankd::client_static build needs no librankd.so" links "$work/cmake-static/game_server" no

# ------------------------------------------------------------------ runs

# run_example NAME BINARY: runs it against rankd and checks what it says.
run_example() {
    local name=$1 bin=$2 out="$work/$1.out" rc=0
    if [[ ! -x $bin ]]; then
        not_ok "$name: runs and exits 0 (not built)"
        return
    fi
    LD_LIBRARY_PATH="$libdir" "$bin" "$RANKD_URL" >"$out" 2>&1 || rc=$?
    if ((rc == 0)); then
        ok "$name: runs and exits 0"
    else
        not_ok "$name: runs and exits 0 (exit $rc)"
        sed 's/^/    /' "$out" >&2
        return
    fi
    local first again
    first="$(sed -n '/^match-/,/^the same batch again/p' "$out")"
    again="$(sed -n '/^the same batch again/,/^stored totals/p' "$out")"
    if [[ $(grep -c 'replayed=0$' <<<"$first") == 5 && $(grep -c 'replayed=1$' <<<"$again") == 5 ]]; then
        ok "$name: the first batch is applied, its retry is replayed=1 for all 5 players"
    else
        not_ok "$name: the first batch is applied, its retry is replayed=1 for all 5 players"
        sed 's/^/    /' "$out" >&2
    fi
    if grep -q '^stored totals equal the first answers: nothing counted twice$' "$out"; then
        ok "$name: nothing counted twice"
    else
        not_ok "$name: nothing counted twice"
    fi
    if grep -q '^top 10 of example (5 players):$' "$out" &&
        grep -qE '^ +1\. example-carol +[0-9]+$' "$out" &&
        [[ $(sed -n '/^top 10 of/,/^today/p' "$out" | grep -cE '^ +[0-9]+\. example-') == 5 ]]; then
        ok "$name: prints the top 10 with ranks"
    else
        not_ok "$name: prints the top 10 with ranks"
    fi
    if [[ $(sed -n '/^today.s podium (asynchronous call):$/,$p' "$out" | grep -cE '^ +[0-9]+\. example-') == 3 ]]; then
        ok "$name: prints the podium from the asynchronous call"
    else
        not_ok "$name: prints the podium from the asynchronous call"
    fi
}
run_example "cmake shared" "$work/cmake/game_server"
run_example "cmake static" "$work/cmake-static/game_server"
run_example "pkg-config shared" "$work/make/game_server"
run_example "pkg-config static" "$work/make/game_server_static"

finish
