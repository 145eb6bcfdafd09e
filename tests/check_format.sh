#!/usr/bin/env bash
# Fails when a C source or header differs from what clang-format makes of it
# with the repository's .clang-format. Fix with:
#   clang-format -i $(git ls-files '*.c' '*.h')
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v clang-format >/dev/null || { echo "check_format: clang-format not found (scripts/setup-deps.sh installs it)" >&2; exit 1; }
mapfile -t files < <(find client common include server tests tools -name '*.c' -o -name '*.h' | sort)
((${#files[@]} > 0)) || { echo "check_format: no sources found" >&2; exit 1; }
bad=0
for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "check_format: $f is not formatted (clang-format -i $f)" >&2
        bad=1
    fi
done
((bad == 0)) && echo "check_format: ${#files[@]} files formatted"
exit "$bad"
