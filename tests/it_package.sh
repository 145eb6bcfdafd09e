#!/usr/bin/env bash
# it_package.sh - the Debian package an operator installs: built with
# CPack from a tree configured for the system's paths, it is named rankd,
# declares a dependency on the package of every library its binaries
# really link, marks /etc/rankd/rankd.conf a conffile, creates the rankd
# system user in its postinst (once), and holds the programs, library,
# config, unit, man pages and completion. Unpacked into a scratch root
# (dpkg -x: no root, no container), its rankd checks the shipped config
# edited for the harness's stores, starts from it, and answers the
# unpacked rankctl's status call.
#
# usage: tests/with-services.sh -- bash tests/it_package.sh
# Environment in: RANKD_SOURCE_DIR.
set -uo pipefail
: "${RANKD_SOURCE_DIR:?}" "${RANKD_TEST_DIR:?run under tests/with-services.sh}"

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); }
check() {
    local name=$1 log="$work/check.log"
    shift
    if "$@" >"$log" 2>&1; then ok "$name"; else
        not_ok "$name"
        sed 's/^/    /' "$log" >&2
    fi
}
finish() {
    echo "$passed passed, $failed failed"
    ((failed == 0))
    exit
}

work="$RANKD_TEST_DIR/package"
mkdir -p "$work"
build="$work/build"

# ------------------------------------------------------------------ build

build_deb() {
    cmake -S "$RANKD_SOURCE_DIR" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
        -DCMAKE_INSTALL_SYSCONFDIR=/etc -DRANKD_TESTS=OFF &&
        cmake --build "$build" -j2 &&
        (cd "$build" && cpack -G DEB)
}
check "cpack -G DEB builds a package from a tree configured for /usr and /etc" build_deb
deb="$(ls "$build"/rankd_*.deb 2>/dev/null | head -n 1)"
[[ -n $deb ]] || finish

field() { dpkg-deb -f "$deb" "$1"; }
version="$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$build/CMakeCache.txt")"
check "the package is rankd $version" test "$(field Package) $(field Version)" == "rankd $version"

root="$work/root"
dpkg -x "$deb" "$root"
ctl="$work/control"
dpkg-deb -e "$deb" "$ctl"

# Every library a packaged ELF file needs, by its Debian package, must be
# in Depends (dpkg -S on this machine says which package holds it).
depends_cover_links() {
    local depends f lib path pkg rc=0
    depends=" $(field Depends | tr -d ' ' | tr ',' '\n' | sed 's/(.*//' | tr '\n' ' ')"
    echo "Depends: $(field Depends)"
    for f in "$root"/usr/bin/* "$root"/usr/lib/*/librankd.so.*.*; do
        for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            path="$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')"
            [[ -n $path ]] || { echo "$f: $lib not found by ldconfig"; rc=1; continue; }
            pkg="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)"
            [[ -n $pkg ]] || pkg="$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)"
            if [[ -z $pkg ]]; then
                echo "$f: no package holds $path"
                rc=1
            elif [[ $depends != *" $pkg "* ]]; then
                echo "$(basename "$f") links $lib from $pkg, which Depends does not name"
                rc=1
            else
                echo "$(basename "$f"): $lib -> $pkg"
            fi
        done
    done
    return $rc
}
check "Depends names the package of every library the binaries link" depends_cover_links
check "Depends names adduser, which the postinst uses" bash -c '[[ ", $1," == *", adduser,"* ]]' _ "$(field Depends)"

contents() {
    local f rc=0
    for f in usr/bin/rankd usr/bin/rankctl usr/bin/rank-bench etc/rankd/rankd.conf \
        usr/lib/systemd/system/rankd.service usr/share/man/man8/rankd.8 usr/share/man/man1/rankctl.1 \
        usr/share/man/man1/rank-bench.1 usr/share/bash-completion/completions/rankctl usr/include/rankd/client.h; do
        [[ -e $root/$f ]] || { echo "missing: /$f"; rc=1; }
    done
    ls "$root"/usr/lib/*/librankd.so.0 "$root"/usr/lib/*/pkgconfig/rankd.pc || rc=1
    return $rc
}
check "the package holds the programs, library, config, unit, man pages and completion" contents
check "/etc/rankd/rankd.conf is a conffile (an operator's edits survive upgrades)" \
    grep -qx /etc/rankd/rankd.conf "$ctl/conffiles"
