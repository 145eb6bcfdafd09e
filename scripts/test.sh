#!/usr/bin/env bash
# Builds rankd and runs the whole test suite twice: a normal build in build/
# (the integration suite once on one Redis and once more on a 3-master
# Redis Cluster, label cluster-suite), then an
# AddressSanitizer/UndefinedBehaviorSanitizer build in build-asan/ (without
# the cluster-suite repeat);
# then builds the libFuzzer targets with clang in build-fuzz/ and runs each
# for RANKD_FUZZ_SECONDS (default 20) on its seed corpus (scripts/fuzz.sh).
# Exits non-zero if anything fails.
#
# usage: scripts/test.sh [--no-sanitize] [--no-fuzz]
set -euo pipefail

sanitize=1 fuzz=1
for arg in "$@"; do
    case $arg in
        --no-sanitize) sanitize=0 ;;
        --no-fuzz) fuzz=0 ;;
        *) echo "usage: scripts/test.sh [--no-sanitize] [--no-fuzz]" >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-deps.sh

echo "=== build/ (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2
ctest --test-dir build --output-on-failure --no-tests=error -j2

if ((sanitize)); then
    echo "=== build-asan/ (RelWithDebInfo, ASan + UBSan)"
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRANKD_SANITIZE=ON
    cmake --build build-asan -j2
    # The suite's second run on a cluster (label cluster-suite) runs once,
    # above: the same code paths as the tests here, which include every
    # cluster-only test (label cluster).
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure --no-tests=error -j2 -LE cluster-suite
fi

if ((fuzz)); then
    echo "=== build-fuzz/ (clang, libFuzzer targets)"
    cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DRANKD_FUZZ=ON -DRANKD_TESTS=OFF
    cmake --build build-fuzz -j2 --target fuzz
    bash scripts/fuzz.sh build-fuzz "${RANKD_FUZZ_SECONDS:-20}"
fi
