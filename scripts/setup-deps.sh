#!/usr/bin/env bash
# Installs the Debian packages needed to build and test rankd.  Does nothing
# (and needs no root) when they are all installed already.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    protobuf-c-compiler libprotobuf-c-dev libnng-dev libhiredis-dev libuv1-dev
    libpq-dev libssl-dev libcjson-dev libsystemd-dev
    redis-server postgresql python3
    # CPack's Debian generator needs `file` to find the binaries whose
    # libraries dpkg-shlibdeps declares; it_install renders the man pages.
    file man-db
    # The TLS test makes its certificates and asks the HTTPS server.
    openssl curl
    chromium clang-format
    clang libclang-rt-14-dev
)
# The browser test needs node and npm. A machine may already have them from
# elsewhere (a nodejs package that bundles npm, which Debian's npm package
# cannot be installed beside): only ask Debian when the commands are missing.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    packages+=(nodejs npm)
fi

command -v dpkg-query >/dev/null || {
    echo "setup-deps: dpkg-query not found; install these by hand: ${packages[*]}" >&2
    exit 1
}

missing=()
for p in "${packages[@]}"; do
    if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) != "install ok installed" ]]; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi

sudo=()
if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || {
        echo "setup-deps: not root and no sudo; install these as root: ${missing[*]}" >&2
        exit 1
    }
    sudo=(sudo)
fi

echo "setup-deps: installing ${missing[*]}" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