check "the packaged unit runs /usr/bin/rankd with /etc/rankd/rankd.conf" \
    grep -qx 'ExecStart=/usr/bin/rankd --config /etc/rankd/rankd.conf' "$root/usr/lib/systemd/system/rankd.service"
check "the packaged rankd.conf is what the packaged rankd prints" \
    bash -c 'diff <("$1/usr/bin/rankd" --print-config) "$1/etc/rankd/rankd.conf"' _ "$root"

# ------------------------------------------------------------------ postinst

# The postinst runs against stand-ins for the commands it calls, which
# record their arguments; getent answers as if the user did not (or did)
# exist. Its config file path points into the scratch root.
fake="$work/fakebin"
mkdir -p "$fake"
for c in adduser chown chmod systemctl ldconfig; do
    printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$c" "$work/calls" >"$fake/$c"
done
printf '#!/bin/sh\n[ -n "$RANKD_FAKE_USER_EXISTS" ] && echo "rankd:x:999:999::/nonexistent:/usr/sbin/nologin"\n[ -n "$RANKD_FAKE_USER_EXISTS" ]\n' >"$fake/getent"
chmod +x "$fake"/*
sed "s|/etc/rankd/|$root/etc/rankd/|g" "$ctl/postinst" >"$work/postinst"
postinst_new_user() {
    : >"$work/calls"
    PATH="$fake:$PATH" sh "$work/postinst" configure || return 1
    cat "$work/calls"
    grep -qx "adduser --system --group --no-create-home --home /nonexistent --gecos rankd leaderboard server rankd" \
        "$work/calls" &&
        grep -qx "chown root:rankd $root/etc/rankd/rankd.conf" "$work/calls" &&
        grep -qx "chmod 0640 $root/etc/rankd/rankd.conf" "$work/calls"
}
check "postinst configure creates the rankd system user and closes the config file to others" postinst_new_user
postinst_again() {
    : >"$work/calls"
    RANKD_FAKE_USER_EXISTS=1 PATH="$fake:$PATH" sh "$work/postinst" configure || return 1
    cat "$work/calls"
    ! grep -q '^adduser' "$work/calls"
}
check "postinst on an upgrade leaves the existing user alone" postinst_again

# ------------------------------------------------------------------ run it

conf="$work/rankd.conf"
eval "set -- $RANKD_ARGS"
listen=$2 events=$4 http=$6
sed -e "s|^#redis = .*|redis = $RANKD_REDIS_HOST:$RANKD_REDIS_PORT|" \
    -e "s|^#postgres = .*|postgres = $RANKD_POSTGRES|" -e "s|^#listen = .*|listen = $listen|" \
    -e "s|^#events = .*|events = $events|" -e "s|^#http = .*|http = $http|" \
    "$root/etc/rankd/rankd.conf" >"$conf"
check "the unpacked rankd --check-config accepts the edited shipped file" "$root/usr/bin/rankd" --check-config "$conf"

rk-rankd-stop
"$root/usr/bin/rankd" --config "$conf" >"$work/rankd.log" 2>&1 &
pid=$!
answered() {
    local i
    for ((i = 0; i < 100; i++)); do
        "$root/usr/bin/rankctl" --url "$listen" status && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    cat "$work/rankd.log"
    return 1
}
check "the unpacked rankd, started from that file, answers the unpacked rankctl's status call" answered
kill -TERM "$pid" 2>/dev/null
rc=0
wait "$pid" || rc=$?
check "and exits 0 on SIGTERM" test "$rc" -eq 0
rk-rankd-start >/dev/null

finish
