#!/usr/bin/env bash
# it_browser.sh - the live leaderboard page in a real headless Chromium,
# against a real rankd, Redis and PostgreSQL (run under with-services.sh).
#
# Runs tests/browser/page.test.mjs with Node and playwright-core driving the
# system's Chromium; no browser is ever downloaded. Installs the node modules
# from tests/browser/package-lock.json first when they are missing (needs the
# npm registry once; tests/browser/node_modules/ is git-ignored).
#
# Needs: node (>= 18) and npm, and Chromium (Debian: apt-get install nodejs
# npm chromium). Environment: RANKCTL_BIN, RANKD_URL, RANKD_HTTP_URL,
# RANKD_ADMIN_USER, RANKD_ADMIN_PASSWORD (from tests/CMakeLists.txt and
# with-services.sh); CHROMIUM_BIN to use another Chromium; RANKD_TEST_ARTIFACTS
# for where the screenshots go (default: a temp dir, printed).
# Prints "ok - ..." or "not ok - ..." per check and "N passed, M failed".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$here/browser"

: "${RANKCTL_BIN:?RANKCTL_BIN is not set}"
: "${RANKD_HTTP_URL:?run under tests/with-services.sh}"

missing() {
    printf 'it_browser: %s\n' "$*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

command -v node >/dev/null 2>&1 || missing "node is not installed (Debian: apt-get install nodejs npm)"
major="$(node -p 'process.versions.node.split(".")[0]')"
((major >= 18)) || missing "node $(node --version) is too old; playwright-core needs 18 or newer"

if [[ -z ${CHROMIUM_BIN:-} ]]; then
    for c in /usr/bin/chromium /usr/bin/chromium-browser "$(command -v chromium 2>/dev/null || true)"; do
        if [[ -n $c && -x $c ]]; then
            CHROMIUM_BIN="$c"
            break
        fi
    done
fi
[[ -n ${CHROMIUM_BIN:-} && -x $CHROMIUM_BIN ]] ||
    missing "Chromium is not installed (Debian: apt-get install chromium; or set CHROMIUM_BIN)"
export CHROMIUM_BIN

if [[ ! -f $dir/node_modules/playwright-core/package.json ]]; then
    command -v npm >/dev/null 2>&1 || missing "npm is not installed (Debian: apt-get install npm)"
    echo "# installing node modules: npm ci --prefix tests/browser"
    # playwright-core never downloads a browser; say so anyway.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2 ||
        missing "npm ci --prefix tests/browser failed"
fi

exec node "$dir/page.test.mjs"
